"""Every primitive that has a CUDA kernel, run on the GPU and compared with the CPU's result
(like ggml's test-backend-ops): all dtypes the op takes, several shapes, broadcasting, and
non-contiguous inputs (transposed, strided with an offset, reversed, stride-0 broadcast views).

Adding a case is one line in CASES. Without a GPU every test here skips with "no GPU".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from helpers import (ALL, BOOL, FLOATS, INTS, IS_MLX, LAYOUTS, NUMERIC, TOLERANCES, dtype_name, mk, mx,
                     random_values, to_dtype, to_numpy)

HAS_GPU = (not IS_MLX) and mx.cuda.is_available()
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no GPU")

ALL_C = ALL + ["complex64"]
SIGNED_F = FLOATS + ["int8", "int16", "int32", "int64"]

# Shapes: 0-d, odd sizes (vector path tails), a size that fills several blocks.
U = [(), (7,), (3, 5), (2, 3, 4), (1027,)]
# Pairs, with broadcasting.
B = [((3, 5), (3, 5)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,)), ((1027,), (1027,)), ((4, 1, 3), (2, 3))]
T3 = [((3, 5), (3, 5), (3, 5)), ((3, 1), (1, 4), (3, 4)), ((1027,), (), (1027,))]
# Reductions: 0-d, odd sizes, empty (reduced or kept), rows long enough for the block path.
R = [(), (7,), (3, 5), (2, 3, 4), (1027,), (64, 300), (0,), (3, 0)]
R3 = [(2, 3, 4), (5, 7, 3), (3, 70, 40)]
# Large rows and columns: few outputs split their reduced elements (partials, then a finish).
RL = [(3000, 700), (5, 100003)]
# Softmax / logsumexp: short rows (a warp per row), long rows (a block per row), empty rows.
S = [(7,), (3, 5), (2, 3, 4), (4, 1500), (3, 0)]
# Scans: rows longer than one chunk (2048), columns, empty.
C = [(), (7,), (3, 5), (2, 3, 4), (1027,), (3, 5000), (0,), (3, 0)]
GATHER = [((5, 3), (4,)), ((4,), (2, 3)), ((4, 5, 6), (3, 2)), ((5, 3), (0,)), ((4, 2), ())]
SCATTER = [((5, 3), (9,), (9, 3)), ((4,), (2, 6), (2, 6)), ((4, 2, 3), (3, 2), (3, 2, 2, 3)), ((5, 3), (0,), (0, 3))]
SORT = [(7,), (3, 5), (2, 3, 130), (4, 0), (1,)]
MM = [((4, 5), (5, 3)), ((2, 3, 4), (4, 5)), ((3, 1, 4, 5), (2, 5, 6)), ((64, 128), (128, 32)), ((5,), (5, 3)),
      ((1, 7), (7, 1))]


@dataclass
class Case:
    name: str
    fn: Callable
    shapes: list
    dtypes: list
    low: float = -3.0
    high: float = 3.0
    gen: Callable | None = None  # gen(rng, shape, dtype, input_index) -> values
    rtol: float | None = None
    names: tuple | None = None  # per-input dtype names overriding `dtypes` (None: the case's dtype)


def positive(rng, shape, name, i):
    return random_values(rng, shape, name, 0.1, 3.0)


def unit(rng, shape, name, i):
    return random_values(rng, shape, name, -0.95, 0.95)


def shift_counts(rng, shape, name, i):
    return random_values(rng, shape, name, -3, 70) if i == 1 else random_values(rng, shape, name, -100, 100)


def condition(rng, shape, name, i):
    return random_values(rng, shape, "bool_" if i == 0 else name)


def quarters(rng, shape, name, i):
    """Multiples of 1/4: float sums are exact in any order, so the GPU's order matches the CPU's."""
    v = random_values(rng, shape, name)
    return np.round(v * 4) / 4 if name in FLOATS else v


def powers_of_two(rng, shape, name, i):
    """+-2^k, |k| <= 1, for floats (exact products in any order); small integers otherwise."""
    if name not in FLOATS:
        return random_values(rng, shape, name, -3, 3)
    return rng.choice(np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]), size=shape)


def q4_grid(rng, shape, name, i):
    """Input 0: +-2^k; input 1 (weights): integers 0..15 with 0 and 15 in every 32 along the last
    axis, so 4-bit affine quantization encodes them exactly (scale -1, bias 15)."""
    if i == 0:
        return powers_of_two(rng, shape, name, i)
    v = rng.integers(0, 16, size=shape).astype(np.float32)
    v[..., 0::32] = 0
    v[..., 1::32] = 15
    return v


def ties(rng, shape, name, i):
    """Few distinct values: argmin/argmax must return the first of equal elements."""
    v = random_values(rng, shape, name, -3, 3)
    return np.round(v) if name in FLOATS else v


def ax(a, k):
    """Axis k of a when it has one, else None (all axes of a 0-d array)."""
    return k if a.ndim > (k if k >= 0 else -k - 1) else None


def indices(rng, shape, name, i):
    """Index inputs in [-6, 6] (negative ones wrap; the axes indexed have 4-5 elements, so some
    are out of range: clamped by gathers, skipped by scatters) and many duplicates."""
    if name in INTS:
        return random_values(rng, shape, name, -6 if name.startswith("int") else 0, 6)
    return random_values(rng, shape, name)


def in_range(rng, shape, name, i):
    """Valid indices along an axis of 5 (take_along_axis / put_along_axis)."""
    return random_values(rng, shape, name, -5, 4) if i == 1 else random_values(rng, shape, name)


def with_specials(rng, shape, name, i):
    """Values with ties, and for floats NaN, -0.0 and +0.0 (sort order: NaN last, zeros tie)."""
    v = random_values(rng, shape, name, -3, 3)
    if name in FLOATS and v.size:
        flat = v.reshape(-1)
        pick = rng.integers(0, flat.size, size=max(1, flat.size // 8))
        specials = np.array([np.nan, -0.0, 0.0, 1.0], dtype=np.float32)
        flat[pick] = to_dtype(specials[rng.integers(0, 4, size=pick.size)], name)
    return v


def key(rng, shape, name, i):
    return rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)


def part_check(p, axis, kth):
    """What a partition guarantees, as arrays both devices must agree on: the kth value, nothing
    larger before it, nothing smaller after it, and the same multiset (sorted) as the input."""
    n = p.shape[axis]
    kv = mx.take(p, mx.array([kth]), axis=axis)
    left = mx.take(p, mx.arange(kth), axis=axis)
    right = mx.take(p, mx.arange(kth + 1, n), axis=axis)
    return [kv, mx.less_equal(left, kv), mx.greater_equal(right, kv),
            mx.sort(p, axis=axis)]


def argpart_check(a, axis, kth):
    idx = mx.argpartition(a, kth, axis=axis)
    return part_check(mx.take_along_axis(a, idx, axis=axis), axis, kth) + [mx.sort(idx, axis=axis)]


def _setitem(a, u):
    b = a + 0  # a new array: __setitem__ replaces what `b` refers to
    b[1:3] = u
    b[::-2] = b[::-2] * 2
    return b


CASES = [
    # ---- unary
    Case("abs", mx.abs, U, NUMERIC + BOOL),
    Case("negative", mx.negative, U, NUMERIC),
    Case("sign", mx.sign, U, NUMERIC + BOOL),
    Case("square", mx.square, U, NUMERIC + BOOL),
    Case("sqrt", mx.sqrt, U, FLOATS, gen=positive),
    Case("rsqrt", mx.rsqrt, U, FLOATS, gen=positive),
    Case("exp", mx.exp, U, FLOATS),
    Case("expm1", mx.expm1, U, FLOATS),
    Case("log", mx.log, U, FLOATS, gen=positive),
    Case("log2", mx.log2, U, FLOATS, gen=positive),
    Case("log10", mx.log10, U, FLOATS, gen=positive),
    Case("log1p", mx.log1p, U, FLOATS, gen=positive),
    Case("sin", mx.sin, U, FLOATS),
    Case("cos", mx.cos, U, FLOATS),
    Case("tan", mx.tan, U, FLOATS, low=-1.2, high=1.2),
    Case("arcsin", mx.arcsin, U, FLOATS, gen=unit),
    Case("arccos", mx.arccos, U, FLOATS, gen=unit),
    Case("arctan", mx.arctan, U, FLOATS),
    Case("sinh", mx.sinh, U, FLOATS),
    Case("cosh", mx.cosh, U, FLOATS),
    Case("tanh", mx.tanh, U, FLOATS),
    Case("arcsinh", mx.arcsinh, U, FLOATS),
    Case("arccosh", mx.arccosh, U, FLOATS, low=1.1, high=4.0),
    Case("arctanh", mx.arctanh, U, FLOATS, gen=unit),
    Case("floor", mx.floor, U, NUMERIC),
    Case("ceil", mx.ceil, U, NUMERIC),
    Case("round", mx.round, U, NUMERIC),
    Case("sigmoid", mx.sigmoid, U, FLOATS),
    Case("erf", mx.erf, U, FLOATS),
    Case("erfinv", mx.erfinv, U, FLOATS, gen=unit),
    Case("logical_not", mx.logical_not, U, NUMERIC + BOOL),
    Case("bitwise_invert", mx.bitwise_invert, U, INTS + BOOL),
    # ---- binary
    Case("add", mx.add, B, NUMERIC + BOOL),
    Case("subtract", mx.subtract, B, NUMERIC),
    Case("multiply", mx.multiply, B, NUMERIC + BOOL),
    Case("divide", mx.divide, B, FLOATS, gen=positive),
    Case("floor_divide", mx.floor_divide, B, NUMERIC),
    Case("remainder", mx.remainder, B, NUMERIC),
    Case("power", mx.power, B, FLOATS, gen=positive),
    Case("power_int", mx.power, B, INTS, low=-2, high=4),
    Case("maximum", mx.maximum, B, NUMERIC + BOOL),
    Case("minimum", mx.minimum, B, NUMERIC + BOOL),
    Case("equal", mx.equal, B, NUMERIC + BOOL, low=-1, high=1),
    Case("not_equal", mx.not_equal, B, NUMERIC + BOOL, low=-1, high=1),
    Case("less", mx.less, B, NUMERIC + BOOL, low=-1, high=1),
    Case("less_equal", mx.less_equal, B, NUMERIC + BOOL, low=-1, high=1),
    Case("greater", mx.greater, B, NUMERIC + BOOL, low=-1, high=1),
    Case("greater_equal", mx.greater_equal, B, NUMERIC + BOOL, low=-1, high=1),
    Case("logical_and", mx.logical_and, B, NUMERIC + BOOL, low=-1, high=1),
    Case("logical_or", mx.logical_or, B, NUMERIC + BOOL, low=-1, high=1),
    Case("logaddexp", mx.logaddexp, B, FLOATS),
    Case("arctan2", mx.arctan2, B, FLOATS),
    Case("bitwise_and", mx.bitwise_and, B, INTS + BOOL, low=-100, high=100),
    Case("bitwise_or", mx.bitwise_or, B, INTS + BOOL, low=-100, high=100),
    Case("bitwise_xor", mx.bitwise_xor, B, INTS + BOOL, low=-100, high=100),
    Case("left_shift", mx.left_shift, B, INTS, gen=shift_counts),
    Case("right_shift", mx.right_shift, B, INTS, gen=shift_counts),
    # ---- ternary
    Case("where", mx.where, T3, ALL_C, gen=condition),
    # ---- copies, conversions, fills
    *[Case(f"astype_{t}", lambda a, t=t: a.astype(getattr(mx, t)), U, ALL_C, low=0, high=100) for t in ALL_C],
    Case("copy", lambda a: mx.array(a), U, ALL_C),
    Case("full", lambda a: mx.full((3, 4, 5), a[..., :1] if a.ndim else a), [(3, 1, 1), ()], ALL_C),
    Case("zeros_like", mx.zeros_like, U, ALL),
    Case("ones", lambda a: mx.ones(a.shape, dtype=a.dtype) + a, U, NUMERIC),
    Case("arange", lambda a: mx.arange(3, 40, 3, dtype=a.dtype) + a, [()], NUMERIC),
    Case("arange_float", lambda a: mx.arange(-1.5, 2.0, 0.25, dtype=a.dtype) * a, [()], FLOATS),
    Case("concatenate", lambda a, b: mx.concatenate([a, b], axis=0), [((2, 5), (3, 5)), ((1, 4, 3), (2, 4, 3))],
         ALL_C),
    # ---- views (and the copies behind non-view reshapes)
    Case("reshape", lambda a: mx.reshape(a, (-1,)) * 1, [(3, 5), (2, 3, 4)], NUMERIC),
    Case("reshape_split", lambda a: mx.reshape(a, (a.shape[0], -1, 1)) + 0, [(3, 4), (2, 3, 4)], NUMERIC),
    Case("transpose", lambda a: mx.transpose(a) + 0, [(3, 5), (2, 3, 4)], NUMERIC),
    Case("slice", lambda a: a[1::2, ::-1] + 0, [(5, 6), (4, 3, 2)], NUMERIC),
    Case("broadcast_to", lambda a: mx.broadcast_to(a, (2,) + a.shape) + 0, U, NUMERIC),
    Case("expand_squeeze", lambda a: mx.squeeze(mx.expand_dims(a, 0), 0) + 0, U, NUMERIC),
    Case("split", lambda a: [x + 0 for x in mx.split(a, [1, 3], axis=0)], [(5, 3)], NUMERIC),
    Case("as_strided", lambda a: mx.as_strided(a + 0, (2, 3), (1, 2)) + 0, [(12,)], NUMERIC),
    Case("stop_gradient", lambda a: mx.stop_gradient(a) + 0, U, FLOATS),
    # ---- reductions: rows (last axis), columns (first axis), all axes, strided axis sets, empty
    # axes, large rows and columns (the split-and-finish path)
    Case("sum_all", lambda a: mx.sum(a), R, NUMERIC + BOOL, gen=quarters),
    Case("sum_last", lambda a: mx.sum(a, axis=ax(a, -1)), R, NUMERIC + BOOL, gen=quarters),
    Case("sum_first", lambda a: mx.sum(a, axis=ax(a, 0)), R, NUMERIC + BOOL, gen=quarters),
    Case("sum_0_2", lambda a: mx.sum(a, axis=(0, 2), keepdims=True), R3, NUMERIC, gen=quarters),
    Case("sum_random_f32", lambda a: mx.sum(a, axis=ax(a, -1)), [(7,), (3, 5), (2, 3, 40)], ["float32", "float64"]),
    Case("sum_large", lambda a: [mx.sum(a), mx.sum(a, axis=0), mx.sum(a, axis=1)], RL, ["float32", "int32"],
         gen=quarters),
    Case("sum_complex", lambda a: [mx.sum(mx.view(a, mx.complex64), axis=0), mx.sum(mx.view(a, mx.complex64))],
         [(4,), (3, 6), (2, 3, 4), (64, 300)], ["float32"], gen=quarters),
    Case("mean", lambda a: mx.mean(a, axis=ax(a, -1)), R, FLOATS, gen=quarters),
    Case("prod_all", lambda a: mx.prod(a), R, NUMERIC + BOOL, gen=powers_of_two),
    Case("prod_first", lambda a: mx.prod(a, axis=ax(a, 0)), R, NUMERIC, gen=powers_of_two),
    Case("max_all", lambda a: mx.max(a), R[:-2], NUMERIC + BOOL),
    Case("max_last", lambda a: mx.max(a, axis=ax(a, -1)), R[:-2], NUMERIC + BOOL),
    Case("min_first", lambda a: mx.min(a, axis=ax(a, 0)), R[:-2], NUMERIC + BOOL),
    Case("min_0_2", lambda a: mx.min(a, axis=(0, 2)), R3, NUMERIC),
    Case("max_large", lambda a: [mx.max(a), mx.min(a, axis=0), mx.max(a, axis=1)], RL, ["float32", "int8"]),
    Case("max_nan", lambda a: [mx.max(a, axis=ax(a, -1)), mx.min(a, axis=ax(a, 0))], R[:-2], FLOATS,
         gen=lambda rng, shape, name, i: np.where(rng.random(shape) < 0.1, np.nan, random_values(rng, shape, name))),
    Case("all", lambda a: [mx.all(a), mx.all(a, axis=ax(a, -1))], R, NUMERIC + BOOL, low=0, high=3),
    Case("any", lambda a: [mx.any(a), mx.any(a, axis=ax(a, 0))], R, NUMERIC + BOOL, low=-1, high=1),
    Case("argmax_last", lambda a: mx.argmax(a, axis=ax(a, -1)), R[:-2], NUMERIC + BOOL, gen=ties),
    Case("argmin_first", lambda a: mx.argmin(a, axis=ax(a, 0)), R[:-2], NUMERIC + BOOL, gen=ties),
    Case("argmax_all", lambda a: mx.argmax(a), R[:-2], NUMERIC, gen=ties),
    Case("argmax_large", lambda a: [mx.argmax(a, axis=0), mx.argmin(a, axis=1), mx.argmax(a)], RL,
         ["float32", "int16"], gen=ties),
    Case("argmax_nan", lambda a: [mx.argmax(a, axis=ax(a, -1)), mx.argmin(a, axis=ax(a, 0))], R[:-2], FLOATS,
         gen=lambda rng, shape, name, i: np.where(rng.random(shape) < 0.1, np.nan, np.round(random_values(rng, shape, name)))),
    # ---- softmax and logsumexp (last axis; other axes arrive transposed)
    Case("softmax", lambda a: mx.softmax(a, axis=ax(a, -1)), S, FLOATS),
    Case("softmax_precise", lambda a: mx.softmax(a, axis=ax(a, -1), precise=True), S, FLOATS),
    Case("softmax_first", lambda a: mx.softmax(a, axis=ax(a, 0)), S, FLOATS),
    Case("softmax_inf", lambda a: mx.softmax(a, axis=ax(a, -1)), [(3, 5), (2, 40)], FLOATS,
         gen=lambda rng, shape, name, i: np.where(rng.random(shape) < 0.3, -np.inf, random_values(rng, shape, name))),
    Case("logsumexp", lambda a: mx.logsumexp(a, axis=ax(a, -1)), S, FLOATS),
    Case("logsumexp_all", lambda a: mx.logsumexp(a), S, FLOATS),
    Case("logsumexp_inf", lambda a: mx.logsumexp(a, axis=ax(a, -1)), [(3, 5), (2, 40)], FLOATS,
         gen=lambda rng, shape, name, i: np.where(rng.random(shape) < 0.3, -np.inf, random_values(rng, shape, name))),
    # ---- scans: last axis (block scan, several chunks for long rows), other axes, reverse, exclusive
    Case("cumsum", lambda a: mx.cumsum(a, axis=ax(a, -1)), C, NUMERIC + BOOL, gen=quarters),
    Case("cumsum_first", lambda a: mx.cumsum(a, axis=ax(a, 0)), C, NUMERIC, gen=quarters),
    Case("cumsum_rev_excl", lambda a: mx.cumsum(a, axis=ax(a, -1), reverse=True, inclusive=False), C, NUMERIC,
         gen=quarters),
    Case("cumsum_first_rev_excl", lambda a: mx.cumsum(a, axis=ax(a, 0), reverse=True, inclusive=False), C,
         ["float32", "int8"], gen=quarters),
    Case("cumprod", lambda a: mx.cumprod(a, axis=ax(a, -1)), C, NUMERIC, gen=powers_of_two),
    Case("cumprod_first_rev", lambda a: mx.cumprod(a, axis=ax(a, 0), reverse=True), C, NUMERIC, gen=powers_of_two),
    Case("cummax", lambda a: mx.cummax(a, axis=ax(a, -1)), C, NUMERIC + BOOL),
    Case("cummin_first_rev", lambda a: mx.cummin(a, axis=ax(a, 0), reverse=True), C, NUMERIC + BOOL),
    Case("cummax_nan", lambda a: mx.cummax(a, axis=ax(a, -1)), C[:4], FLOATS,
         gen=lambda rng, shape, name, i: np.where(rng.random(shape) < 0.05, np.nan, random_values(rng, shape, name))),
    Case("logcumsumexp", lambda a: mx.logcumsumexp(a, axis=ax(a, -1)), C, FLOATS),
    Case("logcumsumexp_first_rev", lambda a: mx.logcumsumexp(a, axis=ax(a, 0), reverse=True), C, FLOATS),
    # ---- bit views and dependencies
    Case("view_same_size", lambda a: mx.view(a, {1: mx.uint8, 2: mx.int16, 4: mx.int32, 8: mx.uint64}[a.itemsize]),
         U, NUMERIC),
    Case("view_bytes", lambda a: mx.view(a, mx.uint8), [(7,), (3, 5), (2, 3, 4)], NUMERIC),
    Case("view_wider", lambda a: mx.view(a, mx.int32), [(3, 8), (2, 3, 4)], ["uint8", "int16", "float16"]),
    Case("depends", lambda a, b: [x + 0 for x in mx.depends([a * 2, a], [b + 1])], B[:3], FLOATS),
    # ---- matmul
    Case("matmul", mx.matmul, MM, ["float32", "float64", "float16", "bfloat16"], low=-1, high=1),
    # ---- indexing: gathers (take, take_along_axis, integer-array indexing with slices)
    Case("take", lambda a, i: mx.take(a, i, axis=0), GATHER, ALL_C, gen=indices, names=(None, "int32")),
    *[Case(f"take_idx_{t}", lambda a, i: mx.take(a, i, axis=1), [((3, 5), (4,)), ((2, 4, 3), (2, 3))],
           ["float32"], gen=indices, names=(None, t)) for t in INTS],
    Case("take_along_axis", lambda a, i: mx.take_along_axis(a, i, axis=-1), [((3, 5), (3, 7)), ((2, 4, 5), (2, 1, 3))],
         ["float32", "int64", "bfloat16"], gen=in_range, names=(None, "int64")),
    Case("index_arrays", lambda a, i, j: a[i, :, j], [((5, 3, 4), (2, 3), (3,))], NUMERIC, gen=indices,
         names=(None, "int32", "int64")),
    Case("take_rows", lambda a, i: a[i], [((5, 300), (64,)), ((4, 2, 129), (3, 2))], ["float32", "float16", "uint8"],
         gen=indices, names=(None, "int32")),
    # ---- scatters: duplicates accumulate (sum/prod/max/min), the last one wins (put_along_axis)
    Case("scatter_add", lambda a, i, u: a.at[i].add(u), SCATTER, NUMERIC + ["complex64"], gen=indices,
         names=(None, "int32", None)),
    Case("scatter_add_bool", lambda a, i, u: a.at[i].add(u), SCATTER, BOOL, gen=indices, names=(None, "int32", None)),
    Case("scatter_prod", lambda a, i, u: a.at[i].multiply(u), SCATTER, NUMERIC, gen=indices, low=-1.5, high=1.5,
         names=(None, "int64", None)),
    Case("scatter_max", lambda a, i, u: a.at[i].maximum(u), SCATTER, NUMERIC + BOOL, gen=indices,
         names=(None, "uint8", None)),
    Case("scatter_min", lambda a, i, u: a.at[i].minimum(u), SCATTER, NUMERIC + BOOL, gen=indices,
         names=(None, "int16", None)),
    Case("scatter_rows", lambda a, i, u: a.at[i].add(u), [((5, 300), (40,), (40, 300))], ["float32", "int32"],
         gen=indices, names=(None, "int32", None)),
    Case("put_along_axis", lambda a, i, u: mx.put_along_axis(a, i, u, axis=-1),
         [((3, 5), (3, 9), (3, 9)), ((2, 4, 5), (2, 4, 7), (1, 1, 7))], ALL_C, gen=in_range,
         names=(None, "int32", None)),
    Case("put_along_axis_flat", lambda a, i, u: mx.put_along_axis(a, i, u, axis=None), [((40,), (300,), (300,))],
         ["float32", "int8"], gen=indices, names=(None, "int64", None)),
    Case("slice_update", lambda a, u: mx.slice_update(a, u, mx.array([1, 0]), (0, 2)), [((5, 4, 6), (2, 4, 3))],
         ALL_C),
    Case("setitem", _setitem, [((6, 5), (5,)), ((4, 3, 2), (2,))], NUMERIC),
    # ---- sorting (the 1M-element rows run the single-row device sort, (3, 300000) the per-row
    # one, (2000, 300) the segmented one)
    Case("sort", lambda a: mx.sort(a, axis=-1), SORT, ALL_C, gen=with_specials),
    Case("sort_axis0", lambda a: mx.sort(a, axis=0), SORT[1:], NUMERIC, gen=with_specials),
    Case("sort_flat", lambda a: mx.sort(a, axis=None), [(3, 5, 7)], NUMERIC, gen=with_specials),
    Case("argsort", lambda a: mx.argsort(a, axis=-1), SORT, ALL_C, gen=with_specials),
    Case("argsort_axis1", lambda a: mx.argsort(a, axis=1), [(3, 300, 2), (2, 5, 3)], NUMERIC, gen=with_specials),
    Case("sort_1M", lambda a: [mx.sort(a), mx.argsort(a)], [(1 << 20,)], ["float32", "int8", "bfloat16"],
         gen=with_specials),
    Case("sort_long_rows", lambda a: [mx.sort(a), mx.argsort(a)], [(3, 300000)], ["float32"], gen=with_specials),
    Case("sort_many_rows", lambda a: [mx.sort(a), mx.argsort(a)], [(2000, 300)], ["float32", "int16"],
         gen=with_specials),
    Case("partition", lambda a: part_check(mx.partition(a, 2, axis=-1), -1, 2), [(3, 7), (2, 3, 300)], NUMERIC),
    Case("partition_axis0", lambda a: part_check(mx.partition(a, 1, axis=0), 0, 1), [(5, 3)], NUMERIC),
    Case("argpartition", lambda a: argpart_check(a, -1, 3), [(3, 7), (2, 3, 300)], NUMERIC),
    # ---- quantized: quantize (packed bits), dequantize, quantized_matmul on the decode (few rows) and
    # prefill (dequantize + GEMM) paths, both transposes, batched weights, gather_qmm, gather_mm. The
    # products use 4-bit grids (dequantized weights are small integers) and +-2^k inputs: exact sums.
    *[Case(f"quantize_affine{b}_g{g}", lambda w, b=b, g=g: list(mx.quantize(w, g, b)), [(4, 256), (2, 3, 128)], FLOATS)
      for b, g in [(1, 64), (2, 32), (3, 128), (4, 64), (5, 32), (6, 64), (8, 128)]],
    *[Case(f"quantize_{m}", lambda w, m=m: list(mx.quantize(w, mode=m)), [(4, 256), (2, 3, 64)], FLOATS)
      for m in ("mxfp4", "mxfp8", "nvfp4")],
    *[Case(f"dequantize_affine{b}", lambda w, b=b: mx.dequantize(*mx.quantize(w, 32, b), group_size=32, bits=b),
           [(4, 256), (2, 3, 128)], FLOATS) for b in (1, 2, 3, 4, 5, 6, 8)],
    *[Case(f"dequantize_{m}", lambda w, m=m: mx.dequantize(*mx.quantize(w, mode=m), mode=m, dtype=w.dtype),
           [(4, 256), (2, 3, 64)], FLOATS) for m in ("mxfp4", "mxfp8", "nvfp4")],
    Case("qmm_decode", lambda x, w: mx.quantized_matmul(x, *mx.quantize(w)), [((1, 256), (64, 256)), ((5, 128), (96, 128)), ((2, 3, 2, 128), (40, 128))], ["float32", "float16", "bfloat16"], gen=q4_grid),
    Case("qmm_prefill", lambda x, w: mx.quantized_matmul(x, *mx.quantize(w)), [((40, 256), (64, 256)), ((3, 20, 128), (32, 128))], ["float32", "float16", "bfloat16"], gen=q4_grid),
    Case("qmm_n_decode", lambda x, w: mx.quantized_matmul(x, *mx.quantize(w), transpose=False), [((1, 64), (64, 256)), ((4, 96), (96, 128))], ["float32", "float16", "bfloat16"], gen=q4_grid),
    Case("qmm_n_prefill", lambda x, w: mx.quantized_matmul(x, *mx.quantize(w), transpose=False), [((40, 64), (64, 128))], ["float32", "bfloat16"], gen=q4_grid),
    Case("qmm_batched", lambda x, w: mx.quantized_matmul(x, *mx.quantize(w)), [((2, 1, 3, 128), (3, 16, 128)), ((2, 1, 40, 64), (3, 32, 64))], ["float32", "bfloat16"], gen=q4_grid),
    Case("gather_qmm", lambda x, w: mx.gather_qmm(x, *mx.quantize(w, 32), lhs_indices=mx.array([[2, 0, 1, 1, -1]]), rhs_indices=mx.array([[3], [0], [5]]), group_size=32), [((3, 1, 64), (4, 32, 64)), ((3, 40, 64), (4, 32, 64))], ["float32", "bfloat16"], gen=q4_grid),
    Case("gather_qmm_n", lambda x, w: mx.gather_qmm(x, *mx.quantize(w, 32), rhs_indices=mx.array([1, 0, 1]), transpose=False, group_size=32), [((1, 32), (2, 32, 64)), ((40, 32), (2, 32, 64))], ["float32"], gen=q4_grid),
    Case("gather_mm", lambda a, b: mx.gather_mm(a, b, lhs_indices=mx.array([[0, 2, 1, 2]]), rhs_indices=mx.array([[1], [0]])), [((3, 4, 5), (2, 5, 6)), ((3, 40, 33), (2, 33, 17))], ["float32", "float64", "float16", "bfloat16"], gen=powers_of_two),
    Case("gather_mm_plain", lambda a, b: mx.gather_mm(a, b), [((2, 3, 4), (2, 4, 5)), ((4, 5), (3, 5, 2))], ["float32", "bfloat16"], gen=powers_of_two),
    # ---- random: the Threefry stream is bit-identical on every device (key views included)
    Case("random_bits", lambda k: [mx.random.bits((3, 1001), width=w, key=k) for w in (1, 2, 4)], [(2,)],
         ["uint32"], gen=key),
    Case("random_bits_odd", lambda k: [mx.random.bits((7,), width=w, key=k) for w in (1, 2, 4)], [(2,)], ["uint32"],
         gen=key),
    Case("random_uniform", lambda k: mx.random.uniform(shape=(4, 1000), key=k), [(2,)], ["uint32"], gen=key),
    Case("random_split", lambda k: mx.random.split(k, 5), [(2,)], ["uint32"], gen=key),
]

# The layouts every case runs its inputs through (helpers.LAYOUTS).
LAYOUT_NAMES = tuple(LAYOUTS)

TOL_TRANSCENDENTAL = {"float32": 1e-5, "float64": 1e-12}


def _params():
    for c in CASES:
        for dt in c.dtypes:
            yield pytest.param(c, dt, id=f"{c.name}-{dt}")


def _run(device, c: Case, vals, names, layout):
    with mx.stream(device):
        arrs = []
        for v, n in zip(vals, names):
            built = LAYOUTS[layout](v, n)
            arrs.append(mk(v, n) if built is None else built[1])
        out = c.fn(*arrs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        mx.eval(outs)
    return outs


@pytest.mark.parametrize("c,dt", list(_params()))
def test_gpu_matches_cpu(c: Case, dt: str):
    rng = np.random.default_rng(0)
    for case in c.shapes:
        shapes = [tuple(case)] if all(isinstance(d, int) for d in case) else [tuple(s) for s in case]
        names = [dt] * len(shapes)
        for k, n in enumerate(c.names or ()):
            names[k] = n or dt
        if c.gen is condition:
            names[0] = "bool_"
        vals = [c.gen(rng, s, n, i) if c.gen else random_values(rng, s, n, c.low, c.high)
                for i, (s, n) in enumerate(zip(shapes, names))]
        for layout in LAYOUT_NAMES:
            where = f"{c.name} {dt} {shapes} {layout}"
            cpu = _run(mx.cpu, c, vals, names, layout)
            gpu = _run(mx.gpu, c, vals, names, layout)
            assert len(cpu) == len(gpu), where
            for x, y in zip(cpu, gpu):
                assert dtype_name(y.dtype) == dtype_name(x.dtype), where
                assert tuple(y.shape) == tuple(x.shape), where
                ref = to_numpy(x)
                got = to_numpy(y)
                name = dtype_name(x.dtype)
                if name in TOLERANCES:
                    rtol, atol = TOLERANCES[name]
                    np.testing.assert_allclose(got.astype(np.complex128), ref.astype(np.complex128),
                                               rtol=c.rtol or rtol, atol=atol, equal_nan=True, err_msg=where)
                else:
                    np.testing.assert_array_equal(got, ref, err_msg=where)


# ---- residency: data produced on one device and consumed on the other


def test_gpu_result_feeds_cpu_op_and_back():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with mx.stream(mx.gpu):
        a = mx.array(x) * 2  # device-only result
    with mx.stream(mx.cpu):
        b = a + 1  # the CPU reads the GPU result (copied back on demand)
    with mx.stream(mx.gpu):
        c = b * 3  # the GPU reads the CPU result (uploaded on demand)
    np.testing.assert_array_equal(np.array(c), (x * 2 + 1) * 3)
    np.testing.assert_array_equal(np.array(a), x * 2)
    assert a[1, 2].item() == 12.0


def test_views_of_gpu_data_read_on_host():
    with mx.stream(mx.gpu):
        a = mx.arange(24, dtype=mx.int32).reshape(2, 3, 4)
        v = mx.transpose(a, (2, 0, 1))[1:, ::-1]
        mx.eval(v)
    ref = np.arange(24, dtype=np.int32).reshape(2, 3, 4).transpose(2, 0, 1)[1:, ::-1]
    np.testing.assert_array_equal(np.array(v), ref)
    assert v.tolist() == ref.tolist()


def test_cross_stream_dependency():
    s1, s2 = mx.new_stream(mx.gpu), mx.new_stream(mx.gpu)
    x = mx.array(np.ones((1 << 20,), dtype=np.float32))
    with mx.stream(s1):
        y = mx.exp(x) * 2
    with mx.stream(s2):
        z = y + 1
    mx.eval(z)
    np.testing.assert_allclose(np.array(z), np.exp(1.0) * 2 + 1, rtol=1e-6)


def test_gpu_memory_statistics():
    mx.synchronize()
    before = mx.get_active_memory()
    with mx.stream(mx.gpu):
        a = mx.zeros((1 << 22,), dtype=mx.float32) + 1
        mx.eval(a)
    assert mx.get_active_memory() >= before + (1 << 24)
    del a
    mx.synchronize(mx.default_stream(mx.gpu))
    assert mx.get_active_memory() < before + (1 << 24)


# ---- errors


def test_missing_gpu_kernel_is_a_clear_error():
    with mx.stream(mx.gpu):
        x = mx.fft.fft(mx.array([3.0, 1.0, 2.0]))
        with pytest.raises(RuntimeError, match=r"\[FFT\] has no GPU implementation"):
            mx.eval(x)


def test_matmul_unsupported_dtype_names_primitive():
    with mx.stream(mx.gpu):
        a = mx.ones((2, 2), dtype=mx.int32)
        with pytest.raises(RuntimeError, match=r"\[Matmul\]"):
            mx.eval(a @ a)

