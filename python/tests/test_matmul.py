"""matmul against NumPy: float32/float64/float16/bfloat16 and integers, batched with
broadcast batch dimensions, 1-D operands per NumPy's rules, transposed and strided operands."""

import numpy as np
import pytest

from helpers import assert_close, check_op, mk, mx, promote, to_dtype

SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((4,), (4,)),  # vector . vector -> scalar
    ((4,), (4, 5)),  # the added leading axis is removed
    ((3, 4), (4,)),  # the added trailing axis is removed
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast: (2,1) with (5,) -> (2,5)
    ((1, 3, 4), (6, 4, 2)),
    ((0, 4), (4, 5)),  # empty M
    ((3, 0), (0, 5)),  # empty K: zeros
    ((2, 33, 65), (65, 17)),  # odd sizes
    ((64, 96), (96, 80)),
]

# (rtol, atol) for sums of up to ~100 products of values in [-1, 1]
TOL = {
    "float32": (1e-4, 1e-4),
    "float64": (1e-10, 1e-10),
    "float16": (1e-2, 3e-2),
    "bfloat16": (2e-2, 1e-1),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_matmul_floats(dtype):
    rtol, atol = TOL[dtype]
    check_op(mx.matmul, np.matmul, SHAPES, [dtype], low=-1, high=1, out_dtype="same", rtol=rtol, atol=atol,
             layouts=("contiguous", "transposed", "strided", "broadcast"))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_matmul_operator(dtype):
    rtol, atol = TOL[dtype]
    check_op(lambda a, b: a @ b, np.matmul, SHAPES[:12], [dtype], low=-1, high=1, out_dtype="same",
             rtol=rtol, atol=atol, layouts=("contiguous", "transposed"))


@pytest.mark.kiln_only("MLX's matmul rejects integer inputs; kiln supports them")
@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8", "int16"])
def test_matmul_integers(dtype):
    check_op(mx.matmul, np.matmul, SHAPES, [dtype], low=-3, high=3, out_dtype="same",
             layouts=("contiguous", "transposed", "strided"))


@pytest.mark.parametrize(
    "dtypes",
    [("float16", "float32"), ("bfloat16", "float32"), ("float32", "float64"), ("float16", "bfloat16")],
    ids="-".join,
)
def test_matmul_mixed_dtypes_promote(dtypes):
    out = promote(*dtypes)
    rtol, atol = TOL[out]
    check_op(mx.matmul, np.matmul, [((3, 4), (4, 5)), ((2, 3, 4), (4,))], [dtypes], low=-1, high=1,
             out_dtype=out, rtol=rtol, atol=atol, layouts=("contiguous",))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_transposed_operands_larger(dtype, ta, tb):
    """The four BLAS transpose cases at a size where a blocked kernel is used."""
    rng = np.random.default_rng(0)
    m, k, n = 70, 130, 90
    a = to_dtype(rng.uniform(-1, 1, (k, m) if ta else (m, k)), dtype)
    b = to_dtype(rng.uniform(-1, 1, (n, k) if tb else (k, n)), dtype)
    A, B = mk(a, dtype), mk(b, dtype)
    if ta:
        A, a = mx.transpose(A), a.T
    if tb:
        B, b = mx.transpose(B), b.T
    rtol, atol = TOL[dtype]
    assert_close(mx.matmul(A, B), a.astype(np.float64) @ b.astype(np.float64), dtype, rtol, atol * 1.5)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_matmul_accumulates_in_float32(dtype):
    """A long dot product of small half-precision values: accumulating in half precision would
    stall once the sum is large (1024 * 1 + ...), giving a visibly wrong answer."""
    k = 4096
    a = mx.ones((1, k), dtype=getattr(mx, dtype))
    b = mx.ones((k, 1), dtype=getattr(mx, dtype))
    assert_close(mx.matmul(a, b), np.array([[k]]), dtype, rtol=1e-3, atol=0)


def test_matmul_batched_views():
    """Batch operands that are broadcast views and slices."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    W = mx.broadcast_to(mx.array(w), (3, 4, 6))
    X = mx.array(x)[:, ::2, :]
    assert_close(mx.matmul(X, W), np.matmul(x[:, ::2, :], np.broadcast_to(w, (3, 4, 6))), "float32", 1e-5, 1e-5)
    assert_close(mx.matmul(mx.swapaxes(X, 1, 2), X), np.matmul(np.swapaxes(x[:, ::2], 1, 2), x[:, ::2]), "float32",
                 1e-5, 1e-5)
