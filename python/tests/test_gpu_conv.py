"""GPU convolution paths that the one-line cases in test_gpu_ops.py are too small to reach: a
patch workspace split in chunks, an unfold whose threads take several kernel taps each, and the
implicit GEMM on a large input.
Quarter values keep every sum exact, so the GPU must equal the CPU. Skipped without a GPU."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import IS_MLX, mk, mx, to_numpy

HAS_GPU = (not IS_MLX) and mx.cuda.is_available()
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no GPU")


def quarters(rng, shape):
    return np.round(rng.uniform(-2, 2, size=shape) * 4) / 4


def both(fn, *vals, dtype="float32"):
    outs = []
    for dev in (mx.cpu, mx.gpu):
        with mx.stream(dev):
            out = fn(*[mk(v, dtype) for v in vals])
            mx.eval(out)
            outs.append(to_numpy(out))
    return outs


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_workspace_chunks(monkeypatch, groups):
    # 288 * groups bytes per patch row: a 5000-byte workspace holds a few rows, so the 216 rows run in
    # many chunks, the last one partial.
    monkeypatch.setenv("KILN_CONV_WORKSPACE_BYTES", "5000")
    rng = np.random.default_rng(1)
    x, w = quarters(rng, (3, 9, 8, 8 * groups)), quarters(rng, (16, 3, 3, 8))
    cpu, gpu = both(lambda a, b: mx.conv2d(a, b, padding=1, groups=groups), x, w)
    np.testing.assert_array_equal(gpu, cpu)


@pytest.mark.parametrize("dtype,implicit", [("float32", "1"), ("bfloat16", "0"), ("bfloat16", "1"), ("float16", "1")])
def test_conv_large(monkeypatch, dtype, implicit):
    # The unfold: enough patch words that each thread takes a run of taps (and a partial last
    # run). Half types also take the implicit GEMM unless KILN_CONV_IMPLICIT=0.
    monkeypatch.setenv("KILN_CONV_IMPLICIT", implicit)
    rng = np.random.default_rng(2)
    x, w = quarters(rng, (8, 64, 64, 64)), quarters(rng, (64, 3, 3, 64))
    cpu, gpu = both(lambda a, b: mx.conv2d(a, b, padding=1), x, w, dtype=dtype)
    np.testing.assert_array_equal(gpu, cpu)


def test_conv_weight_gradient_large():
    # The weight gradient is a convolution with a huge "kernel" (the cotangent): taps split over threads.
    rng = np.random.default_rng(3)
    x, w = quarters(rng, (4, 32, 32, 16)), quarters(rng, (16, 3, 3, 16))

    def grad_w(a, b):
        return mx.grad(lambda bb: mx.sum(mx.conv2d(a, bb, padding=1)))(b)

    cpu, gpu = both(grad_w, x, w)
    np.testing.assert_array_equal(gpu, cpu)
