#!/usr/bin/env python
"""Transform benchmarks: compile against uncompiled, kiln and MLX (when importable) in one run.

    python benchmarks/bench_transforms.py            # full run
    python benchmarks/bench_transforms.py --quick    # smoke run

Rows:
- gelu: the tanh-approximated GELU, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), on 4M float32
  elements: nine elementwise ops that compile fuses into one kernel.
- mlp step: one SGD training step (value_and_grad + update) of an MLP with ReLU and a logsumexp
  cross-entropy, float32: a small one (64-128-128-10, batch 64), where graph building and
  elementwise passes matter, and a larger one (784-512-512-10, batch 128), dominated by GEMMs.

Each figure is the median of timed runs after warm-up (timing helper shared with
bench_core.py); the first compiled call (tracing, building the fused kernel) is a warm-up run.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import HAVE_KILN, HAVE_MLX, kiln, mlx, timeit  # noqa: E402


def gelu(m):
    c = math.sqrt(2 / math.pi)

    def f(x):
        return 0.5 * x * (1 + m.tanh(c * (x + 0.044715 * x * x * x)))

    return f


def mlp_step(m, lr=0.01):
    def loss_fn(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i + 1 < len(params):
                h = m.maximum(h, 0)
        return m.mean(m.logsumexp(h, axis=-1) - m.sum(h * y, axis=-1))  # y: one-hot labels

    grad_fn = m.value_and_grad(loss_fn)

    def step(params, x, y):
        loss, grads = grad_fn(params, x, y)
        new = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]
        return loss, new

    return step


def backends():
    out = []
    if HAVE_KILN:
        out.append(("kiln", kiln))
    if HAVE_MLX:
        out.append(("mlx", mlx))
    return out


def bench_gelu(n, warmup, repeat):
    x_np = np.random.default_rng(0).uniform(-3, 3, n).astype(np.float32)
    rows = {}
    for label, m in backends():
        x = m.array(x_np)
        m.eval(x)
        f = gelu(m)
        cf = m.compile(f)
        ref = np.array(f(x))
        np.testing.assert_allclose(np.array(cf(x)), ref, rtol=1e-5, atol=1e-6)
        rows[label] = (
            timeit(lambda: m.eval(f(x)), warmup, repeat),
            timeit(lambda: m.eval(cf(x)), warmup, repeat),
        )
    return rows


def bench_mlp(sizes, batch, warmup, repeat):
    rng = np.random.default_rng(1)
    params_np = [
        (rng.standard_normal((a, b)).astype(np.float32) / np.sqrt(a), np.zeros(b, np.float32))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    x_np = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y_np = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    rows = {}
    for label, m in backends():
        params = [(m.array(w), m.array(b)) for w, b in params_np]
        x, y = m.array(x_np), m.array(y_np)
        step = mlp_step(m)
        cstep = m.compile(step)
        l0, _ = step(params, x, y)
        l1, _ = cstep(params, x, y)
        np.testing.assert_allclose(np.array(l1), np.array(l0), rtol=1e-4)
        rows[label] = (
            timeit(lambda: m.eval(step(params, x, y)), warmup, repeat),
            timeit(lambda: m.eval(cstep(params, x, y)), warmup, repeat),
        )
    return rows


def print_rows(title, rows):
    print(f"\n## {title}")
    print(f"{'':<8}{'uncompiled (ms)':>18}{'compiled (ms)':>16}{'speed-up':>10}")
    for label, (u, c) in rows.items():
        print(f"{label:<8}{u * 1e3:>18.3f}{c * 1e3:>16.3f}{u / c:>10.2f}")
    if "kiln" in rows and "mlx" in rows:
        print(f"kiln/mlx compiled: {rows['kiln'][1] / rows['mlx'][1]:.2f}")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    cfg = p.parse_args()
    warmup, repeat = (1, 2) if cfg.quick else (3, 9)
    n = 1 << 16 if cfg.quick else 1 << 22
    print(f"cores: {os.cpu_count()}")
    print_rows(f"gelu, {n} float32", bench_gelu(n, warmup, repeat))
    for sizes, batch in (([64, 128, 128, 10], 64), ([784, 512, 512, 10], 128)):
        name = "-".join(map(str, sizes))
        print_rows(f"mlp training step ({name}, batch {batch})", bench_mlp(sizes, batch, warmup, repeat))


if __name__ == "__main__":
    main()
