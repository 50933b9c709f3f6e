#!/usr/bin/env python
"""Op benchmarks beyond the core engine: kiln against NumPy (and MLX, when importable).

    python benchmarks/bench_ops.py            # full run
    python benchmarks/bench_ops.py --quick    # smoke run
    python benchmarks/bench_ops.py --sections fft,special

Sections: conv (conv2d NHWC against a NumPy im2col + matmul), sort (sort/argsort of 2000x2000
rows), gather (take of 1M indices from 4M, take_along_axis), scatter (.at[idx].add with
duplicates against np.add.at), cumsum (4096x4096 along each axis), einsum (against np.einsum
with optimize=True), fft (complex64 and real transforms, lengths with and without small
factors, a prime, 2-D, batched), special (float32 erfinv of 4M values), solve (float64 LU solve).
Timing, tables and ratios are bench_core's: medians after warm-up, kiln/numpy < 1 is faster.
"""

from __future__ import annotations

import argparse

import numpy as np

import bench_core
from bench_core import HAVE_MLX, Table, _lazy_backends, timeit

RNG = np.random.default_rng(0)


def run_case(table, name, np_fn, make, cfg):
    """One row: np_fn() timed, and for each backend make(mod) -> () -> lazy result, evaluated."""
    times = {"numpy": timeit(np_fn, cfg.warmup, cfg.repeat, cfg.budget) if np_fn else None}
    for label, mod in _lazy_backends():
        try:
            f = make(mod)
        except Exception:  # noqa: BLE001 - the op is missing in this backend
            continue
        times[label] = timeit(lambda: mod.eval(f()), cfg.warmup, cfg.repeat, cfg.budget)
    table.add(name, **times)


def arrays(mod, *xs):
    out = [mod.array(x) for x in xs]
    mod.eval(*out)
    return out


def section_conv(cfg):
    b, hw, c = cfg.conv
    table = Table(f"conv2d NHWC float32, batch {b}, {hw}x{hw}, {c}->{c} channels, 3x3, padding 1")
    x = RNG.standard_normal((b, hw, hw, c), dtype=np.float32)
    w = RNG.standard_normal((c, 3, 3, c), dtype=np.float32)

    def np_conv():
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # b,h,w,c,3,3
        cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(b * hw * hw, 9 * c)
        return cols @ w.reshape(c, 9 * c).T

    def make(mod):
        xm, wm = arrays(mod, x, w)
        return lambda: mod.conv2d(xm, wm, padding=1)

    run_case(table, "conv2d 3x3", np_conv, make, cfg)
    table.print()


def section_sort(cfg):
    n = cfg.sort_n
    table = Table(f"sort float32 {n}x{n}, last axis")
    x = RNG.standard_normal((n, n), dtype=np.float32)
    for name in ["sort", "argsort"]:
        def make(mod, name=name):
            (xm,) = arrays(mod, x)
            return lambda: getattr(mod, name)(xm, axis=-1)

        run_case(table, name, lambda name=name: getattr(np, name)(x, axis=-1), make, cfg)
    table.print()


def section_gather(cfg):
    n, k = cfg.gather
    table = Table(f"gather float32: take {k / 2**20:.0f}M of {n / 2**20:.0f}M, take_along_axis")
    src = RNG.standard_normal(n, dtype=np.float32)
    idx = RNG.integers(0, n, k).astype(np.int32)
    src2 = RNG.standard_normal((2048, 2048), dtype=np.float32)
    idx2 = RNG.integers(0, 2048, (2048, 512)).astype(np.int32)

    def make_take(mod):
        s, i = arrays(mod, src, idx)
        return lambda: mod.take(s, i)

    def make_tal(mod):
        s, i = arrays(mod, src2, idx2)
        return lambda: mod.take_along_axis(s, i, axis=1)

    run_case(table, "take", lambda: np.take(src, idx), make_take, cfg)
    run_case(table, "take_along_axis 2048x2048 -> 2048x512", lambda: np.take_along_axis(src2, idx2, 1), make_tal, cfg)
    table.print()


def section_scatter(cfg):
    n, k = cfg.scatter
    table = Table(f"scatter-add float32: {k / 2**20:.0f}M updates (duplicates) into {n / 2**10:.0f}K")
    base = np.zeros(n, np.float32)
    idx = RNG.integers(0, n, k).astype(np.int32)
    upd = RNG.standard_normal(k, dtype=np.float32)

    def np_add():
        a = base.copy()
        np.add.at(a, idx, upd)
        return a

    def make(mod):
        a, i, u = arrays(mod, base, idx, upd)
        return lambda: a.at[i].add(u)

    run_case(table, ".at[idx].add vs np.add.at", np_add, make, cfg)
    table.print()


def section_cumsum(cfg):
    n = cfg.cumsum_n
    table = Table(f"cumsum float32 {n}x{n}")
    x = RNG.standard_normal((n, n), dtype=np.float32)
    for axis in [0, 1]:
        def make(mod, axis=axis):
            (xm,) = arrays(mod, x)
            return lambda: mod.cumsum(xm, axis=axis)

        run_case(table, f"axis={axis}", lambda axis=axis: np.cumsum(x, axis=axis), make, cfg)
    table.print()


def section_einsum(cfg):
    table = Table("einsum float32 (NumPy with optimize=True)")
    s = cfg.einsum
    cases = [
        ("bij,bjk->bik", [(16, s, s), (16, s, s)]),
        ("bhqd,bhkd->bhqk", [(4, 8, s, 64), (4, 8, s, 64)]),
        ("ij,jk,kl->il", [(s, 2 * s), (2 * s, s), (s, 2 * s)]),
        ("bi,bi->b", [(4096, 1024), (4096, 1024)]),
    ]
    for eq, shapes in cases:
        ops = [RNG.standard_normal(sh, dtype=np.float32) for sh in shapes]

        def make(mod, eq=eq, ops=ops):
            ms = arrays(mod, *ops)
            return lambda: mod.einsum(eq, *ms)

        run_case(table, eq, lambda eq=eq, ops=ops: np.einsum(eq, *ops, optimize=True), make, cfg)
    table.print()


FFT_CASES = [  # name, shape, function, dtype
    ("fft n=1000 x256", (256, 1000), "fft", np.complex64),
    ("fft n=3000 x64", (64, 3000), "fft", np.complex64),
    ("fft n=4096 x64", (64, 4096), "fft", np.complex64),
    ("fft n=10007 (prime) x16", (16, 10007), "fft", np.complex64),
    ("fft 256x1024 batched", (256, 1024), "fft", np.complex64),
    ("fft2 1000x1000", (1000, 1000), "fft2", np.complex64),
    ("rfft n=1000 x256 f32", (256, 1000), "rfft", np.float32),
    ("rfft n=4096 x64 f64", (64, 4096), "rfft", np.float64),
    ("rfft n=10007 x16 f32", (16, 10007), "rfft", np.float32),
    ("irfft n=1000 x256", (256, 1000), "irfft", np.complex64),
    ("rfft2 1000x1000 f32", (1000, 1000), "rfft2", np.float32),
]


def section_fft(cfg):
    table = Table("fft (kiln/MLX compute complex64; NumPy keeps the input precision)")
    for name, shape, fn, dt in FFT_CASES:
        x = RNG.standard_normal(shape)
        if dt == np.complex64:
            x = x + 1j * RNG.standard_normal(shape)
        x = x.astype(dt)
        if fn == "irfft":
            x = np.fft.rfft(x.real).astype(np.complex64)[:, : shape[1] // 2 + 1]

        def make(mod, x=x, fn=fn):
            (xm,) = arrays(mod, x if dt != np.float64 or mod is not bench_core.mlx else x.astype(np.float32))
            f = getattr(mod.fft, fn)
            return lambda: f(xm, n=shape[1]) if fn == "irfft" else f(xm)

        np_f = getattr(np.fft, fn)
        run_case(table, name, lambda x=x, np_f=np_f, fn=fn: np_f(x, n=shape[1]) if fn == "irfft" else np_f(x),
                 make, cfg)
    table.print()


def section_special(cfg):
    n = cfg.special_n
    table = Table(f"erfinv float32, {n / 2**20:.0f}M values in (-1, 1) (NumPy: none; the row is MLX)")
    x = RNG.uniform(-1, 1, n).astype(np.float32)

    def make(mod):
        (xm,) = arrays(mod, x)
        return lambda: mod.erfinv(xm)

    run_case(table, "erfinv", None, make, cfg)
    table.print()


def section_solve(cfg):
    table = Table("linalg.solve float64 (LU), one right-hand side and 64")
    for n in cfg.solve_sizes:
        a = RNG.standard_normal((n, n)) + n * np.eye(n)
        for k in [1, 64]:
            b = RNG.standard_normal((n, k))

            def make(mod, a=a, b=b):
                am, bm = arrays(mod, a, b)
                kw = {"stream": mod.cpu} if mod is bench_core.mlx else {}
                return lambda: mod.linalg.solve(am, bm, **kw)

            run_case(table, f"n={n} k={k}", lambda a=a, b=b: np.linalg.solve(a, b), make, cfg)
    table.print()


SECTIONS = {
    "conv": section_conv,
    "sort": section_sort,
    "gather": section_gather,
    "scatter": section_scatter,
    "cumsum": section_cumsum,
    "einsum": section_einsum,
    "fft": section_fft,
    "special": section_special,
    "solve": section_solve,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run)")
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    cfg = p.parse_args()
    cfg.warmup, cfg.repeat, cfg.budget = 2, 7, 2.0
    cfg.conv, cfg.sort_n, cfg.gather, cfg.scatter = (8, 64, 64), 2000, (1 << 22, 1 << 20), (1 << 16, 1 << 20)
    cfg.cumsum_n, cfg.einsum, cfg.special_n, cfg.solve_sizes = 4096, 256, 1 << 22, [256, 1024]
    if cfg.quick:
        bench_core.SETTLE_S = 0.02
        cfg.warmup, cfg.repeat, cfg.budget = 1, 2, 0.2
        cfg.conv, cfg.sort_n, cfg.gather, cfg.scatter = (2, 16, 16), 200, (1 << 16, 1 << 14), (1 << 10, 1 << 14)
        cfg.cumsum_n, cfg.einsum, cfg.special_n, cfg.solve_sizes = 256, 32, 1 << 14, [64]
    print(f"mlx: {'yes' if HAVE_MLX else 'no'}")
    for name in cfg.sections.split(","):
        SECTIONS[name.strip()](cfg)


if __name__ == "__main__":
    main()
