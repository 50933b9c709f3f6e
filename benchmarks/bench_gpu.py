"""GPU benchmarks, side by side with PyTorch in the same run (issue 5's targets):

- elementwise add and exp on 256M float32, as a fraction of the device-to-device copy
  bandwidth measured in the same run (bytes read + written);
- sum of the same 256M float32 (as 16384 x 16384) over all, the last and the first axis
  (bytes read), against the copy bandwidth and torch.sum;
- bfloat16 and float32 (TF32 off) GEMM 8192^3 against torch.matmul;
- per-op overhead of building and evaluating a tiny op from Python;
- sort of 16M float32 (one row, and 4096 rows of 4096) and a gather of 64M int32 indices
  against torch.sort / torch.take;
- 4-bit affine (group 64) quantized_matmul with bfloat16 x: decode (1 row, effective GB/s of the
  packed weights, scales and biases read) and prefill (512 rows) against torch's bfloat16
  matmul with the dense weight.

Prints a summary table last. Run on a machine with a GPU: `python benchmarks/bench_gpu.py`
(`python benchmarks/bench_gpu.py quantized` runs the quantized rows only).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import kiln.core as mx

try:
    import torch
except ImportError:  # pragma: no cover - torch is the peer, present on the GPU machine
    torch = None


def kiln_time(fn, reps: int, warmup: int = 2) -> float:
    """Median seconds per call of fn() (which builds and evaluates a graph), synchronized."""
    for _ in range(warmup):
        fn()
    mx.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        mx.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_time(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def quantized_rows(rows) -> None:
    """4-bit affine (group 64) quantized_matmul, bfloat16, against torch bfloat16 matmul.

    Decode products take microseconds, so both sides run 50 of them per timing (one kiln graph,
    one stream of torch launches) and report the time per product."""
    inner = 50
    for n, k in [(4096, 4096), (14336, 4096)]:
        w = (mx.sin(mx.arange(n * k, dtype=mx.float32) * 1e-3).reshape(n, k) * 0.05).astype(mx.bfloat16)
        wq, sc, bi = mx.quantize(w, 64, 4)
        mx.eval(wq, sc, bi)
        wbytes = wq.nbytes + sc.nbytes + bi.nbytes
        tw = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) if torch is not None else None
        for m in (1, 512):
            x = (mx.cos(mx.arange(m * k, dtype=mx.float32) * 1e-2).reshape(m, k)).astype(mx.bfloat16)
            mx.eval(x)
            reps = inner if m == 1 else 5
            xs = [x * (1 + i / 64) for i in range(reps)]  # distinct inputs: nothing merges them
            mx.eval(xs)
            t = kiln_time(lambda: mx.eval([mx.quantized_matmul(a, wq, sc, bi) for a in xs]), 10) / reps
            compiled = ""
            if m == 1:
                # The same products replayed by compile: no Python work per product, so the time is
                # the GPU's unless kiln's per-primitive dispatch is slower.
                try:
                    f = mx.compile(lambda *a: [mx.quantized_matmul(v, wq, sc, bi) for v in a])
                    tc = kiln_time(lambda: mx.eval(f(*xs)), 10) / reps
                    compiled = f", compiled {tc * 1e6:.1f} us ({wbytes / tc / 1e9:.0f} GB/s)"
                    t = min(t, tc)
                except Exception as e:  # pragma: no cover - report, keep the eager number
                    compiled = f", compile failed: {type(e).__name__}"
            peer, ratio = "", ""
            if tw is not None:
                tx = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)

                def tf():
                    for _ in range(reps):
                        tx @ tw.T

                tt = torch_time(tf, 10) / reps
                if m == 1:
                    peer = f"{tt * 1e6:.1f} us ({n * k * 2 / tt / 1e9:.0f} GB/s)"
                else:
                    peer = f"{2 * m * n * k / tt / 1e12:.0f} TFLOP/s"
                ratio = f"{tt / t:.2f} of torch"
            if m == 1:
                what, val = f"qmm 4b decode {n}x{k}", f"{t * 1e6:.1f} us ({wbytes / t / 1e9:.0f} GB/s)"
                note = "GB/s of packed w+scales+biases" + compiled
            else:
                what, val = f"qmm 4b prefill 512x{n}x{k}", f"{2 * m * n * k / t / 1e12:.0f} TFLOP/s"
                note = "dequantize + cuBLAS bf16"
            rows.append((what, val, peer, ratio, note))
        del w, wq, sc, bi, tw
        mx.clear_cache()


def main() -> int:
    if not mx.cuda.is_available():
        print("bench_gpu: no GPU")
        return 0
    mx.set_default_device(mx.gpu)
    rows = []  # (what, kiln, peer, ratio, note)
    if sys.argv[1:] == ["quantized"]:
        quantized_rows(rows)
        print_rows(rows)
        return 0

    # ---- elementwise, 256M float32 (1 GiB per array)
    n = 256 * 1024 * 1024
    a = mx.sin(mx.arange(n, dtype=mx.float32) * 1e-3)  # not zeros: real data
    b = mx.cos(mx.arange(n, dtype=mx.float32) * 1e-3)
    mx.eval(a, b)
    copy_bw = None
    if torch is not None:
        ta = torch.sin(torch.arange(n, dtype=torch.float32, device="cuda") * 1e-3)
        tb = torch.empty_like(ta)
        t_copy = torch_time(lambda: tb.copy_(ta), 10)
        copy_bw = 2 * n * 4 / t_copy
        rows.append(("d2d copy 1 GiB (torch)", f"{copy_bw / 1e9:.0f} GB/s", "", "", "bytes read + written"))
    for name, fn, nbytes, tfn in [
        ("add 256M f32", lambda: mx.eval(a + b), 3 * n * 4, (lambda: ta + tb) if torch else None),
        ("exp 256M f32", lambda: mx.eval(mx.exp(a)), 2 * n * 4, (lambda: torch.exp(ta)) if torch else None),
    ]:
        t = kiln_time(fn, 10)
        bw = nbytes / t
        peer = ""
        if tfn is not None:
            tt = torch_time(tfn, 10)
            peer = f"{nbytes / tt / 1e9:.0f} GB/s"
        frac = f"{bw / copy_bw:.2f} of copy" if copy_bw else ""
        rows.append((name, f"{bw / 1e9:.0f} GB/s ({t * 1e3:.2f} ms)", peer, frac, ""))
    # ---- reductions of the same 256M float32 (read once: bytes = n * 4), as a 16384^2 matrix
    a2 = mx.reshape(a, (16384, 16384))
    ta2 = ta.reshape(16384, 16384) if torch is not None else None
    for name, fn, tfn in [
        ("sum 256M f32, all", lambda: mx.eval(mx.sum(a2)), (lambda: ta2.sum()) if torch else None),
        ("sum 256M f32, last axis", lambda: mx.eval(mx.sum(a2, axis=-1)), (lambda: ta2.sum(-1)) if torch else None),
        ("sum 256M f32, first axis", lambda: mx.eval(mx.sum(a2, axis=0)), (lambda: ta2.sum(0)) if torch else None),
    ]:
        t = kiln_time(fn, 10)
        bw = n * 4 / t
        peer, frac = "", ""
        if tfn is not None:
            tt = torch_time(tfn, 10)
            peer = f"{n * 4 / tt / 1e9:.0f} GB/s"
        if copy_bw:
            frac = f"{bw / copy_bw:.2f} of copy"
        note = f"{tt / t:.2f} of torch" if tfn is not None else ""
        rows.append((name, f"{bw / 1e9:.0f} GB/s ({t * 1e3:.2f} ms)", peer, frac, note))
    # ---- softmax, logsumexp, argmax, cumsum on 64M float32 (8192 x 8192 rows; bytes moved:
    # read + written, so softmax and cumsum compare with the copy's rate directly)
    m8 = 8192 * 8192
    x8 = mx.reshape(a[:m8], (8192, 8192))
    mx.eval(x8)
    tx8 = ta[:m8].reshape(8192, 8192) if torch is not None else None
    for name, fn, tfn, nbytes in [
        ("softmax 8192^2 f32, last", lambda: mx.eval(mx.softmax(x8, axis=-1)),
         (lambda: torch.softmax(tx8, -1)) if torch else None, 2 * m8 * 4),
        ("logsumexp 8192^2 f32, last", lambda: mx.eval(mx.logsumexp(x8, axis=-1)),
         (lambda: torch.logsumexp(tx8, -1)) if torch else None, m8 * 4),
        ("argmax 8192^2 f32, last", lambda: mx.eval(mx.argmax(x8, axis=-1)),
         (lambda: torch.argmax(tx8, -1)) if torch else None, m8 * 4),
        ("argmax 8192^2 f32, first", lambda: mx.eval(mx.argmax(x8, axis=0)),
         (lambda: torch.argmax(tx8, 0)) if torch else None, m8 * 4),
        ("cumsum 8192^2 f32, last", lambda: mx.eval(mx.cumsum(x8, axis=-1)),
         (lambda: torch.cumsum(tx8, -1)) if torch else None, 2 * m8 * 4),
        ("cumsum 8192^2 f32, first", lambda: mx.eval(mx.cumsum(x8, axis=0)),
         (lambda: torch.cumsum(tx8, 0)) if torch else None, 2 * m8 * 4),
    ]:
        t = kiln_time(fn, 10)
        bw = nbytes / t
        peer, frac, note = "", "", ""
        if tfn is not None:
            tt = torch_time(tfn, 10)
            peer = f"{nbytes / tt / 1e9:.0f} GB/s"
            note = f"{tt / t:.2f} of torch"
        if copy_bw:
            frac = f"{bw / copy_bw:.2f} of copy"
        rows.append((name, f"{bw / 1e9:.0f} GB/s ({t * 1e3:.2f} ms)", peer, frac, note))
    del x8, tx8
    del a2, ta2
    del a, b
    if torch is not None:
        del ta, tb
        torch.cuda.empty_cache()
    mx.clear_cache()

    # ---- GEMM 8192^3
    m = 8192
    flops = 2 * m**3
    for dt, tdt in [("bfloat16", "bfloat16"), ("float32", "float32")]:
        kdt = getattr(mx, dt)
        x = (mx.sin(mx.arange(m * m, dtype=mx.float32) * 1e-3).reshape(m, m)).astype(kdt)
        y = (mx.cos(mx.arange(m * m, dtype=mx.float32) * 7e-4).reshape(m, m)).astype(kdt)
        mx.eval(x, y)
        t = kiln_time(lambda: mx.eval(x @ y), 10)
        peer, ratio = "", ""
        if torch is not None:
            torch.backends.cuda.matmul.allow_tf32 = False
            tx = torch.randn(m, m, device="cuda", dtype=getattr(torch, tdt))
            ty = torch.randn(m, m, device="cuda", dtype=getattr(torch, tdt))
            tt = torch_time(lambda: tx @ ty, 10)
            peer = f"{flops / tt / 1e12:.0f} TFLOP/s"
            ratio = f"{tt / t:.2f} of torch"
            del tx, ty
        rows.append((f"matmul {dt} 8192^3", f"{flops / t / 1e12:.0f} TFLOP/s", peer, ratio,
                     "TF32 off" if dt == "float32" else ""))
        del x, y
        mx.clear_cache()

    # ---- sort 16M float32: one row, and 4096 rows of 4096; gather of 64M indices from 16M
    n = 16 * 1024 * 1024
    x = mx.sin(mx.arange(n, dtype=mx.float32) * 0.7311) * 1e3  # scrambled values, not sorted runs
    mx.eval(x)
    tx = torch.sin(torch.arange(n, dtype=torch.float32, device="cuda") * 0.7311) * 1e3 if torch else None
    for what, shape in [("sort 16M f32, 1 row", (n,)), ("sort 16M f32, 4096 rows", (4096, 4096))]:
        xs = x.reshape(shape)
        mx.eval(xs)
        t = kiln_time(lambda: mx.eval(mx.sort(xs, axis=-1)), 10)
        peer, ratio = "", ""
        if torch is not None:
            txs = tx.reshape(shape)
            tt = torch_time(lambda: torch.sort(txs, dim=-1), 10)
            peer, ratio = f"{tt * 1e3:.2f} ms", f"{tt / t:.2f} of torch"
        rows.append((what, f"{t * 1e3:.2f} ms ({n / t / 1e9:.2f} G/s)", peer, ratio, "values only"))
    m = 64 * 1024 * 1024
    idx = (mx.arange(m, dtype=mx.int32) * 7919) % n  # scattered reads
    mx.eval(idx)
    t = kiln_time(lambda: mx.eval(mx.take(x, idx)), 10)
    moved = m * (4 + 4 + 4)  # index read, value read, value written
    peer, ratio = "", ""
    if torch is not None:
        tidx = (torch.arange(m, dtype=torch.int64, device="cuda") * 7919) % n
        tt = torch_time(lambda: torch.take(tx, tidx), 10)
        peer, ratio = f"{tt * 1e3:.2f} ms", f"{tt / t:.2f} of torch"
        del tidx
    rows.append(("gather 64M of 16M f32", f"{t * 1e3:.2f} ms ({moved / t / 1e9:.0f} GB/s)", peer, ratio,
                 "int32 idx (torch int64)"))
    del x, idx, tx
    mx.clear_cache()
    if torch is not None:
        torch.cuda.empty_cache()

    # ---- per-op overhead of a tiny op (build + eval from Python; the eval waits for nothing)
    x = mx.array(1.0)
    mx.eval(x)
    reps = 20000
    for dev_name, dev in [("gpu", mx.gpu), ("cpu", mx.cpu)]:
        with mx.stream(dev):
            for _ in range(200):
                mx.eval(x + 1)
            mx.synchronize()
            t0 = time.perf_counter()
            for _ in range(reps):
                mx.eval(x + 1)
            mx.synchronize()
            per = (time.perf_counter() - t0) / reps
        peer = ""
        if torch is not None and dev_name == "gpu":
            tx = torch.ones((), device="cuda")
            for _ in range(200):
                tx + 1
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(reps):
                tx + 1
            torch.cuda.synchronize()
            peer = f"{(time.perf_counter() - t0) / reps * 1e6:.1f} us"
        rows.append((f"tiny op overhead ({dev_name})", f"{per * 1e6:.1f} us", peer, "", "x + 1 on a 0-d array, eval"))

    quantized_rows(rows)
    print_rows(rows)
    return 0


def print_rows(rows) -> None:
    print()
    print(f"{'benchmark':<28} {'kiln':<26} {'torch':<16} {'ratio':<16} note")
    for r in rows:
        print(f"{r[0]:<28} {r[1]:<26} {r[2]:<16} {r[3]:<16} {r[4]}")


if __name__ == "__main__":
    sys.exit(main())
