"""GPU benchmarks, side by side with PyTorch in the same run (issue 5's targets):

- elementwise add and exp on 256M float32, as a fraction of the device-to-device copy
  bandwidth measured in the same run (bytes read + written);
- sum of the same 256M float32 (as 16384 x 16384) over all, the last and the first axis
  (bytes read), against the copy bandwidth and torch.sum;
- bfloat16 and float32 (TF32 off) GEMM 8192^3 against torch.matmul;
- per-op overhead of building and evaluating a tiny op from Python;
- sort of 16M float32 (one row, and 4096 rows of 4096) and a gather of 64M int32 indices
  against torch.sort / torch.take;
- a compiled chain of 100 tiny ops (50 x tanh(x @ w), 16 x 16 float32: no elementwise chain that
  compile fuses) per call: replayed as a CUDA graph, with KILN_DISABLE_CUDA_GRAPHS=1 (measured
  in a subprocess: the variable is read once per process), uncompiled (100 separate launches),
  and torch eager / torch.cuda.graph;
- FFT (complex64 2^24 points, 4096 rfft rows of 4096, a 4096 x 4096 fft2) against torch.fft, and
  the Hadamard transform of 4096 rows of 4096 float32 against a copy of the same bytes;
- linalg (cuSOLVER): Cholesky and solve of a 4096 x 4096 float32, SVD and eigh of 2048 x 2048,
  10000 inverses of 8 x 8, against torch.linalg;
- convolutions on a 32x56x56 channels-last batch (3x3 64->64, 1x1 256->64, depthwise 3x3 of 64
  channels; float32 with TF32 off, and bfloat16) against torch.nn.functional.conv2d on
  channels_last tensors with cudnn.benchmark on;
- compiled GELU (erf form) on 64M float32: the fused NVRTC kernel against the same ops
  uncompiled, torch eager and torch.compile (when it works here), as a fraction of the copy
  bandwidth; NVRTC's first build of a kernel and a fresh process's load of it from the disk cache;
- 4-bit affine (group 64) quantized_matmul with bfloat16 x: decode (1 row, effective GB/s of the
  packed weights, scales and biases read) and prefill (512 rows) against torch's bfloat16
  matmul with the dense weight.

Prints a summary table last. Run on a machine with a GPU: `python benchmarks/bench_gpu.py`;
`--only NAME[,NAME...]` runs some sections (names: see SECTIONS at the end).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

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


def per_op(step, finish, n: int = 2000, batches: int = 7) -> float:
    """Median over batches of seconds per step() call, finish() (a wait) closing each batch."""
    for _ in range(200):
        step()
    finish()
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        finish()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def tiny_op_rows() -> list:
    # per-op overhead of a tiny op (issue 5: at most 5 us per op built and evaluated from
    # Python). Pipelined: ops built and evaluated back to back, one wait at the end (the host
    # cost per op; the GPU runs them behind). Synchronous: each op also waits for the GPU (what
    # `mx.eval(x + 1); mx.synchronize()` or `.item()` costs), which includes a GPU round trip:
    # torch doing the same and a bare empty-kernel launch + synchronize (torch.cuda._sleep(0))
    # are its floors. Medians of 7 batches of 2000 ops, host clock.
    rows = []
    us = lambda t: f"{t * 1e6:.1f} us"  # noqa: E731
    nothing = lambda: None  # noqa: E731
    tsync = torch.cuda.synchronize if torch is not None else nothing
    x = mx.array(1.0)
    mx.eval(x)
    xd = mx.abs(x)  # a 0-d array that lives on the device only (a GPU op's result)
    mx.eval(xd)
    tx = torch.ones((), device="cuda") if torch is not None else None

    def chain():
        nonlocal y
        y = y + 1
        mx.async_eval(y)

    with mx.stream(mx.gpu):
        # pipelined: the host cost per op
        t = per_op(lambda: mx.eval(x + 1), mx.synchronize)
        tt = per_op(lambda: tx + 1, tsync) if tx is not None else None
        rows.append(("tiny op pipelined (gpu)", us(t), us(tt) if tt else "", f"{tt / t:.2f} of torch" if tt else "",
                     "x + 1 on a 0-d array, eval; one sync per 2000"))
        t = per_op(lambda: mx.async_eval(xd + 1), mx.synchronize)
        rows.append(("tiny op async_eval (gpu)", us(t), "", "", "device-resident x, async_eval(x + 1)"))
        y = xd
        t = per_op(chain, mx.synchronize)
        mx.eval(y)
        rows.append(("tiny op chain (gpu)", us(t), "", "", "y = y + 1; async_eval(y), dependent ops"))
        t = per_op(lambda: x + 1, nothing)
        rows.append(("tiny op build only (gpu)", us(t), "", "", "graph build of x + 1, no eval"))
        # synchronous: build + eval + wait for the GPU, every op
        t = per_op(lambda: (mx.eval(x + 1), mx.synchronize()), nothing)
        tt = per_op(lambda: (tx + 1, tsync()), nothing) if tx is not None else None
        rows.append(("tiny op synchronous (gpu)", us(t), us(tt) if tt else "", f"{tt / t:.2f} of torch" if tt else "",
                     "eval(x + 1); synchronize()"))
        t = per_op(lambda: (x + 1).item(), nothing)
        tt = per_op(lambda: (tx + 1).item(), nothing) if tx is not None else None
        rows.append(("tiny op + item (gpu)", us(t), us(tt) if tt else "", f"{tt / t:.2f} of torch" if tt else "",
                     "(x + 1).item(): round trip + download"))
        if torch is not None:
            tt = per_op(lambda: (torch.cuda._sleep(0), tsync()), nothing)
            rows.append(("empty kernel + sync (floor)", "", us(tt), "", "torch.cuda._sleep(0); synchronize()"))
            tt = per_op(tsync, nothing)
            rows.append(("sync of an idle stream", us(per_op(mx.synchronize, nothing)), us(tt), "", ""))
    with mx.stream(mx.cpu):
        t = per_op(lambda: mx.eval(x + 1), mx.synchronize)
        rows.append(("tiny op pipelined (cpu)", us(t), "", "", "x + 1 on a 0-d array, eval"))
    return rows


CHAIN_LINKS, CHAIN_N, CHAIN_CALLS = 50, 16, 2000


def chain(x, w):
    for _ in range(CHAIN_LINKS):
        x = mx.tanh(x @ w)
    return x


def chain_per_call(compiled: bool, calls: int = CHAIN_CALLS, host_only: bool = False) -> float:
    """Seconds per call of the chain (build + eval from Python, calls pipelined), with new input
    values each call (a ring of 8 inputs). host_only: the clock stops before the final wait, so
    it reads the host's cost per queued call (the pipelined time is the larger of it and the GPU's)."""
    f = mx.compile(chain) if compiled else chain
    w = mx.random.normal((CHAIN_N, CHAIN_N)) * (1.0 / CHAIN_N**0.5)
    xs = [mx.random.normal((CHAIN_N, CHAIN_N)) for _ in range(8)]
    mx.eval(w, *xs)
    for i in range(20):
        mx.eval(f(xs[i % 8], w))
    mx.synchronize()
    t0 = time.perf_counter()
    for i in range(calls):
        mx.eval(f(xs[i % 8], w))
    if not host_only:
        mx.synchronize()
    t = (time.perf_counter() - t0) / calls
    mx.synchronize()
    return t


def graph_rows():
    import subprocess

    rows = []
    # First calls of a fresh compiled chain: warm-up (kernel by kernel), then capture + instantiate.
    f = mx.compile(lambda x, w: chain(x, w))  # a different function object: its own cache entry
    x = mx.random.normal((CHAIN_N, CHAIN_N))
    w = mx.random.normal((CHAIN_N, CHAIN_N)) * (1.0 / CHAIN_N**0.5)
    mx.eval(x, w)
    firsts = []
    for _ in range(3):
        t0 = time.perf_counter()
        mx.eval(f(x, w))
        mx.synchronize()
        firsts.append(time.perf_counter() - t0)
    before = mx.cuda.graph_stats()
    g = chain_per_call(True)
    g_host = chain_per_call(True, calls=200, host_only=True)
    stats = mx.cuda.graph_stats()
    used = {k: stats[k] - before[k] for k in stats}
    env = dict(os.environ, KILN_DISABLE_CUDA_GRAPHS="1")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--chain-us"], env=env, capture_output=True,
                         text=True, timeout=300)
    try:
        off = float(out.stdout.strip().splitlines()[-1]) * 1e-6
    except (ValueError, IndexError):
        print(f"graphs-off subprocess failed: {out.stdout[-500:]} {out.stderr[-2000:]}")
        off = float("nan")
    eager = chain_per_call(False)

    t_eager = t_graph = None
    if torch is not None:
        tw = torch.randn(CHAIN_N, CHAIN_N, device="cuda") / CHAIN_N**0.5
        txs = [torch.randn(CHAIN_N, CHAIN_N, device="cuda") for _ in range(8)]

        def tchain(x):
            for _ in range(CHAIN_LINKS):
                x = torch.tanh(x @ tw)
            return x

        def per_call(fn):
            for i in range(20):
                fn(i)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for i in range(CHAIN_CALLS):
                fn(i)
            torch.cuda.synchronize()
            return (time.perf_counter() - t0) / CHAIN_CALLS

        t_eager = per_call(lambda i: tchain(txs[i % 8]))
        try:
            static_x = txs[0].clone()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    tchain(static_x)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_y = tchain(static_x)

            def replay(i):
                static_x.copy_(txs[i % 8])
                graph.replay()
                return static_y.clone()  # a result the caller may keep, as kiln's

            t_graph = per_call(replay)
        except Exception as e:  # pragma: no cover - report, do not fail the benchmark
            print(f"torch.cuda.graph failed: {e}")

    us = lambda t: f"{t * 1e6:.1f} us" if t is not None else ""
    note = (f"host {g_host * 1e6:.1f} us/call; captures {used['captures']}, replays {used['replays']}, "
            f"fallbacks {used['fallbacks']}")
    rows.append(("chain100 compiled, graph", us(g), us(t_graph), f"{t_graph / g:.2f} of torch graph" if t_graph else "",
                 note))
    rows.append(("chain100 compiled, no graph", us(off), us(t_eager), f"{off / g:.1f}x graph", "KILN_DISABLE_CUDA_GRAPHS=1"))
    rows.append(("chain100 uncompiled", us(eager), us(t_eager), f"{eager / g:.1f}x graph",
                 "100 separate launches; torch column: eager"))
    rows.append(("chain100 first 3 calls", " / ".join(f"{t * 1e3:.2f}" for t in firsts) + " ms", "", "",
                 "warm-up, capture + instantiate, replay (synchronized)"))
    return rows


def fft_rows() -> list:
    """FFT rows against torch.fft; Hadamard against a device copy of the same bytes."""
    rows = []
    def complex_input(shape):
        size = 1
        for d in shape:
            size *= d
        x = mx.view(mx.sin(mx.arange(2 * size, dtype=mx.float32) * 0.37) * 3, mx.complex64).reshape(shape)
        mx.eval(x)
        tx = None
        if torch is not None:
            tf = torch.sin(torch.arange(2 * size, dtype=torch.float32, device="cuda") * 0.37) * 3
            tx = torch.view_as_complex(tf.reshape(*shape, 2))
        return x, tx

    n24 = 1 << 24
    x, tx = complex_input((n24,))
    r = mx.cos(mx.arange(4096 * 4096, dtype=mx.float32) * 0.37).reshape(4096, 4096)
    mx.eval(r)
    tr = torch.cos(torch.arange(4096 * 4096, dtype=torch.float32, device="cuda") * 0.37).reshape(4096, 4096) \
        if torch is not None else None
    x2, tx2 = complex_input((4096, 4096))
    for what, fn, tfn, nbytes in [
        ("fft c64 2^24", lambda: mx.eval(mx.fft.fft(x)), (lambda: torch.fft.fft(tx)) if torch else None, 2 * n24 * 8),
        ("rfft 4096 rows of 4096", lambda: mx.eval(mx.fft.rfft(r)), (lambda: torch.fft.rfft(tr)) if torch else None,
         4096 * 4096 * 4 + 4096 * 2049 * 8),
        ("fft2 c64 4096^2", lambda: mx.eval(mx.fft.fft2(x2)), (lambda: torch.fft.fft2(tx2)) if torch else None,
         2 * 4096 * 4096 * 8),
    ]:
        t = kiln_time(fn, 10)
        peer, ratio = "", ""
        if tfn is not None:
            tt = torch_time(tfn, 10)
            peer, ratio = f"{tt * 1e3:.2f} ms", f"{tt / t:.2f} of torch"
        rows.append((what, f"{t * 1e3:.2f} ms ({nbytes / t / 1e9:.0f} GB/s)", peer, ratio, "bytes: input + output"))
    del x, tx, x2, tx2
    # Hadamard of 4096 rows of 4096 float32 (64 MiB read + 64 MiB written) against a copy of
    # the same bytes.
    t = kiln_time(lambda: mx.eval(mx.hadamard_transform(r)), 10)
    nbytes = 2 * 4096 * 4096 * 4
    peer, ratio = "", ""
    if torch is not None:
        dst = torch.empty_like(tr)
        tt = torch_time(lambda: dst.copy_(tr), 10)
        peer, ratio = f"copy {nbytes / tt / 1e9:.0f} GB/s", f"{tt / t:.2f} of copy"
        del dst
    rows.append(("hadamard 4096 x 4096 f32", f"{t * 1e3:.3f} ms ({nbytes / t / 1e9:.0f} GB/s)", peer, ratio,
                 "read + written"))
    del r, tr
    mx.clear_cache()
    if torch is not None:
        torch.cuda.empty_cache()
    return rows


def linalg_rows() -> list:
    """Factorizations and solvers against torch.linalg on the same data."""
    rows = []

    rng = np.random.default_rng(0)
    n = 4096
    x = rng.standard_normal((n, n)).astype(np.float32)
    spd = (x @ x.T / n + np.eye(n, dtype=np.float32)).astype(np.float32)
    rhs = rng.standard_normal((n, 64)).astype(np.float32)
    m = 2048
    g = rng.standard_normal((m, m)).astype(np.float32)
    small = (rng.standard_normal((10000, 8, 8)) + 4 * np.eye(8)).astype(np.float32)
    a_spd, a_rhs, a_g, a_small = mx.array(spd), mx.array(rhs), mx.array(g), mx.array(small)
    mx.eval(a_spd, a_rhs, a_g, a_small)
    cases = [
        ("cholesky 4096 f32", lambda: mx.eval(mx.linalg.cholesky(a_spd)), "cholesky", (spd,), 5),
        ("solve 4096 f32, 64 rhs", lambda: mx.eval(mx.linalg.solve(a_spd, a_rhs)), "solve", (spd, rhs), 5),
        ("svd 2048 f32 (U, S, Vt)", lambda: mx.eval(mx.linalg.svd(a_g)), "svd", (g,), 2),
        ("svd 2048 f32 values", lambda: mx.eval(mx.linalg.svd(a_g, compute_uv=False)), "svdvals", (g,), 2),
        ("eigh 2048 f32", lambda: mx.eval(mx.linalg.eigh(a_g)), "eigh", (g,), 3),
        ("inv 10000 x 8x8 f32", lambda: mx.eval(mx.linalg.inv(a_small)), "inv", (small,), 10),
    ]
    for what, fn, tname, args, reps in cases:
        t = kiln_time(fn, reps, warmup=1)
        peer, ratio = "", ""
        if torch is not None:
            targs = [torch.from_numpy(v).cuda() for v in args]
            tfn = {"cholesky": torch.linalg.cholesky, "solve": torch.linalg.solve, "svd": torch.linalg.svd,
                   "svdvals": torch.linalg.svdvals, "eigh": torch.linalg.eigh, "inv": torch.linalg.inv}[tname]
            tt = torch_time(lambda: tfn(*targs), reps, warmup=1)
            peer, ratio = f"{tt * 1e3:.2f} ms", f"{tt / t:.2f} of torch"
        rows.append((what, f"{t * 1e3:.2f} ms", peer, ratio, "cuSOLVER" if "inv 10000" not in what else "cuBLAS batched"))
    mx.clear_cache()
    return rows


def conv_rows() -> list:
    """Convolutions on a 32x56x56 batch, kiln (NHWC) vs torch (channels_last, cuDNN autotuned), ms per
    convolution over 10 per timed call."""
    rows = []
    n, h, w_ = 32, 56, 56
    if torch is not None:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = False
    for what, cin, cout, k, groups in [("conv2d 3x3 64->64", 64, 64, 3, 1), ("conv2d 1x1 256->64", 256, 64, 1, 1),
                                        ("depthwise 3x3 64", 64, 64, 3, 64)]:
        for dt in ["float32", "bfloat16"]:
            kdt = getattr(mx, dt)
            x = mx.random.normal((n, h, w_, cin)).astype(kdt)
            wt = mx.random.normal((cout, k, k, cin // groups)).astype(kdt)
            mx.eval(x, wt)
            pad = k // 2
            # 10 convolutions per timed call on both sides (kiln's times include building the graph).
            conv10 = lambda: mx.eval([mx.conv2d(x, wt, padding=pad, groups=groups) for _ in range(10)])  # noqa: E731
            t = kiln_time(conv10, 10) / 10
            flops = 2 * n * h * w_ * cout * k * k * (cin // groups)
            tu = None
            if dt == "bfloat16" and k == 3 and groups == 1:
                # The same through the unfold + cuBLASLt path instead of the implicit GEMM.
                os.environ["KILN_CONV_IMPLICIT"] = "0"
                tu = kiln_time(conv10, 10) / 10
                del os.environ["KILN_CONV_IMPLICIT"]
            moved = (x.size + n * h * w_ * cout) * x.itemsize
            peer, ratio = "", ""
            if torch is not None:
                tdt = getattr(torch, dt)
                tx = torch.randn(n, cin, h, w_, device="cuda", dtype=tdt).to(memory_format=torch.channels_last)
                tw = torch.randn(cout, cin // groups, k, k, device="cuda", dtype=tdt).to(
                    memory_format=torch.channels_last)
                tconv10 = lambda: [torch.nn.functional.conv2d(tx, tw, padding=pad, groups=groups)  # noqa: E731
                                   for _ in range(10)]
                tt = torch_time(tconv10, 10, warmup=3) / 10
                peer, ratio = f"{tt * 1e3:.3f} ms", f"{tt / t:.2f} of torch"
                del tx, tw
            rate = f"{moved / t / 1e9:.0f} GB/s" if groups > 1 else f"{flops / t / 1e12:.1f} TFLOP/s"
            rows.append((f"{what} {dt}", f"{t * 1e3:.3f} ms ({rate})", peer, ratio,
                         "TF32 off" if dt == "float32" else ""))
            if tu is not None:
                rows.append((f"{what} {dt} (unfold)", f"{tu * 1e3:.3f} ms ({flops / tu / 1e12:.1f} TFLOP/s)", "",
                             f"{tt / tu:.2f} of torch" if torch is not None else "", "KILN_CONV_IMPLICIT=0"))
            del x, wt
    mx.clear_cache()
    return rows


_JIT_SCRIPT = """
import sys, time, kiln.core as mx
mx.set_default_device(mx.gpu)
x = mx.ones((1 << 20,))
mx.eval(x)
f = mx.compile(lambda x: x * {c} * (1 + mx.erf(x * 0.7071067811865476)) + mx.tanh(x))
t0 = time.perf_counter()
mx.eval(f(x))
mx.synchronize()
t1 = time.perf_counter()
mx.eval(f(x))
mx.synchronize()
print("first_call_ms", (t1 - t0) * 1e3, "second_call_ms", (time.perf_counter() - t1) * 1e3)
"""


_TORCH_COMPILE_SCRIPT = """
import time, torch
n = 64 * 1024 * 1024
tx = torch.sin(torch.arange(n, dtype=torch.float32, device="cuda") * 1e-3)
f = torch.compile(lambda t: t * 0.5 * (1 + torch.erf(t * 0.7071067811865476)))
t0 = time.perf_counter()
f(tx)
torch.cuda.synchronize()
build = time.perf_counter() - t0
ts = []
for _ in range(22):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    f(tx)
    e.record()
    e.synchronize()
    ts.append(s.elapsed_time(e) / 1e3)
ts.sort()
print("tc", ts[len(ts) // 2], build)
"""


def compiled_rows() -> list:
    """Compiled GELU on 64M float32 vs uncompiled kiln, torch eager and torch.compile; NVRTC build
    and disk-cache load times (fresh processes, a fresh cache directory)."""
    rows = []
    n = 64 * 1024 * 1024
    nbytes = 2 * n * 4  # read x, write the result

    def gelu(x):
        return x * 0.5 * (1 + mx.erf(x * 0.7071067811865476))

    x = mx.sin(mx.arange(n, dtype=mx.float32) * 1e-3)
    mx.eval(x)
    gelu_c = mx.compile(gelu)
    copy_bw = None
    tx = None
    if torch is not None:
        tx = torch.sin(torch.arange(n, dtype=torch.float32, device="cuda") * 1e-3)
        ty = torch.empty_like(tx)
        copy_bw = nbytes / torch_time(lambda: ty.copy_(tx), 20)
        del ty
        rows.append(("d2d copy 256 MiB (torch)", f"{copy_bw / 1e9:.0f} GB/s", "", "", "bytes read + written"))
    t_eager = kiln_time(lambda: mx.eval(gelu(x)), 10)
    t_comp = kiln_time(lambda: mx.eval(gelu_c(x)), 20)
    peer = ""
    if torch is not None:
        def tgelu(t):
            return t * 0.5 * (1 + torch.erf(t * 0.7071067811865476))
        tt = torch_time(lambda: tgelu(tx), 10)
        peer = f"{nbytes / tt / 1e9:.0f} GB/s"
    for what, t, note in [("gelu 64M f32, uncompiled", t_eager, "5 kernels"),
                          ("gelu 64M f32, compiled", t_comp, f"{t_eager / t_comp:.1f}x uncompiled")]:
        frac = f"{nbytes / t / copy_bw:.2f} of copy" if copy_bw else ""
        rows.append((what, f"{nbytes / t / 1e9:.0f} GB/s ({t * 1e3:.2f} ms)", peer + " eager" if peer else "", frac,
                     note))
        print(rows[-1], flush=True)
    # NVRTC: a fresh cache directory, then a fresh process with the cache filled.
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, KILN_CACHE_DIR=d, KILN_JIT_VERBOSE="1")
        script = _JIT_SCRIPT.format(c=0.5 + (os.getpid() % 1000) * 1e-6)  # a chain no cache has seen
        for what in ("NVRTC first build", "disk-cache load (fresh process)"):
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
            ms = re.findall(r"in ([0-9.]+) ms", out.stderr)
            calls = re.findall(r"first_call_ms ([0-9.]+) second_call_ms ([0-9.]+)", out.stdout)
            if out.returncode != 0 or not calls:
                rows.append((what, "failed", "", "", out.stderr.strip()[-200:]))
                continue
            first, second = (float(v) for v in calls[0])
            rows.append((what, f"{float(ms[0]) if ms else float('nan'):.1f} ms", "", "",
                         f"first call {first:.1f} ms, next {second:.2f} ms"))
            print(rows[-1], flush=True)
    # torch.compile last, in a child process with a time limit: it may be slow to build, or
    # unavailable offline.
    if torch is not None:
        what = "gelu 64M f32, torch.compile"
        try:
            out = subprocess.run([sys.executable, "-c", _TORCH_COMPILE_SCRIPT], capture_output=True, text=True,
                                 timeout=150)
            found = re.findall(r"tc ([0-9.e-]+) ([0-9.e-]+)", out.stdout)
            if not found:
                raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no result")
            tt, build = (float(v) for v in found[0])
            rows.append((what, f"{nbytes / tt / 1e9:.0f} GB/s ({tt * 1e3:.2f} ms)", "",
                         f"{nbytes / tt / copy_bw:.2f} of copy", f"kiln compiled {tt / t_comp:.2f} of it; "
                         f"first call {build:.1f} s"))
        except Exception as e:  # noqa: BLE001 - report whatever stopped it
            rows.append((what, "unavailable", "", "", f"{type(e).__name__}: {e}"[:120]))
        print(rows[-1], flush=True)
    del x, tx
    mx.clear_cache()
    return rows


def quantized_rows() -> list:
    """4-bit affine (group 64) quantized_matmul, bfloat16, against torch bfloat16 matmul.

    Decode products take microseconds, so both sides run 50 of them per timing (one kiln graph,
    one stream of torch launches) and report the time per product."""
    rows = []
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
    return rows


def print_rows(rows):
    print()
    print(f"{'benchmark':<28} {'kiln':<26} {'torch':<16} {'ratio':<16} note")
    for r in rows:
        print(f"{r[0]:<28} {r[1]:<26} {r[2]:<16} {r[3]:<16} {r[4]}")


def core_rows() -> list:
    """Elementwise, reductions, softmax/scans, GEMM, sort and gather."""
    rows = []  # (what, kiln, peer, ratio, note)

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

    return rows


SECTIONS = {"core": core_rows, "tiny": tiny_op_rows, "graphs": graph_rows, "fft": fft_rows, "linalg": linalg_rows,
            "conv": conv_rows, "compiled": compiled_rows, "quantized": quantized_rows}


def main() -> int:
    if not mx.cuda.is_available():
        print("bench_gpu: no GPU")
        return 0
    mx.set_default_device(mx.gpu)
    if "--chain-us" in sys.argv:  # the graphs-off subprocess of graph_rows
        print(f"{chain_per_call(True) * 1e6:.3f}")
        return 0
    names = list(SECTIONS)
    if "--only" in sys.argv:
        names = sys.argv[sys.argv.index("--only") + 1].split(",")
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            print(f"bench_gpu: unknown sections {unknown}; known: {list(SECTIONS)}")
            return 2
    rows = []
    for name in names:
        section = SECTIONS[name]()
        print_rows(section)  # as each section ends: a run cut short still shows what it measured
        sys.stdout.flush()
        rows += section
    print("\n== all sections")
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
