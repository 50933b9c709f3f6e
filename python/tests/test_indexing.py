"""Indexing: reading a[idx] with every index kind, assignment a[idx] = v, x.at[idx] updates,
take / take_along_axis / put_along_axis / slice_update, all against NumPy."""

import numpy as np
import pytest

from helpers import (ALL, ALL_LAYOUTS, IS_MLX, LAYOUTS, assert_close, check_op, mk, mx, np_dtype,
                     random_values, raises, to_dtype, to_numpy)

try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

RNG = np.random.default_rng(0)
X = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(np.float32)

# ---------------------------------------------------------------------------------- reading

READ_CASES = [
    0, -1, (1, 2), slice(None), slice(1, None), slice(None, None, -1), slice(3, 0, -2), (Ellipsis, 1),
    (None, 0), (0, None, ..., None), (slice(None), None, 2),
    # integer arrays and lists
    [0, 1, 1], [[0], [1]], [-1, 0], ([0, 1], [2, 0]), ([0, 1], slice(None), [1, 3]),
    (slice(None), [0, 2], [1, 3]), (slice(None), [[0], [2]], [1, 3]), (slice(None), [0, 2], slice(1, 3), [1, 4]),
    (0, slice(None), [1, 2]), (slice(None), 0, slice(None), [1, 2]), (0, [1, 2]), (Ellipsis, [0, 4, 4]),
    ([0], None, [1]), (None, [1, 0], [2, 1]), ([1], Ellipsis, [4]), (slice(None, None, -1), [2, 0]),
    (np.array([0, 1]), np.array([[2], [1]])), (np.int64(1), [0, 0]), [],
]


@pytest.mark.parametrize("index", READ_CASES, ids=[repr(c) for c in READ_CASES])
def test_read_vs_numpy(index):
    a = mx.array(X)
    want = X[index]
    assert_close(a[index], want, "float32", where=repr(index))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_read_layouts(layout):
    built = LAYOUTS[layout](X, "float32")
    vals, a = built
    for index in [([0, 1], slice(None), [1, 3]), (slice(None), [2, 0]), (1, [0, 1], 2), ([1, 0],)]:
        assert_close(a[index], vals[index], "float32", where=f"{layout} {index!r}")


def test_read_with_kiln_index_arrays():
    a = mx.array(X)
    i = mx.array([[1, 0]], dtype=mx.uint8)
    j = mx.array([3, 1], dtype=mx.int64)
    assert_close(a[i, :, j], X[np.array([[1, 0]]), :, np.array([3, 1])], "float32")
    assert_close(a[mx.array(1), mx.array(2)], X[1, 2], "float32")


@pytest.mark.parametrize("dtype", ALL + ["complex64"])
def test_read_all_dtypes(dtype):
    v = to_dtype(random_values(RNG, (4, 3), dtype), dtype)
    a = mk(v, dtype)
    assert_close(a[[3, 0, 3]], v[[3, 0, 3]], dtype)
    assert_close(a[[1, 2], [0, 2]], v[[1, 2], [0, 2]], dtype)
    assert_close(a[:, [2]], v[:, [2]], dtype)


def test_read_empty_and_0d():
    a = mx.array(X)
    assert_close(a[[]], X[[]], "float32")
    assert_close(a[np.zeros((0, 2), dtype=np.int32)], X[np.zeros((0, 2), dtype=np.int32)], "float32")
    z = mx.array(3.0)
    assert_close(z[None], np.array(3.0)[None], "float32")
    assert_close(z[...], np.array(3.0)[...], "float32")
    e = mx.zeros((0, 3))
    assert_close(e[:, [1, 2]], np.zeros((0, 3))[:, [1, 2]], "float32")


if given is not None:

    def _draw_index(data, shape, allow_none=True):
        common = data.draw(st.integers(1, 3))
        items = []
        for n in shape:
            kind = data.draw(st.sampled_from(["int", "slice", "array", "full"]))
            if kind == "int":
                items.append(data.draw(st.integers(-n, n - 1)))
            elif kind == "slice":
                items.append(slice(data.draw(st.integers(-n - 1, n + 1)), data.draw(st.integers(-n - 1, n + 1)),
                                   data.draw(st.sampled_from([1, 2, -1, -3]))))
            elif kind == "array":
                length = data.draw(st.sampled_from([1, common]))
                items.append(np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=length,
                                                         max_size=length))))
            else:
                items.append(slice(None))
        if allow_none and data.draw(st.booleans()):
            items.insert(data.draw(st.integers(0, len(items))), None)
        return tuple(items)

    _shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4)

    @given(st.data())
    def test_read_hypothesis(data):
        shape = data.draw(_shapes)
        x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int32)
        index = _draw_index(data, shape)
        assert_close(mx.array(x)[index], x[index], "int32", where=repr(index))

    @given(st.data())
    def test_setitem_hypothesis(data):
        shape = data.draw(_shapes)
        x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int32)
        index = _draw_index(data, shape)
        target = x[index].shape
        vshape = target[data.draw(st.integers(0, len(target))):]
        v = (np.arange(int(np.prod(vshape))) + 100).reshape(vshape).astype(np.int32)
        want = x.copy()
        want[index] = v
        a = mx.array(x)
        a[index] = mx.array(v)
        # duplicates in array indices: NumPy and kiln both let the last write win
        assert_close(a, want, "int32", where=repr(index))

    @given(st.data())
    def test_at_add_hypothesis(data):
        shape = data.draw(_shapes)
        x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int32)
        index = _draw_index(data, shape, allow_none=False)
        want = x.copy()
        np.add.at(want, index, 7)
        assert_close(mx.array(x).at[index].add(7), want, "int32", where=repr(index))


def test_read_errors():
    a = mx.array(X)
    with pytest.raises(IndexError):
        a[2]
    with pytest.raises(IndexError):
        a[0, 0, 0, -6]
    with pytest.raises(IndexError):
        a[0, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        a[mx.array([True, False])]
    with pytest.raises(ValueError):
        a[mx.array([1.0])]
    with pytest.raises(ValueError):
        a[..., ...]


def test_out_of_range_array_index_is_safe():
    # MLX does not check array indices; kiln never reads out of bounds (it clamps).
    a = mx.arange(5)
    out = np.array(a[mx.array([7, -9, 2])])
    assert out.shape == (3,) and out[2] == 2
    assert all(0 <= v < 5 for v in out)


# ---------------------------------------------------------------------------------- assignment

SET_CASES = [
    (0, 7.0), (-1, np.arange(5.0)), ((1, 2), -1.0), (slice(1, None), 3.0), (slice(None, None, -1), X[0] + 100),
    ((slice(None), slice(3, 0, -2)), 9.0), ((Ellipsis, 1), np.arange(4.0)), ((None, 0), 5.0),
    ((0, slice(None), 1), np.ones((1, 5))), ([0, 0], X[1]), ([1, 0], X[:1]), (([0, 1], [2, 0]), 4.0),
    (([0, 1], slice(None), [1, 3]), np.arange(5.0)), ((slice(None), [0, 2], [1, 3]), 6.0),
    ((0, slice(None), [1, 2]), np.arange(30.0).reshape(2, 3, 5)), ((Ellipsis, [0, 4]), -2.0),
    (([0], None, [1]), 8.0), ((slice(None, None, -1), [2, 0]), np.arange(20.0).reshape(4, 5)),
    ([], 1.0),
]


@pytest.mark.parametrize("index,value", SET_CASES, ids=[repr(c[0]) for c in SET_CASES])
def test_setitem_vs_numpy(index, value):
    want = X.copy()
    want[index] = value
    a = mx.array(X)
    a[index] = mx.array(np.asarray(value, dtype=np.float32)) if isinstance(value, np.ndarray) else value
    assert_close(a, want, "float32", where=repr(index))


def test_setitem_rebinds_same_object():
    a = mx.zeros((3,))
    b = a
    a[1] = 2
    assert b is a
    assert_close(b, np.array([0, 2, 0], np.float32), "float32")


@pytest.mark.parametrize("dtype", ALL + ["complex64"])
def test_setitem_all_dtypes(dtype):
    v = to_dtype(random_values(RNG, (4, 3), dtype), dtype)
    u = to_dtype(random_values(RNG, (2, 3), dtype), dtype)
    for index in [slice(1, 3), [2, 0], (slice(None, 2), slice(None))]:
        want = v.copy()
        want[index] = u
        a = mk(v, dtype)
        a[index] = mk(u, dtype)
        assert_close(a, want, dtype, where=repr(index))
    # a Python scalar takes the array's dtype
    a = mk(v, dtype)
    a[0, 0] = 1
    assert to_numpy(a)[0, 0] == 1 and a.dtype == mk(v, dtype).dtype


def test_setitem_non_contiguous_target():
    base = mx.array(X)
    a = mx.transpose(base, (3, 2, 1, 0))
    want = np.transpose(X, (3, 2, 1, 0)).copy()
    a[1:3, [0, 2]] = 5.0
    want[1:3, [0, 2]] = 5.0
    assert_close(a, want, "float32")
    assert_close(base, X, "float32")  # the source array is untouched


def test_setitem_boolean_mask():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    for mask, value in [(x > 5, 0.0), (x[:, 0] > 3, np.arange(4.0, dtype=np.float32)), (x % 2 == 0, -1.0)]:
        want = x.copy()
        want[mask] = value
        a = mx.array(x)
        a[mx.array(mask)] = value if np.isscalar(value) else mx.array(value)
        assert_close(a, want, "float32")
    a = mx.array(x)
    a[:, mx.array([True, False, False, True])] = 7.0
    want = x.copy()
    want[:, [True, False, False, True]] = 7.0
    assert_close(a, want, "float32")
    a = mx.array(x)
    a[np.array([True, False, True])] = 1.0
    want = x.copy()
    want[[True, False, True]] = 1.0
    assert_close(a, want, "float32")


def test_setitem_errors():
    a = mx.zeros((3, 4))
    with pytest.raises(IndexError):
        a[3] = 1.0
    with pytest.raises(ValueError):
        a[0] = mx.zeros((5,))
    with pytest.raises((ValueError, IndexError)):
        a[mx.array([True, False])] = 1.0


# ---------------------------------------------------------------------------------- .at

AT_OPS = [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("divide", np.divide),
          ("maximum", np.maximum), ("minimum", np.minimum)]


@pytest.mark.parametrize("name,ufunc", AT_OPS, ids=[o[0] for o in AT_OPS])
def test_at_duplicates(name, ufunc):
    x = RNG.uniform(1, 3, size=(5, 3)).astype(np.float32)
    for index, value in [([0, 2, 0, 0], 2.0), ([1, 1], RNG.uniform(1, 3, (2, 3)).astype(np.float32)),
                         ((np.array([0, 0, 4]), np.array([1, 1, 2])), np.array([3.0, 4.0, 5.0], np.float32)),
                         ((slice(None), [2, 2]), 1.5), (1, 2.0), (slice(1, 3), 0.5)]:
        want = x.copy()
        ufunc.at(want, index, value)
        a = mx.array(x)
        out = getattr(a.at[index], name)(value if np.isscalar(value) else mx.array(value))
        assert_close(out, want, "float32", where=f"{name} {index!r}")
        assert_close(a, x, "float32")  # .at returns a new array


@pytest.mark.parametrize("dtype", ["int32", "uint8", "int64", "float16", "bfloat16", "float64", "bool_", "complex64"])
def test_at_add_dtypes(dtype):
    x = to_dtype(random_values(RNG, (6,), dtype, 0, 3), dtype)
    idx = np.array([0, 3, 3, 5, 0, 0])
    u = to_dtype(random_values(RNG, (6,), dtype, 0, 3), dtype)
    want = x.copy()
    if dtype == "bool_":
        np.logical_or.at(want, idx, u)
    else:
        np.add.at(want, idx, u)
    if dtype == "bfloat16":
        want = to_dtype(want, dtype)
    out = mk(x, dtype).at[mx.array(idx)].add(mk(u, dtype))
    assert_close(out, want, dtype, rtol=0.05, atol=0.05)
    want = x.copy()
    np.maximum.at(want, idx, u)
    assert_close(mk(x, dtype).at[mx.array(idx)].maximum(mk(u, dtype)), want, dtype)


def test_at_nan_propagates():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    want = x.copy()
    np.maximum.at(want, [0, 0, 1], np.array([np.nan, 5.0, 1.0], np.float32))
    out = mx.array(x).at[mx.array([0, 0, 1])].maximum(mx.array([np.nan, 5.0, 1.0]))
    assert_close(out, want, "float32")


# ---------------------------------------------------------------------------------- ops


def _indices(n, shape, rng):
    return rng.integers(-n, n, size=shape).astype(np.int32)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_take(axis):
    def gen(rng, shape, name, i):
        if i == 0:
            return random_values(rng, shape, name)
        return _indices(3, shape, rng)

    def ref(a, i):
        return np.take(a, i.astype(np.int64), axis=axis)

    if axis is None:
        check_op(lambda a, i: mx.take(a, i), ref, [((3, 1), (4,)), ((1, 3), (2, 2))],
                 [("float32", "int8"), ("int16", "int32")], gen=gen, out_dtype="same")
    else:
        shapes = [((3, 3, 3), (4,)), ((3, 3), (2, 2)), ((3, 3, 3), ())]
        check_op(lambda a, i: mx.take(a, i, axis=axis), ref, shapes,
                 [("float32", "int32"), ("bfloat16", "int64"), ("bool_", "uint32"), ("complex64", "int16")],
                 gen=lambda rng, s, n, i: random_values(rng, s, n) if i == 0 else
                 (rng.integers(0, 3, size=s) if n.startswith("u") else _indices(3, s, rng)),
                 out_dtype="same")


def test_take_int_index_and_errors():
    x = np.arange(6).reshape(2, 3).astype(np.int32)
    a = mx.array(x)
    assert_close(mx.take(a, 1), np.take(x, 1), "int32")
    assert_close(mx.take(a, -1, axis=1), np.take(x, -1, axis=1), "int32")
    raises(ValueError, "gather", lambda: mx.take(a, mx.array([1.0])), mlx_exc=ValueError)
    raises(IndexError, "take", lambda: mx.take(a, mx.array([0]), axis=2), mlx_exc=ValueError)


@pytest.mark.parametrize("dtype", ALL + ["complex64"])
def test_take_along_axis(dtype):
    x = to_dtype(random_values(RNG, (3, 4, 2), dtype), dtype)
    for axis, ishape in [(0, (2, 4, 2)), (1, (3, 5, 1)), (-1, (1, 1, 3)), (2, (3, 4, 0))]:
        n = x.shape[axis]
        idx = RNG.integers(-n, n, size=ishape)
        want = np.take_along_axis(x, np.broadcast_to(idx, np.broadcast_shapes(
            ishape, tuple(1 if d == axis % 3 else s for d, s in enumerate(x.shape)))) % n, axis)
        got = mx.take_along_axis(mk(x, dtype), mx.array(idx.astype(np.int32)), axis=axis)
        assert_close(got, want, dtype, where=f"axis={axis}")
    idx = RNG.integers(0, x.size, size=(5,))
    assert_close(mx.take_along_axis(mk(x, dtype), mx.array(idx), axis=None), x.reshape(-1)[idx], dtype)


def test_take_along_axis_errors():
    a = mx.zeros((2, 3))
    raises(ValueError, "take_along_axis", lambda: mx.take_along_axis(a, mx.array([0]), axis=1))
    raises(IndexError, "take_along_axis", lambda: mx.take_along_axis(a, mx.array([[0]]), axis=2))


@pytest.mark.parametrize("dtype", ALL + ["complex64"])
def test_put_along_axis(dtype):
    x = to_dtype(random_values(RNG, (3, 4), dtype), dtype)
    for axis in [0, 1, -1]:
        n = x.shape[axis]
        ishape = (1, 4) if axis == 0 else (3, 1)
        idx = RNG.integers(0, n, size=ishape)
        vals = to_dtype(random_values(RNG, ishape, dtype), dtype)
        want = x.copy()
        np.put_along_axis(want, idx, vals, axis)
        got = mx.put_along_axis(mk(x, dtype), mx.array(idx), mk(vals, dtype), axis=axis)
        assert_close(got, want, dtype, where=f"axis={axis}")
    want = x.copy().reshape(-1)
    want[[0, 5]] = 1
    got = mx.put_along_axis(mk(x, dtype), mx.array([0, 5]), mx.array(1).astype(mk(x, dtype).dtype), axis=None)
    assert_close(got, want.reshape(x.shape), dtype)


def test_slice_update():
    x = np.zeros((3, 4), np.float32)
    upd = np.arange(4, dtype=np.float32).reshape(2, 2)
    got = mx.slice_update(mx.array(x), mx.array(upd), mx.array([1, 1]), (0, 1))
    want = x.copy()
    want[1:3, 1:3] = upd
    assert_close(got, want, "float32")
    got = mx.slice_update(mx.array(x), mx.array(upd), mx.array([2]), [1])
    want = x.copy()
    want[0:2, 2:4] = upd
    assert_close(got, want, "float32")


def test_setitem_large_then_read_is_lazy_safe():
    a = mx.zeros((100, 50))
    for i in range(10):
        a[i * 3] = float(i)
    want = np.zeros((100, 50), np.float32)
    for i in range(10):
        want[i * 3] = i
    assert_close(a, want, "float32")


def test_setitem_from_own_view():
    x = np.arange(6, dtype=np.float32)
    a = mx.array(x)
    a[1:] = a[:-1]
    x[1:] = x[:-1].copy()
    assert_close(a, x, "float32")
    a = mx.array(np.arange(6, dtype=np.float32))
    a[[0, 1]] = a[[4, 5]]
    assert_close(a, np.array([4, 5, 2, 3, 4, 5], np.float32), "float32")


def test_take_from_empty_axis():
    e = mx.zeros((0, 3))
    assert mx.take(e, mx.array(np.zeros((0, 2), np.int32)), axis=0).shape == (0, 2, 3)
    raises(ValueError, "take", lambda: mx.take(e, mx.array([0]), axis=0))


def test_at_object():
    x = mx.arange(3)
    assert type(x.at) is type(x.at[0])
    assert type(x.at).__name__ == "ArrayAt"
    if not IS_MLX:
        with pytest.raises(ValueError):
            x.at.add(1)


def test_setitem_boolean_mask_sequential_values():
    # NumPy (and MLX) give the k-th selected position the k-th value.
    cases = [
        ((2, 2), lambda x: np.array([[False, True], [True, False]]), np.array([5.0, 6.0])),
        ((3, 2), lambda x: np.array([True, False, True]), np.array([[5.0, 6.0], [7.0, 8.0]])),
        ((3, 2), lambda x: np.array([True, False, True]), np.array([[5.0], [7.0]])),
        ((3, 4), lambda x: x > 4, np.arange(7.0)),
        ((3, 4), lambda x: x > 4, np.array([1.0])),
        ((2, 3, 2), lambda x: x[..., 0] > 4, np.array([[1.0, 2.0]])),
        ((2, 3, 2), lambda x: x[..., 0] > 4, np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])),
    ]
    for shape, make_mask, value in cases:
        x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        mask = make_mask(x)
        want = x.copy()
        want[mask] = value
        a = mx.array(x)
        a[mx.array(mask)] = mx.array(value.astype(np.float32))
        assert_close(a, want, "float32", where=f"{shape} {mask.tolist()} {value.shape}")
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    want = x.copy()
    want[:, [True, False, True]] = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = mx.array(x)
    a[:, mx.array([True, False, True])] = mx.array([[1.0, 2.0], [3.0, 4.0]])
    assert_close(a, want, "float32")
    a = mx.array(x)
    with pytest.raises(ValueError):
        a[mx.array([True, False]), 0] = 1.0


def test_at_rejects_boolean_mask():
    a = mx.zeros((3,))
    with pytest.raises(ValueError):
        a.at[mx.array([True, False, True])].add(1.0)
