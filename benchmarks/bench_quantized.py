#!/usr/bin/env python
"""quantized_matmul against float32 matmul of the same shape, kiln and MLX side by side.

    python benchmarks/bench_quantized.py            # 4096x4096 weight, 4-bit, group 64
    python benchmarks/bench_quantized.py --quick    # 1024x1024, fewer repeats

Rows: x of 1 row (decode: memory-bound, reading 4-bit weights moves ~7x fewer bytes than float32)
and of 512 rows (prefill: compute-bound, dequantized panels through sgemm), plus the other
modes for decode. Timing is bench_core's (medians after warm-up, settled thread pools).
"""

from __future__ import annotations

import argparse

import numpy as np

from bench_core import HAVE_MLX, _lazy_backends, timeit

RNG = np.random.default_rng(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 1024 if args.quick else 4096
    repeat, budget = (3, 0.3) if args.quick else (9, 2.0)
    w = (RNG.standard_normal((n, n)) * 0.02).astype(np.float32)
    rows = [("decode  x 1 row", 1, "affine", 64, 4), ("prefill x 512 rows", 512, "affine", 64, 4),
            ("decode  x 1 row", 1, "affine", 64, 8), ("decode  x 1 row", 1, "mxfp4", 32, 4),
            ("decode  x 1 row", 1, "nvfp4", 16, 4), ("decode  x 4 rows", 4, "affine", 64, 4)]
    print(f"\n## quantized_matmul vs float32 matmul, weight {n}x{n} (x @ w.T), ms (median)")
    hdr = f"{'':<22}{'mode':<14}" + "".join(f"{c:>12}" for c in ["kiln q", "kiln f32", "mlx q", "mlx f32"])
    print(hdr + f"{'kiln q/f32':>12}{'kiln/mlx q':>12}")
    xs = {m: RNG.standard_normal((m, n)).astype(np.float32) for _, m, *_ in rows}
    times = [{} for _ in rows]
    # One backend at a time (all of kiln's rows, then MLX's): a library's idle worker threads
    # spinning after its last call would otherwise steal cores from the next one measured.
    for label, mod in _lazy_backends():
        wm = mod.array(w)
        mod.eval(wm)
        for t, (name, m, mode, gs, bits) in zip(times, rows):
            xm = mod.array(xs[m])
            parts = mod.quantize(wm, gs, bits, mode=mode)
            mod.eval(xm, *parts)
            t[label + " q"] = timeit(lambda: mod.eval(mod.quantized_matmul(xm, *parts, group_size=gs, bits=bits,
                                                                           mode=mode)), 2, repeat, budget)
            t[label + " f32"] = timeit(lambda: mod.eval(mod.matmul(xm, wm.T)), 2, repeat, budget)
    for t, (name, m, mode, gs, bits) in zip(times, rows):
        cells = "".join(f"{t[c] * 1e3:>12.3f}" if c in t else f"{'-':>12}"
                        for c in ["kiln q", "kiln f32", "mlx q", "mlx f32"])
        r1 = f"{t['kiln q'] / t['kiln f32']:>12.2f}" if "kiln q" in t else f"{'-':>12}"
        r2 = f"{t['kiln q'] / t['mlx q']:>12.2f}" if HAVE_MLX and "kiln q" in t else f"{'-':>12}"
        print(f"{name:<22}{mode + ' ' + str(bits) + 'b g' + str(gs):<14}{cells}{r1}{r2}")

if __name__ == "__main__":
    main()
