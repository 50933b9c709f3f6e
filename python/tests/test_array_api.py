"""The Python array: construction (scalars, lists, NumPy arrays of every dtype, the buffer
protocol), attributes, item/tolist/astype/T, printing, operators with reflected and in-place
forms, indexing, NumPy conversion (zero-copy where possible) and DLPack both ways."""

import array as pyarray
import operator

import numpy as np
import pytest

from helpers import ALL, FLOATS, INTS, assert_close, dtype_name, mk, mx, mx_dtype, np_dtype, to_dtype

# ---------------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "value, dtype",
    [(3, "int32"), (-7, "int32"), (2.5, "float32"), (True, "bool_"), (False, "bool_"),
     ([1, 2, 3], "int32"), ([1.0, 2, 3], "float32"), ([1, 2.5], "float32"), ([True, False], "bool_"),
     ([[1, 2], [3, 4]], "int32"), ([[[1.5]], [[2.5]]], "float32"), ((1, 2), "int32"), ([1, True], "int32"),
     ([1.0, True], "float32"), ([], "float32"), ([[], []], "float32")],
    ids=str,
)
def test_from_python_values(value, dtype):
    assert_close(mx.array(value), np.array(value, dtype=np_dtype(dtype)), dtype)


def test_from_complex_scalar():
    a = mx.array(1 + 2j)
    assert dtype_name(a.dtype) == "complex64"
    assert a.item() == 1 + 2j


@pytest.mark.parametrize("dtype", ALL)
def test_from_python_values_with_dtype(dtype):
    vals = [[0, 1, 2], [3, 1, 0]]
    assert_close(mx.array(vals, dtype=mx_dtype(dtype)), to_dtype(np.array(vals), dtype), dtype)
    assert_close(mx.array(2, dtype=mx_dtype(dtype)), to_dtype(np.array(2), dtype), dtype)


def test_from_list_of_arrays():
    assert_close(mx.array([mx.array([1, 2]), mx.array([3, 4])]), np.array([[1, 2], [3, 4]]), "int32")
    assert_close(mx.array([mx.array(1.5), mx.array(2.5)]), np.array([1.5, 2.5]), "float32")


NP_TO_DTYPE = [
    (np.bool_, "bool_"), (np.uint8, "uint8"), (np.uint16, "uint16"), (np.uint32, "uint32"), (np.uint64, "uint64"),
    (np.int8, "int8"), (np.int16, "int16"), (np.int32, "int32"), (np.int64, "int64"), (np.float16, "float16"),
    (np.float32, "float32"),
    (np.float64, "float32"),  # MLX's default: NumPy float64 becomes float32 unless dtype= says otherwise
    (np.complex64, "complex64"),
]


@pytest.mark.parametrize("np_t, dtype", NP_TO_DTYPE, ids=lambda p: getattr(p, "__name__", str(p)))
def test_from_numpy_every_dtype(np_t, dtype):
    rng = np.random.default_rng(0)
    v = (rng.uniform(-50, 50, size=(3, 4)) if np.dtype(np_t).kind not in "ub" else rng.integers(0, 100, size=(3, 4)))
    v = v.astype(np_t)
    a = mx.array(v)
    assert_close(a, v, dtype)
    # every non-contiguous NumPy layout is read correctly
    assert_close(mx.array(v.T), v.T, dtype)
    assert_close(mx.array(v[::2, 1::2]), v[::2, 1::2], dtype)
    assert_close(mx.array(np.broadcast_to(v[:1], (5, 4))), np.broadcast_to(v[:1], (5, 4)), dtype)


@pytest.mark.kiln_only("MLX cannot read NumPy arrays with negative strides")
@pytest.mark.parametrize("np_t", [np.float32, np.int8, np.float16, np.int64])
def test_from_numpy_negative_strides(np_t):
    v = np.arange(12).reshape(3, 4).astype(np_t)
    assert_close(mx.array(v[::-1]), v[::-1], dtype_name(np.dtype(np_t).name))
    assert_close(mx.array(v[:, ::-2]), v[:, ::-2], dtype_name(np.dtype(np_t).name))


def test_from_numpy_float64_with_dtype_keeps_precision():
    v = np.array([1.0 + 1e-12, np.pi], np.float64)
    assert_close(mx.array(v, dtype=mx.float64), v, "float64", rtol=0, atol=0)


def test_from_numpy_float16_values_exact():
    v = np.array([0.1, 65504, -6e-8, np.inf, -0.0, 1 / 3], np.float16)
    assert_close(mx.array(v), v, "float16", rtol=0, atol=0)


def test_from_numpy_scalars():
    assert_close(mx.array(np.float32(1.5)), np.array(1.5), "float32")
    assert_close(mx.array(np.int64(3)), np.array(3), "int64")
    assert_close(mx.array(np.float16(0.5)), np.array(0.5), "float16")
    assert_close(mx.array(np.bool_(True)), np.array(True), "bool_")


def test_from_numpy_copies_the_data():
    v = np.arange(4, dtype=np.float32)
    a = mx.array(v)
    v[:] = -1
    assert_close(a, np.arange(4), "float32")


@pytest.mark.parametrize(
    "code, dtype", [("f", "float32"), ("d", "float32"), ("i", "int32"), ("b", "int8"), ("B", "uint8"),
                    ("h", "int16"), ("H", "uint16"), ("q", "int64")],
)
def test_from_buffer_protocol(code, dtype):
    buf = pyarray.array(code, [1, 2, 3, 4])
    assert_close(mx.array(buf), np.array([1, 2, 3, 4]), dtype)


def test_from_memoryview_of_bytes():
    assert_close(mx.array(memoryview(b"\x01\x02\xff")), np.array([1, 2, 255]), "uint8")


def test_from_array_with_dtype_converts():
    a = mx.array([1, 2, 3])
    assert_close(mx.array(a, dtype=mx.float16), np.array([1, 2, 3]), "float16")
    assert_close(mx.array(a), np.array([1, 2, 3]), "int32")


# ---------------------------------------------------------------------------------- attributes


@pytest.mark.parametrize("dtype", ALL)
def test_attributes(dtype):
    a = mx.zeros((2, 3, 4), dtype=mx_dtype(dtype))
    size = {"bool_": 1, "float16": 2, "bfloat16": 2}.get(dtype) or np.dtype(dtype).itemsize
    assert a.shape == (2, 3, 4) and isinstance(a.shape, tuple)
    assert a.ndim == 3 and a.size == 24
    assert a.itemsize == size and a.nbytes == 24 * size
    assert a.dtype == mx_dtype(dtype)
    assert mx_dtype(dtype).size == size
    s = mx.zeros((), dtype=mx_dtype(dtype))
    assert s.shape == () and s.ndim == 0 and s.size == 1
    assert mx.zeros((0, 5)).size == 0 and mx.zeros((0, 5)).nbytes == 0


def test_attributes_of_views():
    a = mx.zeros((4, 6))
    assert a.T.shape == (6, 4)
    assert a[1:, ::2].shape == (3, 3)
    assert mx.broadcast_to(a[:1], (7, 6)).size == 42


@pytest.mark.parametrize(
    "value, dtype, want, typ",
    [(2.5, "float32", 2.5, float), (3, "int32", 3, int), (True, "bool_", True, bool), (2.5, "float16", 2.5, float),
     (2.5, "bfloat16", 2.5, float), (200, "uint8", 200, int), (-5, "int64", -5, int), (0.1, "float64", 0.1, float)],
)
def test_item(value, dtype, want, typ):
    r = mx.array(value, dtype=mx_dtype(dtype)).item()
    assert type(r) is typ and r == want
    assert mx.array([[value]], dtype=mx_dtype(dtype)).item() == want


def test_item_evaluates_graph():
    assert (mx.ones((3, 3)) * 2).sum().item() == 18.0


@pytest.mark.parametrize("dtype", ALL)
def test_tolist(dtype):
    v = to_dtype(np.arange(6).reshape(2, 3) % 3, dtype)
    lst = mk(v, dtype).tolist()
    assert lst == v.tolist()
    pytype = bool if dtype == "bool_" else int if dtype in INTS else float
    assert all(type(x) is pytype for row in lst for x in row)
    assert mk(v, dtype).T.tolist() == v.T.tolist()
    assert mk(v[0, 0], dtype).tolist() == v[0, 0].item()  # 0-d: a scalar


def test_astype_and_T_methods():
    v = np.arange(6, dtype=np.int32).reshape(2, 3)
    a = mx.array(v)
    assert_close(a.astype(mx.float16), v, "float16")
    assert_close(a.T, v.T, "int32")
    assert_close(a.astype(mx.bool_), v.astype(bool), "bool_")


def test_python_conversions():
    assert float(mx.array(2.5)) == 2.5
    assert int(mx.array(7)) == 7
    assert bool(mx.array(1)) is True and bool(mx.array(0)) is False
    assert float(mx.array([3.5])) == 3.5
    assert len(mx.zeros((5, 2))) == 5
    rows = list(mx.array([[1, 2], [3, 4]]))
    assert len(rows) == 2 and rows[1].tolist() == [3, 4]


# ---------------------------------------------------------------------------------- printing


def test_repr_exact_small_arrays():
    assert repr(mx.array([1, 2, 3])) == "array([1, 2, 3], dtype=int32)"
    assert repr(mx.array(3)) == "array(3, dtype=int32)"
    assert repr(mx.array([True, False])) == "array([True, False], dtype=bool)"
    assert repr(mx.array([[1, 2], [3, 4]], dtype=mx.int64)) == "array([[1, 2],\n       [3, 4]], dtype=int64)"
    assert str(mx.array([1, 2, 3])) == "array([1, 2, 3], dtype=int32)"


@pytest.mark.parametrize("dtype", FLOATS)
def test_repr_floats(dtype):
    r = repr(mx.array([1.5, -2.25, 0.0], dtype=mx_dtype(dtype)))
    assert r.startswith("array([") and r.endswith(f"], dtype={dtype})")
    nums = [float(t) for t in r[len("array(["):r.index("]")].split(",")]
    assert nums == [1.5, -2.25, 0.0]


def test_printing_evaluates_lazy_arrays():
    assert repr(mx.ones((2,), dtype=mx.int32) + 4) == "array([5, 5], dtype=int32)"


def test_repr_of_views_shows_logical_values():
    a = mx.array(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert repr(a.T) == "array([[0, 3],\n       [1, 4],\n       [2, 5]], dtype=int32)"
    assert repr(a[:, ::-2]) == "array([[2, 0],\n       [5, 3]], dtype=int32)"


def test_repr_of_large_arrays_is_summarized():
    r = repr(mx.arange(100000))
    assert len(r) < 1000 and "..." in r and r.startswith("array([0, 1, 2") and "99999" in r


# ---------------------------------------------------------------------------------- operators

BINOPS = [
    ("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("truediv", operator.truediv),
    ("floordiv", operator.floordiv), ("mod", operator.mod), ("pow", operator.pow),
]
CMPOPS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
BITOPS = [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]


def _np_operands(dtype):
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float64)
    y = np.array([2, 3, 1], dtype=np.float64)
    return to_dtype(x, dtype), to_dtype(y, dtype)


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16", "uint8"])
@pytest.mark.parametrize("name, op", BINOPS, ids=[n for n, _ in BINOPS])
def test_arithmetic_operators(name, op, dtype):
    x, y = _np_operands(dtype)
    X, Y = mk(x, dtype), mk(y, dtype)
    out_dt = "float32" if (name == "truediv" and dtype in INTS) else dtype
    assert_close(op(X, Y), op(x.astype(np.float64), y.astype(np.float64)), out_dt)
    # Python scalars on either side (weakly typed: the array's dtype wins)
    assert_close(op(X, 2), op(x.astype(np.float64), 2.0), out_dt)
    assert_close(op(7, Y), op(7.0, y.astype(np.float64)), out_dt)


@pytest.mark.parametrize("op", CMPOPS, ids=lambda o: o.__name__)
def test_comparison_operators(op):
    x, y = _np_operands("int32")
    X, Y = mx.array(x), mx.array(y)
    assert_close(op(X, Y), op(x, y), "bool_")
    assert_close(op(X, 2), op(x, 2), "bool_")
    assert_close(op(2.5, X), op(2.5, x), "bool_")


@pytest.mark.parametrize("op", BITOPS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_bitwise_operators(op, dtype):
    x = np.array([[1, 6, 12], [7, 0, 3]], np.dtype(dtype))
    y = np.array([3, 2, 1], np.dtype(dtype))
    assert_close(op(mx.array(x), mx.array(y)), op(x, y), dtype)
    assert_close(op(mx.array(x), 1), op(x, np.array(1, x.dtype)), dtype)


def test_unary_operators():
    x = np.array([-2, 0, 3], np.int32)
    assert_close(-mx.array(x), -x, "int32")
    assert_close(abs(mx.array(x)), np.abs(x), "int32")
    assert_close(~mx.array(x), ~x, "int32")
    b = np.array([True, False])
    assert_close(~mx.array(b), ~b, "bool_")
    f = np.array([-1.5, 2.0], np.float32)
    assert_close(-mx.array(f), -f, "float32")


def test_matmul_operator_and_logical_bool_operators():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_close(mx.array(a) @ mx.array(a.T), a @ a.T, "float32")
    p, q = np.array([True, True, False]), np.array([True, False, False])
    assert_close(mx.array(p) & mx.array(q), p & q, "bool_")
    assert_close(mx.array(p) | mx.array(q), p | q, "bool_")
    assert_close(mx.array(p) ^ mx.array(q), p ^ q, "bool_")


INPLACE = [
    ("iadd", operator.iadd, operator.add), ("isub", operator.isub, operator.sub),
    ("imul", operator.imul, operator.mul), ("itruediv", operator.itruediv, operator.truediv),
    ("ifloordiv", operator.ifloordiv, operator.floordiv), ("imod", operator.imod, operator.mod),
    ("ipow", operator.ipow, operator.pow),
]


@pytest.mark.parametrize("name, iop, op", INPLACE, ids=[n for n, _, _ in INPLACE])
def test_inplace_operators(name, iop, op):
    x, y = _np_operands("float32")
    X = mx.array(x)
    X2 = iop(X, mx.array(y))
    assert_close(X2, op(x.astype(np.float64), y.astype(np.float64)), "float32")
    X3 = iop(mx.array(x), 2)
    assert_close(X3, op(x.astype(np.float64), 2.0), "float32")


def test_inplace_updates_the_python_object_seen_by_other_names():
    """As in MLX (and NumPy), `x += 1` changes the array that other names refer to."""
    x = mx.array([1, 2, 3])
    y = x
    x += 1
    assert_close(y, np.array([2, 3, 4]), "int32")
    x *= 2
    assert_close(y, np.array([4, 6, 8]), "int32")


def test_inplace_bitwise_and_matmul():
    x = mx.array([6, 5], dtype=mx.uint8)
    x &= 3
    assert_close(x, np.array([2, 1]), "uint8")
    x |= 8
    assert_close(x, np.array([10, 9]), "uint8")
    x ^= 1
    assert_close(x, np.array([11, 8]), "uint8")
    x <<= 1
    assert_close(x, np.array([22, 16]), "uint8")
    x >>= 2
    assert_close(x, np.array([5, 4]), "uint8")
    m = mx.array([[1.0, 2.0]])
    m @= mx.array([[0.0, 1.0], [1.0, 0.0]])
    assert_close(m, np.array([[2.0, 1.0]]), "float32")


def test_inplace_weak_float_scalar_on_int_array_promotes():
    x = mx.array([1, 2])
    x *= 2.5
    assert_close(x, np.array([2.5, 5.0]), "float32")


def test_operators_with_numpy_operand():
    a = np.arange(3, dtype=np.float32)
    assert_close(mx.array(a) + a, a + a, "float32")


# ---------------------------------------------------------------------------------- indexing


def test_getitem_matches_numpy():
    v = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    a = mx.array(v)
    for idx in [1, -1, (1, 2), (1, 2, 3), slice(None, None, -1), (Ellipsis, 2), (None, 1), (slice(1, 3), None, 0),
                (Ellipsis, None), (0, Ellipsis, slice(None, None, 2)), (slice(-1, None),)]:
        assert_close(a[idx], v[idx], "int32", where=str(idx))


@pytest.mark.kiln_only("MLX does not bounds-check integer indices")
def test_getitem_out_of_range_integer_raises_index_error():
    a = mx.zeros((2, 3))
    with pytest.raises(IndexError):
        a[2]
    with pytest.raises(IndexError):
        a[0, -4]


# ---------------------------------------------------------------------------------- NumPy conversion


@pytest.mark.parametrize("dtype", [d for d in ALL if d != "bfloat16"])
def test_numpy_conversion_every_dtype(dtype):
    v = to_dtype(np.arange(12).reshape(3, 4) % 5, dtype)
    n = np.array(mk(v, dtype))
    assert n.dtype == np_dtype(dtype) and n.shape == (3, 4)
    np.testing.assert_array_equal(n, v)


def test_numpy_conversion_of_views_and_lazy_results():
    v = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(v)
    np.testing.assert_array_equal(np.array(a.T), v.T)
    np.testing.assert_array_equal(np.array(a[::-1, 1::2]), v[::-1, 1::2])
    np.testing.assert_array_equal(np.array(mx.broadcast_to(a[:1], (2, 4))), np.broadcast_to(v[:1], (2, 4)))
    np.testing.assert_array_equal(np.array(a * 2 + 1), v * 2 + 1)
    np.testing.assert_array_equal(np.asarray(a), v)


def test_bfloat16_to_numpy_through_float32():
    a = mx.array([1.5, -2.0], dtype=mx.bfloat16)
    np.testing.assert_array_equal(np.array(a.astype(mx.float32)), np.array([1.5, -2.0], np.float32))


def test_numpy_conversion_is_zero_copy_for_evaluated_contiguous_arrays():
    a = mx.array(np.arange(1024, dtype=np.float32))
    mx.eval(a)
    n1, n2 = np.asarray(a), np.asarray(a)
    assert np.shares_memory(n1, n2), "each conversion copied the data"
    n3 = np.array(a, copy=False)
    assert np.shares_memory(n1, n3)
    np.testing.assert_array_equal(n3, np.arange(1024))


def test_numpy_view_keeps_buffer_alive():
    a = mx.array(np.arange(100000, dtype=np.float32)) + 1
    mx.eval(a)
    n = np.asarray(a)
    del a
    big = [mx.ones((100000,)) * 7 for _ in range(3)]  # reuse any freed buffer
    mx.eval(big)
    np.testing.assert_array_equal(n, np.arange(100000, dtype=np.float32) + 1)


def test_memoryview_buffer_protocol():
    a = mx.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    m = memoryview(a)
    assert m.format == "f" and m.shape == (2, 3) and m.itemsize == 4
    assert m.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert memoryview(mx.array([1, 2], dtype=mx.uint8)).format == "B"


# ---------------------------------------------------------------------------------- DLPack


@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "float16", "float64", "bool_"])
def test_dlpack_to_numpy(dtype):
    v = to_dtype(np.arange(12).reshape(3, 4) % 7, dtype)
    a = mk(v, dtype)
    mx.eval(a)
    n = np.from_dlpack(a)
    assert n.shape == (3, 4) and n.dtype == np_dtype(dtype)
    np.testing.assert_array_equal(n, v)
    if mx.default_device() == mx.cpu:
        assert tuple(a.__dlpack_device__()) == (1, 0)  # kDLCPU


def test_dlpack_to_numpy_of_lazy_result():
    a = mx.ones((2, 3)) * 3
    np.testing.assert_array_equal(np.from_dlpack(a), np.full((2, 3), 3.0, np.float32))


@pytest.mark.parametrize("np_t", [np.float32, np.int32, np.float16, np.uint8, np.int64])
def test_dlpack_from_numpy(np_t):
    v = (np.arange(12).reshape(3, 4) % 7).astype(np_t)
    a = mx.from_dlpack(v)
    assert_close(a, v, dtype_name(np.dtype(np_t).name))
    b = mx.array(v[:, ::2])  # non-contiguous producer through the ordinary constructor
    assert_close(b, v[:, ::2], dtype_name(np.dtype(np_t).name))


def test_dlpack_roundtrip():
    v = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    a = mx.from_dlpack(v)
    np.testing.assert_array_equal(np.from_dlpack(a), v)
