"""Property tests (hypothesis) of broadcasting, shape ops, slicing and reductions against NumPy.
Example counts are modest (see conftest.py's profile) so the suite stays fast on 2 cores."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import assert_close, mk, mx

DTYPES = st.sampled_from(["float32", "int32", "float16", "uint8", "int64", "bool_", "float64", "bfloat16"])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


def values(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool_":
        return rng.random(shape) < 0.5
    if dtype in ("uint8",):
        return rng.integers(0, 100, size=shape).astype(np.uint8)
    if dtype in ("int32", "int64"):
        return rng.integers(-100, 100, size=shape).astype(dtype)
    v = rng.integers(-64, 64, size=shape) / 4.0  # exact in every float dtype
    return v.astype(np.float32 if dtype == "bfloat16" else dtype)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(["add", "multiply", "maximum", "subtract", "greater"]))
def test_binary_broadcasting(shapes, op):
    (s1, s2), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = values(s1, "float32", 1), values(s2, "float32", 2)
    out = getattr(mx, op)(mx.array(a), mx.array(b))
    want = getattr(np, op)(a, b)
    assert want.shape == out_shape
    assert_close(out, want, "bool_" if op == "greater" else "float32")


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=4))
def test_where_broadcasting(shapes):
    c, x, y = shapes.input_shapes
    cv, xv, yv = values(c, "bool_", 1), values(x, "int32", 2), values(y, "int32", 3)
    assert_close(mx.where(mx.array(cv), mx.array(xv), mx.array(yv)), np.where(cv, xv, yv), "int32")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), dtype=DTYPES)
def test_broadcast_to(data, shape, dtype):
    other = data.draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=4, max_side=4))
    target = np.broadcast_shapes(shape, other)
    v = values(shape, dtype)
    assert_close(mx.broadcast_to(mk(v, dtype), target), np.broadcast_to(v, target), dtype)


@given(data=st.data(), shape=SHAPES, dtype=DTYPES)
def test_basic_indexing(data, shape, dtype):
    idx = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    v = values(shape, dtype)
    assert_close(mk(v, dtype)[idx], v[idx], dtype, where=f"index {idx!r}")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_indexing_a_view(data, shape):
    """Index a transposed, stepped view: strides and offsets compose."""
    v = values(shape, "float32")
    t = v.T[..., ::-1]
    idx = data.draw(hnp.basic_indices(t.shape, allow_newaxis=True, allow_ellipsis=True))
    a = mx.transpose(mx.array(v))[..., ::-1]
    assert_close(a[idx], t[idx], "float32", where=f"index {idx!r}")


@given(data=st.data(), shape=SHAPES, dtype=DTYPES)
def test_reshape(data, shape, dtype):
    size = int(np.prod(shape))
    if size == 0:
        new = data.draw(st.sampled_from([(0,), (0, 3), (2, 0)]))
    else:
        # a random factorisation of the size, possibly with one inferred dimension
        factors, n = [], size
        for p in (2, 3, 5):
            while n % p == 0:
                factors.append(p)
                n //= p
        factors = data.draw(st.permutations(factors)) if factors else []
        ndim = data.draw(st.integers(1, 4))
        new = [1] * ndim
        for f in factors:
            new[data.draw(st.integers(0, ndim - 1))] *= f
        if data.draw(st.booleans()):
            new[data.draw(st.integers(0, ndim - 1))] = -1
        new = tuple(new)
    v = values(shape, dtype)
    transposed = data.draw(st.booleans()) and len(shape) > 1
    a = mx.transpose(mk(v.T, dtype)) if transposed else mk(v, dtype)
    assert_close(mx.reshape(a, new), v.reshape(new), dtype)


@given(data=st.data(), shape=SHAPES)
def test_transpose(data, shape):
    perm = data.draw(st.permutations(range(len(shape))))
    v = values(shape, "int32")
    assert_close(mx.transpose(mx.array(v), perm), np.transpose(v, perm), "int32")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4))
def test_swapaxes_moveaxis(data, shape):
    nd = len(shape)
    i, j = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    v = values(shape, "float16")
    assert_close(mx.swapaxes(mk(v, "float16"), i, j), np.swapaxes(v, i, j), "float16")
    assert_close(mx.moveaxis(mk(v, "float16"), i, j), np.moveaxis(v, i, j), "float16")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_expand_dims_then_squeeze(data, shape):
    nd = len(shape)
    axis = data.draw(st.integers(-(nd + 1), nd))
    v = values(shape, "int64")
    e = mx.expand_dims(mx.array(v), axis)
    assert_close(e, np.expand_dims(v, axis), "int64")
    assert_close(mx.squeeze(e, axis), v, "int64")
    assert_close(mx.squeeze(e), np.squeeze(np.expand_dims(v, axis)), "int64")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
       op=st.sampled_from(["sum", "max", "min", "mean", "prod", "any", "all"]), keepdims=st.booleans(),
       dtype=st.sampled_from(["float32", "int32", "float64"]))
def test_reductions_over_random_axes(data, shape, op, keepdims, dtype):
    nd = len(shape)
    axes = tuple(data.draw(st.lists(st.integers(0, nd - 1), unique=True, min_size=1, max_size=nd)))
    axes = tuple(a - nd if data.draw(st.booleans()) else a for a in axes)
    if op in ("max", "min") and any(shape[a] == 0 for a in axes):
        return  # max/min over an empty axis is an error (tested in test_errors)
    rng = np.random.default_rng(0)
    v = (rng.integers(-3, 4, size=shape) if op != "prod" else rng.choice([1, -1, 2], size=shape)).astype(dtype)
    got = getattr(mx, op)(mx.array(v, dtype=getattr(mx, dtype)), axis=axes, keepdims=keepdims)
    want = getattr(np, op)(v.astype(np.float64) if op == "mean" else v, axis=axes, keepdims=keepdims)
    assert_close(got, want)


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), n=st.integers(1, 3))
def test_concatenate_and_stack(data, shape, n):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for k in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(0, 3))
        parts.append(values(tuple(s), "int32", k))
    assert_close(mx.concatenate([mx.array(p) for p in parts], axis=axis), np.concatenate(parts, axis=axis), "int32")
    same = [values(shape, "float32", k) for k in range(n)]
    sax = data.draw(st.integers(-len(shape) - 1, len(shape)))
    assert_close(mx.stack([mx.array(p) for p in same], axis=sax), np.stack(same, axis=sax), "float32")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
def test_split(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1))
    idx = sorted(data.draw(st.lists(st.integers(0, shape[axis]), max_size=3)))
    v = values(shape, "float32")
    got = mx.split(mx.array(v), idx, axis=axis)
    want = np.split(v, idx, axis=axis)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, "float32")


VIEW_OPS = st.lists(
    st.sampled_from(["T", "flip0", "step", "expand", "broadcast", "slice1", "swap"]), min_size=1, max_size=6
)


@given(ops=VIEW_OPS, shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_chains_of_views_then_compute(ops, shape):
    """Compose views (transpose, reversal, steps, new axes, broadcasts, slices), then compute
    and copy: every kernel must honour arbitrary strides and offsets."""
    v = values(shape, "float32")
    a = mx.array(v)
    for op in ops:
        if op == "T":
            a, v = mx.transpose(a), v.T
        elif op == "flip0":
            a, v = a[::-1], v[::-1]
        elif op == "step" and v.ndim > 0:
            a, v = a[..., ::2], v[..., ::2]
        elif op == "expand":
            a, v = mx.expand_dims(a, 0), np.expand_dims(v, 0)
        elif op == "broadcast":
            a, v = mx.broadcast_to(a, (2,) + v.shape), np.broadcast_to(v, (2,) + v.shape)
        elif op == "slice1" and v.ndim > 0 and v.shape[0] > 1:
            a, v = a[1:], v[1:]
        elif op == "swap" and v.ndim > 1:
            a, v = mx.swapaxes(a, 0, -1), np.swapaxes(v, 0, -1)
    assert_close(a, v, "float32")
    assert_close(a * 2 + 1, v * 2 + 1, "float32")
    assert_close(mx.reshape(a, (-1,)), v.reshape(-1), "float32")
    if v.size:
        assert_close(mx.sum(a, axis=-1), v.sum(axis=-1), "float32")
