"""CUDA graphs for compiled functions (backend/cuda/graph.cpp).

A compiled function called again on inputs of the same shapes runs as one captured CUDA graph
from its second evaluation on. Its results must be those of the kernel-by-kernel run
(KILN_DISABLE_CUDA_GRAPHS=1, bit for bit, checked in a subprocess) and match the CPU, over many
calls with changing input values, several shapes, outputs kept alive across calls and
evaluated together, and units that cannot be captured (views as inputs, a CPU op inside, ops
whose kernels may synchronize). The functions use no elementwise chains that compile fuses:
each elementwise op reads a matmul, reduction or an array with another consumer.

Without a GPU every test here skips with "no GPU". Run as a script (`python test_gpu_graphs.py
OUT.npz`) it writes the results of all cases, which the tests use for the graphs-off run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import IS_MLX, mx

HAS_GPU = (not IS_MLX) and mx.cuda.is_available()
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no GPU")

CALLS = 8


def chain(x, w):
    for _ in range(4):
        x = mx.tanh(x @ w)  # tanh reads a matmul: nothing to fuse
    return x


def mixed(x, w):
    y = x @ w
    s = mx.softmax(y, axis=-1)
    e = mx.exp(y)
    z = mx.maximum(e, s)  # e has another consumer (the sum): not fused into the maximum
    t = mx.sum(e, axis=-1)
    c = mx.cumsum(z, axis=0)
    return mx.sort(c, axis=-1), t, mx.argmax(y, axis=-1)


FUNCS = {"chain": chain, "mixed": mixed}
SHAPES = [(4, 8), (16, 16), (33, 7)]
CASES = [(f, s) for f in FUNCS for s in SHAPES]


def _inputs(shape, call):
    rng = np.random.default_rng(1000 * call + shape[0] * 31 + shape[1])
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    w = rng.uniform(-1, 1, (shape[1], shape[1])).astype(np.float32) / np.sqrt(shape[1])
    return x, w


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def run_case(fname, shape):
    """CALLS calls of the compiled function; the first half evaluated call by call, the second
    half built first and evaluated together. Every output stays alive to the end."""
    f = mx.compile(FUNCS[fname])
    kept = []
    for call in range(CALLS):
        x, w = _inputs(shape, call)
        out = _as_list(f(mx.array(x), mx.array(w)))
        if call < CALLS // 2:
            mx.eval(*out)
        kept.append(out)
    mx.eval(*[o for out in kept for o in out])
    return [[np.array(o) for o in out] for out in kept]


def run_all():
    return {f"{f}-{s[0]}x{s[1]}": run_case(f, s) for f, s in CASES}


@pytest.fixture(scope="module")
def graphs_off():
    """The same cases run kernel by kernel, in a process with KILN_DISABLE_CUDA_GRAPHS=1."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "off.npz")
        env = dict(os.environ, KILN_DISABLE_CUDA_GRAPHS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), path], check=True, env=env, timeout=300)
        data = np.load(path)
        return {k: data[k] for k in data.files}


def _cpu(fname, x, w):
    old = mx.default_device()
    mx.set_default_device(mx.cpu)
    try:
        return [np.array(o) for o in _as_list(FUNCS[fname](mx.array(x), mx.array(w)))]
    finally:
        mx.set_default_device(old)


@pytest.mark.parametrize("fname,shape", CASES, ids=[f"{f}-{s[0]}x{s[1]}" for f, s in CASES])
def test_replay_matches_cpu_and_graphs_off(fname, shape, graphs_off):
    before = mx.cuda.graph_stats()
    results = run_case(fname, shape)
    after = mx.cuda.graph_stats()
    # The graph path really ran: one capture, every call from the second on a graph launch.
    assert after["fallbacks"] == before["fallbacks"]
    assert after["captures"] - before["captures"] == 1
    assert after["replays"] - before["replays"] == CALLS - 1
    key = f"{fname}-{shape[0]}x{shape[1]}"
    for call, out in enumerate(results):
        x, w = _inputs(shape, call)
        for j, (got, ref) in enumerate(zip(out, _cpu(fname, x, w))):
            np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5, err_msg=f"call {call} output {j}")
            off = graphs_off[f"{key}-{call}-{j}"]
            assert got.dtype == off.dtype and got.shape == off.shape
            assert np.array_equal(got, off), f"call {call} output {j} differs from the kernel-by-kernel run"


def test_graphs_off_env_runs_no_graphs():
    code = ("import kiln.core as mx\n"
            "f = mx.compile(lambda x: mx.tanh(x @ x))\n"
            "for _ in range(4): mx.eval(f(mx.ones((4, 4))))\n"
            "s = mx.cuda.graph_stats(); assert s['captures'] == 0 and s['replays'] == 0 and s['runs'] == 0, s\n")
    env = dict(os.environ, KILN_DISABLE_CUDA_GRAPHS="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_fallbacks_give_right_results():
    f = mx.compile(chain)
    x, w = _inputs((6, 6), 0)
    # A transposed view as input: the unit runs kernel by kernel (no slot layout for views).
    before = mx.cuda.graph_stats()
    for call in range(4):
        xv = mx.array(x + call).T
        got = np.array(f(xv, mx.array(w)))
        np.testing.assert_allclose(got, _cpu("chain", (x + call).T, w)[0], rtol=2e-4, atol=2e-5)
    after = mx.cuda.graph_stats()
    assert after["runs"] - before["runs"] == 4 and after["replays"] == before["replays"]

    # A CPU op inside: the tape spans two streams, so compile replays it node by node.
    def split(x, w):
        y = mx.tanh(x @ w)
        z = mx.exp(y, stream=mx.cpu)
        return mx.sum(z @ w, axis=0)

    g = mx.compile(split)
    for call in range(4):
        got = np.array(g(mx.array(x + call), mx.array(w)))
        ref = np.sum(np.exp(np.tanh((x + call) @ w)) @ w, axis=0)
        np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5)


def test_failed_capture_falls_back_with_right_results():
    # KILN_CUDA_GRAPHS_INJECT_SYNC makes every capture do what a kernel that reads back on the
    # host does (cudaStreamSynchronize inside the capture): the capture fails after the tape's
    # buffers were made; the unit must run kernel by kernel from then on, with right results,
    # and the stream must stay usable for other work.
    code = f"""
import sys, numpy as np
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import kiln.core as mx
import test_gpu_graphs as t
for fname, shape in [("mixed", (16, 16)), ("chain", (4, 8))]:
    f = mx.compile(t.FUNCS[fname])
    for call in range(5):
        x, w = t._inputs(shape, call)
        got = [np.array(o) for o in t._as_list(f(mx.array(x), mx.array(w)))]
        for g, r in zip(got, t._cpu(fname, x, w)):
            np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5)
s = mx.cuda.graph_stats()
assert s["captures"] == 0 and s["replays"] == 0 and s["fallbacks"] == 2 and s["runs"] == 10, s
print(np.array(mx.sum(mx.ones((1000,)))))
"""
    env = dict(os.environ, KILN_CUDA_GRAPHS_INJECT_SYNC="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "1000.0"


def test_unit_with_linalg():
    # cuSOLVER kernels may check their status on the host: such a capture fails and the unit
    # falls back to launches; either way the results are right.
    def h(x, w):
        return mx.linalg.inv(x @ w + w) @ x

    f = mx.compile(h)
    rng = np.random.default_rng(0)
    for call in range(4):
        x = rng.uniform(-1, 1, (5, 5)).astype(np.float32) + 4 * np.eye(5, dtype=np.float32)
        w = np.eye(5, dtype=np.float32)
        try:
            got = np.array(f(mx.array(x), mx.array(w)))
        except RuntimeError as e:
            if "no GPU implementation" in str(e):
                pytest.skip(str(e))
            raise
        np.testing.assert_allclose(got, np.linalg.inv(x @ w + w) @ x, rtol=1e-3, atol=1e-4)


def test_compiled_function_freed_with_graph():
    # A captured graph dies with its compiled function's cache entry; calls after that recapture.
    for _ in range(2):
        f = mx.compile(chain)
        x, w = _inputs((4, 8), 0)
        for _ in range(3):
            got = np.array(f(mx.array(x), mx.array(w)))
        np.testing.assert_allclose(got, _cpu("chain", x, w)[0], rtol=2e-4, atol=2e-5)
        del f
        mx.clear_cache()


if __name__ == "__main__":
    res = run_all()
    np.savez(sys.argv[1], **{f"{k}-{c}-{j}": o for k, calls in res.items() for c, out in enumerate(calls)
                            for j, o in enumerate(out)})
