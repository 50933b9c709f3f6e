"""Convolutions (conv1d/2d/3d, conv_transpose1d/2d/3d, conv_general, convolve) against NumPy
references written here: a sliding-window einsum for convolutions and a scatter loop for the
transposed ones, np.convolve for convolve."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers import FLOATS, IS_MLX, assert_close, mk, mx, random_values, to_dtype

RNG = np.random.default_rng(7)


# ---------------------------------------------------------------------------------- references


def ref_conv(x, w, stride=1, lo=0, hi=None, kdil=1, idil=1, groups=1, flip=False):
    """Channels-last convolution in float64: dilate the input, pad it, dilate (and maybe flip)
    the kernel, then correlate window by window with an einsum per group."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    per = lambda v: [v] * nd if np.isscalar(v) else list(v)  # noqa: E731
    stride, lo, kdil, idil = per(stride), per(lo), per(kdil), per(idil)
    hi = lo if hi is None else per(hi)
    # Input dilation.
    dshape = [x.shape[0]] + [(s - 1) * d + 1 for s, d in zip(x.shape[1:-1], idil)] + [x.shape[-1]]
    xd = np.zeros(dshape)
    xd[(slice(None),) + tuple(slice(None, None, d) for d in idil)] = x
    # Padding (negative padding crops).
    xp = np.pad(xd, [(0, 0)] + [(max(l, 0), max(h, 0)) for l, h in zip(lo, hi)] + [(0, 0)])
    crop = tuple(slice(max(-l, 0), xp.shape[i + 1] - max(-h, 0)) for i, (l, h) in enumerate(zip(lo, hi)))
    xp = xp[(slice(None),) + crop]
    if flip:
        w = w[(slice(None),) + (slice(None, None, -1),) * nd]
    kshape = [w.shape[0]] + [(k - 1) * d + 1 for k, d in zip(w.shape[1:-1], kdil)] + [w.shape[-1]]
    wd = np.zeros(kshape)
    wd[(slice(None),) + tuple(slice(None, None, d) for d in kdil)] = w
    span = kshape[1:-1]
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=tuple(range(1, nd + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]  # (N, O..., C, K...)
    cin_g = w.shape[-1]
    cout_g = w.shape[0] // groups
    sp = "defg"[:nd]
    outs = []
    for g in range(groups):
        wg = wd[g * cout_g:(g + 1) * cout_g]
        xg = win[(Ellipsis, slice(g * cin_g, (g + 1) * cin_g)) + (slice(None),) * nd]
        outs.append(np.einsum(f"n{sp.upper()}c{sp},o{sp}c->n{sp.upper()}o", xg, wg))
    return np.concatenate(outs, axis=-1)


def ref_conv_transpose(x, w, stride=1, padding=0, dilation=1, output_padding=0, groups=1):
    """Transposed convolution as a scatter: every input element adds its weighted kernel into
    the output at stride * i + dilation * k, then `padding` is cut from both ends."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    per = lambda v: [v] * nd if np.isscalar(v) else list(v)  # noqa: E731
    s, p, d, op = per(stride), per(padding), per(dilation), per(output_padding)
    n, cin = x.shape[0], x.shape[-1]
    cout, ks, cin_g = w.shape[0], w.shape[1:-1], w.shape[-1]
    cout_g = cout // groups
    full = [(i - 1) * st + dl * (k - 1) + 1 + o for i, st, dl, k, o in zip(x.shape[1:-1], s, d, ks, op)]
    y = np.zeros([n] + full + [cout])
    for pos in itertools.product(*[range(i) for i in x.shape[1:-1]]):
        for kpos in itertools.product(*[range(k) for k in ks]):
            at = tuple(i * st + k * dl for i, k, st, dl in zip(pos, kpos, s, d))
            for g in range(groups):
                xv = x[(slice(None),) + pos + (slice(g * cin_g, (g + 1) * cin_g),)]  # (N, cin_g)
                wv = w[(slice(g * cout_g, (g + 1) * cout_g),) + kpos]  # (cout_g, cin_g)
                y[(slice(None),) + at + (slice(g * cout_g, (g + 1) * cout_g),)] += xv @ wv.T
    cut = tuple(slice(pp, f - pp) for pp, f in zip(p, full))
    return y[(slice(None),) + cut]


def rand(shape, dtype="float32"):
    return random_values(RNG, shape, dtype, -1.0, 1.0)


def tol(dtype, k):
    """Looser tolerances for half types, growing with the reduction length k."""
    if dtype == "float16":
        return dict(rtol=2e-2, atol=2e-3 * k)
    if dtype == "bfloat16":
        return dict(rtol=5e-2, atol=1e-2 * k)
    return {}


# ---------------------------------------------------------------------------------- conv1d/2d/3d

CONV1D = [
    # (N, L, Cin), (Cout, K, Cin/groups), stride, padding, dilation, groups
    ((2, 9, 3), (4, 3, 3), 1, 0, 1, 1),
    ((1, 10, 2), (3, 2, 2), 2, 1, 1, 1),
    ((2, 12, 4), (6, 3, 2), 1, 2, 2, 2),
    ((1, 7, 6), (6, 1, 1), 1, 0, 1, 6),  # depthwise
    ((3, 5, 1), (2, 5, 1), 3, 3, 1, 1),
    ((1, 4, 3), (1, 4, 3), 1, 0, 1, 1),  # one output position
]


@pytest.mark.parametrize("xs,ws,s,p,d,g", CONV1D)
def test_conv1d(xs, ws, s, p, d, g):
    x, w = rand(xs), rand(ws)
    out = mx.conv1d(mk(x, "float32"), mk(w, "float32"), stride=s, padding=p, dilation=d, groups=g)
    assert_close(out, ref_conv(x, w, s, p, p, d, 1, g), "float32", where="conv1d")


CONV2D = [
    ((2, 6, 7, 3), (4, 3, 2, 3), 1, 0, 1, 1),
    ((1, 8, 8, 2), (3, 3, 3, 2), (2, 1), (1, 2), 1, 1),
    ((1, 9, 7, 4), (4, 2, 3, 2), 1, 1, (2, 1), 2),
    ((2, 5, 5, 4), (8, 3, 3, 1), 2, 1, 1, 4),
]


@pytest.mark.parametrize("xs,ws,s,p,d,g", CONV2D)
def test_conv2d(xs, ws, s, p, d, g):
    x, w = rand(xs), rand(ws)
    out = mx.conv2d(mk(x, "float32"), mk(w, "float32"), stride=s, padding=p, dilation=d, groups=g)
    assert_close(out, ref_conv(x, w, s, p, p, d, 1, g), "float32", where="conv2d")


CONV3D = [
    ((1, 4, 5, 3, 2), (3, 2, 2, 2, 2), 1, 0, 1, 1),
    ((2, 5, 4, 4, 2), (2, 3, 2, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), 2),
]


@pytest.mark.parametrize("xs,ws,s,p,d,g", CONV3D)
def test_conv3d(xs, ws, s, p, d, g):
    if IS_MLX and g > 1:
        pytest.skip("MLX supports groups only in 1-D and 2-D")
    x, w = rand(xs), rand(ws)
    out = mx.conv3d(mk(x, "float32"), mk(w, "float32"), stride=s, padding=p, dilation=d, groups=g)
    assert_close(out, ref_conv(x, w, s, p, p, d, 1, g), "float32", where="conv3d")


@pytest.mark.parametrize("dtype", FLOATS)
def test_conv_depthwise_dtypes(dtype):
    x, w = rand((2, 5, 6, 4), dtype), rand((8, 3, 2, 1), dtype)
    out = mx.conv2d(mk(x, dtype), mk(w, dtype), padding=(1, 0), dilation=(1, 2), groups=4)
    ref = to_dtype(ref_conv(x, w, 1, [1, 0], [1, 0], [1, 2], 1, 4), dtype)
    if IS_MLX and dtype == "float64":
        pytest.skip("MLX's CPU convolution has no float64")
    assert_close(out, ref, dtype, where=dtype, **tol(dtype, 6))


@pytest.mark.parametrize("dtype", FLOATS)
def test_conv_dtypes(dtype):
    if IS_MLX and dtype == "float64":
        pytest.skip("MLX's CPU convolution has no float64")
    x, w = rand((2, 6, 5, 4), dtype), rand((4, 3, 2, 2), dtype)
    out = mx.conv2d(mk(x, dtype), mk(w, dtype), padding=1, groups=2)
    ref = to_dtype(ref_conv(x, w, 1, 1, 1, 1, 1, 2), dtype)
    assert_close(out, ref, dtype, where=dtype, **tol(dtype, 12))


def test_conv_promotes():
    x, w = rand((1, 6, 2), "float16"), rand((3, 2, 2), "float32")
    out = mx.conv1d(mk(x, "float16"), mk(w, "float32"))
    assert_close(out, ref_conv(x, w), "float32")
    x, w = rand((1, 6, 2), "bfloat16"), rand((3, 2, 2), "float16")
    out = mx.conv1d(mk(x, "bfloat16"), mk(w, "float16"))
    assert_close(out, ref_conv(x, w), "float32")


def test_conv_non_contiguous():
    x, w = rand((6, 2, 5, 3)), rand((4, 2, 2, 3))
    xt = mx.transpose(mk(np.ascontiguousarray(np.transpose(x, (3, 2, 1, 0))), "float32"), (3, 2, 1, 0))
    wt = mk(np.ascontiguousarray(w[:, ::-1]), "float32")[:, ::-1]
    xs = mk(np.repeat(x, 2, axis=1), "float32")[:, ::2]
    ref = ref_conv(x, w, 1, 1)
    assert_close(mx.conv2d(xt, wt, stride=1, padding=1), ref, "float32", where="transposed")
    assert_close(mx.conv2d(xs, wt, stride=1, padding=1), ref, "float32", where="strided")


def test_conv_large_chunks():
    # Big enough to take the BLAS-threaded path and to split the patch matrix in chunks.
    x, w = rand((1, 130, 129, 32)), rand((8, 3, 3, 32))
    out = mx.conv2d(mk(x, "float32"), mk(w, "float32"), padding=1)
    assert_close(out, ref_conv(x, w, 1, 1), "float32", rtol=1e-4, atol=1e-4)
    if IS_MLX:
        return  # no float64 convolution in MLX
    x, w = rand((4, 20, 20, 6)), rand((6, 3, 3, 2))
    out = mx.conv2d(mk(x, "float64"), mk(w, "float64"), stride=2, groups=3)
    assert_close(out, ref_conv(x, w, 2, 0, None, 1, 1, 3), "float64")


def test_conv_empty_batch():
    out = mx.conv1d(mx.zeros((0, 5, 2)), mx.zeros((3, 2, 2)))
    assert tuple(out.shape) == (0, 4, 3)
    assert np.array(out).size == 0


# ---------------------------------------------------------------------------------- conv_general

GENERAL = [
    # input shape, weight shape, kwargs
    ((1, 8, 2), (3, 3, 2), dict(stride=2, padding=([1], [2]))),
    ((2, 6, 3), (2, 3, 3), dict(input_dilation=2, padding=2, flip=True)),
    ((1, 5, 6, 2), (2, 2, 3, 2), dict(stride=[1, 2], padding=([0, 2], [1, 0]), kernel_dilation=[2, 1])),
    ((1, 4, 4, 4), (4, 2, 2, 2), dict(input_dilation=[2, 3], groups=2, flip=True)),
    ((1, 3, 4, 3, 1), (2, 2, 2, 2, 1), dict(padding=1, kernel_dilation=1, input_dilation=[1, 2, 1])),
    ((1, 9, 2), (3, 3, 2), dict(padding=([-1], [1]))),
    ((1, 5, 4, 3), (6, 2, 3, 1), dict(input_dilation=2, padding=1, stride=[1, 2], flip=True, groups=3)),
]


@pytest.mark.parametrize("xs,ws,kw", GENERAL)
def test_conv_general(xs, ws, kw):
    x, w = rand(xs), rand(ws)
    pad = kw.get("padding", 0)
    lo, hi = pad if isinstance(pad, tuple) else (pad, pad)
    ref = ref_conv(x, w, kw.get("stride", 1), lo, hi, kw.get("kernel_dilation", 1), kw.get("input_dilation", 1),
                   kw.get("groups", 1), kw.get("flip", False))
    if IS_MLX and any(np.min(v) < 0 for v in (lo, hi)):
        pytest.skip("negative padding")
    out = mx.conv_general(mk(x, "float32"), mk(w, "float32"), **kw)
    assert_close(out, ref, "float32", where=str(kw))


def test_conv_general_flip_is_convolution():
    # Flipping the kernel turns correlation into convolution: compare against np.convolve.
    a, v = rand((11,)), rand((4,))
    out = mx.conv_general(mk(a.reshape(1, 11, 1), "float32"), mk(v.reshape(1, 4, 1), "float32"), padding=3, flip=True)
    assert_close(out.reshape(-1), np.convolve(a.astype(np.float64), v), "float32")


# ---------------------------------------------------------------------------------- transposed

TRANSPOSE = [
    # input shape, weight shape, stride, padding, dilation, output_padding, groups
    ((1, 5, 2), (3, 3, 2), 1, 0, 1, 0, 1),
    ((2, 4, 3), (2, 3, 3), 2, 1, 1, 1, 1),
    ((1, 6, 4), (4, 2, 2), 3, 0, 2, 0, 2),
    ((2, 4, 3), (6, 3, 1), 2, 1, 1, 1, 3),
    ((1, 3, 4, 2), (3, 3, 2, 2), 2, (1, 0), 1, (1, 0), 1),
    ((2, 3, 3, 4), (6, 2, 2, 2), (1, 2), 0, (2, 1), 0, 2),
    ((1, 2, 3, 2, 2), (2, 2, 2, 2, 2), 2, 0, 1, 0, 1),
    ((1, 3, 2, 3, 2), (2, 3, 2, 2, 1), (1, 2, 2), (1, 0, 1), 1, (0, 1, 1), 2),
]


@pytest.mark.parametrize("xs,ws,s,p,d,op,g", TRANSPOSE)
def test_conv_transpose(xs, ws, s, p, d, op, g):
    x, w = rand(xs), rand(ws)
    fn = {3: mx.conv_transpose1d, 4: mx.conv_transpose2d, 5: mx.conv_transpose3d}[len(xs)]
    if IS_MLX and g > 1 and len(xs) == 5:
        pytest.skip("MLX supports groups only in 1-D and 2-D")
    out = fn(mk(x, "float32"), mk(w, "float32"), stride=s, padding=p, dilation=d, output_padding=op, groups=g)
    assert_close(out, ref_conv_transpose(x, w, s, p, d, op, g), "float32", where="conv_transpose")


def test_conv_transpose_is_adjoint():
    # <conv1d(x, w), y> == <x, conv_transpose1d(y, w^T)> with w^T swapping C_in and C_out.
    x, w = rand((2, 11, 3)), rand((4, 3, 3))
    y = rand((2, 5, 4))
    cx = np.array(mx.conv1d(mk(x, "float32"), mk(w, "float32"), stride=2, padding=1, dilation=2), np.float64)
    wt = np.ascontiguousarray(np.transpose(w, (2, 1, 0)))
    ty = np.array(mx.conv_transpose1d(mk(y, "float32"), mk(wt, "float32"), stride=2, padding=1, dilation=2,
                                      output_padding=0), np.float64)
    assert cx.shape == y.shape and ty.shape[1] <= x.shape[1]
    lhs = np.sum(cx * y)
    rhs = np.sum(x[:, :ty.shape[1]] * ty)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


# ---------------------------------------------------------------------------------- convolve


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("na,nv", [(7, 3), (3, 7), (6, 4), (5, 5), (1, 1), (8, 1)])
def test_convolve(mode, na, nv):
    a, v = rand((na,)), rand((nv,))
    out = mx.convolve(mk(a, "float32"), mk(v, "float32"), mode=mode)
    assert_close(out, np.convolve(a.astype(np.float64), v.astype(np.float64), mode=mode), "float32", where=mode)


def test_convolve_float64_default_mode():
    if IS_MLX:
        pytest.skip("MLX's CPU convolution has no float64")
    a, v = rand((9,), "float64"), rand((4,), "float64")
    assert_close(mx.convolve(mk(a, "float64"), mk(v, "float64")), np.convolve(a, v), "float64")


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call",
    [
        lambda: mx.conv1d(mx.ones((1, 5, 2)), mx.ones((3, 3, 3))),  # channel mismatch
        lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((3, 3, 2)), groups=3),  # groups don't divide C_in
        lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((3, 3, 2)), groups=2),  # nor C_out
        lambda: mx.conv1d(mx.ones((5, 2)), mx.ones((3, 3, 2))),  # bad ndim
        lambda: mx.conv2d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2))),
        lambda: mx.conv_general(mx.ones((1, 2, 3, 4, 5, 6)), mx.ones((1, 2, 3, 4, 5, 6))),
        lambda: mx.conv1d(mx.ones((1, 2, 2)), mx.ones((3, 3, 2))),  # kernel larger than input
        lambda: mx.conv1d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2)), stride=0),
        lambda: mx.conv1d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2)), dilation=0),
        lambda: mx.conv1d(mx.ones((1, 5, 2), dtype=mx.int32), mx.ones((3, 3, 2), dtype=mx.int32)),
        lambda: mx.conv_transpose2d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2))),
        lambda: mx.convolve(mx.ones((2, 3)), mx.ones((3,))),
        lambda: mx.convolve(mx.ones((5,)), mx.ones((3,)), mode="middle"),
        lambda: mx.conv_general(mx.ones((1, 5, 2)), mx.ones((3, 2, 2)), stride=[1, 2]),  # one value per dim
    ],
)
def test_conv_errors(call):
    with pytest.raises(ValueError, match="conv"):
        call()


def test_conv_tuple_length_is_type_error():
    with pytest.raises(TypeError):
        mx.conv2d(mx.ones((1, 5, 5, 2)), mx.ones((3, 2, 2, 2)), stride=(1, 2, 3))
    with pytest.raises(TypeError):
        mx.conv_transpose3d(mx.ones((1, 3, 3, 3, 2)), mx.ones((3, 2, 2, 2, 2)), padding=(1, 1))
