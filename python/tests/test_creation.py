"""Creation ops against NumPy: array from values, zeros/ones/full, arange, linspace, eye,
identity and the *_like forms."""

import numpy as np
import pytest

from helpers import ALL, FLOATS, NUMERIC, assert_close, mk, mx, mx_dtype, np_dtype, random_values

SHAPES = [(), (0,), (1,), (5,), (3, 4), (2, 0, 3), (2, 3, 4)]


@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_zeros_ones(shape, dtype):
    assert_close(mx.zeros(shape, dtype=mx_dtype(dtype)), np.zeros(shape, np_dtype(dtype)), dtype)
    assert_close(mx.ones(shape, dtype=mx_dtype(dtype)), np.ones(shape, np_dtype(dtype)), dtype)


def test_zeros_ones_defaults():
    assert_close(mx.zeros((2, 3)), np.zeros((2, 3)), "float32")
    assert_close(mx.ones(4), np.ones(4), "float32")  # an int is a 1-D shape
    assert_close(mx.zeros([2, 1]), np.zeros((2, 1)), "float32")


@pytest.mark.parametrize("dtype", ALL)
def test_full_scalar_with_dtype(dtype):
    val = True if dtype == "bool_" else 3
    assert_close(mx.full((2, 3), val, dtype=mx_dtype(dtype)), np.full((2, 3), val, np_dtype(dtype)), dtype)


@pytest.mark.parametrize(
    "val, dtype",
    [(3, "int32"), (2.5, "float32"), (True, "bool_"), (-7, "int32")],
)
def test_full_infers_dtype_from_scalar(val, dtype):
    assert_close(mx.full((3, 2), val), np.full((3, 2), val), dtype)


def test_full_broadcasts_array_values():
    row = np.array([1.5, -2.0, 3.25], np.float32)
    assert_close(mx.full((2, 3), mx.array(row)), np.broadcast_to(row, (2, 3)), "float32")
    col = np.array([[1], [2]], np.int32)
    assert_close(mx.full((2, 4), mx.array(col)), np.broadcast_to(col, (2, 4)), "int32")
    # an int is a 1-D shape
    assert_close(mx.full(4, 1.0), np.ones(4), "float32")


@pytest.mark.kiln_only("mlx.core.full ignores dtype= when vals is an array, against its docs")
def test_full_converts_array_values_to_dtype():
    row = np.array([1.5, -2.0, 3.25], np.float32)
    assert_close(mx.full((2, 3), mx.array(row), dtype=mx.float16), np.broadcast_to(row, (2, 3)), "float16")


@pytest.mark.parametrize("dtype", NUMERIC)
def test_like_ops_keep_shape_and_dtype(dtype):
    v = random_values(np.random.default_rng(1), (3, 5), dtype)
    a = mk(v, dtype)
    assert_close(mx.zeros_like(a), np.zeros((3, 5)), dtype)
    assert_close(mx.ones_like(a), np.ones((3, 5)), dtype)
    assert_close(mx.full_like(a, 2), np.full((3, 5), 2), dtype)


def test_like_ops_on_views():
    a = mx.transpose(mx.array(np.arange(6, dtype=np.float32).reshape(2, 3)))
    assert_close(mx.zeros_like(a), np.zeros((3, 2)), "float32")
    assert_close(mx.ones_like(a[::2]), np.ones((2, 2)), "float32")
    assert_close(mx.full_like(a, 7), np.full((3, 2), 7), "float32")


def test_full_like_dtype_argument():
    a = mx.zeros((2,), dtype=mx.int8)
    assert_close(mx.full_like(a, 2.5, dtype=mx.float32), np.full(2, 2.5), "float32")
    assert_close(mx.zeros_like(a, dtype=mx.float16), np.zeros(2), "float16")
    assert_close(mx.ones_like(a, dtype=mx.bool_), np.ones(2, bool), "bool_")


@pytest.mark.parametrize(
    "args, kwargs, ref, dtype",
    [
        ((5,), {}, np.arange(5), "int32"),
        ((2, 9), {}, np.arange(2, 9), "int32"),
        ((2, 9, 3), {}, np.arange(2, 9, 3), "int32"),
        ((10, 0, -3), {}, np.arange(10, 0, -3), "int32"),
        ((-4, 4, 2), {}, np.arange(-4, 4, 2), "int32"),
        ((5, 2), {}, np.arange(5, 2), "int32"),  # empty
        ((5.0,), {}, np.arange(5.0), "float32"),
        ((0.5, 3), {}, np.arange(0.5, 3), "float32"),
        ((0, 1, 0.1), {}, np.arange(0, 1, 0.1), "float32"),
        ((1, -1, -0.25), {}, np.arange(1, -1, -0.25), "float32"),
        ((0, 5), {"dtype": "float16"}, np.arange(0, 5), "float16"),
        ((0, 5), {"dtype": "float64"}, np.arange(0, 5), "float64"),
        ((0, 10, 2), {"dtype": "int64"}, np.arange(0, 10, 2), "int64"),
        ((3, 8), {"dtype": "uint8"}, np.arange(3, 8), "uint8"),
        ((0, 4), {"dtype": "bfloat16"}, np.arange(0, 4), "bfloat16"),
    ],
    ids=str,
)
def test_arange(args, kwargs, ref, dtype):
    kwargs = {k: mx_dtype(v) if k == "dtype" else v for k, v in kwargs.items()}
    assert_close(mx.arange(*args, **kwargs), ref, dtype)


def test_arange_keyword_form():
    assert_close(mx.arange(start=1, stop=7, step=2), np.arange(1, 7, 2), "int32")
    assert_close(mx.arange(0, 1, 0.25, dtype=mx.float64), np.arange(0, 1, 0.25), "float64")


@pytest.mark.parametrize(
    "start, stop, num, dtype",
    [
        (0, 1, 5, "float32"),
        (-3, 7, 50, "float32"),
        (1, 0, 11, "float32"),
        (0, 1, 1, "float32"),
        (0, 1, 0, "float32"),
        (0, 10, 5, "int32"),
        (-1, 1, 9, "float64"),
        (0, 2, 5, "float16"),
        (0, 4, 5, "bfloat16"),
    ],
)
def test_linspace(start, stop, num, dtype):
    ref = np.linspace(start, stop, num)
    if dtype == "int32":
        ref = ref.astype(np.int32)  # truncation toward zero, as an astype
    out = mx.linspace(start, stop, num, dtype=mx_dtype(dtype))
    assert_close(out, ref, dtype)


def test_linspace_default_num():
    assert_close(mx.linspace(0, 1), np.linspace(0, 1), "float32")


@pytest.mark.parametrize(
    "n, m, k",
    [(1, None, 0), (3, None, 0), (3, 4, 0), (4, 3, 0), (3, 4, 1), (3, 4, -1), (5, 5, 3), (2, 3, 5), (3, 2, -4)],
)
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool_", "float16", "float64"])
def test_eye(n, m, k, dtype):
    out = mx.eye(n, m, k, dtype=mx_dtype(dtype))
    assert_close(out, np.eye(n, m, k, dtype=np_dtype(dtype)), dtype)


def test_eye_and_identity_defaults():
    assert_close(mx.eye(4), np.eye(4), "float32")
    assert_close(mx.eye(2, 3, k=1), np.eye(2, 3, k=1), "float32")
    assert_close(mx.identity(3), np.identity(3), "float32")
    assert_close(mx.identity(3, dtype=mx.int64), np.identity(3, np.int64), "int64")


@pytest.mark.parametrize("dtype", FLOATS)
def test_creation_results_combine_in_graphs(dtype):
    """Creation ops are graph nodes like any other: their results feed later ops correctly."""
    d = mx_dtype(dtype)
    out = mx.eye(3, dtype=d) * 2 + mx.ones((3, 3), dtype=d) - mx.full((3,), 0.5, dtype=d) + mx.arange(3, dtype=d)
    ref = np.eye(3) * 2 + np.ones((3, 3)) - 0.5 + np.arange(3)
    assert_close(out, ref, dtype)
