"""Shape ops against NumPy, on contiguous and non-contiguous inputs of every dtype:
reshape, transpose, swapaxes, moveaxis, expand_dims, squeeze, broadcast_to, flatten, basic
slicing, concatenate, stack, split."""

import numpy as np
import pytest

from helpers import ALL, assert_close, check_op, mk, mx, to_dtype

# A few dtypes of every width: shape ops move bytes, so width is what matters.
WIDTHS = ["bool_", "uint8", "int16", "float16", "bfloat16", "float32", "int64", "float64"]


@pytest.mark.parametrize("dtype", WIDTHS)
@pytest.mark.parametrize(
    "shape, new",
    [((2, 3, 4), (6, 4)), ((2, 3, 4), (4, -1)), ((2, 3, 4), (-1,)), ((2, 3, 4), (2, 1, 12)), ((6,), (2, 3)),
     ((1,), ()), ((), (1, 1)), ((0, 4), (2, 0, 3)), ((3, 4), (4, 3)), ((5, 6), (3, 10)), ((4, 6), (2, 2, 3, 2))],
    ids=str,
)
def test_reshape(shape, new, dtype):
    check_op(lambda x: mx.reshape(x, new), lambda x: np.reshape(x, new), [shape], [dtype], out_dtype="same")
    check_op(lambda x: x.reshape(new), lambda x: np.reshape(x, new), [shape], [dtype], out_dtype="same",
             layouts=("transposed",) if len(shape) > 1 else ("contiguous",))


def test_reshape_method_varargs():
    v = np.arange(24, dtype=np.float32)
    assert_close(mx.array(v).reshape(2, 3, 4), v.reshape(2, 3, 4), "float32")
    assert_close(mx.array(v).reshape(4, -1), v.reshape(4, -1), "float32")


@pytest.mark.parametrize("dtype", WIDTHS)
@pytest.mark.parametrize(
    "shape, axes",
    [((3, 4), None), ((2, 3, 4), None), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, 1)),
     ((2, 3, 4, 5), (3, 1, 0, 2)), ((5,), (0,)), ((), None), ((1, 7, 1), (2, 1, 0))],
    ids=str,
)
def test_transpose(shape, axes, dtype):
    op = (lambda x: mx.transpose(x)) if axes is None else (lambda x: mx.transpose(x, axes))
    check_op(op, lambda x: np.transpose(x, axes), [shape], [dtype], out_dtype="same")
    if axes is not None:
        check_op(lambda x: x.transpose(*axes), lambda x: np.transpose(x, axes), [shape], [dtype],
                 out_dtype="same", layouts=("contiguous",))
    check_op(lambda x: x.T, lambda x: x.T, [shape], [dtype], out_dtype="same", layouts=("contiguous", "strided"))


@pytest.mark.parametrize("dtype", ["float32", "int8"])
@pytest.mark.parametrize("a1, a2", [(0, 1), (0, 2), (-1, 0), (1, 1), (2, -2)])
def test_swapaxes(a1, a2, dtype):
    check_op(lambda x: mx.swapaxes(x, a1, a2), lambda x: np.swapaxes(x, a1, a2), [(2, 3, 4)], [dtype], out_dtype="same")
    check_op(lambda x: x.swapaxes(a1, a2), lambda x: np.swapaxes(x, a1, a2), [(2, 3, 4)], [dtype], out_dtype="same",
             layouts=("contiguous",))


@pytest.mark.parametrize("dtype", ["float32", "uint16"])
@pytest.mark.parametrize("src, dst", [(0, 2), (2, 0), (-1, 1), (1, -3), (0, 0), (3, 1)])
def test_moveaxis(src, dst, dtype):
    check_op(lambda x: mx.moveaxis(x, src, dst), lambda x: np.moveaxis(x, src, dst), [(2, 3, 4, 5)], [dtype],
             out_dtype="same")


@pytest.mark.parametrize("dtype", ["float32", "bool_"])
@pytest.mark.parametrize(
    "shape, axis",
    [((3, 4), 0), ((3, 4), 1), ((3, 4), 2), ((3, 4), -1), ((3, 4), -3), ((3, 4), (0, 3)), ((3, 4), (0, -1)),
     ((), 0), ((), (0, 1)), ((2, 3, 4), (1, 2, 5))],
    ids=str,
)
def test_expand_dims(shape, axis, dtype):
    check_op(lambda x: mx.expand_dims(x, axis), lambda x: np.expand_dims(x, axis), [shape], [dtype], out_dtype="same")


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize(
    "shape, axis",
    [((1, 3, 1, 4), None), ((1, 3, 1, 4), 0), ((1, 3, 1, 4), 2), ((1, 3, 1, 4), -2), ((1, 3, 1, 4), (0, 2)),
     ((1,), None), ((1, 1), (0, 1)), ((3, 4), None), ((2, 1, 0), 1)],
    ids=str,
)
def test_squeeze(shape, axis, dtype):
    op = (lambda x: mx.squeeze(x)) if axis is None else (lambda x: mx.squeeze(x, axis))
    check_op(op, lambda x: np.squeeze(x, axis), [shape], [dtype], out_dtype="same")
    check_op(lambda x: x.squeeze() if axis is None else x.squeeze(axis), lambda x: np.squeeze(x, axis),
             [shape], [dtype], out_dtype="same", layouts=("contiguous",))


@pytest.mark.parametrize("dtype", WIDTHS)
@pytest.mark.parametrize(
    "shape, target",
    [((), (2, 3)), ((1,), (4,)), ((3,), (2, 3)), ((3, 1), (3, 4)), ((1, 4), (2, 3, 4)), ((2, 1, 3), (4, 2, 5, 3)),
     ((2, 3), (2, 3)), ((1, 3), (0, 3)), ((1,), (1,))],
    ids=str,
)
def test_broadcast_to(shape, target, dtype):
    check_op(lambda x: mx.broadcast_to(x, target), lambda x: np.broadcast_to(x, target), [shape], [dtype],
             out_dtype="same")


def test_broadcast_then_compute_then_reshape():
    """A stride-0 view feeding elementwise and reshape (which must copy it) gives NumPy's values."""
    v = np.arange(3, dtype=np.float32)
    b = mx.broadcast_to(mx.array(v), (4, 3))
    assert_close(mx.reshape(b, (2, 6)) * 2, np.broadcast_to(v, (4, 3)).reshape(2, 6) * 2, "float32")
    assert_close(mx.reshape(mx.transpose(b), (12,)), np.broadcast_to(v, (4, 3)).T.reshape(12), "float32")


@pytest.mark.parametrize("dtype", ["float32", "int8", "bfloat16"])
@pytest.mark.parametrize(
    "shape, start, end",
    [((2, 3, 4), None, None), ((2, 3, 4), 1, None), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, -1), ((2, 3, 4), 1, 1),
     ((2, 3, 4, 5), 1, 2), ((), None, None), ((5,), None, None)],
    ids=str,
)
def test_flatten(shape, start, end, dtype):
    def ref(x):
        nd = x.ndim
        if nd == 0:
            return x.reshape(1)
        s = 0 if start is None else start % nd
        e = nd - 1 if end is None else end % nd
        return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])

    kw = {}
    if start is not None:
        kw["start_axis"] = start
    if end is not None:
        kw["end_axis"] = end
    check_op(lambda x: mx.flatten(x, **kw), ref, [shape], [dtype], out_dtype="same")
    check_op(lambda x: x.flatten(**kw), ref, [shape], [dtype], out_dtype="same", layouts=("contiguous",))


# ---------------------------------------------------------------------------------- slicing

S = slice
INDICES = [
    (0,),
    (-1,),
    (1, 2),
    (S(None),),
    (S(1, None),),
    (S(None, None, 2),),
    (S(None, None, -1),),
    (S(-2, None, -2),),
    (S(3, 0, -1),),
    (S(1, 100),),
    (S(-100, 2),),
    (S(5, 1),),  # empty
    (Ellipsis, 0),
    (Ellipsis, S(None, None, -2)),
    (None,),
    (None, Ellipsis, None),
    (1, None, S(None, None, 3)),
    (S(None), None, 1),
    (Ellipsis,),
    (S(1, 3), Ellipsis, S(1, None, 2)),
    (-2, S(None, None, -1), 0),
]


@pytest.mark.parametrize("dtype", ["float32", "int16", "bool_", "float64"])
@pytest.mark.parametrize("idx", INDICES, ids=str)
def test_basic_slicing(idx, dtype):
    check_op(lambda x: x[idx], lambda x: x[idx], [(4, 5, 6)], [dtype], out_dtype="same")


def test_single_index_forms():
    v = np.arange(30, dtype=np.int32).reshape(5, 6)
    a = mx.array(v)
    assert_close(a[2], v[2], "int32")
    assert_close(a[-1], v[-1], "int32")
    assert_close(a[1:4], v[1:4], "int32")
    assert_close(a[::-1], v[::-1], "int32")
    assert_close(a[None], v[None], "int32")
    assert_close(a[...], v[...], "int32")
    assert_close(a[2, 3], v[2, 3], "int32")
    assert_close(a[1:, 2][::2], v[1:, 2][::2], "int32")


def test_slices_of_slices_and_ops_on_them():
    v = np.arange(120, dtype=np.float32).reshape(4, 5, 6)
    a = mx.array(v)
    s1, s2 = a[1:, ::-2, 1::2], v[1:, ::-2, 1::2]
    assert_close(s1[::-1, 1:], s2[::-1, 1:], "float32")
    assert_close(s1 * 2 + s1.T.T, s2 * 3, "float32")
    assert_close(mx.sum(s1, axis=1), s2.sum(axis=1), "float32")
    assert_close(mx.reshape(s1, (-1,)), s2.reshape(-1), "float32")


# ---------------------------------------------------------------------------------- join and split


@pytest.mark.parametrize("dtype", WIDTHS)
@pytest.mark.parametrize(
    "shapes, axis",
    [(((2, 3), (4, 3)), 0), (((2, 3), (2, 5)), 1), (((2, 3), (2, 5)), -1), (((2, 3, 4), (2, 1, 4), (2, 2, 4)), 1),
     (((3,), (0,), (2,)), 0), (((1, 2), (1, 2)), 0), (((2, 2, 3), (2, 2, 1)), 2)],
    ids=str,
)
def test_concatenate(shapes, axis, dtype):
    check_op(lambda *xs: mx.concatenate(list(xs), axis=axis), lambda *xs: np.concatenate(xs, axis=axis),
             [shapes], [dtype], out_dtype="same")


def test_concatenate_default_axis_and_mixed_dtypes():
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(3, dtype=np.int8).reshape(1, 3)
    assert_close(mx.concatenate([mx.array(a), mx.array(b)]), np.concatenate([a, b]), "float32")
    u, i = np.array([200], np.uint8), np.array([-5], np.int8)
    assert_close(mx.concatenate([mx.array(u), mx.array(i)]), np.array([200, -5]), "int16")


@pytest.mark.parametrize("dtype", WIDTHS)
@pytest.mark.parametrize("n, shape, axis", [(2, (3, 4), 0), (3, (3, 4), 1), (2, (3, 4), 2), (2, (3, 4), -1),
                                              (1, (2,), 0), (3, (), 0), (2, (0, 2), 1)], ids=str)
def test_stack(n, shape, axis, dtype):
    check_op(lambda *xs: mx.stack(list(xs), axis=axis), lambda *xs: np.stack(xs, axis=axis),
             [tuple([shape] * n)], [dtype], out_dtype="same")


def test_stack_default_axis():
    a, b = np.arange(3.0), np.arange(3.0) + 5
    assert_close(mx.stack([mx.array(a), mx.array(b)]), np.stack([a, b]), "float32")


@pytest.mark.parametrize("dtype", ["float32", "int8", "float16", "bool_"])
@pytest.mark.parametrize(
    "shape, arg, axis",
    [((6, 4), 2, 0), ((6, 4), 3, 0), ((6, 4), 4, 1), ((6, 4), 2, -1), ((6, 4), [1, 4], 0), ((6, 4), [2], 1),
     ((6, 4), [0, 3, 3], 0), ((6, 4), [5, 9], 0), ((2, 3, 8), [2, 6], 2), ((6,), 1, 0)],
    ids=str,
)
def test_split(shape, arg, axis, dtype):
    check_op(lambda x: mx.split(x, arg, axis=axis), lambda x: np.split(x, arg, axis=axis), [shape], [dtype],
             out_dtype="same")


def test_split_default_axis():
    v = np.arange(12, dtype=np.float32).reshape(6, 2)
    parts = mx.split(mx.array(v), 3)
    for p, w in zip(parts, np.split(v, 3)):
        assert_close(p, w, "float32")
    assert len(parts) == 3


@pytest.mark.parametrize("dtype", ALL)
def test_views_keep_values_after_base_is_deleted(dtype):
    v = to_dtype(np.arange(24).reshape(4, 6) % 5, dtype)
    a = mk(v, dtype)
    view = a[1:, ::2].T
    del a
    assert_close(view, v[1:, ::2].T, dtype)
