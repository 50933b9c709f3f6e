"""Sorting, partitioning and scans against NumPy: sort, argsort, partition, argpartition,
topk, cumsum, cumprod, cummax, cummin, logcumsumexp."""

import numpy as np
import pytest

from helpers import (ALL, FLOATS, INTS, NUMERIC, SOME_INTS, assert_close, check_op, mk, mx,
                     random_values, raises, to_dtype, to_numpy)

SHAPES = [(7,), (3, 5), (4, 1, 6), (2, 3, 4), (0, 3), (3, 0)]
SMALL = ["bool_", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def with_nans(rng, shape, name, i):
    """Values with repeats (so stability matters) and, for floats, some NaNs and infinities."""
    v = random_values(rng, shape, name, -3, 3)
    if name in FLOATS and v.size:
        v = np.round(np.asarray(v, dtype=np.float64))
        flat = v.reshape(-1)
        idx = rng.integers(0, flat.size, size=max(1, flat.size // 5))
        flat[idx[0::3]] = np.nan
        flat[idx[1::3]] = np.inf
        flat[idx[2::3]] = -np.inf
        v = to_dtype(v, name)
    return v


# ---------------------------------------------------------------------------------- sort


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort(axis):
    def ref(x):
        return np.sort(x, axis=axis)

    check_op(lambda a: mx.sort(a, axis=axis), ref, SHAPES, SMALL + ["uint16", "uint32", "uint64", "int16"],
             gen=with_nans, out_dtype="same")


@pytest.mark.parametrize("axis", [-1, 0, 1, None])
def test_argsort_stable(axis):
    shapes = [(6, 9), (3, 4, 5), (5, 0)] if axis != 1 else [(6, 9), (3, 4, 5)]

    def ref(x):
        return np.argsort(x, axis=axis, kind="stable").astype(np.uint32)

    check_op(lambda a: mx.argsort(a, axis=axis), ref, shapes, SMALL, gen=with_nans, out_dtype="uint32")


@pytest.mark.parametrize("axis", [-1, 0])
def test_sort_long_rows_every_dtype(axis):
    """Rows long enough for the radix path, with repeats, NaNs, infinities and signed zeros."""
    def gen(rng, shape, name, i):
        v = with_nans(rng, shape, name, i)
        if name in FLOATS:
            v = np.asarray(v).copy()
            v.reshape(-1)[5::11] = -0.0
            v.reshape(-1)[7::13] = 0.0
        return v

    shapes = [(3, 300), (300, 2)] if axis == 0 else [(3, 300), (2, 1000)]
    dtypes = ALL
    check_op(lambda a: mx.sort(a, axis=axis), lambda x: np.sort(x, axis=axis), shapes, dtypes, gen=gen,
             out_dtype="same", layouts=("contiguous", "transposed", "strided"))
    check_op(lambda a: mx.argsort(a, axis=axis),
             lambda x: np.argsort(x, axis=axis, kind="stable").astype(np.uint32), shapes, dtypes, gen=gen,
             out_dtype="uint32", layouts=("contiguous", "transposed", "strided"))


def test_sort_keeps_signed_zero_bits():
    x = np.array([0.0, -0.0, 1.0, -1.0] * 100, dtype=np.float32)
    got = to_numpy(mx.sort(mk(x, "float32")))
    np.testing.assert_array_equal(got, np.sort(x))
    assert np.signbit(got).sum() == np.signbit(x).sum()


def test_sort_nan_last_and_values():
    x = np.array([[3.0, np.nan, 2.0, -1.0], [np.nan, np.inf, -np.inf, 0.0]], dtype=np.float32)
    assert_close(mx.sort(mk(x, "float32")), np.sort(x, axis=-1), "float32")
    assert_close(mx.argsort(mk(x, "float32")), np.argsort(x, axis=-1, kind="stable"), "uint32")
    assert_close(mx.sort(mk(x, "float32"), axis=None), np.sort(x, axis=None), "float32")


def test_sort_complex():
    rng = np.random.default_rng(1)
    x = (rng.integers(-2, 3, (4, 6)) + 1j * rng.integers(-2, 3, (4, 6))).astype(np.complex64)
    a = mx.array(x)
    assert_close(mx.sort(a), np.sort(x, axis=-1), "complex64")
    assert_close(mx.argsort(a, axis=0), np.argsort(x, axis=0, kind="stable"), "uint32")


def test_sort_large_rows():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 100_000)).astype(np.float32)
    x[:, ::7] = np.round(x[:, ::7])  # repeats
    assert_close(mx.sort(mk(x, "float32")), np.sort(x), "float32")
    assert_close(mx.argsort(mk(x, "float32")), np.argsort(x, kind="stable"), "uint32")
    many = rng.integers(-50, 50, (2000, 33)).astype(np.int32)
    assert_close(mx.sort(mk(many, "int32"), axis=0), np.sort(many, axis=0), "int32")
    assert_close(mx.argsort(mk(many, "int32"), axis=0), np.argsort(many, axis=0, kind="stable"), "uint32")


def test_sort_zero_dim():
    a = mx.array(3.0)
    assert_close(mx.sort(a, axis=None), np.array([3.0]), "float32")
    assert_close(mx.argsort(a, axis=None), np.array([0]), "uint32")


# ---------------------------------------------------------------------------------- partition


def check_partition(out_vals, x, kth, axis):
    """Element kth equals the sorted kth; nothing before is larger, nothing after smaller."""
    got = np.moveaxis(to_numpy(out_vals).astype(np.float64), axis, -1)
    srt = np.moveaxis(np.sort(x.astype(np.float64), axis=axis), axis, -1)
    n = got.shape[-1]
    k = kth % n
    pivot = got[..., k]
    np.testing.assert_array_equal(pivot, srt[..., k])
    # NaN is the largest: compare with NaNs replaced by +inf after checking the NaN count.
    np.testing.assert_array_equal(np.isnan(got).sum(-1), np.isnan(srt).sum(-1))
    g = np.where(np.isnan(got), np.inf, got)
    p = np.where(np.isnan(pivot), np.inf, pivot)[..., None]
    assert np.all(g[..., :k] <= p)
    assert np.all(g[..., k + 1:] >= p)
    # Same multiset of values per row.
    np.testing.assert_array_equal(np.sort(g, -1), np.where(np.isnan(srt), np.inf, srt))


@pytest.mark.parametrize("dtype", SMALL)
@pytest.mark.parametrize("kth,axis", [(0, -1), (3, -1), (-1, -1), (2, 0), (-2, 1)])
def test_partition(dtype, kth, axis):
    rng = np.random.default_rng(3)
    x = to_dtype(with_nans(rng, (5, 7), dtype, 0), dtype)
    for a in (mk(x, dtype), mx.transpose(mk(np.ascontiguousarray(x.T), dtype))):
        out = mx.partition(a, kth, axis=axis)
        assert out.dtype == a.dtype and tuple(out.shape) == x.shape
        check_partition(out, x, kth, axis)
        idx = mx.argpartition(a, kth, axis=axis)
        assert idx.dtype == mx.uint32
        taken = np.take_along_axis(x, to_numpy(idx).astype(np.int64), axis=axis)
        check_partition(mk(taken, dtype), x, kth, axis)
        np.testing.assert_array_equal(np.sort(to_numpy(idx), axis=axis),
                                      np.broadcast_to(np.expand_dims(np.arange(x.shape[axis]), 1 - (axis % 2)),
                                                      x.shape))


def test_partition_flattened():
    x = np.array([[1, 5, 3], [9, 2, 4]], dtype=np.int32)
    out = mx.partition(mk(x, "int32"), 2, axis=None)
    assert tuple(out.shape) == (6,)
    check_partition(out, x.reshape(-1), 2, 0)
    idx = to_numpy(mx.argpartition(mk(x, "int32"), 2, axis=None))
    check_partition(mk(x.reshape(-1)[idx], "int32"), x.reshape(-1), 2, 0)


# ---------------------------------------------------------------------------------- topk


@pytest.mark.parametrize("dtype", ["int32", "uint8", "float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("k,axis", [(1, -1), (3, -1), (6, -1), (0, -1), (2, 0), (4, None)])
def test_topk(dtype, k, axis):
    rng = np.random.default_rng(4)
    x = random_values(rng, (4, 6), dtype, -20, 20)
    out = mx.topk(mk(x, dtype), k, axis=axis)
    ref = np.sort(x.reshape(-1) if axis is None else x, axis=-1 if axis is None else axis)
    ax = 0 if axis is None else axis
    n = ref.shape[ax]
    want = np.take(ref, np.arange(n - k, n), axis=ax)
    assert out.dtype == mx_dtype_of(dtype)
    got = np.sort(to_numpy(out), axis=ax)  # the order within the k is unspecified
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))


def mx_dtype_of(name):
    return getattr(mx, name)


def test_topk_nan_is_largest():
    x = np.array([1.0, np.nan, 3.0, 2.0], dtype=np.float32)
    got = np.sort(to_numpy(mx.topk(mk(x, "float32"), 2)))
    np.testing.assert_array_equal(got, np.array([3.0, np.nan], dtype=np.float32))


# ---------------------------------------------------------------------------------- scans


def cum_dtype(name):
    return "int32" if name == "bool_" else name


def np_scan(fn, x, axis, reverse, inclusive, identity):
    """The NumPy reference for one scan: flip for reverse, shift for exclusive."""
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    if reverse:
        x = np.flip(x, axis)
    y = fn(x, axis)
    if not inclusive:
        pad = np.full_like(np.take(y, [0], axis=axis), identity) if y.shape[axis] else np.take(y, [], axis=axis)
        y = np.concatenate([pad, np.take(y, np.arange(y.shape[axis] - 1), axis=axis)], axis=axis) \
            if y.shape[axis] else y
    if reverse:
        y = np.flip(y, axis)
    return y


SCAN_SHAPES = [(8,), (3, 5), (4, 1, 6), (2, 3, 4), (0, 4), (2, 0)]
FLAGS = [(False, True), (True, True), (False, False), (True, False)]


def int_wrap(x, name):
    """Integer reference inputs in the result dtype so wrap-around matches."""
    return x.astype(np.dtype(name)) if name in INTS else x


@pytest.mark.parametrize("reverse,inclusive", FLAGS)
@pytest.mark.parametrize("axis", [0, -1, None])
def test_cumsum(axis, reverse, inclusive):
    def ref(x):
        return np_scan(lambda v, ax: np.cumsum(v, axis=ax, dtype=v.dtype if v.dtype != bool else np.int32),
                       x if x.dtype != bool else x.astype(np.int32), axis, reverse, inclusive, 0)

    check_op(lambda a: mx.cumsum(a, axis=axis, reverse=reverse, inclusive=inclusive), ref, SCAN_SHAPES,
             ALL, low=-4, high=4, out_dtype=cum_dtype)


@pytest.mark.parametrize("reverse,inclusive", FLAGS)
@pytest.mark.parametrize("axis", [0, -1])
def test_cumprod(axis, reverse, inclusive):
    def ref(x):
        if x.dtype == bool:
            return np_scan(lambda v, ax: np.logical_and.accumulate(v, axis=ax), x, axis, reverse, inclusive, True)
        return np_scan(lambda v, ax: np.cumprod(v, axis=ax, dtype=v.dtype), x, axis, reverse, inclusive, 1)

    check_op(lambda a: mx.cumprod(a, axis=axis, reverse=reverse, inclusive=inclusive), ref, SCAN_SHAPES,
             ALL, low=-2, high=2, out_dtype="same")


def _lowest(dt):
    if dt.kind == "f":
        return -np.inf
    if dt == bool:
        return False
    return np.iinfo(dt).min


def _highest(dt):
    if dt.kind == "f":
        return np.inf
    if dt == bool:
        return True
    return np.iinfo(dt).max


@pytest.mark.parametrize("reverse,inclusive", FLAGS)
@pytest.mark.parametrize("axis", [0, -1, None])
def test_cummax_cummin(axis, reverse, inclusive):
    def ref_max(x):
        return np_scan(lambda v, ax: np.maximum.accumulate(v, axis=ax), x, axis, reverse, inclusive,
                       _lowest(x.dtype))

    def ref_min(x):
        return np_scan(lambda v, ax: np.minimum.accumulate(v, axis=ax), x, axis, reverse, inclusive,
                       _highest(x.dtype))

    check_op(lambda a: mx.cummax(a, axis=axis, reverse=reverse, inclusive=inclusive), ref_max, SCAN_SHAPES,
             ALL, gen=with_nans, out_dtype="same")
    check_op(lambda a: mx.cummin(a, axis=axis, reverse=reverse, inclusive=inclusive), ref_min, SCAN_SHAPES,
             ALL, gen=with_nans, out_dtype="same")


def _lowest_in(name):
    return -np.inf if name in FLOATS else np.iinfo(np.dtype(name)).min


@pytest.mark.parametrize("reverse,inclusive", FLAGS)
@pytest.mark.parametrize("axis", [0, -1, None])
def test_logcumsumexp(axis, reverse, inclusive):
    def ref(x):
        return np_scan(lambda v, ax: np.logaddexp.accumulate(v.astype(np.float64), axis=ax), x, axis, reverse,
                       inclusive, -np.inf)

    check_op(lambda a: mx.logcumsumexp(a, axis=axis, reverse=reverse, inclusive=inclusive), ref, SCAN_SHAPES,
             FLOATS + ["int32", "bool_", "uint8"], low=-5, high=5, out_dtype="float")


def test_logcumsumexp_large_and_inf():
    x = np.array([1000.0, 1000.0, -np.inf, -1000.0, np.inf, 3.0], dtype=np.float32)
    assert_close(mx.logcumsumexp(mk(x, "float32")), np.logaddexp.accumulate(x.astype(np.float64)), "float32")
    y = np.array([-np.inf, -np.inf, 0.0], dtype=np.float32)
    assert_close(mx.logcumsumexp(mk(y, "float32")), np.logaddexp.accumulate(y), "float32")


def test_cumsum_long_rows_and_columns():
    rng = np.random.default_rng(5)
    x = rng.integers(-100, 100, (3, 50_000)).astype(np.int64)
    assert_close(mx.cumsum(mk(x, "int64"), axis=1), np.cumsum(x, axis=1), "int64")
    y = rng.standard_normal((3000, 40)).astype(np.float64)
    assert_close(mx.cumsum(mk(y, "float64"), axis=0), np.cumsum(y, axis=0), "float64")
    z = rng.integers(-3, 4, (50, 3000)).astype(np.int32)
    assert_close(mx.cummax(mk(z, "int32"), axis=0, reverse=True),
                 np.flip(np.maximum.accumulate(np.flip(z, 0), axis=0), 0), "int32")


def test_scan_wraps_small_ints():
    x = np.array([100, 100, 100, -128], dtype=np.int8)
    assert_close(mx.cumsum(mk(x, "int8")), np.cumsum(x, dtype=np.int8), "int8")
    u = np.array([200, 200, 7], dtype=np.uint8)
    assert_close(mx.cumprod(mk(u, "uint8")), np.cumprod(u, dtype=np.uint8), "uint8")
    w = np.array([60000, 60000, 3], dtype=np.uint16)
    assert_close(mx.cumprod(mk(w, "uint16")), np.cumprod(w, dtype=np.uint16), "uint16")


def test_scan_dtype_argument():
    a = mk(np.array([1.5, 2.5, 3.0], dtype=np.float32), "float32")
    assert_close(mx.cumsum(a, dtype=mx.int32), np.array([1, 3, 6]), "int32")
    b = mk(np.array([True, False, True]), "bool_")
    assert_close(mx.cumsum(b, dtype=mx.bool_), np.array([1, 1, 2]), "int32")
    assert_close(mx.cumprod(b, dtype=mx.int8), np.array([1, 0, 0]), "int8")
    assert_close(mx.cumsum(mk(np.arange(4, dtype=np.int32), "int32"), dtype=mx.float16),
                 np.array([0, 1, 3, 6]), "float16")


def test_scan_methods_and_zero_dim():
    x = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    a = mk(x, "float32")
    assert_close(a.cumsum(1), np.cumsum(x, 1), "float32")
    assert_close(a.cumsum(), np.cumsum(x), "float32")
    assert_close(a.cumprod(axis=0, reverse=True), np.flip(np.cumprod(np.flip(x, 0), 0), 0), "float32")
    assert_close(a.cummax(axis=1, inclusive=False),
                 np.concatenate([np.full((3, 1), -np.inf), np.maximum.accumulate(x, 1)[:, :-1]], 1), "float32")
    assert_close(a.cummin(0), np.minimum.accumulate(x, 0), "float32")
    assert_close(a.logcumsumexp(1), np.logaddexp.accumulate(x.astype(np.float64), 1), "float32")
    assert_close(mx.cumsum(mx.array(3.0)), np.array([3.0]), "float32")


def test_cumsum_complex():
    x = (np.arange(6) + 1j * np.arange(6)[::-1]).astype(np.complex64).reshape(2, 3)
    assert_close(mx.cumsum(mx.array(x), axis=1), np.cumsum(x, axis=1), "complex64")
    assert_close(mx.cumprod(mx.array(x), axis=0), np.cumprod(x, axis=0), "complex64")


# ---------------------------------------------------------------------------------- errors


def test_errors():
    a = mx.zeros((2, 3))
    for name in ("sort", "argsort", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"):
        raises(IndexError, name, lambda: getattr(mx, name)(a, axis=2))
        raises(IndexError, name, lambda: getattr(mx, name)(a, axis=-3))
    raises(IndexError, "sort", lambda: mx.sort(mx.array(1.0)))
    raises(IndexError, "cumsum", lambda: mx.cumsum(mx.array(1.0), axis=0))
    for name in ("partition", "argpartition"):
        raises(IndexError, name, lambda: getattr(mx, name)(a, 0, axis=2))
        raises(ValueError, name, lambda: getattr(mx, name)(a, 3))
        raises(ValueError, name, lambda: getattr(mx, name)(a, -4))
        raises(ValueError, name, lambda: getattr(mx, name)(mx.zeros((2, 0)), 0))
        raises(IndexError, name, lambda: getattr(mx, name)(mx.array(1), 0))
    raises(ValueError, "topk", lambda: mx.topk(a, 4))
    raises(ValueError, "topk", lambda: mx.topk(a, -1))
    raises(IndexError, "topk", lambda: mx.topk(a, 1, axis=2))
