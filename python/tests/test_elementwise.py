"""Elementwise ops against NumPy over dtypes, broadcast shapes and non-contiguous inputs:
unary and binary math, comparisons, logical and bitwise ops, where, astype, and dtype promotion
(including MLX's weak Python scalars)."""

import numpy as np
import pytest

from helpers import (
    ALL,
    FLOATS,
    INTS,
    NUMERIC,
    SIGNED,
    SOME_INTS,
    UNSIGNED,
    assert_close,
    check_op,
    is_float,
    mk,
    mx,
    mx_dtype,
    np_dtype,
    np_erf,
    np_erfinv,
    promote,
    random_values,
    to_dtype,
)

UNARY_SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (0,), (2, 0, 3), (33, 17)]
BINARY_SHAPES = [
    ((), ()),
    ((6,), ()),
    ((), (6,)),
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((4, 1, 3), (1, 5, 1)),
    ((0, 3), (1, 3)),
    ((2, 1, 3), (2, 0, 1)),
    ((19, 33), (19, 33)),
]
FLOAT_IN = FLOATS + ["int32", "uint8", "bool_"]  # floating functions also take ints and bools


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name, NumPy reference, (low, high), input dtypes, expected result dtype
UNARY = [
    ("abs", np.abs, (-3, 3), NUMERIC, "same"),
    ("negative", np.negative, (-3, 3), NUMERIC, "same"),
    ("sign", np.sign, (-3, 3), NUMERIC, "same"),
    ("square", np.square, (-3, 3), NUMERIC, "same"),
    ("floor", np.floor, (-3, 3), NUMERIC, "same"),
    ("ceil", np.ceil, (-3, 3), NUMERIC, "same"),
    ("round", np.round, (-3, 3), NUMERIC, "same"),
    ("sqrt", np.sqrt, (0, 5), FLOAT_IN, "float"),
    ("rsqrt", lambda x: 1 / np.sqrt(x), (0.1, 5), FLOATS + ["int32"], "float"),
    ("reciprocal", lambda x: 1 / x, (0.25, 4), FLOATS + ["int32"], "float"),
    ("exp", np.exp, (-4, 4), FLOAT_IN, "float"),
    ("expm1", np.expm1, (-2, 2), FLOATS, "float"),
    ("log", np.log, (0.1, 5), FLOATS + ["int32", "uint8"], "float"),
    ("log2", np.log2, (0.1, 5), FLOATS + ["int32"], "float"),
    ("log10", np.log10, (0.1, 5), FLOATS + ["int32"], "float"),
    ("log1p", np.log1p, (-0.9, 5), FLOATS + ["uint8"], "float"),
    ("sin", np.sin, (-4, 4), FLOAT_IN, "float"),
    ("cos", np.cos, (-4, 4), FLOAT_IN, "float"),
    ("tan", np.tan, (-1.2, 1.2), FLOATS + ["int8"], "float"),
    ("arcsin", np.arcsin, (-0.99, 0.99), FLOATS, "float"),
    ("arccos", np.arccos, (-0.99, 0.99), FLOATS, "float"),
    ("arctan", np.arctan, (-4, 4), FLOATS + ["int32"], "float"),
    ("sinh", np.sinh, (-3, 3), FLOATS, "float"),
    ("cosh", np.cosh, (-3, 3), FLOATS, "float"),
    ("tanh", np.tanh, (-4, 4), FLOAT_IN, "float"),
    ("arcsinh", np.arcsinh, (-4, 4), FLOATS, "float"),
    ("arccosh", np.arccosh, (1.05, 5), FLOATS, "float"),
    ("arctanh", np.arctanh, (-0.95, 0.95), FLOATS, "float"),
    ("sigmoid", sigmoid, (-6, 6), FLOATS + ["int32"], "float"),
    ("erf", np_erf, (-3, 3), FLOATS, "float"),
    ("erfinv", np_erfinv, (-0.95, 0.95), FLOATS, "float"),
    ("logical_not", np.logical_not, (-2, 2), ALL, "bool"),
    ("bitwise_invert", np.invert, (-100, 100), ["bool_"] + INTS, "same"),
]


# MLX's CPU backend evaluates these in float32 even for float64 inputs; kiln must not.
MLX_F64_VIA_F32 = {"exp", "sin", "cos", "sigmoid", "erf", "erfinv", "logaddexp", "round"}


def f64_mark(name, dtype):
    if dtype == "float64" and name in MLX_F64_VIA_F32:
        return [pytest.mark.kiln_only(f"MLX computes float64 {name} in float32")]
    return []


@pytest.mark.parametrize(
    "name, ref, rng_, dtype, out",
    [pytest.param(n, r, lh, d, o, id=f"{n}-{d}", marks=f64_mark(n, d)) for n, r, lh, ds, o in UNARY for d in ds],
)
def test_unary(name, ref, rng_, dtype, out):
    op = getattr(mx, name)
    low, high = rng_
    check_op(op, ref, UNARY_SHAPES, [dtype], low=low, high=high, out_dtype=out)


@pytest.mark.parametrize("dtype", FLOATS[:3] + [pytest.param("float64", marks=f64_mark("round", "float64"))])
@pytest.mark.parametrize("decimals", [1, 2, -1])
def test_round_decimals(dtype, decimals):
    # values on a grid away from rounding ties, so the reference is unambiguous
    def gen(rng, shape, name, i):
        return (rng.integers(-3000, 3000, size=shape) + 0.3) / 100.0

    check_op(lambda x: mx.round(x, decimals), lambda x: np.round(x, decimals), [(4, 5)], [dtype],
             gen=gen, out_dtype="same", layouts=("contiguous", "transposed"))


def test_round_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5], np.float32)
    assert_close(mx.round(mx.array(x)), np.round(x), "float32")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
def test_float_classification(name, dtype):
    x = np.array([0.0, -1.5, np.inf, -np.inf, np.nan, 2.0, -0.0, np.nan], np.float32)
    a = mk(to_dtype(x, dtype), dtype)
    assert_close(getattr(mx, name)(a), getattr(np, name)(x), "bool_")
    assert_close(getattr(mx, name)(mx.transpose(mx.reshape(a, (2, 4)))), getattr(np, name)(x.reshape(2, 4).T), "bool_")


@pytest.mark.parametrize("name", ["isnan", "isinf", "isposinf", "isneginf", "isfinite"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool_"])
def test_float_classification_of_integers(name, dtype):
    a = mk(np.array([0, 1, 2]), dtype)
    assert_close(getattr(mx, name)(a), getattr(np, name)(np.array([0, 1, 2], np.float64)), "bool_")


@pytest.mark.parametrize(
    "name, dtype",
    [pytest.param(n, d, marks=f64_mark(n, d)) for n in ["exp", "log", "sqrt", "tanh", "sigmoid", "abs", "floor"]
     for d in FLOATS],
)
def test_unary_special_values(name, dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0], np.float64)
    ref = {"sigmoid": sigmoid}.get(name, getattr(np, name, None))
    with np.errstate(all="ignore"):
        want = ref(x)
    assert_close(getattr(mx, name)(mk(to_dtype(x, dtype), dtype)), want, dtype)


def test_int_overflow_wraps_like_numpy():
    a = np.array([-128, 127, 100, -100], np.int8)
    assert_close(mx.abs(mx.array(a)), np.abs(a), "int8")
    assert_close(mx.negative(mx.array(a)), np.negative(a), "int8")
    assert_close(mx.square(mx.array(a)), np.square(a), "int8")
    u = np.array([0, 1, 200], np.uint8)
    assert_close(mx.negative(mx.array(u)), np.negative(u), "uint8")


# ---------------------------------------------------------------------------------- binary


def dyadic(rng, shape, name, i):
    """Operands for floor_divide/remainder whose quotient is never close to an integer without
    being one, so float rounding cannot flip the floor: dividends k/4, divisors from a set."""
    if i == 0:
        if name in UNSIGNED:
            return rng.integers(0, 40, size=shape)
        if name in SIGNED:
            return rng.integers(-40, 40, size=shape)
        return rng.integers(-32, 33, size=shape) / 4.0
    if name in UNSIGNED:
        return rng.choice([1, 2, 3, 5, 7], size=shape)
    if name in SIGNED:
        return rng.choice([-7, -3, -2, -1, 1, 2, 3, 5], size=shape)
    return rng.choice([-3.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0], size=shape)


def nonzero_divisor(rng, shape, name, i):
    v = random_values(rng, shape, name, -4, 4)
    if i == 1:
        v = np.where(np.abs(v.astype(np.float64)) < 0.25, np.asarray(1, v.dtype), v)
    return v


def small_ints(rng, shape, name, i):
    """Small integers in every dtype, so that comparisons see equal values."""
    lo = 0 if name in UNSIGNED else -2
    if name == "bool_":
        return rng.random(shape) < 0.5
    return rng.integers(lo, 3, size=shape)


def power_operands(rng, shape, name, i):
    if i == 0:
        if is_float(name):
            return rng.uniform(0.2, 3, size=shape)
        return rng.integers(0 if name in UNSIGNED else -3, 4, size=shape)
    if is_float(name):
        return rng.uniform(-2, 2, size=shape)
    return rng.integers(0, 4, size=shape)


def shift_operands(rng, shape, name, i):
    if i == 0:
        return rng.integers(0 if name in UNSIGNED else -20, 20, size=shape)
    return rng.integers(0, 3, size=shape)


def int_power(a, b):
    return np.power(a, b)


# name, NumPy reference, generator (or (low, high)), input dtypes, result dtype
BINARY = [
    ("add", np.add, (-5, 5), NUMERIC + ["bool_"], "promote"),
    ("subtract", np.subtract, (-5, 5), NUMERIC, "promote"),
    ("multiply", np.multiply, (-5, 5), NUMERIC + ["bool_"], "promote"),
    ("divide", np.divide, nonzero_divisor, FLOATS + SOME_INTS, "float"),
    ("floor_divide", np.floor_divide, dyadic, NUMERIC, "promote"),
    ("remainder", np.remainder, dyadic, NUMERIC, "promote"),
    ("power", int_power, power_operands, FLOATS + SOME_INTS, "promote"),
    ("maximum", np.maximum, (-5, 5), NUMERIC + ["bool_"], "promote"),
    ("minimum", np.minimum, (-5, 5), NUMERIC + ["bool_"], "promote"),
    ("logaddexp", np.logaddexp, (-5, 5), FLOATS, "float"),
    ("arctan2", np.arctan2, (-5, 5), FLOATS, "float"),
    ("equal", np.equal, small_ints, ALL, "bool"),
    ("not_equal", np.not_equal, small_ints, ALL, "bool"),
    ("less", np.less, small_ints, ALL, "bool"),
    ("less_equal", np.less_equal, small_ints, ALL, "bool"),
    ("greater", np.greater, small_ints, ALL, "bool"),
    ("greater_equal", np.greater_equal, small_ints, ALL, "bool"),
    ("logical_and", np.logical_and, small_ints, ALL, "bool"),
    ("logical_or", np.logical_or, small_ints, ALL, "bool"),
    ("bitwise_and", np.bitwise_and, (-100, 100), ["bool_"] + INTS, "promote"),
    ("bitwise_or", np.bitwise_or, (-100, 100), ["bool_"] + INTS, "promote"),
    ("bitwise_xor", np.bitwise_xor, (-100, 100), ["bool_"] + INTS, "promote"),
    ("left_shift", np.left_shift, shift_operands, INTS, "promote"),
    ("right_shift", np.right_shift, shift_operands, INTS, "promote"),
]


def _binary_params():
    for name, ref, g, dts, out in BINARY:
        for d in dts:
            yield pytest.param(name, ref, g, d, out, id=f"{name}-{d}", marks=f64_mark(name, d))


@pytest.mark.parametrize("name, ref, g, dtype, out", list(_binary_params()))
def test_binary(name, ref, g, dtype, out):
    op = getattr(mx, name)
    kw = {"gen": g} if callable(g) else {"low": g[0], "high": g[1]}
    with np.errstate(all="ignore"):
        check_op(op, ref, BINARY_SHAPES, [dtype], out_dtype=out, **kw)


MIXED = [
    ("uint8", "int8"),
    ("int8", "uint8"),
    ("uint16", "int16"),
    ("uint32", "int32"),
    ("uint8", "int32"),
    ("int16", "int64"),
    ("uint8", "uint32"),
    ("bool_", "int8"),
    ("bool_", "float16"),
    ("int32", "float16"),
    ("uint8", "bfloat16"),
    ("int64", "float32"),
    ("float16", "float32"),
    ("bfloat16", "float32"),
    ("float16", "bfloat16"),
    ("float32", "float64"),
    ("int8", "float64"),
]


@pytest.mark.parametrize("dtypes", MIXED, ids="-".join)
@pytest.mark.parametrize("name", ["add", "multiply", "subtract", "maximum", "divide", "less"])
def test_binary_mixed_dtypes(name, dtypes):
    if name == "subtract" and "bool_" in dtypes:
        dtypes = ("int8", dtypes[1] if dtypes[0] == "bool_" else dtypes[0])
    out = {"divide": "float", "less": "bool"}.get(name, "promote")
    gen = nonzero_divisor if name == "divide" else None
    check_op(getattr(mx, name), getattr(np, name), [((3, 4), (3, 4)), ((2, 1, 4), (3, 1))],
             [dtypes], low=0, high=9, gen=gen, out_dtype=out)


@pytest.mark.parametrize("dtype", FLOATS)
def test_maximum_minimum_propagate_nan(dtype):
    a = np.array([np.nan, 1.0, 2.0, np.nan], np.float32)
    b = np.array([1.0, np.nan, 3.0, np.nan], np.float32)
    A, B = mk(to_dtype(a, dtype), dtype), mk(to_dtype(b, dtype), dtype)
    assert_close(mx.maximum(A, B), np.maximum(a, b), dtype)
    assert_close(mx.minimum(A, B), np.minimum(a, b), dtype)


def test_divide_by_zero_gives_inf_and_nan():
    a = np.array([1.0, -1.0, 0.0], np.float32)
    b = np.zeros(3, np.float32)
    with np.errstate(all="ignore"):
        assert_close(mx.divide(mx.array(a), mx.array(b)), a / b, "float32")
        assert_close(mx.divide(mx.array([1, -1, 0]), mx.array([0, 0, 0])), a / b, "float32")


def test_logaddexp_extremes():
    a = np.array([-np.inf, -np.inf, 1000.0, -1000.0, 0.0], np.float32)
    b = np.array([-np.inf, 2.0, 1000.0, -1000.0, np.inf], np.float32)
    assert_close(mx.logaddexp(mx.array(a), mx.array(b)), np.logaddexp(a, b), "float32")


# ---------------------------------------------------------------------------------- where


@pytest.mark.parametrize(
    "dtypes",
    [("bool_", "float32", "float32"), ("bool_", "int32", "int32"), ("bool_", "float16", "float16"),
     ("bool_", "bfloat16", "bfloat16"), ("bool_", "int8", "uint8"), ("bool_", "int32", "float16"),
     ("int32", "float32", "float32"), ("float32", "int64", "int64"), ("bool_", "bool_", "bool_"),
     ("bool_", "float64", "float32")],
    ids="-".join,
)
def test_where(dtypes):
    shapes = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((), (2, 3), ()), ((2, 3, 1), (3, 4), (1,)),
              ((0, 2), (1, 2), (2,))]
    check_op(mx.where, np.where, shapes, [dtypes], low=-2, high=2,
             out_dtype=lambda c, x, y: promote(x, y))


def test_where_python_scalars():
    c = np.array([True, False, True])
    assert_close(mx.where(mx.array(c), 1, 2.5), np.where(c, 1.0, 2.5), "float32")
    x = np.array([1, 2, 3], np.int8)
    assert_close(mx.where(mx.array(c), mx.array(x), 7), np.where(c, x, 7), "int8")
    h = np.array([1, 2, 3], np.float16)
    assert_close(mx.where(mx.array(c), 0.5, mx.array(h)), np.where(c, 0.5, h), "float16")


# ---------------------------------------------------------------------------------- astype


def cast_values(src, dst, rng, shape):
    """Values exactly representable in both dtypes (so any correct cast gives NumPy's answer)."""
    if src == "bool_" or dst == "bool_":
        v = rng.integers(0, 3, size=shape) * (rng.random(shape) < 0.7)
    else:
        lo = 0 if (src in UNSIGNED or dst in UNSIGNED) else -100
        v = rng.integers(lo, 101, size=shape)
    if is_float(src) and not is_float(dst):
        v = v + np.where(v >= 0, 0.75, -0.75) * (v != 0)  # fractions truncate toward zero
        if dst in UNSIGNED:
            v = np.abs(v)
    return v


@pytest.mark.parametrize("dst", ALL)
@pytest.mark.parametrize("src", ALL)
def test_astype(src, dst):
    def gen(rng, shape, name, i):
        return cast_values(src, dst, rng, shape)

    def ref(v):
        if dst == "bool_":
            return v != 0
        if is_float(src) and not is_float(dst):
            return np.trunc(v).astype(np_dtype(dst))
        return v.astype(np_dtype(dst))

    check_op(lambda a: a.astype(mx_dtype(dst)), ref, [(3, 5), (0,), ()], [src], gen=gen, out_dtype=dst,
             layouts=("contiguous", "transposed", "broadcast"))
    # the function form
    v = to_dtype(np.array([0, 1, 2]), src)
    assert_close(mx.astype(mk(v, src), mx_dtype(dst)), v.astype(np_dtype(dst)), dst)


@pytest.mark.parametrize("dst", ["float16", "bfloat16", "float32"])
def test_astype_rounds_to_nearest(dst):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 4, size=1000)
    src = "float64" if dst == "float32" else "float32"
    xin = x.astype(np_dtype(src))
    want = to_dtype(xin, dst)  # NumPy's own rounding (and round_bf16, round-to-nearest-even)
    out = mk(xin, src).astype(mx_dtype(dst))
    assert_close(out, want, dst, rtol=0, atol=0)


# ---------------------------------------------------------------------------------- promotion

PROMO_DTYPES = ALL


@pytest.mark.parametrize("a", PROMO_DTYPES)
def test_promotion_table(a):
    """Every pair of dtypes: result dtype follows MLX's table, values follow NumPy."""
    for b in PROMO_DTYPES:
        x = mk(to_dtype(np.array([1, 0, 1]), a), a)
        y = mk(to_dtype(np.array([1, 1, 0]), b), b)
        want = promote(a, b)
        assert_close(x + y, np.array([1, 1, 1]) if want == "bool_" else np.array([2, 1, 1]), want)
        assert_close(mx.multiply(x, y), np.array([1, 0, 0]), want)


@pytest.mark.parametrize(
    "dtype, scalar, want",
    [
        ("float16", 2.5, "float16"),
        ("bfloat16", 2.5, "bfloat16"),
        ("float32", 2.5, "float32"),
        ("float64", 2.5, "float64"),
        ("float16", 3, "float16"),
        ("int8", 3, "int8"),
        ("uint8", 3, "uint8"),
        ("int64", 3, "int64"),
        ("uint16", 3, "uint16"),
        ("int8", 2.5, "float32"),
        ("uint32", 2.5, "float32"),
        ("bool_", 3, "int32"),
        ("bool_", 2.5, "float32"),
        ("bool_", True, "bool_"),
        ("int16", True, "int16"),
        ("float16", True, "float16"),
    ],
)
def test_weak_python_scalars(dtype, scalar, want):
    v = to_dtype(np.array([1, 0, 1]), dtype)
    a = mk(v, dtype)
    vals = v.astype(np.float64)
    s = float(scalar)
    assert_close(a * scalar, vals * s, want)
    assert_close(scalar * a, vals * s, want)
    assert_close(a + scalar, vals + s, want)
    assert_close(scalar + a, s + vals, want)
    assert_close(mx.add(a, scalar), vals + s, want)
    assert_close(mx.maximum(scalar, a), np.maximum(s, vals), want)
    assert_close(a < scalar, vals < s, "bool_")


def test_weak_scalar_examples_from_issue():
    h = mx.array(np.array([1.5, -2.0], np.float16))
    assert_close(h * 2.5, np.array([3.75, -5.0]), "float16")
    u = mx.array(np.array([200, 3], np.uint8))
    i = mx.array(np.array([-100, 4], np.int8))
    assert_close(u + i, np.array([100, 7]), "int16")


def test_scalar_only_arithmetic_through_arrays():
    assert_close(mx.array(3) / 2, np.array(1.5), "float32")
    assert_close(mx.array(7) // 2, np.array(3), "int32")
    assert_close(mx.array(2.0) ** 3, np.array(8.0), "float32")
