"""The quantization primitives on the GPU against the CPU: quantize and dequantize bit for bit
(every mode, bit width, group size and dtype, the nvfp4 global scale), and the products
(quantized_matmul, gather_qmm) within float tolerance on the decode and prefill paths.
Without a GPU every test here skips with "no GPU"."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import IS_MLX, mx

HAS_GPU = (not IS_MLX) and mx.cuda.is_available()
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no GPU")

RNG = np.random.default_rng(5)
AFFINE = [(b, g) for b in (1, 2, 3, 4, 5, 6, 8) for g in (32, 64, 128)]
FORMATS = [("affine", g, b) for b, g in AFFINE] + [("mxfp4", 32, 4), ("mxfp8", 32, 8), ("nvfp4", 16, 4)]
DTYPES = ["float32", "float16", "bfloat16", "float64"]


def bits_of(a):
    """The raw bits of an array (bfloat16 and float16 too), for exact comparisons."""
    a = mx.array(a)
    width = {1: mx.uint8, 2: mx.uint16, 4: mx.uint32, 8: mx.uint64}[a.itemsize]
    return np.array(mx.view(a, width))


def on(device, fn, *args):
    with mx.stream(device):
        out = fn(*args)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        mx.eval(out)
    return out


def sample(shape, dtype, scale=1.0, outliers=40.0):
    v = RNG.standard_normal(shape).astype(np.float32) * scale
    v.reshape(-1)[:: 7] *= outliers  # groups with a wide range
    return mx.array(v).astype(getattr(mx, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,gs,bits", FORMATS)
def test_quantize_dequantize_bit_identical(mode, gs, bits, dtype):
    w = sample((6, 256), dtype)
    q = lambda a: mx.quantize(a, gs, bits, mode=mode)
    cpu, gpu = on(mx.cpu, q, w), on(mx.gpu, q, w)
    assert len(cpu) == len(gpu)
    for c, g in zip(cpu, gpu):
        assert c.dtype == g.dtype and c.shape == g.shape
        np.testing.assert_array_equal(bits_of(g), bits_of(c), err_msg=f"quantize {mode} {gs} {bits} {dtype}")
    out_types = [None, "float32", "float16", "bfloat16"] + (["float64"] if mode == "affine" else [])
    for t in out_types:
        kw = dict(group_size=gs, bits=bits, mode=mode)
        if t is not None:
            kw["dtype"] = getattr(mx, t)
        parts = cpu if mode == "affine" else cpu[:2]
        dq = lambda *p: mx.dequantize(*p, **kw) if mode == "affine" else mx.dequantize(p[0], p[1], **kw)
        c, g = on(mx.cpu, dq, *parts)[0], on(mx.gpu, dq, *parts)[0]
        np.testing.assert_array_equal(bits_of(g), bits_of(c), err_msg=f"dequantize {mode} {gs} {bits} {dtype} -> {t}")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_nvfp4_global_scale_bit_identical(dtype):
    w = sample((4, 128), dtype, 30.0)
    gs = mx.array(np.float32(np.abs(np.array(w.astype(mx.float32))).max()))
    q = lambda a: mx.quantize(a, mode="nvfp4", global_scale=gs)
    cpu, gpu = on(mx.cpu, q, w), on(mx.gpu, q, w)
    for c, g in zip(cpu, gpu):
        np.testing.assert_array_equal(bits_of(g), bits_of(c))
    dq = lambda a, s: mx.dequantize(a, s, mode="nvfp4", global_scale=gs)
    np.testing.assert_array_equal(bits_of(on(mx.gpu, dq, *cpu)[0]), bits_of(on(mx.cpu, dq, *cpu)[0]))


def close(gpu, cpu, dtype):
    g = np.array(gpu.astype(mx.float32), dtype=np.float64)
    c = np.array(cpu.astype(mx.float32), dtype=np.float64)
    assert g.shape == c.shape
    scale = max(np.abs(c).max(), 1e-6)
    t = {"float32": 1e-5, "float16": 5e-3, "bfloat16": 3e-2}[dtype]
    np.testing.assert_allclose(g, c, rtol=0, atol=t * scale)


@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("mode,gs,bits", FORMATS[::2] + FORMATS[-3:])
def test_quantized_matmul_matches_cpu(mode, gs, bits, transpose):
    n, k = 128, 256
    w = sample((n, k) if transpose else (k, n), "float32", outliers=4.0)
    parts = mx.quantize(w, gs, bits, mode=mode)
    mx.eval(parts)
    for dtype in ("float32", "bfloat16", "float16"):
        for rows in (1, 3, 8, 20, 48):
            x = sample((rows, k), dtype, outliers=4.0)
            ps = [p.astype(getattr(mx, dtype)) if p.dtype not in (mx.uint32, mx.uint8) else p for p in parts]
            f = lambda a, *p: mx.quantized_matmul(a, *p, transpose=transpose, group_size=gs, bits=bits, mode=mode)
            close(on(mx.gpu, f, x, *ps)[0], on(mx.cpu, f, x, *ps)[0], dtype)


def test_quantized_matmul_mixed_dtypes_and_views():
    w = sample((64, 128), "bfloat16")
    parts = mx.quantize(w)
    x = sample((3, 128), "float32")  # float32 x, bfloat16 scales: float32 result
    f = lambda a, *p: mx.quantized_matmul(a, *p)
    close(on(mx.gpu, f, x, *parts)[0], on(mx.cpu, f, x, *parts)[0], "float32")
    xt = mx.transpose(sample((128, 40), "float32"))
    close(on(mx.gpu, f, xt, *parts)[0], on(mx.cpu, f, xt, *parts)[0], "float32")
    sliced = [p[8:40] for p in parts]  # a slice of the rows of w: an offset base
    close(on(mx.gpu, f, x, *sliced)[0], on(mx.cpu, f, x, *sliced)[0], "float32")


@pytest.mark.parametrize("rows", [1, 40])
def test_gather_qmm_moe_style(rows):
    experts, n, k = 8, 64, 128
    w = sample((experts, n, k), "bfloat16")
    parts = mx.quantize(w, 64, 4)
    tokens = 5
    x = sample((tokens, 1, rows, k), "bfloat16")
    idx = mx.array(RNG.integers(0, experts, size=(tokens, 2)).astype(np.int32))
    f = lambda a, i, *p: mx.gather_qmm(a, *p, rhs_indices=i, group_size=64, bits=4)
    close(on(mx.gpu, f, x, idx, *parts)[0], on(mx.cpu, f, x, idx, *parts)[0], "bfloat16")
    xs = mx.broadcast_to(x, (tokens, 2, rows, k))
    g = lambda a, i, *p: mx.gather_qmm(a, *p, rhs_indices=i, transpose=False, group_size=64, bits=4)
    parts_n = mx.quantize(sample((experts, k, k), "bfloat16"), 64, 4)
    close(on(mx.gpu, g, xs, idx, *parts_n)[0], on(mx.cpu, g, xs, idx, *parts_n)[0], "bfloat16")


def test_gather_mm_matches_cpu():
    a = sample((4, 3, 33), "float32")
    b = sample((5, 33, 17), "float32")
    li = mx.array(np.array([[0, 3, -1, 2]], np.int32))
    ri = mx.array(np.array([[4], [0], [2]], np.uint32))
    f = lambda a, b: mx.gather_mm(a, b, lhs_indices=li, rhs_indices=ri)
    close(on(mx.gpu, f, a, b)[0], on(mx.cpu, f, a, b)[0], "float32")
    bt = mx.swapaxes(sample((5, 17, 33), "float32"), -1, -2)  # column-major matrices
    close(on(mx.gpu, f, a, bt)[0], on(mx.cpu, f, a, bt)[0], "float32")
