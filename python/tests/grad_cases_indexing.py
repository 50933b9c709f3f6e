"""Transformation-rule cases (see test_grad_ops.py) for the indexing primitives (Gather, Scatter,
SliceUpdate, AsStrided), sorting (Sort, ArgSort, Partition, ArgPartition) and Scan. Index arrays
are constants closed over; batched index arrays are tested in test_grad_indexing.py."""

from helpers import mx
from test_grad_ops import POS, U

_I = lambda *v: mx.array(list(v))


def _set(x, u, idx):
    y = mx.array(x)
    y[idx] = u
    return y


CASES = {
    # Gather (duplicates accumulate in the vjp)
    "take_axis1_dups": (lambda x: mx.take(x, _I(2, 0, 2), axis=1), [U(3, 4)]),
    "take_flat_negative": (lambda x: mx.take(x, _I(-1, 3, 3)), [U(2, 3)]),
    "take_along_axis": (lambda x: mx.take_along_axis(x, mx.array([[0, 0], [2, 1], [1, 2]]), axis=1), [U(3, 3)]),
    "gather_advanced": (lambda x: x[_I(0, 2, 2), 1:3], [U(3, 4)]),
    "gather_two_arrays": (lambda x: x[_I(0, 1, 1), :, _I(2, 0, 0)], [U(2, 3, 3)]),
    # Scatter
    "scatter_set_dups": (lambda x, u: _set(x, u, _I(1, 1, 3)), [U(4, 2), U(3, 2)]),
    "scatter_add_dups": (lambda x, u: x.at[_I(1, 1, 3)].add(u), [U(4, 2), U(3, 2)]),
    "scatter_max": (lambda x, u: x.at[_I(0, 2, 2)].maximum(u), [U(4), U(3)]),
    "scatter_min": (lambda x, u: x.at[_I(0, 2, 2)].minimum(u), [U(4), U(3)]),
    "put_along_axis": (lambda x, u: mx.put_along_axis(x, mx.array([[1], [0]]), u, axis=1), [U(2, 3), U(2, 1)]),
    # SliceUpdate
    "slice_update": (lambda x, u: mx.slice_update(x, u, mx.array([1, 0]), axes=(0, 1)), [U(4, 3), U(2, 3)]),
    "setitem_strided": (lambda x, u: _set(x, u, (slice(None), slice(0, 5, 2))), [U(2, 5), U(2, 3)]),
    # AsStrided (overlapping windows: the vjp accumulates)
    "as_strided_windows": (lambda x: mx.as_strided(x, (4, 3), (2, 1), 1), [U(10)]),
    # Sort / Partition
    "sort_axis0": (lambda x: mx.sort(x, axis=0), [U(4, 3)]),
    "sort_last": (lambda x: mx.sort(x), [U(3, 5)]),
    "partition": (lambda x: mx.partition(x, 2, axis=-1), [U(3, 5)]),
    "topk_like": (lambda x: mx.sort(x, axis=1)[:, -2:] * 3, [U(3, 4)]),
    # Scan
    "cumsum": (lambda x: mx.cumsum(x, axis=1), [U(3, 4)]),
    "cumsum_rev_excl": (lambda x: mx.cumsum(x, axis=0, reverse=True, inclusive=False), [U(4, 3)]),
    "cumprod": (lambda x: mx.cumprod(x, axis=1), [U(3, 4)]),
    "cumprod_rev_excl": (lambda x: mx.cumprod(x, axis=1, reverse=True, inclusive=False), [U(3, 4)]),
    "cummax": (lambda x: mx.cummax(x, axis=1), [U(3, 5)]),
    "cummax_rev": (lambda x: mx.cummax(x, axis=0, reverse=True), [U(5, 2)]),
    "cummin_excl": (lambda x: mx.cummin(x, axis=1, inclusive=False)[:, 1:], [U(2, 5)]),
    "cummin_rev_excl": (lambda x: mx.cummin(x, axis=1, reverse=True, inclusive=False)[:, :-1], [U(2, 5)]),
    "logcumsumexp": (lambda x: mx.logcumsumexp(x, axis=1), [U(3, 4)]),
    "logcumsumexp_rev_excl": (lambda x: mx.logcumsumexp(x, axis=0, reverse=True, inclusive=False)[:-1], [U(4, 3)]),
}

ZERO_GRAD = {
    "argsort": (lambda x: mx.argsort(x, axis=1).astype(mx.float64), [U(3, 4)]),
    "argpartition": (lambda x: mx.argpartition(x, 1, axis=0).astype(mx.float64), [U(4, 3)]),
}
