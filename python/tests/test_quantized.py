"""quantize / dequantize / quantized_matmul / gather_qmm / qqmm / gather_qqmm.

Checked against an independent NumPy reference written here (the quantization math of each mode
and the LSB-first bit packing), against MLX when `mlx.core` imports (exact packed bits, scales and
biases; products within float tolerance), and through the transformation rules: gradients with
respect to x, the scales and the biases, jvp against vjp, vmap against a loop.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from helpers import IS_MLX, mx

try:
    mlx = importlib.import_module("mlx.core")
except ImportError:  # pragma: no cover
    mlx = None

RNG = np.random.default_rng(20261126)
AFFINE_BITS = [1, 2, 3, 4, 5, 6, 8]
GROUPS = [32, 64, 128]
FLOAT_MODES = ["mxfp4", "mxfp8", "nvfp4"]
DTYPES = ["float32", "float16", "bfloat16"]

# ------------------------------------------------------------------ NumPy reference


def bf16_round(x):
    """float32 -> nearest bfloat16 value (ties to even), as float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    b = x.view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    r = b.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, r)


def rounder(dtype):
    if dtype == "bfloat16":
        return bf16_round
    if dtype == "float16":
        return lambda v: np.asarray(v, np.float32).astype(np.float16).astype(np.float32)
    return lambda v: np.asarray(v, np.float32)


def pack(q, bits):
    """Codes (..., K) -> uint32 words, each row one little-endian bit stream from bit 0 up."""
    q = q.astype(np.uint32)
    b = ((q[..., None] >> np.arange(bits, dtype=np.uint32)) & 1).astype(np.uint8)
    by = np.packbits(b.reshape(*q.shape[:-1], -1), axis=-1, bitorder="little")
    return np.ascontiguousarray(by).view(np.uint32)


def unpack(wq, bits, k):
    by = np.ascontiguousarray(wq.astype(np.uint32)).view(np.uint8)
    bitsarr = np.unpackbits(by, axis=-1, bitorder="little")[..., : k * bits]
    bitsarr = bitsarr.reshape(*wq.shape[:-1], k, bits).astype(np.uint32)
    return (bitsarr << np.arange(bits, dtype=np.uint32)).sum(-1).astype(np.uint32)


FP4 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float32)


def e2m1_value(c):
    v = FP4[c & 7]
    return np.where(c & 8, -v, v).astype(np.float32)


def e4m3_value(c):
    c = c.astype(np.int64)
    e, m = (c >> 3) & 15, c & 7
    v = np.where(e == 0, m / 8.0 * 2.0**-6, (1 + m / 8.0) * 2.0 ** (e - 7.0))
    return np.where(c & 0x80, -v, v).astype(np.float32)


def e8m0_value(c):
    return np.ldexp(np.float32(1), c.astype(np.int32) - 127).astype(np.float32)


E4M3 = e4m3_value(np.arange(0, 127))  # the non-negative finite magnitudes, by code


def round_to_table(v, table, ties_down):
    """Index of the nearest table entry to |v|; ties to the even index or (ties_down) the lower."""
    a = np.abs(v)
    idx = np.clip(np.searchsorted(table, a), 1, len(table) - 1)
    lo, hi = table[idx - 1], table[idx]
    tie_hi = False if ties_down else (idx % 2) == 0
    r = np.where((a - lo > hi - a) | ((a - lo == hi - a) & tie_hi), idx, idx - 1)
    return np.where(a >= table[-1], len(table) - 1, r)


def ref_quantize_affine(w, gs, bits):
    """w: float32 values of the input (already in its dtype); scales/biases returned in float32."""
    g = w.reshape(*w.shape[:-1], -1, gs).astype(np.float32)
    n_bins = np.float32(2**bits - 1)
    wmax, wmin = g.max(-1, keepdims=True), g.min(-1, keepdims=True)
    if bits == 1:
        scales = np.maximum(wmax - wmin, np.float32(1e-7))
        biases = wmin
    else:
        mask = np.abs(wmin) > np.abs(wmax)
        scales = np.maximum((wmax - wmin) / n_bins, np.float32(1e-7))
        scales = np.where(mask, scales, -scales)
        edge = np.where(mask, wmin, wmax)
        q0 = np.rint(edge / scales)
        scales = np.where(q0 != 0, edge / np.where(q0 != 0, q0, 1), scales).astype(np.float32)
        biases = np.where(q0 == 0, np.float32(0), edge).astype(np.float32)
    q = np.clip(np.rint((g - biases) / scales), 0, n_bins).astype(np.uint32)
    return pack(q.reshape(w.shape), bits), scales[..., 0], biases[..., 0]


def ref_quantize_float(w, mode, dtype):
    """Float modes compute in the input's dtype (each operation rounded to it)."""
    rnd = rounder(dtype)
    bits = 8 if mode == "mxfp8" else 4
    gs = 16 if mode == "nvfp4" else 32
    g = w.reshape(*w.shape[:-1], -1, gs).astype(np.float32)
    amax = np.abs(g).max(-1, keepdims=True)
    ratio = rnd(amax / np.float32(448 if bits == 8 else 6))
    if mode == "nvfp4":
        sc = round_to_table(ratio, E4M3, False).astype(np.uint8)
        sd = e4m3_value(sc)
    else:
        with np.errstate(divide="ignore"):
            e = np.ceil(np.log2(np.maximum(ratio, np.float32(2.0**-127)))).astype(np.int32)
        sc = np.where(amax == 0, 127, np.clip(e + 127, 0, 254)).astype(np.uint8)
        sd = e8m0_value(sc)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = rnd(np.where(sd == 0, 0, g / np.where(sd == 0, 1, rnd(sd))))
    mag = round_to_table(x, FP4 if bits == 4 else E4M3, ties_down=bits == 4).astype(np.uint32)
    neg = np.signbit(x) & ((mag != 0) | (bits == 8))
    codes = (mag | (neg.astype(np.uint32) << (bits - 1))).reshape(w.shape)
    return pack(codes, bits), sc[..., 0]


def ref_dequantize(wq, scales, biases, gs, bits, mode, dtype="float32"):
    """Float32 values of what the packed matrix encodes, rounded as the output dtype rounds."""
    rnd = rounder(dtype)
    k = wq.shape[-1] * 32 // bits
    q = unpack(wq, bits, k).reshape(*wq.shape[:-1], -1, gs)
    if mode == "affine":
        s = rnd(scales.astype(np.float32))[..., None]
        b = rnd(biases.astype(np.float32))[..., None]
        return rnd(rnd(s * q.astype(np.float32)) + b).reshape(*wq.shape[:-1], k)
    vals = e2m1_value(q) if bits == 4 else e4m3_value(q)
    sd = e4m3_value(scales) if mode == "nvfp4" else e8m0_value(scales)
    return rnd(vals * sd[..., None]).reshape(*wq.shape[:-1], k)


# ------------------------------------------------------------------ helpers


def mode_params(mode):
    return {"mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}.get(mode, (64, 4))


def sample(shape, dtype, scale=1.0):
    """float32 values exactly representable in `dtype`, with rows of varied magnitude."""
    w = (RNG.standard_normal(shape) * RNG.uniform(0.1, 3.0, size=shape[:-1] + (1,)) * scale).astype(np.float32)
    return rounder(dtype)(w)


def to_mx(values, dtype, lib=None):
    lib = lib or mx
    return lib.array(values.astype(np.float32)).astype(getattr(lib, dtype))


def f32(a):
    return np.array(a.astype(mx.float32)) if a.dtype != mx.uint32 and a.dtype != mx.uint8 else np.array(a)


def quantize_np(w, dtype, mode, gs=None, bits=None):
    """(wq, scales, biases-or-None) of the reference."""
    if mode == "affine":
        wq, s, b = ref_quantize_affine(w, gs, bits)
        r = rounder(dtype)
        return wq, r(s), r(b)
    wq, s = ref_quantize_float(w, mode, dtype)
    return wq, s, None


# ------------------------------------------------------------------ quantize / dequantize


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gs", GROUPS)
@pytest.mark.parametrize("bits", AFFINE_BITS)
def test_quantize_affine_matches_reference(bits, gs, dtype):
    w = sample((6, 2 * gs), dtype)
    w[0, :gs] = 1.5  # a constant group
    w[1, :gs] = 0.0
    wq, s, b = mx.quantize(to_mx(w, dtype), gs, bits)
    rq, rs, rb = quantize_np(w, dtype, "affine", gs, bits)
    assert wq.dtype == mx.uint32 and s.dtype == getattr(mx, dtype) and b.dtype == s.dtype
    assert wq.shape == (6, 2 * gs * bits // 32) and s.shape == (6, 2)
    np.testing.assert_array_equal(np.array(wq), rq)
    np.testing.assert_array_equal(f32(s), rs)
    np.testing.assert_array_equal(f32(b), rb)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", FLOAT_MODES)
@pytest.mark.parametrize("scale", [1e-3, 1.0, 300.0])
def test_quantize_float_modes_match_reference(mode, dtype, scale):
    w = sample((8, 128), dtype, scale)
    w[0, :32] = 0.0
    w[1, :32] = -0.0
    w[2, :32] = np.arange(32) * 0.25 - 4  # exact ties between e2m1 values
    w = rounder(dtype)(w)
    wq, s = mx.quantize(to_mx(w, dtype), mode=mode)
    rq, rs, _ = quantize_np(w, dtype, mode)
    assert s.dtype == mx.uint8
    np.testing.assert_array_equal(np.array(s), rs)
    np.testing.assert_array_equal(np.array(wq), rq)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,bits", [("affine", b) for b in AFFINE_BITS] + [(m, None) for m in FLOAT_MODES])
def test_dequantize_matches_reference(mode, bits, dtype):
    gs, dbits = mode_params(mode)
    bits = bits or dbits
    w = sample((5, 4 * gs), dtype)
    parts = mx.quantize(to_mx(w, dtype), gs, bits, mode=mode)
    out_dtype = dtype if mode == "affine" else "bfloat16"
    d = mx.dequantize(*parts, group_size=gs, bits=bits, mode=mode)
    assert d.dtype == getattr(mx, out_dtype) and d.shape == w.shape
    np_parts = [np.array(p) if p.dtype in (mx.uint32, mx.uint8) else f32(p) for p in parts]
    biases = np_parts[2] if mode == "affine" else None
    expected = ref_dequantize(np_parts[0], np_parts[1], biases, gs, bits, mode, out_dtype)
    np.testing.assert_array_equal(f32(d), expected)
    # an explicit dtype
    d32 = mx.dequantize(*parts, group_size=gs, bits=bits, mode=mode, dtype=mx.float32)
    assert d32.dtype == mx.float32
    np.testing.assert_array_equal(np.array(d32), ref_dequantize(np_parts[0], np_parts[1], biases, gs, bits, mode))


def test_quantize_round_trip_error_is_bounded():
    w = sample((16, 256), "float32")
    for bits in AFFINE_BITS:
        wq, s, b = mx.quantize(mx.array(w), 64, bits)
        d = np.array(mx.dequantize(wq, s, b, 64, bits))
        # within one quantization step of each group (the step snaps so that 0 is exact)
        err = np.abs(d - w).reshape(16, -1, 64)
        assert np.all(err <= np.abs(np.array(s))[..., None] * 1.0001 + 1e-6)
        assert err.mean() <= np.abs(np.array(s)).mean() * 0.5


def test_quantize_batched_and_defaults():
    w = sample((2, 3, 128), "float32")
    wq, s, b = mx.quantize(mx.array(w))  # affine, 64, 4
    assert wq.shape == (2, 3, 16) and s.shape == (2, 3, 2)
    rq, rs, rb = ref_quantize_affine(w, 64, 4)
    np.testing.assert_array_equal(np.array(wq), rq)
    assert len(mx.quantize(mx.array(w), mode="mxfp4")) == 2
    assert isinstance(mx.quantize(mx.array(w)), list)  # as MLX
    # transposed (non-contiguous) input
    wt = sample((128, 8), "float32")
    wq, s, b = mx.quantize(mx.array(wt).T, 32, 4)
    np.testing.assert_array_equal(np.array(wq), ref_quantize_affine(np.ascontiguousarray(wt.T), 32, 4)[0])


def test_quantize_empty():
    wq, s, b = mx.quantize(mx.zeros((0, 64)))
    assert wq.shape == (0, 8) and s.shape == (0, 1)
    d = mx.dequantize(wq, s, b)
    assert d.shape == (0, 64)


# ------------------------------------------------------------------ products


def ref_qmm(x, wd, transpose):
    """x @ wd.T or x @ wd in float64, broadcasting batch dims."""
    x = x.astype(np.float64)
    wd = wd.astype(np.float64)
    return x @ (np.swapaxes(wd, -1, -2) if transpose else wd)


def make_q(shape, mode="affine", gs=64, bits=4, dtype="float32"):
    w = sample(shape, dtype)
    parts = mx.quantize(to_mx(w, dtype), gs, bits, mode=mode)
    np_parts = [np.array(p) if p.dtype in (mx.uint32, mx.uint8) else f32(p) for p in parts]
    wd = ref_dequantize(np_parts[0], np_parts[1], np_parts[2] if mode == "affine" else None, gs, bits, mode)
    return parts, wd


def tol(dtype):
    return {"float32": 2e-4, "float16": 2e-2, "bfloat16": 6e-2}[dtype]


@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("rows", [1, 3, 8, 9, 40])
@pytest.mark.parametrize("mode,gs,bits", [("affine", 64, 4), ("affine", 32, 3), ("affine", 128, 8),
                                          ("affine", 32, 2), ("affine", 64, 1), ("affine", 64, 5),
                                          ("affine", 128, 6), ("mxfp4", 32, 4), ("mxfp8", 32, 8),
                                          ("nvfp4", 16, 4)])
def test_quantized_matmul_matches_reference(mode, gs, bits, rows, transpose):
    n, k = 128, 256
    parts, wd = make_q((n, k) if transpose else (k, n), mode, gs, bits)
    x = RNG.standard_normal((rows, k if transpose else k)).astype(np.float32)
    if not transpose:
        x = RNG.standard_normal((rows, k)).astype(np.float32)
    out = mx.quantized_matmul(mx.array(x), *parts, transpose=transpose, group_size=gs, bits=bits, mode=mode)
    expected = ref_qmm(x, wd, transpose)
    assert out.dtype == mx.float32 and out.shape == expected.shape
    np.testing.assert_allclose(np.array(out), expected, rtol=2e-4, atol=2e-4 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantized_matmul_dtypes(dtype):
    parts, wd = make_q((32, 128), dtype=dtype)
    for rows in (1, 20):
        x = rounder(dtype)(RNG.standard_normal((rows, 128)).astype(np.float32))
        out = mx.quantized_matmul(to_mx(x, dtype), *parts)
        assert out.dtype == getattr(mx, dtype)
        expected = ref_qmm(x, wd, True)
        np.testing.assert_allclose(f32(out), expected, rtol=tol(dtype), atol=tol(dtype) * np.abs(expected).max())
    # x float16 with float32 scales promotes to float32 (as MLX)
    parts32, _ = make_q((32, 128))
    assert mx.quantized_matmul(mx.ones((2, 128), dtype=mx.float16), *parts32).dtype == mx.float32


def test_quantized_matmul_shapes():
    parts, wd = make_q((24, 128))
    x = RNG.standard_normal((2, 3, 5, 128)).astype(np.float32)
    out = mx.quantized_matmul(mx.array(x), *parts)
    assert out.shape == (2, 3, 5, 24)
    np.testing.assert_allclose(np.array(out), ref_qmm(x, wd, True), rtol=2e-4, atol=2e-3)
    v = x[0, 0, 0]
    out = mx.quantized_matmul(mx.array(v), *parts)
    assert out.shape == (24,)
    np.testing.assert_allclose(np.array(out), ref_qmm(v, wd, True), rtol=2e-4, atol=2e-3)
    # non-contiguous x
    xt = RNG.standard_normal((128, 6)).astype(np.float32)
    out = mx.quantized_matmul(mx.array(xt).T, *parts)
    np.testing.assert_allclose(np.array(out), ref_qmm(xt.T, wd, True), rtol=2e-4, atol=2e-3)
    # empty rows
    assert mx.quantized_matmul(mx.zeros((0, 128)), *parts).shape == (0, 24)


def test_quantized_matmul_batched_weights_broadcast():
    parts, wd = make_q((3, 16, 64))
    x = RNG.standard_normal((2, 1, 4, 64)).astype(np.float32)
    out = mx.quantized_matmul(mx.array(x), *parts)
    assert out.shape == (2, 3, 4, 16)
    np.testing.assert_allclose(np.array(out), ref_qmm(x, wd, True), rtol=2e-4, atol=2e-3)
    x2 = RNG.standard_normal((12, 64)).astype(np.float32)  # many rows: the GEMM path per matrix
    out = mx.quantized_matmul(mx.array(x2), *parts)
    np.testing.assert_allclose(np.array(out), ref_qmm(x2, wd, True), rtol=2e-4, atol=2e-3)


@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("rows", [1, 12])
def test_gather_qmm_matches_reference(transpose, rows):
    parts, wd = make_q((4, 32, 64), "affine", 32, 4)
    kdim = 64 if transpose else 32
    x = RNG.standard_normal((3, rows, kdim)).astype(np.float32)
    lhs = np.array([[2, 0, 1, 1, 0]], np.uint32)
    rhs = np.array([[3], [0], [3]], np.int32)  # broadcasts with lhs to (3, 5)
    out = mx.gather_qmm(mx.array(x), *parts, lhs_indices=mx.array(lhs), rhs_indices=mx.array(rhs),
                        transpose=transpose, group_size=32, bits=4, sorted_indices=False)
    li, ri = np.broadcast_arrays(lhs, rhs)
    expected = ref_qmm(x[li], wd[ri], transpose)
    assert out.shape == expected.shape
    np.testing.assert_allclose(np.array(out), expected, rtol=2e-4, atol=2e-3)


def test_gather_qmm_defaults_and_vector():
    parts, wd = make_q((2, 16, 64), "mxfp8", 32, 8)
    x = RNG.standard_normal((2, 1, 64)).astype(np.float32)
    out = mx.gather_qmm(mx.array(x), *parts, mode="mxfp8")  # no indices: batches pair up in order
    np.testing.assert_allclose(np.array(out), ref_qmm(x, wd, True), rtol=2e-4, atol=2e-3)
    v = x[0, 0]
    out = mx.gather_qmm(mx.array(v), *parts, rhs_indices=mx.array([1, 0, 1]), mode="mxfp8", sorted_indices=True)
    assert out.shape == (3, 16)
    np.testing.assert_allclose(np.array(out), ref_qmm(v, wd[[1, 0, 1]], True), rtol=2e-4, atol=2e-3)


def ref_fake_quant(a, mode, dtype="float32"):
    wq, s, _ = quantize_np(a, dtype, mode)
    gs, bits = mode_params(mode)
    return ref_dequantize(wq, s, None, gs, bits, mode, dtype)


@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8", "mxfp4"])
def test_qqmm_quantizes_both_operands(mode):
    x = sample((3, 64), "float32")
    w = sample((8, 64), "float32")
    expected = ref_fake_quant(x, mode).astype(np.float64) @ ref_fake_quant(w, mode).astype(np.float64).T
    out = mx.qqmm(mx.array(x), mx.array(w), mode=mode)
    np.testing.assert_allclose(np.array(out), expected, rtol=1e-4, atol=1e-4)
    wq, s = mx.quantize(mx.array(w), mode=mode)
    out = mx.qqmm(mx.array(x), wq, s, mode=mode)
    np.testing.assert_allclose(np.array(out), expected, rtol=1e-4, atol=1e-4)
    # gradients pass straight through the on-the-fly quantization
    g = mx.grad(lambda a: mx.qqmm(a, mx.array(w), mode=mode).sum())(mx.array(x))
    np.testing.assert_allclose(np.array(g), np.tile(ref_fake_quant(w, mode).sum(0), (3, 1)), rtol=1e-5, atol=1e-5)


def test_gather_qqmm():
    x = sample((2, 1, 32), "float32")
    w = sample((3, 4, 32), "float32")
    wq, s = mx.quantize(mx.array(w), mode="mxfp8")
    rhs = np.array([2, 0, 2])
    lhs = np.array([1, 1, 0])
    out = mx.gather_qqmm(mx.array(x), wq, s, lhs_indices=mx.array(lhs), rhs_indices=mx.array(rhs), mode="mxfp8")
    xd = ref_fake_quant(x.reshape(2, 32), "mxfp8").reshape(2, 1, 32)
    wd = ref_fake_quant(w.reshape(12, 32), "mxfp8").reshape(3, 4, 32)
    expected = xd[lhs].astype(np.float64) @ np.swapaxes(wd[rhs], -1, -2)
    np.testing.assert_allclose(np.array(out), expected, rtol=1e-4, atol=1e-4)


def test_float64_inputs_run_as_dequantized_products():
    parts, wd = make_q((8, 64))
    x = RNG.standard_normal((2, 64))
    out = mx.quantized_matmul(mx.array(x, dtype=mx.float64), parts[0], parts[1].astype(mx.float64),
                              parts[2].astype(mx.float64))
    assert out.dtype == mx.float64
    np.testing.assert_allclose(np.array(out), x @ wd.astype(np.float64).T, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ against MLX


needs_mlx = pytest.mark.skipif(mlx is None or IS_MLX, reason="mlx.core not installed")


@needs_mlx
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,gs,bits", [("affine", g, b) for g in GROUPS for b in AFFINE_BITS]
                         + [(m, *mode_params(m)) for m in FLOAT_MODES])
def test_quantize_matches_mlx_bits(mode, gs, bits, dtype):
    w = sample((8, 2 * max(gs, 32)), dtype, scale=RNG.choice([0.01, 1.0, 50.0]))
    ours = mx.quantize(to_mx(w, dtype), gs, bits, mode=mode)
    theirs = mlx.quantize(to_mx(w, dtype, mlx), gs, bits, mode=mode)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        b32 = np.array(b if b.dtype in (mlx.uint32, mlx.uint8) else b.astype(mlx.float32))
        np.testing.assert_array_equal(f32(a), b32)
    d_ours = mx.dequantize(*ours, group_size=gs, bits=bits, mode=mode)
    d_theirs = mlx.dequantize(*theirs, group_size=gs, bits=bits, mode=mode)
    assert str(d_ours.dtype).split(".")[-1] == str(d_theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(f32(d_ours), np.array(d_theirs.astype(mlx.float32)))


@needs_mlx
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("rows", [1, 4, 33])
@pytest.mark.parametrize("mode,gs,bits", [("affine", 64, 4), ("affine", 32, 3), ("affine", 128, 8),
                                          ("mxfp4", 32, 4), ("mxfp8", 32, 8), ("nvfp4", 16, 4)])
def test_quantized_matmul_matches_mlx(mode, gs, bits, rows, transpose):
    w = sample((64, 128), "float32")
    x = RNG.standard_normal((2, rows, 128 if transpose else 64)).astype(np.float32)
    ours = mx.quantized_matmul(mx.array(x), *mx.quantize(mx.array(w), gs, bits, mode=mode), transpose=transpose,
                               group_size=gs, bits=bits, mode=mode)
    theirs = mlx.quantized_matmul(mlx.array(x), *mlx.quantize(mlx.array(w), gs, bits, mode=mode),
                                  transpose=transpose, group_size=gs, bits=bits, mode=mode)
    e = np.array(theirs)
    np.testing.assert_allclose(np.array(ours), e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


@needs_mlx
def test_gather_qmm_matches_mlx():
    w = sample((4, 32, 64), "float32")
    x = RNG.standard_normal((3, 2, 64)).astype(np.float32)
    lhs, rhs = np.array([0, 2, 1, 2]), np.array([3, 3, 0, 1])
    ours = mx.gather_qmm(mx.array(x), *mx.quantize(mx.array(w), 32, 4), mx.array(lhs), mx.array(rhs), group_size=32)
    theirs = mlx.gather_qmm(mlx.array(x), *mlx.quantize(mlx.array(w), 32, 4), mlx.array(lhs), mlx.array(rhs),
                            group_size=32)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-4, atol=1e-4)


@needs_mlx
def test_qqmm_vector_matches_mlx():
    # MLX's CPU runs qqmm only for a vector x and a quantized w.
    x = RNG.standard_normal((64,)).astype(np.float32)
    w = sample((16, 64), "float32")
    for mode in ["nvfp4", "mxfp8"]:
        ours = mx.qqmm(mx.array(x), *mx.quantize(mx.array(w), mode=mode), mode=mode)
        theirs = mlx.qqmm(mlx.array(x), *mlx.quantize(mlx.array(w), mode=mode), mode=mode)
        np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ errors


def raises(exc, fragment, fn, *a, **k):
    with pytest.raises(exc) as e:
        mx.eval(fn(*a, **k))
    assert fragment in str(e.value), str(e.value)


def test_errors():
    w = mx.array(sample((8, 64), "float32"))
    wq, s, b = mx.quantize(w)
    x = mx.ones((2, 64))
    raises(ValueError, "[quantize] The requested group size 16", mx.quantize, w, group_size=16)
    raises(ValueError, "[quantize] The requested number of bits 7", mx.quantize, w, bits=7)
    raises(ValueError, "[quantize] Invalid quantization mode 'bad'", mx.quantize, w, mode="bad")
    raises(ValueError, "nvfp4 quantization requires group size 16", mx.quantize, w, group_size=32, mode="nvfp4")
    raises(ValueError, "mxfp4 quantization requires bits to be 4", mx.quantize, w, bits=8, mode="mxfp4")
    raises(ValueError, "[quantize] The matrix to be quantized must have at least 2", mx.quantize, w[0])
    raises(ValueError, "divisible by the quantization group size 64", mx.quantize, w[:, :48])
    raises(ValueError, "[quantize] Only real floating types", mx.quantize, w.astype(mx.int32))
    raises(ValueError, "Global scale is only supported for 'nvfp4'", mx.quantize, w, global_scale=mx.array(1.0))
    raises(ValueError, "[dequantize] Biases must be provided", mx.dequantize, wq, s)
    raises(ValueError, "[dequantize] Shape of scales and biases", mx.dequantize, wq, s[:, :0], b[:, :0])
    raises(ValueError, "[dequantize] Only real floating types", mx.dequantize, wq, s, b, dtype=mx.int32)
    raises(ValueError, "[dequantize] Scale type must be uint8", mx.dequantize, wq, s, mode="mxfp4", group_size=32)
    raises(ValueError, "[quantized_matmul] The shapes of the weight and scales", mx.quantized_matmul, x, wq, s, b,
           group_size=32)
    raises(ValueError, "[quantized_matmul] Last dimension of first input", mx.quantized_matmul, x[:, :32], wq, s, b)
    raises(ValueError, "[quantized_matmul] Biases must be provided", mx.quantized_matmul, x, wq, s)
    raises(ValueError, "[quantized_matmul] The weight matrix should be uint32", mx.quantized_matmul, x,
           wq.astype(mx.int32), s, b)
    raises(ValueError, "Scales and biases should have the same shape", mx.quantized_matmul, x, wq, s, b[:4])
    raises(ValueError, "Biases must be null for quantization mode 'mxfp4'", mx.quantized_matmul, x,
           *mx.quantize(w, mode="mxfp4"), b, mode="mxfp4")
    raises(ValueError, "[quantized_matmul] Weight and scales should have the same batch shape",
           mx.quantized_matmul, x, wq[None], s, b)
    raises(ValueError, "[quantized_matmul]", mx.quantized_matmul, x.astype(mx.int32), *mx.quantize(w, mode="mxfp8"),
           mode="mxfp8")
    raises(ValueError, "[gather_qmm] Got indices with invalid dtype", mx.gather_qmm, x, wq[None], s[None], b[None],
           rhs_indices=mx.array([0.5]))
    raises(ValueError, "[qqmm] Scales must be provided", mx.qqmm, x, mx.quantize(w, mode="nvfp4")[0])
    raises(ValueError, "[qqmm] Invalid quantization mode 'foo'", mx.qqmm, x, w, mode="foo")
    raises(ValueError, "[qqmm] Last dimension of first input", mx.qqmm, x[:, :32], w)
    raises(ValueError, "[qqmm] Only the 'nvfp4', 'mxfp8' and 'mxfp4' modes", mx.qqmm, x, w, mode="affine")


# ------------------------------------------------------------------ transformation rules (float32)


def test_grad_wrt_x_scales_biases():
    parts, wd = make_q((16, 64), "affine", 32, 4)
    wq, s, b = parts
    x = RNG.standard_normal((3, 64)).astype(np.float32)
    c = RNG.standard_normal((3, 16)).astype(np.float32)
    for transpose in (True, False):
        xx = x if transpose else RNG.standard_normal((3, 16)).astype(np.float32)
        cc = c if transpose else RNG.standard_normal((3, 64)).astype(np.float32)

        def f(a, sc, bi):
            return mx.sum(mx.quantized_matmul(a, wq, sc, bi, transpose=transpose, group_size=32) * mx.array(cc))

        gx, gs_, gb = mx.grad(f, argnums=(0, 1, 2))(mx.array(xx), s, b)
        W = wd.astype(np.float64)  # (16, 64)
        dW = (cc.T @ xx if transpose else xx.T @ cc).astype(np.float64)  # d loss / d W, shape of W
        q = unpack(np.array(wq), 4, 64).astype(np.float64)
        np.testing.assert_allclose(np.array(gx), cc @ (W if transpose else W.T), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.array(gs_), (dW * q).reshape(16, 2, 32).sum(-1), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(np.array(gb), dW.reshape(16, 2, 32).sum(-1), rtol=1e-4, atol=1e-3)


def test_grad_wrt_packed_weights_raises():
    wq, s, b = mx.quantize(mx.array(sample((16, 64), "float32")))
    with pytest.raises(RuntimeError, match="no gradient wrt the quantized weights"):
        mx.grad(lambda w: mx.quantized_matmul(mx.ones((1, 64)), w, s, b).sum())(wq)
    with pytest.raises(RuntimeError, match="no gradient wrt the quantized weights"):
        mx.grad(lambda w: mx.gather_qmm(mx.ones((1, 64)), w, s[None], b[None]).sum())(wq[None])


@pytest.mark.parametrize("transpose", [True, False])
def test_jvp_is_adjoint_of_vjp(transpose):
    parts, _ = make_q((2, 16, 64), "affine", 32, 4)
    wq, s, b = parts
    kdim = 64 if transpose else 16
    x = mx.array(RNG.standard_normal((2, 3, kdim)).astype(np.float32))
    lhs, rhs = mx.array([1, 0, 1]), mx.array([0, 1, 1])
    for fn, prims in [
        (lambda a, sc, bi: mx.quantized_matmul(a, wq, sc, bi, transpose=transpose, group_size=32), (x, s, b)),
        (lambda a, sc, bi: mx.gather_qmm(a, wq, sc, bi, lhs, rhs, transpose=transpose, group_size=32), (x, s, b)),
    ]:
        tangents = [mx.array(RNG.standard_normal(p.shape).astype(np.float32)) for p in prims]
        out, jv = mx.jvp(fn, list(prims), tangents)
        cot = mx.array(RNG.standard_normal(out[0].shape).astype(np.float32))
        _, vj = mx.vjp(fn, list(prims), [cot])
        lhs_v = float(np.sum(np.array(cot, dtype=np.float64) * np.array(jv[0])))
        rhs_v = sum(float(np.sum(np.array(t) * np.array(v))) for t, v in zip(tangents, vj))
        assert lhs_v == pytest.approx(rhs_v, rel=1e-4)


def test_gather_qmm_grad_x_repeated_indices():
    parts, wd = make_q((3, 8, 32), "affine", 32, 8)
    x = RNG.standard_normal((2, 1, 32)).astype(np.float32)
    lhs, rhs = np.array([1, 1, 0]), np.array([2, 0, 2])
    g = mx.grad(lambda a: mx.gather_qmm(a, *parts, mx.array(lhs), mx.array(rhs), group_size=32, bits=8).sum())(
        mx.array(x))
    expected = np.zeros_like(x, dtype=np.float64)
    for li, ri in zip(lhs, rhs):
        expected[li] += wd[ri].sum(0)
    np.testing.assert_allclose(np.array(g), expected, rtol=1e-4, atol=1e-4)


def test_vmap_matches_loop():
    parts, _ = make_q((3, 16, 64), "affine", 64, 4)
    wq, s, b = parts
    xs = mx.array(RNG.standard_normal((4, 2, 64)).astype(np.float32))
    f = lambda a: mx.quantized_matmul(a, wq[0], s[0], b[0])
    np.testing.assert_allclose(np.array(mx.vmap(f)(xs)), np.stack([np.array(f(xs[i])) for i in range(4)]), rtol=1e-6)
    # x mapped along its last-but-one axis; weights mapped too
    f2 = lambda a, w_, s_, b_: mx.quantized_matmul(a, w_, s_, b_)
    got = mx.vmap(f2, in_axes=(1, 0, 0, 0))(xs[:3].transpose(1, 0, 2), wq, s, b)
    expected = np.stack([np.array(f2(xs[i], wq[i], s[i], b[i])) for i in range(3)])
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-6)
    # gather_qmm with mapped x and indices
    g = lambda a, i: mx.gather_qmm(a, wq, s, b, rhs_indices=i)
    idx = mx.array([[0, 2], [1, 1], [2, 0], [0, 0]])
    got = mx.vmap(g)(xs[:, None], idx)
    expected = np.stack([np.array(g(xs[i][None], idx[i])) for i in range(4)])
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-6)
    # gather_qmm with mapped weights
    got = mx.vmap(lambda w_, s_, b_: mx.gather_qmm(xs[0], w_[None], s_[None], b_[None]), in_axes=(0, 0, 0))(wq, s, b)
    expected = np.stack([np.array(mx.gather_qmm(xs[0], wq[i][None], s[i][None], b[i][None])) for i in range(3)])
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-6)
    # quantize / dequantize under vmap
    ws = mx.array(sample((3, 4, 64), "float32"))
    got = mx.vmap(lambda w_: mx.dequantize(*mx.quantize(w_, 32, 4), 32, 4))(ws)
    expected = np.stack([np.array(mx.dequantize(*mx.quantize(ws[i], 32, 4), 32, 4)) for i in range(3)])
    np.testing.assert_array_equal(np.array(got), expected)


def test_compile_and_export(tmp_path):
    parts, wd = make_q((16, 64))
    f = lambda a: mx.quantized_matmul(a, *parts) * 2
    x = mx.array(RNG.standard_normal((2, 64)).astype(np.float32))
    np.testing.assert_allclose(np.array(mx.compile(f)(x)), np.array(f(x)), rtol=1e-6)


# ------------------------------------------------------------------ nvfp4 global scale


def ref_nvfp4_global(w, G):
    """Block scales encode amax / 6 relative to G / 2688 (= G / (448 * 6)); elements divide by
    e4m3(scale) * (G / 2688), the scale dequantize multiplies by."""
    g = w.reshape(*w.shape[:-1], -1, 16).astype(np.float32)
    gdiv = np.float32(G) / np.float32(2688)
    amax = np.abs(g).max(-1, keepdims=True)
    sc = round_to_table((amax / np.float32(6)) / gdiv, E4M3, False).astype(np.uint8)
    sd = e4m3_value(sc) * gdiv
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(sd == 0, 0, g / np.where(sd == 0, 1, sd)).astype(np.float32)
    mag = round_to_table(x, FP4, ties_down=True).astype(np.uint32)
    codes = (mag | ((np.signbit(x) & (mag != 0)).astype(np.uint32) << 3)).reshape(w.shape)
    deq = (e2m1_value(codes.reshape(g.shape)) * sd).reshape(w.shape)
    return pack(codes, 4), sc[..., 0], deq


def test_nvfp4_global_scale():
    w = sample((8, 64), "float32", 3.0)
    G = np.float32(np.abs(w).max() * 0.8)
    wq, s = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(G))
    rq, rs, rd = ref_nvfp4_global(w, G)
    np.testing.assert_array_equal(np.array(s), rs)
    np.testing.assert_array_equal(np.array(wq), rq)
    d = mx.dequantize(wq, s, mode="nvfp4", global_scale=mx.array(G), dtype=mx.float32)
    np.testing.assert_array_equal(np.array(d), rd)
    # qqmm with global scales for both operands
    x = sample((3, 64), "float32")
    Gx = np.float32(np.abs(x).max())
    out = mx.qqmm(mx.array(x), wq, s, global_scale_x=mx.array(Gx), global_scale_w=mx.array(G))
    expected = ref_nvfp4_global(x, Gx)[2].astype(np.float64) @ rd.astype(np.float64).T
    np.testing.assert_allclose(np.array(out), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="single floating point value"):
        mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.ones((2,)))
    # the dequantized matrix is linear in the global scale
    g = mx.grad(lambda gs: mx.dequantize(wq, s, mode="nvfp4", global_scale=gs, dtype=mx.float32).sum())(mx.array(G))
    np.testing.assert_allclose(float(g), rd.sum() / G, rtol=1e-5)


@needs_mlx
def test_nvfp4_global_scale_matches_mlx():
    w = sample((16, 128), "float32", 2.0)
    G = np.float32(np.abs(w).max() * 1.3)
    ours = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(G))
    theirs = mlx.quantize(mlx.array(w), mode="nvfp4", global_scale=mlx.array(G))
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    d_ours = mx.dequantize(*ours, mode="nvfp4", global_scale=mx.array(G), dtype=mx.float32)
    d_theirs = mlx.dequantize(*theirs, mode="nvfp4", global_scale=mlx.array(G), dtype=mlx.float32)
    np.testing.assert_array_equal(np.array(d_ours), np.array(d_theirs))


@needs_mlx
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_nvfp4_global_scale_half_inputs_near_mlx(dtype):
    """Known gap: with a global scale and half inputs MLX rounds the element division in a way
    not reproduced here; block scales agree exactly and >= 99% of the element codes."""
    w = sample((32, 128), dtype, 3.0)
    G = np.float32(np.abs(w).max() * 0.9)
    ours = mx.quantize(to_mx(w, dtype), mode="nvfp4", global_scale=mx.array(G))
    theirs = mlx.quantize(to_mx(w, dtype, mlx), mode="nvfp4", global_scale=mlx.array(G))
    np.testing.assert_array_equal(np.array(ours[1]), np.array(theirs[1]))
    assert (unpack(np.array(ours[0]), 4, 128) == unpack(np.array(theirs[0]), 4, 128)).mean() >= 0.99
    assert mx.dequantize(*ours, mode="nvfp4", global_scale=mx.array(G)).dtype == mx.float32


def test_broadcast_packed_weights_with_distinct_scales():
    """Batches sharing the packed words but not the scales are different matrices."""
    wq, s, b = mx.quantize(mx.array(sample((4, 16, 64), "float32")))
    x = mx.array(RNG.standard_normal((3, 2, 64)).astype(np.float32))
    wb = mx.broadcast_to(wq[:1], wq.shape)
    out = mx.quantized_matmul(x[:, None], wb, s, b)  # (3, 4, 2, 16)
    for i in range(4):
        np.testing.assert_allclose(np.array(out[:, i]), np.array(mx.quantized_matmul(x, wq[0], s[i], b[i])),
                                   rtol=1e-6, atol=1e-6)
    f = lambda s_: mx.quantized_matmul(x, wq[0], s_, b[0])
    np.testing.assert_allclose(np.array(mx.vmap(f)(s)), np.stack([np.array(f(s[i])) for i in range(4)]),
                               rtol=1e-6, atol=1e-6)
