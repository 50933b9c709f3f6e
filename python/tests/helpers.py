"""Shared test helpers: the backend under test, dtype tables and `check_op`.

`check_op` compares an op with a NumPy reference over many shapes, dtypes and memory layouts
(contiguous, transposed, strided with an offset, reversed, broadcast views); adding a case to a
suite is one line. Expected result dtypes follow MLX's documented promotion rules, written out
here by hand (`promote`, `float_result`, ...), never read back from the code under test.

The backend is `kiln.core`; `KILN_TEST_BACKEND=mlx` runs the same tests against `mlx.core`,
used only to check the tests themselves (CI always runs kiln).
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import statistics
import time

import numpy as np
import pytest

BACKEND = os.environ.get("KILN_TEST_BACKEND", "kiln").lower()
IS_MLX = BACKEND == "mlx"
mx = importlib.import_module("mlx.core" if IS_MLX else "kiln.core")

# ---------------------------------------------------------------------------------- dtypes

BOOL = ["bool_"]
UNSIGNED = ["uint8", "uint16", "uint32", "uint64"]
SIGNED = ["int8", "int16", "int32", "int64"]
INTS = UNSIGNED + SIGNED
FLOATS = ["float16", "bfloat16", "float32", "float64"]
NUMERIC = INTS + FLOATS
ALL = BOOL + NUMERIC
# A shorter list for the costlier sweeps: one of each kind and width class that matters.
SOME_INTS = ["uint8", "int8", "int32", "int64"]

_SIZE = {"bool_": 1, "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8, "int8": 1, "int16": 2,
         "int32": 4, "int64": 8, "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8,
         "complex64": 8}


def mx_dtype(name: str):
    return getattr(mx, name)


def np_dtype(name: str):
    """NumPy storage dtype; bfloat16 (which NumPy lacks) is stored as float32."""
    if name == "bool_":
        return np.dtype(bool)
    if name == "bfloat16":
        return np.dtype(np.float32)
    return np.dtype(name)


def dtype_name(d) -> str:
    """'float32' for mx.float32 (works for any backend's Dtype repr)."""
    s = str(d).split(".")[-1]
    return "bool_" if s == "bool" else s


def is_float(name: str) -> bool:
    return name in FLOATS


def is_int(name: str) -> bool:
    return name in INTS


def is_unsigned(name: str) -> bool:
    return name in UNSIGNED


def promote(a: str, b: str) -> str:
    """MLX's binary promotion: bool < integers < floats; mixed signedness widens to a signed
    type that holds both (uint64 with a signed type gives float32); float16 with bfloat16 gives
    float32; an integer with a float takes the float type."""
    if a == b:
        return a
    if a == "bool_":
        return b
    if b == "bool_":
        return a
    if "complex64" in (a, b):
        return "complex64"
    fa, fb = is_float(a), is_float(b)
    if fa and fb:
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if _SIZE[a] >= _SIZE[b] else b
    if fa:
        return a
    if fb:
        return b
    if is_unsigned(a) == is_unsigned(b):
        return a if _SIZE[a] >= _SIZE[b] else b
    u, s = (a, b) if is_unsigned(a) else (b, a)
    if _SIZE[u] < _SIZE[s]:
        return s
    if u == "uint64":
        return "float32"
    return {1: "int16", 2: "int32", 4: "int64"}[_SIZE[u]]


def promote_all(*names: str) -> str:
    out = names[0]
    for n in names[1:]:
        out = promote(out, n)
    return out


def float_result(name: str) -> str:
    """Result dtype of a floating function (exp, sqrt, mean, divide ...): ints and bool give float32."""
    return name if is_float(name) else "float32"


def sum_result(name: str) -> str:
    """MLX's sum/prod accumulator dtype: small ints widen to 32 bits, bool sums as int32."""
    if name in ("bool_", "int8", "int16"):
        return "int32"
    if name in ("uint8", "uint16"):
        return "uint32"
    return name


# ---------------------------------------------------------------------------------- values


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Rounds float32 values to the nearest bfloat16 (ties to even), kept as float32."""
    f = np.array(x, dtype=np.float32, order="C")
    u = f.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    out = u.astype(np.uint32).view(np.float32).reshape(f.shape)
    return np.where(np.isnan(f), f, out)


def to_dtype(x, name: str) -> np.ndarray:
    """NumPy values representable in `name`, in its storage dtype."""
    x = np.asarray(x)
    if name == "bfloat16":
        return round_bf16(x.astype(np.float32))
    return x.astype(np_dtype(name))


def _int_range(name: str, low: float, high: float):
    info = np.iinfo(np.dtype(name))
    lo = max(int(math.ceil(low)), int(info.min))
    hi = min(int(math.floor(high)), int(info.max))
    if lo > hi:
        lo, hi = max(0, int(info.min)), min(3, int(info.max))
    return lo, hi


def random_values(rng: np.random.Generator, shape, name: str, low=-3.0, high=3.0) -> np.ndarray:
    """Random values of `name` in [low, high] (clipped to the dtype's range)."""
    shape = tuple(shape)
    if name == "bool_":
        return rng.random(shape) < 0.5
    if is_int(name):
        lo, hi = _int_range(name, low, high)
        return rng.integers(lo, hi + 1, size=shape).astype(np.dtype(name))
    return to_dtype(rng.uniform(low, high, size=shape), name)


def mk(values: np.ndarray, name: str):
    """A contiguous backend array of dtype `name` holding `values`."""
    return mx.array(np.array(values, order="C"), dtype=mx_dtype(name))  # a fresh copy: positive strides


def to_numpy(a) -> np.ndarray:
    """Backend array -> NumPy (bfloat16 through float32, as NumPy has no bfloat16)."""
    if dtype_name(a.dtype) == "bfloat16":
        a = a.astype(mx.float32)
    return np.array(a)


# ---------------------------------------------------------------------------------- layouts
# Each layout turns NumPy values into (the values the backend array logically holds, the
# backend array), building the array as a non-contiguous view where the layout asks for one.


def _contiguous(v, name):
    return v, mk(v, name)


def _transposed(v, name):
    if v.ndim < 2:
        return None
    perm = tuple(reversed(range(v.ndim)))
    return v, mx.transpose(mk(np.transpose(v, perm), name), perm)


def _strided(v, name):
    """Every other element of a larger buffer, starting at offset 1 on every axis."""
    if v.ndim < 1:
        return None
    big = np.zeros(tuple(2 * s + 1 for s in v.shape), dtype=v.dtype)
    sl = tuple(slice(1, None, 2) for _ in v.shape)
    big[sl] = v
    return v, mk(big, name)[sl]


def _reversed(v, name):
    """A negative-stride view along the first axis."""
    if v.ndim < 1:
        return None
    return v, mk(v[::-1], name)[::-1]


def _broadcast(v, name):
    """A stride-0 view along the last axis (the values change: they repeat the first column)."""
    if v.ndim < 1:
        return None
    small = np.ascontiguousarray(v[..., :1])
    return np.broadcast_to(small, v.shape), mx.broadcast_to(mk(small, name), v.shape)


LAYOUTS = {
    "contiguous": _contiguous,
    "transposed": _transposed,
    "strided": _strided,
    "reversed": _reversed,
    "broadcast": _broadcast,
}
ALL_LAYOUTS = tuple(LAYOUTS)


# ---------------------------------------------------------------------------------- comparing

# (rtol, atol) per result dtype. float16/bfloat16 are compared loosely: their reference is
# computed in float64 from the same (rounded) inputs.
TOLERANCES = {
    "float64": (1e-10, 1e-12),
    "float32": (2e-5, 2e-6),
    "float16": (1e-2, 2e-3),
    "bfloat16": (3e-2, 2e-2),
    "complex64": (2e-5, 2e-6),
}


def assert_close(out, ref, dtype=None, rtol=None, atol=None, where=""):
    """Checks a backend array against NumPy values: dtype (if given), shape, then values
    (exactly for bool and integers, within the dtype's tolerance for floats; NaNs must match)."""
    ref = np.asarray(ref)
    got_dtype = dtype_name(out.dtype)
    if dtype is not None:
        assert got_dtype == dtype, f"{where}: dtype {got_dtype}, expected {dtype}"
    assert tuple(out.shape) == ref.shape, f"{where}: shape {tuple(out.shape)}, expected {ref.shape}"
    got = to_numpy(out)
    assert got.shape == ref.shape, f"{where}: NumPy conversion gave shape {got.shape}"
    if got_dtype in TOLERANCES:
        r, a = TOLERANCES[got_dtype]
        r = r if rtol is None else rtol
        a = a if atol is None else atol
        np.testing.assert_allclose(
            got.astype(np.complex128 if got_dtype == "complex64" else np.float64),
            ref.astype(np.complex128 if got_dtype == "complex64" else np.float64),
            rtol=r, atol=a, equal_nan=True, err_msg=where)
    else:
        want = ref.astype(got.dtype) if ref.dtype != got.dtype else ref
        np.testing.assert_array_equal(got, want, err_msg=where)


def _is_single_shape(case) -> bool:
    return all(isinstance(d, int) for d in case)


def _reference_inputs(vals, names, out_name):
    """Inputs for the NumPy reference: floats in float64 (the exact values); integers and bools
    in their own dtype so that wrap-around matches, unless the result is a float."""
    res = []
    for v, n in zip(vals, names):
        if is_float(n) or (out_name is not None and is_float(out_name)):
            res.append(v.astype(np.float64))
        else:
            res.append(v)
    return res


def check_op(op, ref, shapes, dtypes=("float32",), *, low=-3.0, high=3.0, gen=None,
             layouts=ALL_LAYOUTS, out_dtype="promote", rtol=None, atol=None, seed=0):
    """Compares `op(*backend_arrays)` with `ref(*numpy_arrays)` for every shape case, dtype
    and layout.

    shapes: list of cases; a case is one shape `(2, 3)` for a one-input op, or a tuple of shapes
        `((2, 3), (3,))` for several inputs.
    dtypes: dtype names applied to every input, or tuples of names (one per input).
    gen: optional `gen(rng, shape, dtype_name, input_index) -> np.ndarray` value generator;
        defaults to uniform values in [low, high].
    out_dtype: expected result dtype: a name, "promote" (MLX promotion of the inputs), "float"
        (promotion, then integers give float32), "bool", "same" (first input's dtype), a
        callable of the input dtype names, or None (not checked).
    The op may return a list of arrays (e.g. split); the reference then returns a list too.
    """
    rng = np.random.default_rng(seed)
    ncases = 0
    for case in shapes:
        in_shapes = [tuple(case)] if _is_single_shape(case) else [tuple(s) for s in case]
        for dt in dtypes:
            names = [dt] * len(in_shapes) if isinstance(dt, str) else list(dt)
            assert len(names) == len(in_shapes)
            expected = _expected_dtype(out_dtype, names)
            base = []
            for i, (s, n) in enumerate(zip(in_shapes, names)):
                v = gen(rng, s, n, i) if gen is not None else random_values(rng, s, n, low, high)
                base.append(to_dtype(v, n))
            for lname in layouts:
                built = [LAYOUTS[lname](v, n) for v, n in zip(base, names)]
                if lname != "contiguous" and all(b is None for b in built):
                    continue  # the layout applies to none of these inputs (0-d, 1-d)
                built = [b if b is not None else _contiguous(v, n)
                         for b, v, n in zip(built, base, names)]
                vals = [b[0] for b in built]
                arrs = [b[1] for b in built]
                where = f"shapes={in_shapes} dtypes={names} layout={lname}"
                out = op(*arrs)
                want = ref(*_reference_inputs(vals, names, expected))
                if isinstance(out, (list, tuple)):
                    assert isinstance(want, (list, tuple)) and len(out) == len(want), where
                    for k, (o, w) in enumerate(zip(out, want)):
                        assert_close(o, w, expected, rtol, atol, f"{where} output {k}")
                else:
                    assert_close(out, want, expected, rtol, atol, where)
                ncases += 1
    assert ncases > 0


def _expected_dtype(out_dtype, names):
    if out_dtype is None:
        return None
    if callable(out_dtype):
        return out_dtype(*names)
    if out_dtype == "promote":
        return promote_all(*names)
    if out_dtype == "float":
        return float_result(promote_all(*names))
    if out_dtype == "bool":
        return "bool_"
    if out_dtype == "same":
        return names[0]
    return out_dtype


# ---------------------------------------------------------------------------------- errors


def raises(exc, op_names, fn, mlx_exc=None):
    """Asserts that `fn()` raises `exc` with a message naming the op as `[op_name]` (one of
    `op_names` if a tuple). Under the MLX backend, whose messages do not always name the op, the
    message is not checked and `mlx_exc` (if given) replaces the expected type."""
    if IS_MLX and mlx_exc is not None:
        exc = mlx_exc
    with pytest.raises(exc) as info:
        fn()
    if not IS_MLX and op_names:
        names = (op_names,) if isinstance(op_names, str) else tuple(op_names)
        msg = str(info.value)
        assert any(f"[{n}]" in msg for n in names), f"message {msg!r} does not name {names}"
    return info.value


# ---------------------------------------------------------------------------------- memory


def settle_memory(baseline: int, timeout: float = 2.0) -> int:
    """Active memory after buffers freed by worker threads have been returned; waits (briefly)
    for it to reach `baseline`."""
    mx.synchronize()
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        active = mx.get_active_memory()
        if active <= baseline or time.monotonic() > deadline:
            return active
        time.sleep(0.01)


# ---------------------------------------------------------------------------------- special functions

_erf = np.vectorize(math.erf, otypes=[np.float64])
_norm = statistics.NormalDist()


def np_erf(x):
    return _erf(np.asarray(x, dtype=np.float64))


def np_erfinv(y):
    y = np.asarray(y, dtype=np.float64)
    f = np.vectorize(lambda t: _norm.inv_cdf((t + 1.0) / 2.0) / math.sqrt(2.0), otypes=[np.float64])
    return f(y)
