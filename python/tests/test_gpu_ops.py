"""Every primitive that has a CUDA kernel, run on the GPU and compared with the CPU's result
(like ggml's test-backend-ops): all dtypes the op takes, several shapes, broadcasting, and
non-contiguous inputs (transposed, strided with an offset, reversed, stride-0 broadcast views).

Adding a case is one line in CASES. Without a GPU every test here skips with "no GPU".
"""

from __future__ import annotations

import re
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
# FFT: odd, prime and power-of-two lengths, length-1 axes, several batch layouts.
FT = [(7,), (3, 8), (2, 5, 6), (4, 97), (1,), (3, 1), (2, 3, 4, 5)]
FTI = [s for s in FT if s[-1] > 1]  # irfft's default length 2 (m - 1) needs m > 1
HAD = [(), (1,), (3, 2), (4, 8), (300, 16), (3, 12), (2, 80), (28,), (5, 4096), (2, 14336), (2, 32768)]
MM = [((4, 5), (5, 3)), ((2, 3, 4), (4, 5)), ((3, 1, 4, 5), (2, 5, 6)), ((64, 128), (128, 32)), ((5,), (5, 3)),
      ((1, 7), (7, 1))]

# Linalg: square (batched small, batched larger, single), rectangular, solve pairs, symmetric.
LA_F = ["float32", "float64"]
LA_LAYOUTS = ("contiguous", "transposed", "strided", "reversed")  # broadcast views are singular
LA_SQ = [(1, 1), (5, 5), (4, 6, 6), (2, 3, 3, 3), (3, 40, 40), (70, 70)]
LA_RECT = [(5, 3), (3, 5), (2, 4, 6), (2, 6, 4), (1, 1), (40, 33), (3, 33, 40)]
LA_SOLVE = [((5, 5), (5,)), ((5, 5), (5, 3)), ((4, 6, 6), (4, 6, 2)), ((3, 40, 40), (3, 40, 7)), ((6, 6), (2, 6, 3)),
            ((70, 70), (70, 70))]
LA_EIGH = [(1, 1), (5, 5), (4, 6, 6), (2, 20, 20)]


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
    atol: float | None = None
    names: tuple | None = None  # per-input dtype names overriding `dtypes` (None: the case's dtype)
    layouts: tuple | None = None  # the layouts run (None: all of LAYOUT_NAMES)


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


def complex_quarters(rng, shape, name, i):
    """Real and imaginary parts multiples of 1/4 in [-1, 1]: sums are exact in any order, and a
    few products too (so GPU and CPU agree whatever their order)."""
    return ((rng.integers(-4, 5, shape) + 1j * rng.integers(-4, 5, shape)) / 4).astype(np.complex64)


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


def fp8_values(rng, shape, name, i):
    """Values over e4m3's range and beyond, with ties between codes, NaN, infinities, +-0 and
    subnormals."""
    v = rng.choice(np.array([-1.0, 1.0]), size=shape) * np.exp2(rng.uniform(-12, 10, size=shape))
    flat = v.reshape(-1)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 448.0, 464.0, 0.0029296875, 2.0**-10, 1.0625, 17.0,
                         -240.0, 1e-30])
    flat[: min(flat.size, specials.size)] = specials[: flat.size]
    return to_dtype(v, name)


def all_bytes(rng, shape, name, i):
    return np.arange(np.prod(shape, dtype=np.int64)).reshape(shape).astype(np.uint8)


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


# ---- linalg helpers: matrices far from singular (or exactly singular), and factor outputs made
# convention-free where the factors are unique only up to signs (QR, SVD, eigenvectors).


def well_conditioned(rng, shape, name, i):
    """Square matrices with a strong diagonal (input 0); right-hand sides in [-1, 1] (input 1)."""
    x = rng.uniform(-1, 1, size=shape)
    return x + shape[-1] * np.eye(shape[-1]) if i == 0 else x


def spd(rng, shape, name, i):
    x = rng.uniform(-1, 1, size=shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def singular(rng, shape, name, i):
    """Exactly singular in any layout and pivot order: row 1 and column 1 are zero."""
    x = well_conditioned(rng, shape, name, i)
    if i == 0:
        x[..., 1, :] = 0
        x[..., :, 1] = 0
    return x


def indefinite(rng, shape, name, i):
    return spd(rng, shape, name, i) - 3 * shape[-1] * np.eye(shape[-1])


def raised(f):
    """f's evaluated result, or a marker naming the error evaluation raised (1: singular, 2: not
    positive definite, 3: another RuntimeError): both devices must fail alike."""
    def g(*args):
        try:
            out = f(*args)
            mx.eval(out)
            return out
        except RuntimeError as e:
            msg = str(e)
            return mx.array([1.0 if "singular" in msg else 2.0 if "positive definite" in msg else 3.0])
    return g


def svd_check(a):
    u, s, vt = mx.linalg.svd(a)
    k = min(a.shape[-2:])
    return [s, mx.abs(u[..., :, :k]), mx.abs(vt[..., :k, :])]


def eig_check(a):
    """Eigenvalues sorted (complex order), and |eigenvectors| in the same order (2-D input)."""
    w, v = mx.linalg.eig(a)
    order = mx.argsort(w)
    re_im = mx.view(v, mx.float32).reshape(v.shape + (2,))
    mag = mx.sqrt(mx.sum(re_im * re_im, axis=-1))  # |v|, phase-free (no complex abs on the GPU yet)
    return [mx.take(w, order), mx.take(mag, order, axis=-1)]
def _conv_vjp(f, x, w):
    """f(x, w) and its vjp for a cotangent of ones (the gradients of both inputs)."""
    out = f(x, w)
    _, grads = mx.vjp(f, [x, w], [mx.ones(out.shape, dtype=out.dtype)])
    return [out, *grads]


def _setitem(a, u):
    b = a + 0  # a new array: __setitem__ replaces what `b` refers to
    b[1:3] = u
    b[::-2] = b[::-2] * 2
    return b


def cplx(rng, shape, name, i, scale=3.0):
    """complex64 values with both parts in [-scale, scale] (random_values gives real ones)."""
    if name != "complex64":
        return random_values(rng, shape, name)
    re, im = rng.uniform(-scale, scale, size=shape), rng.uniform(-scale, scale, size=shape)
    return (re + 1j * im).astype(np.complex64)


def cplx_small(rng, shape, name, i):
    return cplx(rng, shape, name, i, scale=1.5)


def _compiled(f, shapeless=False):
    """On the GPU, f compiled afresh on every call (a compiled function replays the stream it was
    traced on); shapeless functions also run with every input's last axis doubled (a new shape,
    the same kernel). The CPU reference is f uncompiled: test_compile checks the CPU JIT against
    it, and building CPU kernels for every case here took minutes of the GPU machine's time."""
    def run(*a):
        g = mx.compile(f, shapeless=shapeless) if mx.default_device() == mx.gpu else f
        out = g(*a)
        if not shapeless:
            return out
        return [out, g(*[mx.concatenate([x, x], axis=-1) if x.ndim else x * 2 for x in a])]
    return run


def _gelu(x):
    return x * 0.5 * (1 + mx.erf(x * 0.7071067811865476))


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
    Case("scans_complex", lambda a: [mx.cumsum(a, axis=ax(a, -1)), mx.cumsum(a, axis=ax(a, 0), reverse=True),
                                     mx.cummax(a, axis=ax(a, -1)), mx.cummin(a, axis=ax(a, 0)),
                                     mx.logcumsumexp(a, axis=ax(a, -1))], C, ["complex64"], gen=complex_quarters),
    Case("cumprod_complex", lambda a: [mx.cumprod(a, axis=ax(a, -1)), mx.cumprod(a, axis=ax(a, 0), reverse=True)],
         C[:4], ["complex64"], gen=complex_quarters),
    # ---- bit views and dependencies
    Case("view_same_size", lambda a: mx.view(a, {1: mx.uint8, 2: mx.int16, 4: mx.int32, 8: mx.uint64}[a.itemsize]),
         U, NUMERIC),
    Case("view_bytes", lambda a: mx.view(a, mx.uint8), [(7,), (3, 5), (2, 3, 4)], NUMERIC),
    Case("view_wider", lambda a: mx.view(a, mx.int32), [(3, 8), (2, 3, 4)], ["uint8", "int16", "float16"]),
    Case("depends", lambda a, b: [x + 0 for x in mx.depends([a * 2, a], [b + 1])], B[:3], FLOATS),
    # ---- matmul
    Case("matmul", mx.matmul, MM, ["float32", "float64", "float16", "bfloat16"], low=-1, high=1),
    Case("matmul_int", mx.matmul, MM + [((3, 40, 33), (33, 20))], INTS + BOOL, low=-100, high=100),
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
    # ---- linalg (cuSOLVER / batched cuBLAS): batches of small matrices (the batched routines),
    # batches of larger ones (one call per matrix), single ones; the layouts that keep full rank
    *[Case(f"la_{name}", fn, shapes, LA_F, gen=gen, rtol=1e-4, atol=1e-4, layouts=LA_LAYOUTS) for name, fn, shapes, gen in [
        ("inv", mx.linalg.inv, LA_SQ, well_conditioned),
        ("tri_inv_lower", lambda a: mx.linalg.tri_inv(a), LA_SQ, well_conditioned),
        ("tri_inv_upper", lambda a: mx.linalg.tri_inv(a, upper=True), LA_SQ, well_conditioned),
        ("cholesky_lower", mx.linalg.cholesky, LA_SQ, spd),
        ("cholesky_upper", lambda a: mx.linalg.cholesky(a, upper=True), LA_SQ, spd),
        ("solve", mx.linalg.solve, LA_SOLVE, well_conditioned),
        ("lu", lambda a: list(mx.linalg.lu_factor(a)) + [mx.linalg.lu(a)[0]], LA_RECT + LA_SQ, None),
        ("qr", lambda a: [mx.abs(x) for x in mx.linalg.qr(a)], LA_RECT, None),
        ("svd", svd_check, LA_RECT, None),
        ("svd_values", lambda a: mx.linalg.svd(a, compute_uv=False), LA_RECT + LA_SQ, None),
        ("svd_empty", lambda a: mx.linalg.svd(a), [(0, 3), (3, 0), (2, 0, 2)], None),
        ("eigh_lower", lambda a: [mx.linalg.eigh(a)[0], mx.abs(mx.linalg.eigh(a)[1])], LA_EIGH, None),
        ("eigh_upper", lambda a: [mx.linalg.eigh(a, UPLO="U")[0], mx.abs(mx.linalg.eigh(a, UPLO="U")[1])], LA_EIGH,
         None),
        ("eigvalsh", lambda a: mx.linalg.eigvalsh(a, UPLO="U"), LA_EIGH, spd),
        ("eig", eig_check, [(1, 1), (5, 5), (8, 8)], None),
        ("eigvals_batched", lambda a: mx.sort(mx.linalg.eigvals(a), axis=-1), [(3, 4, 4), (2, 2, 6, 6)], None),
        ("inv_singular", raised(mx.linalg.inv), [(4, 4), (3, 5, 5)], singular),
        ("tri_inv_singular", raised(mx.linalg.tri_inv), [(4, 4), (3, 5, 5)], singular),
        ("solve_singular", raised(mx.linalg.solve), [((4, 4), (4, 2)), ((3, 5, 5), (3, 5, 2)), ((3, 40, 40), (3, 40, 1))],
         singular),
        ("cholesky_not_pd", raised(mx.linalg.cholesky), [(4, 4), (3, 5, 5), (50, 50)], indefinite),
    ]],
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
    # ---- fft / hadamard / fp8: cuFFT (complex, real forward/inverse, any axes, pad/cut, norms),
    # the Hadamard transform (shared-memory rows, grouped short rows, the global path for rows
    # over 96 KiB), e4m3 conversions (bit-identical)
    Case("fft", lambda a: mx.fft.fft(a), FT, ["complex64", "float32", "float64"], atol=1e-4),
    Case("fft_axis0_pad", lambda a: mx.fft.fft(a, n=11, axis=0), FT, ["complex64"], atol=1e-4),
    Case("ifft_cut_ortho", lambda a: mx.fft.ifft(a, n=3, norm="ortho"), FT, ["complex64"], atol=1e-4),
    Case("fft2", lambda a: mx.fft.fft2(a) if a.ndim > 1 else mx.fft.fft(a), FT, ["complex64"], atol=1e-4),
    Case("fftn_all", lambda a: mx.fft.fftn(a), FT, ["complex64"], atol=1e-4),
    Case("ifftn_0_2", lambda a: mx.fft.ifftn(a, axes=[0, 2], norm="forward"), [(2, 5, 6), (2, 3, 4, 5), (6, 3, 4)],
         ["complex64"], atol=1e-4),
    Case("fftn_1_3", lambda a: mx.fft.fftn(a, axes=[1, 3]), [(2, 3, 4, 5), (3, 7, 2, 9)], ["complex64"], atol=1e-4),
    Case("fft_long", lambda a: [mx.fft.fft(a), mx.fft.ifft(a, axis=0)], [(3, 4096), (2, 3001)], ["complex64"],
         atol=2e-3),
    Case("fft_2pow20", lambda a: mx.fft.fft(a), [(1 << 20,)], ["complex64"], atol=5e-2),
    Case("rfft", lambda a: mx.fft.rfft(a), FT, ["float32", "float64"], atol=1e-4),
    Case("rfft_axis0_n", lambda a: [mx.fft.rfft(a, n=9, axis=0), mx.fft.rfft(a, n=2, axis=0)], FT, ["float32"],
         atol=1e-4),
    Case("rfft_mid_axis", lambda a: [mx.fft.rfft(a, axis=1), mx.fft.irfft(a, axis=1), mx.fft.irfft(a, n=5, axis=1),
                                     mx.fft.rfft(a[1:], axis=1)],
         [(6, 5, 7), (3, 9, 7), (9, 5, 3), (7, 4, 3)], ["float32"], atol=1e-4),
    Case("rfftn", lambda a: mx.fft.rfftn(a), FT, ["float32"], atol=1e-4),
    Case("rfftn_2_0", lambda a: mx.fft.rfftn(a, axes=[2, 0], norm="ortho"), [(2, 5, 6), (4, 3, 7)], ["float32"],
         atol=1e-4),
    Case("irfft", lambda a: [mx.fft.irfft(a), mx.fft.irfft(a, n=7)], FTI, ["complex64", "float32"], atol=1e-4),
    Case("irfft_axis0", lambda a: [mx.fft.irfft(a, axis=0), mx.fft.irfft(a, n=1, axis=0), mx.fft.irfft(a, n=9, axis=0)],
         FTI, ["complex64"], atol=1e-4),
    Case("irfftn", lambda a: mx.fft.irfftn(a), FTI, ["complex64"], atol=1e-4),
    Case("irfft2_0_2", lambda a: mx.fft.irfftn(a, s=[4, 6], axes=[2, 0]), [(2, 5, 6), (4, 3, 7)], ["complex64"],
         atol=1e-4),
    Case("rfft_long", lambda a: [mx.fft.rfft(a), mx.fft.irfft(mx.fft.rfft(a))], [(5, 4096), (3, 1001)], ["float32"],
         atol=2e-3),
    Case("hadamard", mx.hadamard_transform, HAD, FLOATS),
    Case("hadamard_scale", lambda a: mx.hadamard_transform(a, scale=0.5), [(3, 16), (2, 3, 20)], FLOATS),
    Case("to_fp8", mx.to_fp8, [(7,), (3, 5), (2, 3, 40), (1027,)], FLOATS, gen=fp8_values),
    Case("from_fp8", lambda a: [mx.from_fp8(a, dtype=getattr(mx, t)) for t in FLOATS], [(256,), (16, 16)],
         ["uint8"], gen=all_bytes),
    Case("fp8_round_trip", lambda a: mx.from_fp8(mx.to_fp8(a), dtype=a.dtype), [(3, 5), (1027,)], FLOATS,
         gen=fp8_values),
    # ---- convolution (quarter values: sums are exact, so any order matches the CPU): unfold +
    # GEMM, 1x1 GEMM without unfold, direct depthwise; transposed convolutions and gradients
    Case("conv1d", lambda x, w: mx.conv1d(x, w, padding=1), [((2, 9, 4), (6, 3, 4)), ((1, 12, 3), (5, 4, 3))], FLOATS,
         gen=quarters),
    Case("conv1d_stride_dil", lambda x, w: mx.conv1d(x, w, stride=2, padding=2, dilation=2), [((2, 11, 4), (6, 3, 4))],
         FLOATS, gen=quarters),
    Case("conv2d", lambda x, w: mx.conv2d(x, w, padding=1), [((2, 7, 6, 8), (16, 3, 3, 8)), ((2, 9, 9, 3), (8, 3, 3, 3))],
         FLOATS, gen=quarters),
    Case("conv2d_stride_pad_dil", lambda x, w: mx.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
         [((2, 8, 7, 6), (5, 3, 2, 6))], FLOATS, gen=quarters),
    # (channels in multiples of 32 in, 64 out: float16/bfloat16 take the tensor-core implicit GEMM)
    Case("conv2d_wide", lambda x, w: mx.conv2d(x, w, padding=1), [((2, 6, 5, 64), (64, 3, 3, 64))], FLOATS,
         gen=quarters),
    Case("conv2d_wide_groups", lambda x, w: mx.conv2d(x, w, stride=2, padding=1, groups=2),
         [((1, 9, 7, 64), (128, 3, 3, 32))], FLOATS, gen=quarters),
    Case("conv3d_wide", lambda x, w: mx.conv3d(x, w, padding=(0, 1, 1)), [((1, 3, 4, 5, 32), (64, 2, 3, 3, 32))],
         FLOATS, gen=quarters),
    Case("conv_transpose2d_wide", lambda x, w: mx.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
         [((1, 5, 4, 32), (64, 3, 3, 32))], FLOATS, gen=quarters),
    Case("conv2d_groups", lambda x, w: mx.conv2d(x, w, padding=1, groups=2), [((2, 6, 5, 8), (6, 3, 3, 4))], FLOATS,
         gen=quarters),
    Case("conv2d_1x1", lambda x, w: mx.conv2d(x, w), [((2, 5, 5, 16), (8, 1, 1, 16))], FLOATS, gen=quarters),
    Case("conv2d_1x1_groups", lambda x, w: mx.conv2d(x, w, groups=4), [((2, 5, 3, 16), (8, 1, 1, 4))], FLOATS,
         gen=quarters),
    Case("conv2d_1x1_stride", lambda x, w: mx.conv2d(x, w, stride=2), [((2, 5, 5, 16), (8, 1, 1, 16))], FLOATS,
         gen=quarters),
    Case("conv2d_depthwise", lambda x, w: mx.conv2d(x, w, padding=1, groups=x.shape[-1]),
         [((2, 7, 7, 8), (8, 3, 3, 1)), ((1, 6, 5, 5), (5, 3, 3, 1))], FLOATS, gen=quarters),
    Case("conv2d_depthwise_mult", lambda x, w: mx.conv2d(x, w, stride=2, padding=1, groups=4),
         [((2, 6, 6, 4), (8, 3, 3, 1))], FLOATS, gen=quarters),
    Case("conv2d_one_channel", lambda x, w: mx.conv2d(x, w, padding=2), [((2, 6, 7, 1), (4, 5, 5, 1))], FLOATS,
         gen=quarters),
    Case("conv3d", lambda x, w: mx.conv3d(x, w, stride=(1, 2, 1), padding=1),
         [((1, 4, 5, 6, 3), (4, 2, 3, 2, 3)), ((2, 3, 4, 4, 8), (4, 3, 3, 3, 8))], FLOATS, gen=quarters),
    Case("conv_general", lambda x, w: mx.conv_general(x, w, stride=[1, 2], padding=([0, 2], [1, 0]),
                                                      kernel_dilation=[2, 1], input_dilation=[2, 1], flip=True),
         [((2, 5, 6, 4), (3, 2, 3, 4))], FLOATS, gen=quarters),
    Case("conv_general_neg_pad", lambda x, w: mx.conv_general(x, w, padding=([-1], [1])), [((2, 9, 4), (3, 3, 4))],
         FLOATS, gen=quarters),
    Case("conv_transpose1d", lambda x, w: mx.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1, groups=2),
         [((2, 7, 4), (6, 3, 2))], FLOATS, gen=quarters),
    Case("conv_transpose2d", lambda x, w: mx.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
         [((2, 5, 4, 8), (6, 3, 3, 8))], FLOATS, gen=quarters),
    Case("conv_transpose3d", lambda x, w: mx.conv_transpose3d(x, w, stride=2, padding=1),
         [((1, 3, 3, 2, 4), (2, 2, 3, 2, 4))], FLOATS, gen=quarters),
    Case("convolve", lambda a, v: [mx.convolve(a, v), mx.convolve(a, v, mode="same")], [((50,), (7,))], FLOATS,
         gen=quarters),
    Case("conv2d_vjp", lambda x, w: _conv_vjp(lambda a, b: mx.conv2d(a, b, stride=2, padding=1), x, w),
         [((2, 7, 6, 8), (16, 3, 3, 8))], FLOATS, gen=quarters),
    Case("conv2d_vjp_groups", lambda x, w: _conv_vjp(lambda a, b: mx.conv2d(a, b, padding=1, groups=2), x, w),
         [((2, 6, 5, 8), (6, 3, 3, 4))], FLOATS, gen=quarters),
    Case("conv2d_vjp_depthwise", lambda x, w: _conv_vjp(lambda a, b: mx.conv2d(a, b, padding=1, groups=8), x, w),
         [((2, 7, 7, 8), (8, 3, 3, 1))], FLOATS, gen=quarters),
    Case("conv1d_vjp_dilated", lambda x, w: _conv_vjp(lambda a, b: mx.conv1d(a, b, stride=3, padding=2, dilation=2),
                                                      x, w),
         [((2, 13, 4), (6, 3, 4))], FLOATS, gen=quarters),
    # ---- compiled: fused elementwise chains built by NVRTC (every layout in LAYOUTS: dense,
    # transposed, strided, reversed and broadcast inputs take the dense or the strided kernel)
    Case("compiled_gelu", _compiled(_gelu), U + [(4099,), (3, 1 << 12)], FLOATS),
    Case("compiled_chain", _compiled(lambda a, b: mx.tanh(a * 0.5 + b) * mx.exp(-a)), B, FLOATS),
    Case("compiled_ints", _compiled(lambda a, b: mx.where(a > b, a * b, b - a) + (a == b)), B,
         ["uint8", "int16", "uint32", "int64"]),
    Case("compiled_bool", _compiled(lambda a, b: mx.logical_or(a > 0.5, mx.logical_and(b < 0, a < b))), B,
         ["int8", "uint64", "float16", "float32"]),
    Case("compiled_bool_in", _compiled(lambda a, b: mx.not_equal(a, b) | (a & b)), B, BOOL),
    Case("compiled_mixed_dtypes", _compiled(lambda a, i: mx.maximum(a * i, a - 1) / (1 + mx.abs(i))), B, FLOATS,
         names=(None, "int32")),
    Case("compiled_astype", _compiled(lambda a: (a.astype(mx.float32) * 3).astype(a.dtype) + a), U, NUMERIC),
    Case("compiled_astype_f16", _compiled(lambda a: mx.sigmoid(a.astype(mx.float16)) * 2 + a.astype(mx.bfloat16)), U,
         ["float32", "int32"]),
    Case("compiled_select", _compiled(lambda c, x, y: mx.where(c, x * 2, y + 1) - x), T3,
         ["int32", "bfloat16", "float64"], gen=condition),
    Case("compiled_int_ops", _compiled(lambda a, b: (a // (mx.abs(b) + 1)) + (a % 3) + (a << 1) - (a >> 2)), B,
         ["int8", "int32", "int64", "uint16"]),
    Case("compiled_shapeless", _compiled(lambda a, b: mx.exp(a * b) - mx.sqrt(mx.abs(b)) + 1, shapeless=True),
         [((3, 5), (3, 5)), ((2, 3, 4), (4,)), ((1027,), ()), ((4099,), (4099,))], FLOATS),
    Case("compiled_complex", _compiled(lambda a, b: mx.exp(a * b) + mx.sqrt(a) / (b + 2)), B, ["complex64"],
         gen=cplx_small),
    Case("compiled_complex_mixed", _compiled(lambda a, b: mx.abs(a * a + 1) + mx.real(a) * b), B, ["complex64"],
         gen=cplx_small, names=(None, "float32")),
    # ---- complex64 elementwise (the CPU's std::complex definitions)
    *[Case(f"complex_{f.__name__}", f, U, ["complex64"], gen=cplx) for f in (
        mx.exp, mx.log, mx.sqrt, mx.rsqrt, mx.sin, mx.cos, mx.tan, mx.sinh, mx.cosh, mx.tanh, mx.arcsin, mx.arccos,
        mx.arctan, mx.arcsinh, mx.arccosh, mx.arctanh, mx.expm1, mx.log1p, mx.log2, mx.log10, mx.sigmoid, mx.abs,
        mx.sign, mx.square, mx.negative, mx.round, mx.conjugate)],
    Case("complex_real_imag", lambda a: [a.real, a.imag], U, ["complex64"], gen=cplx),
    *[Case(f"complex_{f.__name__}", f, B, ["complex64"], gen=cplx) for f in (
        mx.add, mx.subtract, mx.multiply, mx.divide, mx.maximum, mx.minimum, mx.equal, mx.not_equal, mx.less,
        mx.less_equal, mx.greater, mx.greater_equal)],
    Case("complex_power", mx.power, B, ["complex64"], gen=cplx_small),
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
        for layout in c.layouts or LAYOUT_NAMES:
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
                                               rtol=c.rtol or rtol, atol=c.atol or atol, equal_nan=True, err_msg=where)
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


def test_hadamard_bit_identical():
    """The GPU's butterflies and mix repeat the CPU's operations: equal bits, not just close."""
    rng = np.random.default_rng(1)
    for shape in [(4, 4096), (3, 28 * 64), (2, 14336), (2, 32768), (5, 12)]:
        for dt in [mx.float32, mx.float64, mx.bfloat16]:
            x = mx.array(rng.standard_normal(shape).astype(np.float32)).astype(dt)
            with mx.stream(mx.cpu):
                want = mx.hadamard_transform(x)
                mx.eval(want)
            with mx.stream(mx.gpu):
                got = mx.hadamard_transform(x)
                mx.eval(got)
            np.testing.assert_array_equal(to_numpy(got), to_numpy(want), err_msg=f"{shape} {dt}")


def test_fft_input_unchanged_and_plans_reused():
    """cuFFT reads the input in place for complex transforms: it must stay unchanged, and
    repeated calls (cached plans) give the same result."""
    rng = np.random.default_rng(2)
    v = (rng.standard_normal((64, 48)) + 1j * rng.standard_normal((64, 48))).astype(np.complex64)
    with mx.stream(mx.gpu):
        x = mx.array(v)
        a = mx.fft.fft2(x)
        b = mx.fft.fft2(x)
        mx.eval(a, b)
    np.testing.assert_array_equal(np.array(x), v)
    np.testing.assert_array_equal(np.array(a), np.array(b))
    np.testing.assert_allclose(np.array(a), np.fft.fft2(v), rtol=1e-4, atol=1e-3)


# ---- errors


def test_missing_gpu_kernel_is_a_clear_error():
    # Primitives that may still lack a kernel; the first that does must say so clearly.
    candidates = [
        lambda: mx.linalg.inv(mx.array([[2.0, 1.0], [1.0, 3.0]])),
        lambda: mx.conv1d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2))),
        lambda: mx.gather_mm(mx.ones((2, 2)), mx.ones((2, 2))),
    ]
    with mx.stream(mx.gpu):
        for make in candidates:
            try:
                mx.eval(make())
            except RuntimeError as e:
                assert re.search(r"\[[A-Za-z]+\] has no GPU implementation", str(e)), str(e)
                return
    pytest.skip("every candidate primitive has a GPU kernel")

