"""kiln.core.linalg against numpy.linalg: norms, inverses, factorizations (checked by
reconstruction where the factors are not unique), solvers and determinants, batched over
leading axes, float32 and float64, non-contiguous inputs, empty matrices and the error cases."""

import math

import numpy as np
import pytest

from helpers import IS_MLX, assert_close, check_op, mk, mx, raises

FLOATS = ["float32", "float64"]
TOL = {"float32": (2e-4, 2e-4), "float64": (1e-9, 1e-9)}
LA = "linalg::"
# The broadcast layout repeats a column: singular matrices, so factorizations use the others.
FULL_RANK = ("contiguous", "transposed", "strided", "reversed")


def np_of(a):
    return np.array(a)


def _well_conditioned(rng, shape, name, i=0):
    """Square matrices with a strong diagonal: far from singular."""
    n = shape[-1]
    return rng.uniform(-1, 1, size=shape) + n * np.eye(n)


def _spd(rng, shape, name, i=0):
    x = rng.uniform(-1, 1, size=shape)
    n = shape[-1]
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _lower(rng, shape, name, i=0):
    return np.tril(_well_conditioned(rng, shape, name))


def _upper(rng, shape, name, i=0):
    return np.triu(_well_conditioned(rng, shape, name))


SQUARE = [(1, 1), (3, 3), (5, 5), (2, 4, 4), (2, 3, 6, 6), (17, 17)]
RECT = [(3, 3), (5, 3), (3, 5), (2, 4, 2), (2, 2, 3, 7), (1, 1), (1, 4), (4, 1)]


# ------------------------------------------------------------------------------------ norms

VECTOR_ORDS = [None, 2, 1, 0, 3, 0.5, -1, np.inf, -np.inf]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms(dtype, ord):
    rtol, atol = TOL[dtype]
    check_op(lambda a: mx.linalg.norm(a, ord), lambda a: np.linalg.norm(a, ord), [(7,), (1,), (30,)], [dtype],
             out_dtype="same", rtol=rtol, atol=atol)
    check_op(lambda a: mx.linalg.norm(a, ord, axis=1, keepdims=True),
             lambda a: np.linalg.norm(a, ord, axis=1, keepdims=True), [(3, 5, 2)], [dtype],
             out_dtype="same", rtol=rtol, atol=atol)
    check_op(lambda a: mx.linalg.norm(a, ord, axis=-1), lambda a: np.linalg.norm(a, ord, axis=-1),
             [(4, 6)], [dtype], out_dtype="same", rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms(dtype, ord):
    rtol, atol = TOL[dtype]
    check_op(lambda a: mx.linalg.norm(a, ord), lambda a: np.linalg.norm(a, ord), [(3, 4), (5, 5), (1, 3)], [dtype],
             out_dtype="same", rtol=rtol, atol=atol)
    for axis in [(0, 1), (1, 0), (0, 2), (2, 1), (-1, -3)]:
        for keepdims in (False, True):
            check_op(lambda a: mx.linalg.norm(a, ord, axis=axis, keepdims=keepdims),
                     lambda a: np.linalg.norm(a, ord, axis=axis, keepdims=keepdims), [(3, 4, 5)], [dtype],
                     out_dtype="same", rtol=rtol, atol=atol, layouts=["contiguous", "transposed"])


def test_norm_default_all_axes():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(2, 3, 4)).astype(np.float32)
    assert_close(mx.linalg.norm(mk(x, "float32")), np.linalg.norm(x.ravel()), "float32")
    assert_close(mx.linalg.norm(mk(x, "float32"), keepdims=True), np.linalg.norm(x.ravel()).reshape(1, 1, 1),
                 "float32")
    assert_close(mx.linalg.norm(mk(x, "float32"), axis=[0, 2]), np.linalg.norm(x, axis=(0, 2)), "float32")
    # integers are normed as float32
    assert_close(mx.linalg.norm(mx.array([3, 4])), np.float32(5.0), "float32")


def test_norm_errors():
    a = mx.ones((2, 2))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(mx.ones((3,)), "fro"))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(mx.ones((3,)), "nuc"))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(mx.ones((2, 2, 2)), 2))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(a, 3))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(a, 0))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(a, "bad"))
    raises(ValueError, LA + "norm", lambda: mx.linalg.norm(a, axis=[0, 1, 1]))
    raises(IndexError, None, lambda: mx.linalg.norm(a, axis=5))


# --------------------------------------------------------------------------------- inverses


@pytest.mark.parametrize("dtype", FLOATS)
def test_inv(dtype):
    rtol, atol = TOL[dtype]
    check_op(mx.linalg.inv, np.linalg.inv, SQUARE, [dtype], gen=_well_conditioned, out_dtype="same",
             rtol=rtol, atol=atol, layouts=FULL_RANK)
    rng = np.random.default_rng(1)
    a = _well_conditioned(rng, (3, 4, 4), dtype).astype(dtype)
    ai = np_of(mx.linalg.inv(mk(a, dtype)))
    np.testing.assert_allclose(a @ ai, np.broadcast_to(np.eye(4), a.shape), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("upper", [False, True])
def test_tri_inv(dtype, upper):
    rtol, atol = TOL[dtype]
    gen = _upper if upper else _lower
    check_op(lambda a: mx.linalg.tri_inv(a, upper=upper), np.linalg.inv, SQUARE, [dtype], gen=gen,
             out_dtype="same", rtol=rtol, atol=atol, layouts=FULL_RANK)
    # Only the named triangle is read: garbage in the other one does not matter.
    rng = np.random.default_rng(2)
    t = gen(rng, (2, 5, 5), dtype)
    junk = t + (np.tril(np.ones((5, 5)), -1) if upper else np.triu(np.ones((5, 5)), 1)) * 7.0
    assert_close(mx.linalg.tri_inv(mk(junk, dtype), upper=upper), np.linalg.inv(t), dtype, rtol, atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(dtype, upper):
    rtol, atol = TOL[dtype]

    def ref(a):
        low = np.linalg.cholesky(a)
        return np.swapaxes(low, -1, -2) if upper else low

    check_op(lambda a: mx.linalg.cholesky(a, upper=upper), ref, SQUARE, [dtype], gen=_spd, out_dtype="same",
             rtol=rtol, atol=atol, layouts=FULL_RANK)
    check_op(lambda a: mx.linalg.cholesky_inv(mx.linalg.cholesky(a, upper=upper), upper=upper), np.linalg.inv,
             SQUARE, [dtype], gen=_spd, out_dtype="same", rtol=rtol, atol=atol, layouts=["contiguous"])


@pytest.mark.skipif(IS_MLX, reason="MLX returns garbage instead of raising")
def test_cholesky_not_positive_definite():
    with pytest.raises(RuntimeError, match="positive definite"):
        mx.eval(mx.linalg.cholesky(mx.array([[1.0, 2.0], [2.0, 1.0]])))


def test_inv_singular():
    if IS_MLX:
        pytest.skip("MLX's message differs")
    with pytest.raises(RuntimeError, match="singular"):
        mx.eval(mx.linalg.inv(mx.array([[1.0, 2.0], [2.0, 4.0]])))
    with pytest.raises(RuntimeError, match="singular"):
        mx.eval(mx.linalg.tri_inv(mx.array([[1.0, 0.0], [2.0, 0.0]])))


# ---------------------------------------------------------------------------- factorizations


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", RECT)
def test_qr(dtype, shape):
    rtol, atol = TOL[dtype]
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, size=shape).astype(dtype)
    q, r = mx.linalg.qr(mk(a, dtype))
    k = min(shape[-2:])
    assert q.shape == shape[:-1] + (k,) and r.shape == shape[:-2] + (k, shape[-1])
    assert q.dtype == getattr(mx, dtype) and r.dtype == getattr(mx, dtype)
    q, r = np_of(q), np_of(r)
    np.testing.assert_allclose(q @ r, a, rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)),
                               rtol=rtol, atol=atol)
    np.testing.assert_array_equal(np.tril(r, -1), 0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", RECT + [(0, 3), (3, 0)])
def test_svd(dtype, shape):
    rtol, atol = TOL[dtype]
    rng = np.random.default_rng(4)
    a = rng.uniform(-1, 1, size=shape).astype(dtype)
    u, s, vt = mx.linalg.svd(mk(a, dtype))
    m, n = shape[-2:]
    k = min(m, n)
    assert u.shape == shape[:-2] + (m, m) and s.shape == shape[:-2] + (k,) and vt.shape == shape[:-2] + (n, n)
    u, s, vt = np_of(u), np_of(s), np_of(vt)
    np.testing.assert_allclose(s, np.linalg.svd(a.astype(np.float64), compute_uv=False), rtol=rtol, atol=atol)
    np.testing.assert_allclose((u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :], a, rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(m), u.shape), rtol=rtol, atol=atol)
    np.testing.assert_allclose(vt @ np.swapaxes(vt, -1, -2), np.broadcast_to(np.eye(n), vt.shape), rtol=rtol,
                               atol=atol)
    s_only = mx.linalg.svd(mk(a, dtype), compute_uv=False)
    assert_close(s_only, np.linalg.svd(a.astype(np.float64), compute_uv=False), dtype, rtol, atol)


def test_svd_layouts():
    check_op(lambda a: mx.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False),
             [(4, 3), (2, 3, 5)], ["float32"], out_dtype="same", rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(dtype, uplo):
    rtol, atol = TOL[dtype]
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (4, 4), (3, 2, 6, 6), (20, 20)]:
        a = _spd(rng, shape, dtype) - shape[-1] * 1.5 * np.eye(shape[-1])  # indefinite too
        # Garbage in the triangle not read.
        n = shape[-1]
        other = np.triu(np.ones((n, n)), 1) if uplo == "L" else np.tril(np.ones((n, n)), -1)
        a_junk = (a + 5.0 * other).astype(dtype)
        a = a.astype(dtype)
        w, v = mx.linalg.eigh(mk(a_junk, dtype), UPLO=uplo)
        assert w.dtype == getattr(mx, dtype) and v.dtype == getattr(mx, dtype)
        w_ref = np.linalg.eigvalsh(a.astype(np.float64))
        assert_close(w, w_ref, dtype, rtol, atol * n)
        w, v = np_of(w), np_of(v)
        np.testing.assert_allclose(a @ v, v * w[..., None, :], rtol=rtol * n, atol=atol * n)
        np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), rtol=rtol,
                                   atol=atol * n)
        assert_close(mx.linalg.eigvalsh(mk(a_junk, dtype), UPLO=uplo), w_ref, dtype, rtol, atol * n)


def test_eigvalsh_layouts():
    check_op(mx.linalg.eigvalsh, np.linalg.eigvalsh, [(4, 4), (2, 5, 5)], ["float32", "float64"], gen=_spd,
             out_dtype="same", rtol=1e-4, atol=1e-4, layouts=FULL_RANK)


@pytest.mark.parametrize("dtype", FLOATS)
def test_eig(dtype):
    rng = np.random.default_rng(6)
    for shape in [(1, 1), (4, 4), (2, 5, 5), (3, 2, 3, 3)]:
        a = rng.uniform(-1, 1, size=shape).astype(dtype)  # complex eigenvalue pairs are likely
        w, v = mx.linalg.eig(mk(a, dtype))
        assert w.dtype == mx.complex64 and v.dtype == mx.complex64
        assert w.shape == shape[:-1] and v.shape == shape
        w, v = np_of(w), np_of(v)
        np.testing.assert_allclose(a @ v, v * w[..., None, :], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1.0, rtol=1e-4)
        ref = np.linalg.eigvals(a.astype(np.float64))
        key = lambda z: np.sort_complex(np.round(z, 4))
        np.testing.assert_allclose(key(w), key(ref), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(key(np_of(mx.linalg.eigvals(mk(a, dtype)))), key(ref), rtol=1e-3, atol=1e-3)


def test_eig_real_symmetric():
    a = np.array([[2.0, 1.0], [1.0, 2.0]], np.float32)
    w = np.sort(np_of(mx.linalg.eigvals(mx.array(a))).real)
    np.testing.assert_allclose(w, [1.0, 3.0], rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 5, 5), (5, 3), (3, 5), (2, 2, 4, 4)])
def test_lu(dtype, shape):
    rtol, atol = TOL[dtype]
    rng = np.random.default_rng(7)
    a = rng.uniform(-1, 1, size=shape).astype(dtype)
    p, l, u = mx.linalg.lu(mk(a, dtype))
    m, n = shape[-2:]
    k = min(m, n)
    assert p.dtype == mx.uint32 and p.shape == shape[:-1]
    assert l.shape == shape[:-2] + (m, k) and u.shape == shape[:-2] + (k, n)
    p, l, u = np_of(p), np_of(l), np_of(u)
    lu_ = l @ u
    rebuilt = np.take_along_axis(lu_, p[..., :, None].astype(np.int64), axis=-2)
    np.testing.assert_allclose(rebuilt, a, rtol=rtol, atol=atol)
    np.testing.assert_array_equal(np.triu(l, 1), 0)
    np.testing.assert_array_equal(np.diagonal(l, axis1=-2, axis2=-1), 1)
    np.testing.assert_array_equal(np.tril(u, -1), 0)
    assert np.all(np.abs(l) <= 1 + 1e-6)  # partial pivoting
    np.testing.assert_array_equal(np.sort(p, axis=-1), np.broadcast_to(np.arange(m), p.shape))

    packed, piv = mx.linalg.lu_factor(mk(a, dtype))
    assert piv.dtype == mx.uint32 and piv.shape == shape[:-2] + (k,)
    packed = np_of(packed)
    np.testing.assert_allclose(np.tril(packed[..., :, :k], -1), np.tril(l, -1), rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.triu(packed[..., :k, :]), u, rtol=rtol, atol=atol)


def test_lu_pivots_known():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    packed, piv = mx.linalg.lu_factor(mx.array(a))
    np.testing.assert_array_equal(np_of(piv), [1, 1])
    np.testing.assert_allclose(np_of(packed), [[3.0, 4.0], [1 / 3, 2 - 4 / 3]], rtol=1e-6)
    p, l, u = mx.linalg.lu(mx.array(a))
    np.testing.assert_array_equal(np_of(p), [1, 0])


# -------------------------------------------------------------------------------- solvers


@pytest.mark.parametrize("dtype", FLOATS)
def test_solve(dtype):
    rtol, atol = TOL[dtype]

    def gen(rng, shape, name, i):
        return _well_conditioned(rng, shape, name) if i == 0 else rng.uniform(-1, 1, size=shape)

    cases = [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 3)),
             ((1, 1), (1,))]
    if not IS_MLX:  # MLX does not broadcast the batch dims of a and b
        cases += [((2, 4, 4), (4, 1)), ((4, 4), (2, 4, 5))]
    check_op(mx.linalg.solve, np.linalg.solve, cases, [dtype], gen=gen, out_dtype="same", rtol=rtol, atol=atol, layouts=FULL_RANK)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("upper", [False, True])
def test_solve_triangular(dtype, upper):
    rtol, atol = TOL[dtype]
    tri = _upper if upper else _lower

    def gen(rng, shape, name, i):
        return tri(rng, shape, name) if i == 0 else rng.uniform(-1, 1, size=shape)

    cases = [((3, 3), (3,)), ((4, 4), (4, 2)), ((2, 5, 5), (2, 5, 3))]
    check_op(lambda a, b: mx.linalg.solve_triangular(a, b, upper=upper), np.linalg.solve, cases, [dtype], gen=gen,
             out_dtype="same", rtol=rtol, atol=atol, layouts=FULL_RANK)


@pytest.mark.parametrize("dtype", FLOATS)
def test_pinv(dtype):
    rtol, atol = TOL[dtype]
    check_op(mx.linalg.pinv, np.linalg.pinv, [(3, 3), (5, 3), (3, 5), (2, 4, 2), (1, 1)], [dtype],
             low=-1, high=1, out_dtype="same", rtol=rtol * 10, atol=atol * 10)
    # Rank-deficient: the zero singular value is dropped, as NumPy does.
    a = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]], dtype)
    assert_close(mx.linalg.pinv(mk(a, dtype)), np.linalg.pinv(a.astype(np.float64)), dtype, rtol, atol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_det_slogdet(dtype):
    if IS_MLX and dtype == "float64":
        pytest.skip("MLX returns float32")
    rtol, atol = TOL[dtype]
    shapes = [(1, 1), (2, 2), (3, 3), (2, 4, 4), (2, 3, 5, 5)]
    check_op(mx.linalg.det, np.linalg.det, shapes, [dtype], low=-1, high=1, out_dtype="same", rtol=rtol, atol=atol, layouts=FULL_RANK)
    check_op(lambda a: list(mx.linalg.slogdet(a)), lambda a: list(np.linalg.slogdet(a)), shapes, [dtype],
             low=-1, high=1, out_dtype="same", rtol=rtol, atol=atol, layouts=FULL_RANK)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]], dtype)
    singular[1] = 2 * singular[0]
    assert_close(mx.linalg.det(mk(np.zeros((3, 3)), dtype)), np.float64(0.0), dtype)
    sign, logdet = mx.linalg.slogdet(mk(np.zeros((3, 3)), dtype))
    assert np_of(sign) == 0 and np_of(logdet) == -np.inf
    # A permutation matrix: the pivot sign matters.
    perm = np.eye(3, dtype=dtype)[[1, 0, 2]]
    assert_close(mx.linalg.det(mk(perm, dtype)), np.float64(-1.0), dtype)


def test_cross():
    check_op(mx.linalg.cross, np.cross, [((3,), (3,)), ((4, 3), (4, 3)), ((4, 3), (3,)), ((2, 1, 3), (5, 3))],
             ["float32", "float64", "int32", ("float32", "int32")])
    check_op(lambda a, b: mx.linalg.cross(a, b, axis=0), lambda a, b: np.cross(a, b, axis=0), [((3, 4), (3, 4))],
             ["float32"])
    raises(ValueError, LA + "cross", lambda: mx.linalg.cross(mx.ones((4,)), mx.ones((4,))))


# -------------------------------------------------------------------------------- errors

ALL_SQUARE_OPS = {
    "inv": mx.linalg.inv,
    "tri_inv": mx.linalg.tri_inv,
    "cholesky": mx.linalg.cholesky,
    "cholesky_inv": mx.linalg.cholesky_inv,
    "eigh": mx.linalg.eigh,
    "eigvalsh": mx.linalg.eigvalsh,
    "eig": mx.linalg.eig,
    "eigvals": mx.linalg.eigvals,
    "det": mx.linalg.det,
    "slogdet": mx.linalg.slogdet,
}
ALL_MATRIX_OPS = {"qr": mx.linalg.qr, "svd": mx.linalg.svd, "lu": mx.linalg.lu, "lu_factor": mx.linalg.lu_factor,
                  "pinv": mx.linalg.pinv}


@pytest.mark.skipif(IS_MLX, reason="kiln's checks")
@pytest.mark.parametrize("name", list(ALL_SQUARE_OPS) + list(ALL_MATRIX_OPS))
def test_input_errors(name):
    fn = {**ALL_SQUARE_OPS, **ALL_MATRIX_OPS}[name]
    raises(ValueError, LA + name, lambda: fn(mx.ones((3,))))
    raises(ValueError, LA + name, lambda: fn(mx.ones(())))
    raises(ValueError, LA + name, lambda: fn(mx.ones((3, 3), dtype=mx.int32)))
    raises(ValueError, LA + name, lambda: fn(mx.ones((3, 3), dtype=mx.float16)))
    if name in ALL_SQUARE_OPS:
        raises(ValueError, LA + name, lambda: fn(mx.ones((2, 3))))


@pytest.mark.skipif(IS_MLX, reason="kiln's checks")
def test_solver_errors():
    raises(ValueError, LA + "solve", lambda: mx.linalg.solve(mx.eye(3), mx.ones((4,))))
    raises(ValueError, LA + "solve", lambda: mx.linalg.solve(mx.eye(3), mx.ones((2, 3))))
    raises(ValueError, LA + "solve", lambda: mx.linalg.solve(mx.ones((2, 3)), mx.ones((2,))))
    raises(ValueError, LA + "solve_triangular", lambda: mx.linalg.solve_triangular(mx.eye(3), mx.ones((4, 1))))
    raises(ValueError, LA + "eigh", lambda: mx.linalg.eigh(mx.eye(3), UPLO="X"))


# -------------------------------------------------------------------------------- edges


def test_empty_matrices():
    assert mx.linalg.inv(mx.zeros((2, 0, 0))).shape == (2, 0, 0)
    assert mx.linalg.cholesky(mx.zeros((0, 0))).shape == (0, 0)
    assert mx.linalg.inv(mx.zeros((0, 3, 3))).shape == (0, 3, 3)
    mx.eval(mx.linalg.inv(mx.zeros((0, 3, 3))))
    q, r = mx.linalg.qr(mx.zeros((0, 3)))
    assert q.shape == (0, 0) and r.shape == (0, 3)
    w, v = mx.linalg.eigh(mx.zeros((0, 0)))
    assert w.shape == (0,) and v.shape == (0, 0)
    assert_close(mx.linalg.det(mx.zeros((0, 0))), np.float32(1.0), "float32")


def test_stream_argument():
    a = mx.array([[2.0, 0.0], [0.0, 4.0]])
    assert_close(mx.linalg.inv(a, stream=mx.cpu), np.array([[0.5, 0.0], [0.0, 0.25]]), "float32")
    assert_close(mx.linalg.norm(a, stream=mx.cpu), np.float32(math.sqrt(20.0)), "float32")


def test_non_contiguous_factorizations():
    rng = np.random.default_rng(8)
    base = rng.uniform(-1, 1, size=(2, 5, 5)).astype(np.float32)
    at = mx.swapaxes(mk(base, "float32"), -1, -2)  # a transposed view
    a = np.swapaxes(base, -1, -2)
    q, r = mx.linalg.qr(at)
    np.testing.assert_allclose(np_of(q) @ np_of(r), a, rtol=2e-4, atol=2e-4)
    p, l, u = mx.linalg.lu(at[:, ::2])  # strided rows too
    rebuilt = np.take_along_axis(np_of(l) @ np_of(u), np_of(p)[..., None].astype(np.int64), axis=-2)
    np.testing.assert_allclose(rebuilt, a[:, ::2], rtol=2e-4, atol=2e-4)
    sym = at + mk(base, "float32")
    w, v = mx.linalg.eigh(sym)
    s = a + base
    np.testing.assert_allclose(s @ np_of(v), np_of(v) * np_of(w)[..., None, :], rtol=2e-4, atol=2e-4)
    w, v = mx.linalg.eig(at)
    np.testing.assert_allclose(a @ np_of(v), np_of(v) * np_of(w)[..., None, :], rtol=2e-4, atol=2e-4)


def test_single_output_kept():
    """Using one output of a multi-output factorization (the others dropped unevaluated)."""
    rng = np.random.default_rng(9)
    a = rng.uniform(-1, 1, size=(4, 3)).astype(np.float32)
    s = mx.linalg.svd(mk(a, "float32"))[1]
    assert_close(s, np.linalg.svd(a.astype(np.float64), compute_uv=False), "float32", 2e-4, 2e-4)
    r = mx.linalg.qr(mk(a, "float32"))[1]
    np.testing.assert_allclose(np.abs(np_of(r)), np.abs(np.linalg.qr(a.astype(np.float64))[1]), rtol=2e-4,
                               atol=2e-4)
    v = mx.linalg.eigh(mk(a.T @ a, "float32"))[1]
    w = np.linalg.eigvalsh(a.T.astype(np.float64) @ a)
    np.testing.assert_allclose((a.T @ a) @ np_of(v), np_of(v) * w, rtol=2e-4, atol=2e-4)


def test_float64_precision():
    rng = np.random.default_rng(10)
    a = rng.uniform(-1, 1, size=(30, 30))
    q, r = mx.linalg.qr(mk(a, "float64"))
    assert q.dtype == mx.float64
    np.testing.assert_allclose(np_of(q) @ np_of(r), a, rtol=1e-12, atol=1e-12)
    u, s, vt = mx.linalg.svd(mk(a, "float64"))
    np.testing.assert_allclose((np_of(u) * np_of(s)) @ np_of(vt), a, rtol=1e-12, atol=1e-12)
