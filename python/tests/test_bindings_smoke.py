"""Smoke tests of the Python bindings: conversions, printing, indexing, weak typing, exports.

Printing and scalar typing are compared against MLX (a black-box oracle) when it is installed.
"""

import copy
import pickle

import numpy as np
import pytest

import kiln.core as kx

try:
    import mlx.core as mlx
except ImportError:  # pragma: no cover - the oracle is optional
    mlx = None

needs_mlx = pytest.mark.skipif(mlx is None, reason="mlx (the oracle) is not installed")

# kiln dtype name -> NumPy dtype used for round trips (bfloat16 goes through float32).
DTYPES = {
    "bool_": np.bool_,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float16": np.float16,
    "bfloat16": np.float32,
    "float32": np.float32,
    "float64": np.float64,
    "complex64": np.complex64,
}


def sample(np_dtype, shape=(2, 3)):
    x = np.arange(int(np.prod(shape))).reshape(shape) % 5
    if np_dtype == np.bool_:
        return x % 2 == 0
    if np.issubdtype(np_dtype, np.complexfloating):
        return (x + 0.5j * x).astype(np_dtype)
    if np.issubdtype(np_dtype, np.floating):
        return (x * 0.25 - 1.0).astype(np_dtype)
    return x.astype(np_dtype)


# ---------------------------------------------------------------- construction and conversion


@pytest.mark.parametrize("name", list(DTYPES))
def test_numpy_round_trip(name):
    dtype = getattr(kx, name)
    x = sample(DTYPES[name])
    a = kx.array(x, dtype)
    assert a.dtype == dtype
    assert a.shape == x.shape and a.ndim == 2 and a.size == 6
    assert a.itemsize == dtype.size and a.nbytes == 6 * dtype.size
    np.testing.assert_array_equal(np.array(a), x)
    assert a.tolist() == x.tolist()
    assert a[1, 2].item() == x[1, 2].item()
    # Strided NumPy input and strided kiln output.
    np.testing.assert_array_equal(np.array(kx.array(x.T, dtype)), x.T)
    np.testing.assert_array_equal(np.array(a.T), x.T)


def test_numpy_natural_dtypes():
    # MLX's rules: float64 becomes float32, other NumPy dtypes are kept.
    assert kx.array(np.zeros(2, np.float64)).dtype == kx.float32
    assert kx.array(np.zeros(2, np.complex128)).dtype == kx.complex64
    assert kx.array(np.zeros(2, np.int64)).dtype == kx.int64
    assert kx.array(np.zeros(2, np.float16)).dtype == kx.float16
    assert kx.array(np.zeros(2, np.float64), kx.float64).dtype == kx.float64


def test_python_scalars_and_lists():
    assert kx.array(True).dtype == kx.bool_
    assert kx.array(1).dtype == kx.int32
    assert kx.array(2**40).dtype == kx.int64
    assert kx.array(1.5).dtype == kx.float32
    assert kx.array(1 + 2j).dtype == kx.complex64
    assert kx.array([1, 2.0]).dtype == kx.float32
    assert kx.array([True, 1]).dtype == kx.int32
    assert kx.array([[1, 2], (3, 4)]).shape == (2, 2)
    assert kx.array([]).shape == (0,)
    assert kx.array([kx.array([1.0, 2.0]), [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert kx.array(kx.array([1, 2])).tolist() == [1, 2]
    assert kx.array(bytearray(b"ab")).tolist() == [97, 98]
    assert kx.array(1.7, kx.int32).item() == 1
    for v in (True, 3, 2.5, 1 - 2j):
        assert kx.array(v).item() == v
    a = kx.array([[1.5]])
    assert float(a) == 1.5 and int(a) == 1 and bool(a) and complex(a) == 1.5
    assert kx.array(3).__index__() == 3


def test_round_trip_bfloat16_through_numpy():
    x = np.array([1.0, 1.5, -2.25, 3.0e5], np.float32)
    b = kx.array(x, kx.bfloat16)
    y = np.array(b)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, rtol=1e-2)


# ---------------------------------------------------------------- printing against the oracle

PRINT_CASES = [
    1.0,
    [1.0, 2.5],
    [0.1, 0.2, 1e-5],
    [1e10, 1],
    3.14159265,
    [1 / 3, 2 / 3],
    [float("inf"), -float("inf"), float("nan")],
    [-0.0, 0.0],
    [[1.5, 2], [3, 4]],
    [1 + 2j, -3.5 - 1j],
    [True, False],
    [],
    [[]],
    [[[1, 2], [3, 4]], [[5, 6], [7, 8]]],
    2**40,
    list(range(7)),
    [[1] * 7] * 2,
    [[1] * 2] * 7,
    list(range(1001)),
    np.arange(2000).reshape(10, 10, 20).tolist(),
    np.zeros((2, 0, 3)),
]
PRINT_DTYPES = [None, "bool_", "uint8", "int16", "int64", "float16", "bfloat16", "float32", "float64", "complex64"]


@needs_mlx
@pytest.mark.parametrize("case", range(len(PRINT_CASES)))
def test_repr_matches_mlx(case):
    data = PRINT_CASES[case]
    for name in PRINT_DTYPES:
        if name is not None and not np.all(np.isfinite(np.array(data, dtype=np.complex128))):
            continue
        if name in ("uint8", "int16", "int64") and np.any(np.abs(np.array(data, np.complex128)) > 100):
            continue
        try:
            expected = repr(mlx.array(data) if name is None else mlx.array(data, getattr(mlx, name)))
        except Exception:
            continue
        got = repr(kx.array(data) if name is None else kx.array(data, getattr(kx, name)))
        assert got == expected, (data, name)
        assert str(kx.array(data) if name is None else kx.array(data, getattr(kx, name))) == expected


# ---------------------------------------------------------------- indexing against NumPy

INDICES = [
    1,
    -1,
    (0, 2),
    (-2, -1, 3),
    slice(None),
    slice(1, None),
    slice(None, None, -1),
    slice(-100, 100, 2),
    slice(3, 0, -2),
    slice(100, None),
    (Ellipsis, 1),
    (None, 0),
    (0, None, Ellipsis, None),
    (slice(None), None, slice(None, None, 2)),
    (1, slice(None, None, -1), slice(2, 4)),
    np.int64(1),
    Ellipsis,
    (),
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_indexing_matches_numpy(index):
    x = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    a = kx.array(x)
    np.testing.assert_array_equal(np.array(a[index]), x[index])
    assert a[index].shape == x[index].shape


def test_indexing_errors():
    a = kx.array(np.arange(6).reshape(2, 3))
    with pytest.raises(IndexError):
        a[2]
    with pytest.raises(IndexError):
        a[0, -4]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(ValueError):
        a[::0]
    with pytest.raises(ValueError):
        a[..., ...]
    with pytest.raises(ValueError):
        a["x"]
    with pytest.raises(ValueError):  # boolean masks are for assignment only, as in MLX
        a[kx.array([True, False])]


def test_iteration_and_len():
    a = kx.array([[1, 2], [3, 4], [5, 6]])
    assert len(a) == 3
    assert [r.tolist() for r in a] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError):
        len(kx.array(1))
    with pytest.raises(TypeError):
        iter(kx.array(1))


# ---------------------------------------------------------------- weak typing against the oracle

TYPING_DTYPES = ["bool_", "uint8", "int8", "uint32", "int32", "int64", "uint64", "float16", "bfloat16", "float32"]
SCALARS = [True, 1, 2.5, 1j]


@needs_mlx
@pytest.mark.parametrize("name", TYPING_DTYPES)
def test_scalar_weak_typing_matches_mlx(name):
    k = kx.array([1], getattr(kx, name))
    m = mlx.array([1], getattr(mlx, name))
    for s in SCALARS:
        for fk, fm in [(lambda a: a + s, lambda a: a + s), (lambda a: s * a, lambda a: s * a),
                       (lambda a: kx.maximum(a, s), lambda a: mlx.maximum(a, s)),
                       (lambda a: a / s, lambda a: a / s), (lambda a: a < s, lambda a: a < s)]:
            expected = str(fm(m).dtype).split(".")[-1]
            assert str(fk(k).dtype).split(".")[-1] == expected, (name, s)


def test_weak_typing_overflow_and_inplace():
    with pytest.raises(ValueError):
        kx.array([1], kx.uint8) + 300
    a = kx.array([1.0, 2.0], kx.float16)
    b = a
    a *= 2.5
    assert a is b and b.dtype == kx.float16 and b.tolist() == [2.5, 5.0]
    assert kx.add(1, 2.5).dtype == kx.float32
    assert kx.where(kx.array([True, False]), 1, 2.5).dtype == kx.float32


def test_equality_with_other_objects():
    a = kx.array([1, 2])
    assert (a == None) is False  # noqa: E711
    assert (a != "x") is True
    with pytest.raises(ValueError):
        a + "x"
    with pytest.raises(TypeError):
        a + None


# ---------------------------------------------------------------- buffer protocol, DLPack, pickle


def test_buffer_protocol():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = kx.array(x)
    m = memoryview(a)
    assert m.format == "f" and m.shape == (2, 3) and m.strides == (12, 4)
    np.testing.assert_array_equal(np.asarray(memoryview(a.T)), x.T)
    assert np.asarray(a).flags.c_contiguous


def test_dlpack_both_ways():
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    a = kx.array(x)
    assert a.__dlpack_device__() == (1, 0)
    np.testing.assert_array_equal(np.from_dlpack(a), x)
    np.testing.assert_array_equal(np.from_dlpack(a.T), x.T)
    b = kx.from_dlpack(x)
    assert b.dtype == kx.int16 and b.tolist() == x.tolist()


@pytest.mark.parametrize("name", ["bool_", "int32", "bfloat16", "complex64"])
def test_pickle_and_copy(name):
    a = kx.array(sample(DTYPES[name]), getattr(kx, name)).T
    for b in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a)):
        assert b.dtype == a.dtype and b.shape == a.shape and b.tolist() == a.tolist()


def test_hash_and_weakref():
    import weakref

    a = kx.array(1)
    assert hash(a) == hash(a) and hash(a) != hash(kx.array(1))
    assert weakref.ref(a)() is a


# ---------------------------------------------------------------- errors and misc API


def test_exception_types():
    a = kx.array(np.arange(6))
    with pytest.raises(ValueError):
        kx.reshape(a, (4,))
    with pytest.raises(IndexError):
        kx.sum(a, axis=3)
    with pytest.raises(TypeError):
        kx.reshape(a, "x")
    with pytest.raises(ValueError):
        kx.array([[1, 2], [3]])
    with pytest.raises(ValueError):
        kx.array("abc")
    with pytest.raises(ValueError):
        bool(kx.array([1, 2]))


def test_dtypes_devices_streams():
    assert repr(kx.float32) == "kiln.core.float32"
    assert kx.float16.size == 2 and kx.float32 != kx.int32
    assert kx.issubdtype(kx.float16, kx.floating) and not kx.issubdtype(kx.uint8, kx.signedinteger)
    assert kx.result_type(kx.int8, kx.uint8) == kx.int16
    assert repr(kx.Device(kx.cpu)) == "Device(cpu, 0)" and kx.Device(kx.cpu) == kx.cpu
    assert isinstance(kx.cuda.is_available(), bool)
    s = kx.new_stream(kx.cpu)
    assert repr(s).startswith("Stream(Device(cpu, 0), ")
    with kx.stream(s):
        assert kx.default_stream(kx.cpu) == s
    assert kx.default_stream(kx.cpu) != s
    kx.synchronize()
    kx.eval([kx.array(1)], {"a": (kx.array(2),)}, None)
    assert kx.get_active_memory() >= 0 and kx.get_peak_memory() >= kx.get_active_memory()
