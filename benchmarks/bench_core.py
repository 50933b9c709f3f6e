#!/usr/bin/env python
"""Core engine benchmarks: kiln against NumPy (and MLX, when `import mlx.core` works) in one run.

    python benchmarks/bench_core.py            # full run (a few minutes)
    python benchmarks/bench_core.py --quick    # smoke run (seconds)
    python benchmarks/bench_core.py --sections matmul,overhead

Sections: elementwise (add, multiply, exp, tanh on 16M float32), reduce (sum over all / axis 0 /
axis 1 of 4096x4096 float32), matmul (float32, 256..4096), half (bfloat16 and float16 matmul
against kiln's own float32 at the same sizes; NumPy has no bfloat16 GEMM), overhead (µs per op
for 1000 tiny ops evaluated one at a time, and as one chain evaluated once), contractions
(gather_mm picking one of 8 expert matrices per token row, against a NumPy loop).

Each figure is the median of several timed runs after warm-up runs (time.perf_counter); kiln
and MLX results are forced with eval. Ratios are time ratios: kiln/numpy < 1 means kiln is
faster. A backend that cannot be imported gets an empty column; a case whose estimated time
exceeds the per-case cap (--cap seconds) is skipped and marked '-'.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np


def _try_import(name):
    try:
        return __import__(name, fromlist=["_"])
    except Exception as e:  # noqa: BLE001 - any failure means "not available"
        return e


kiln = _try_import("kiln.core")
mlx = _try_import("mlx.core")
HAVE_KILN = not isinstance(kiln, Exception)
HAVE_MLX = not isinstance(mlx, Exception)


# ---------------------------------------------------------------------------------- timing


SETTLE_S = 0.3


def timeit(fn, warmup=2, repeat=7, budget=None):
    """Median seconds of `repeat` calls of fn() after `warmup` calls. With a `budget` (seconds),
    the repeat count shrinks so that the timed calls take about that long (at least one).

    It first sleeps SETTLE_S: the libraries in this process each keep a thread pool (NumPy's
    BLAS, kiln's, MLX's) whose workers spin for a while after their last task; on a machine
    with few cores they would steal the cores of the library measured next."""
    time.sleep(SETTLE_S)
    first = None
    for i in range(warmup):
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
    if budget is not None and first is not None and first > 0:
        repeat = max(1, min(repeat, int(budget / first)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Table:
    """Rows of timings per backend, printed with kiln/numpy and kiln/mlx ratios."""

    def __init__(self, title, unit="ms", scale=1e3, extra=None):
        self.title, self.unit, self.scale = title, unit, scale
        self.rows = []
        self.extra = extra  # optional (header, fn(row) -> str) column

    def add(self, name, **times):
        self.rows.append((name, times))

    def print(self):
        cols = ["kiln", "numpy", "mlx"]
        hdr = f"{'':<28}" + "".join(f"{c + ' (' + self.unit + ')':>14}" for c in cols)
        hdr += f"{'kiln/numpy':>12}{'kiln/mlx':>10}"
        if self.extra:
            hdr += f"{self.extra[0]:>16}"
        print(f"\n## {self.title}\n{hdr}")
        for name, t in self.rows:
            line = f"{name:<28}"
            for c in cols:
                v = t.get(c)
                line += f"{_fmt(v, self.scale):>14}"
            line += f"{_ratio(t.get('kiln'), t.get('numpy')):>12}{_ratio(t.get('kiln'), t.get('mlx')):>10}"
            if self.extra:
                line += f"{self.extra[1](name, t):>16}"
            print(line)
        sys.stdout.flush()


def _fmt(v, scale):
    if v is None:
        return "-"
    x = v * scale
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


# ---------------------------------------------------------------------------------- sections


def section_elementwise(cfg):
    n = cfg.elem_n
    rng = np.random.default_rng(0)
    a_np = rng.uniform(-2, 2, n).astype(np.float32)
    b_np = rng.uniform(-2, 2, n).astype(np.float32)
    table = Table(f"elementwise, {n / 2**20:.0f}M float32", extra=("kiln GB/s", lambda name, t: _gbps(name, t, n)))
    ops = {
        "add": (lambda m: (lambda a, b: m.add(a, b)), np.add),
        "multiply": (lambda m: (lambda a, b: m.multiply(a, b)), np.multiply),
        "exp": (lambda m: (lambda a, b: m.exp(a)), lambda a, b: np.exp(a)),
        "tanh": (lambda m: (lambda a, b: m.tanh(a)), lambda a, b: np.tanh(a)),
    }
    arrays = {}
    for label, mod in _lazy_backends():
        arrays[label] = (mod.array(a_np), mod.array(b_np))
        mod.eval(*arrays[label])
    for name, (mk, np_fn) in ops.items():
        times = {"numpy": timeit(lambda: np_fn(a_np, b_np), cfg.warmup, cfg.repeat)}
        for label, mod in _lazy_backends():
            f = mk(mod)
            a, b = arrays[label]
            times[label] = timeit(lambda: mod.eval(f(a, b)), cfg.warmup, cfg.repeat)
        table.add(name, **times)
    table.print()


def _gbps(name, t, n):
    if t.get("kiln") is None:
        return "-"
    nbytes = n * 4 * (3 if name in ("add", "multiply") else 2)
    return f"{nbytes / t['kiln'] / 1e9:.1f}"


def section_reduce(cfg):
    n = cfg.red_n
    x_np = np.random.default_rng(1).uniform(-1, 1, (n, n)).astype(np.float32)
    table = Table(f"reductions, {n}x{n} float32", extra=("kiln GB/s", lambda name, t: _red_gbps(t, n)))
    xs = {}
    for label, mod in _lazy_backends():
        xs[label] = mod.array(x_np)
        mod.eval(xs[label])
    for name, axis in [("sum (all)", None), ("sum axis=0 (columns)", 0), ("sum axis=1 (rows)", 1)]:
        times = {"numpy": timeit(lambda: np.sum(x_np, axis=axis), cfg.warmup, cfg.repeat)}
        for label, mod in _lazy_backends():
            x = xs[label]
            times[label] = timeit(lambda: mod.eval(mod.sum(x, axis=axis)), cfg.warmup, cfg.repeat)
        table.add(name, **times)
    table.print()


def _red_gbps(t, n):
    return "-" if t.get("kiln") is None else f"{n * n * 4 / t['kiln'] / 1e9:.1f}"


class Estimator:
    """Skips a case whose time, extrapolated as n^3 from the previous size, exceeds the cap."""

    def __init__(self, cap):
        self.cap = cap
        self.last = {}

    def allowed(self, key, n):
        prev = self.last.get(key)
        if prev is None:
            return True
        pn, pt = prev
        return pt * (n / pn) ** 3 <= self.cap

    def record(self, key, n, t):
        self.last[key] = (n, t)


_MATMUL_CACHE = {}  # (library, dtype, n) -> seconds: the half section reuses the float32 figures


def _matmul_time(mod, n, dtype_name, cfg, est, key):
    cache_key = (getattr(mod, "__name__", str(mod)), dtype_name, n)
    if cache_key in _MATMUL_CACHE:
        t = _MATMUL_CACHE[cache_key]
        if t is not None:
            est.record(key, n, t)
        return t
    if not est.allowed(key, n):
        return None
    rng = np.random.default_rng(n)
    a_np = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b_np = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    if mod is np:
        a, b = a_np, b_np
        fn = lambda: a @ b  # noqa: E731
    else:
        dt = getattr(mod, dtype_name)
        a, b = mod.array(a_np).astype(dt), mod.array(b_np).astype(dt)
        mod.eval(a, b)
        fn = lambda: mod.eval(mod.matmul(a, b))  # noqa: E731
        if n <= 512:  # time only what computes the right answer
            got = np.array(mod.matmul(a, b).astype(mod.float32))
            tol = 1e-3 if dtype_name == "float32" else 0.25
            np.testing.assert_allclose(got, a_np.astype(np.float64) @ b_np, rtol=tol, atol=tol)
    big = n >= 4096
    t = timeit(fn, warmup=1 if big else cfg.warmup, repeat=2 if big else cfg.repeat, budget=cfg.budget)
    est.record(key, n, t)
    _MATMUL_CACHE[cache_key] = t
    return t


def section_matmul(cfg):
    est = Estimator(cfg.cap)

    def gflops(name, t):
        n = int(name.split()[0])
        return "-" if t.get("kiln") is None else f"{2 * n**3 / t['kiln'] / 1e9:.1f}"

    table = Table("matmul float32 (n x n @ n x n)", extra=("kiln GFLOP/s", gflops))
    for n in cfg.mm_sizes:
        times = {"numpy": _matmul_time(np, n, "float32", cfg, est, "numpy")}
        for label, mod in _lazy_backends():
            times[label] = _matmul_time(mod, n, "float32", cfg, est, label)
        table.add(f"{n}", **times)
    table.print()


def section_half(cfg):
    """bfloat16/float16 GEMM against the same library's float32 GEMM (NumPy has no bfloat16 GEMM)."""
    est = Estimator(cfg.cap)
    libs = list(_lazy_backends())
    if not libs:
        print("\n## half-precision matmul: no kiln or MLX available")
        return
    print("\n## half-precision matmul: time (ms) and ratio to the same library's float32")
    hdr = f"{'n':<8}"
    for label, _ in libs:
        hdr += f"{label + ' f32':>12}{label + ' bf16':>12}{'bf16/f32':>10}{label + ' f16':>12}{'f16/f32':>10}"
    print(hdr)
    for n in cfg.mm_sizes:
        line = f"{n:<8}"
        for label, mod in libs:
            t32 = _matmul_time(mod, n, "float32", cfg, est, (label, "f32"))
            tb = _matmul_time(mod, n, "bfloat16", cfg, est, (label, "bf16"))
            th = _matmul_time(mod, n, "float16", cfg, est, (label, "f16"))
            line += f"{_fmt(t32, 1e3):>12}{_fmt(tb, 1e3):>12}{_ratio(tb, t32):>10}"
            line += f"{_fmt(th, 1e3):>12}{_ratio(th, t32):>10}"
        print(line)
        sys.stdout.flush()


def section_overhead(cfg):
    k = cfg.n_ops
    table = Table(f"per-op overhead, {k} tiny ops (16 float32)", unit="us/op", scale=1e6 / k)
    x_np = np.ones(16, np.float32)

    def numpy_ops():
        x = x_np
        for _ in range(k):
            x = x + 1.0
        return x

    t_np = timeit(numpy_ops, cfg.warmup, cfg.repeat)
    one, chain = {"numpy": t_np}, {"numpy": t_np}
    for label, mod in _lazy_backends():
        x0 = mod.array(x_np)
        mod.eval(x0)

        def one_at_a_time(mod=mod, x0=x0):
            x = x0
            for _ in range(k):
                x = x + 1.0
                mod.eval(x)
            return x

        def one_chain(mod=mod, x0=x0):
            x = x0
            for _ in range(k):
                x = x + 1.0
            mod.eval(x)
            return x

        for f in (one_at_a_time, one_chain):  # time only what computes the right answer
            np.testing.assert_allclose(np.array(f()), np.full(16, 1.0 + k), rtol=1e-6)
        one[label] = timeit(one_at_a_time, cfg.warmup, cfg.repeat)
        chain[label] = timeit(one_chain, cfg.warmup, cfg.repeat)
    table.add("(a) eval after each op", **one)
    table.add("(b) chain, one eval", **chain)
    table.print()


def section_contractions(cfg):
    """gather_mm as a mixture-of-experts layer: each of T token rows (1 x D) times the D x F
    matrix of the expert its index picks, against a NumPy loop of the same products."""
    table = Table("gather_mm float32: T tokens (1 x D) @ one of 8 experts (D x F)")
    rng = np.random.default_rng(0)
    for t_rows, d in cfg.gather_sizes:
        x = rng.standard_normal((t_rows, 1, d), dtype=np.float32)
        w = rng.standard_normal((8, d, d), dtype=np.float32)
        idx = rng.integers(0, 8, t_rows).astype(np.uint32)
        want = np.stack([x[i] @ w[idx[i]] for i in range(t_rows)])
        times = {"numpy": timeit(lambda: [x[i] @ w[idx[i]] for i in range(t_rows)], cfg.warmup, cfg.repeat, cfg.budget)}
        for label, mod in _lazy_backends():
            xm, wm, im = mod.array(x), mod.array(w), mod.array(idx)

            def run(mod=mod, xm=xm, wm=wm, im=im):
                y = mod.gather_mm(xm, wm, None, im)
                mod.eval(y)
                return y

            np.testing.assert_allclose(np.array(run()), want, rtol=1e-3, atol=1e-3)
            times[label] = timeit(run, cfg.warmup, cfg.repeat, cfg.budget)
        table.add(f"T={t_rows} D=F={d}", **times)
    table.print()


def _lazy_backends():
    if HAVE_KILN:
        yield "kiln", kiln
    if HAVE_MLX:
        yield "mlx", mlx


SECTIONS = {
    "elementwise": section_elementwise,
    "reduce": section_reduce,
    "matmul": section_matmul,
    "half": section_half,
    "overhead": section_overhead,
    "contractions": section_contractions,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run)")
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    p.add_argument("--cap", type=float, default=None, help="skip a case estimated to take longer (s)")
    cfg = p.parse_args()
    global SETTLE_S
    if cfg.quick:
        SETTLE_S = 0.02
        cfg.elem_n, cfg.red_n, cfg.mm_sizes, cfg.n_ops = 1 << 20, 1024, [256, 512], 200
        cfg.gather_sizes = [(64, 256)]
        cfg.warmup, cfg.repeat, cfg.budget = 1, 3, 0.5
        cfg.cap = cfg.cap or 1.0
    else:
        cfg.elem_n, cfg.red_n, cfg.mm_sizes, cfg.n_ops = 1 << 24, 4096, [256, 512, 1024, 2048, 4096], 1000
        cfg.gather_sizes = [(64, 1024), (512, 1024), (512, 2048)]
        cfg.warmup, cfg.repeat, cfg.budget = 2, 7, 2.0
        cfg.cap = cfg.cap or 8.0

    print("# kiln core benchmarks")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    if HAVE_KILN:
        print(f"kiln: default device {kiln.default_device()}")
    else:
        print(f"kiln: not importable ({kiln!r}); its column is empty")
    if HAVE_MLX:
        print(f"mlx {getattr(mlx, '__version__', '?')}: default device {mlx.default_device()}")
    else:
        print("mlx: not importable; its column is empty")
    print(f"mode: {'quick' if cfg.quick else 'full'}; median of up to {cfg.repeat} runs after {cfg.warmup} warm-up")

    t0 = time.perf_counter()
    for name in cfg.sections.split(","):
        SECTIONS[name.strip()](cfg)
    print(f"\ntotal time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
