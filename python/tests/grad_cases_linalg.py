"""Transformation-rule cases (see test_grad_ops.py) for the LAPACK factorizations (inv, tri_inv,
cholesky, lu_factor, qr, svd, eigh/eigvalsh) and convolutions. FFTs run in float32/complex64 only,
so they are tested in test_grad_linalg.py instead."""

from helpers import mx
from test_grad_ops import U

L = mx.linalg
SMALL = dict(lo=-0.5, hi=0.5)


def eye3(x):
    return mx.eye(x.shape[-1], dtype=x.dtype)


def spd(x):
    """A well-conditioned symmetric positive-definite matrix from x (..., n, n)."""
    return x @ mx.swapaxes(x, -1, -2) + 3 * eye3(x)


def sym_gapped(x):
    """A symmetric matrix with well-separated eigenvalues."""
    d = mx.diag(mx.array([0.0, 2.0, 4.0], dtype=x.dtype))
    return d + 0.3 * (x + mx.swapaxes(x, -1, -2))


CASES = {
    # inverse
    "inv": (lambda x: L.inv(x + 3 * eye3(x)), [U(3, 3)]),
    "tri_inv_lower": (lambda x: L.tri_inv(x + 3 * eye3(x)), [U(3, 3)]),
    "tri_inv_upper": (lambda x: L.tri_inv(x + 3 * eye3(x), upper=True), [U(3, 3)]),
    # cholesky: reads one triangle only, so the non-symmetric input tests that too
    "cholesky_lower": (lambda x: L.cholesky(x + 3 * eye3(x)), [U(3, 3, **SMALL)]),
    "cholesky_upper": (lambda x: L.cholesky(x + 3 * eye3(x), upper=True), [U(3, 3, **SMALL)]),
    "cholesky_spd": (lambda x: L.cholesky(spd(x)), [U(3, 3)]),
    "cholesky_inv": (lambda x: L.cholesky_inv(L.cholesky(spd(x))), [U(3, 3)]),
    # LU (fixed pivots; the random inputs are far from pivot ties)
    "lu_factor": (lambda x: L.lu_factor(x)[0], [U(3, 3)]),
    "lu_l": (lambda x: L.lu(x)[1], [U(3, 3)]),
    "lu_u": (lambda x: L.lu(x)[2], [U(3, 3)]),
    "solve": (lambda a, b: L.solve(a + 3 * eye3(a), b), [U(3, 3), U(3, 2)]),
    "det": (lambda x: L.det(x), [U(3, 3)]),
    # QR
    "qr_q": (lambda x: L.qr(x)[0], [U(3, 3)]),
    "qr_r": (lambda x: L.qr(x)[1], [U(3, 3)]),
    "qr_tall_q": (lambda x: L.qr(x)[0], [U(4, 2)]),
    "qr_tall_r": (lambda x: L.qr(x)[1], [U(4, 2)]),
    "qr_wide_q": (lambda x: L.qr(x)[0], [U(2, 4)]),
    "qr_wide_r": (lambda x: L.qr(x)[1], [U(2, 4)]),
    # SVD
    "svd_values": (lambda x: L.svd(x, compute_uv=False), [U(3, 3)]),
    "svd_values_wide": (lambda x: L.svd(x, compute_uv=False), [U(2, 4)]),
    "svd_values_tall": (lambda x: L.svd(x, compute_uv=False), [U(4, 3)]),
    "svd_s": (lambda x: L.svd(x)[1], [U(3, 3)]),
    "svd_u": (lambda x: L.svd(x)[0], [U(3, 3)]),
    "svd_vt": (lambda x: L.svd(x)[2], [U(3, 3)]),
    "svd_reduced_tall": (lambda x: L.svd(x)[0][:, :2] * L.svd(x)[1] @ L.svd(x)[2], [U(4, 2)]),
    "svd_reduced_wide": (lambda x: L.svd(x)[0] * L.svd(x)[1] @ L.svd(x)[2][:2], [U(2, 4)]),
    "svd_u_tall_leading": (lambda x: L.svd(x)[0][:, :2], [U(4, 2)]),
    "svd_vt_wide_leading": (lambda x: L.svd(x)[2][:2], [U(2, 4)]),
    "pinv": (lambda x: L.pinv(x), [U(3, 2)]),
    # eigh (reads one triangle)
    "eigvalsh": (lambda x: L.eigvalsh(sym_gapped(x)), [U(3, 3)]),
    "eigvalsh_lower_only": (lambda x: L.eigvalsh(x + mx.diag(mx.array([0.0, 2.0, 4.0], dtype=x.dtype))), [U(3, 3, **SMALL)]),
    "eigvalsh_upper_only": (lambda x: L.eigvalsh(x + mx.diag(mx.array([0.0, 2.0, 4.0], dtype=x.dtype)), UPLO="U"), [U(3, 3, **SMALL)]),
    "eigh_values": (lambda x: L.eigh(sym_gapped(x))[0], [U(3, 3)]),
    "eigh_vectors": (lambda x: L.eigh(sym_gapped(x))[1], [U(3, 3)]),
    "eigh_vectors_upper": (lambda x: L.eigh(x + mx.diag(mx.array([0.0, 2.0, 4.0], dtype=x.dtype)), UPLO="U")[1], [U(3, 3, **SMALL)]),
    # convolutions (channels last)
    "conv1d": (lambda x, w: mx.conv1d(x, w), [U(2, 7, 3), U(4, 3, 3)]),
    "conv1d_stride2_pad": (lambda x, w: mx.conv1d(x, w, stride=2, padding=1), [U(2, 8, 3), U(4, 3, 3)]),
    "conv1d_dilation2": (lambda x, w: mx.conv1d(x, w, dilation=2), [U(2, 9, 2), U(3, 3, 2)]),
    "conv1d_groups2": (lambda x, w: mx.conv1d(x, w, groups=2, padding=2), [U(2, 6, 4), U(6, 3, 2)]),
    "conv1d_stride3_rem": (lambda x, w: mx.conv1d(x, w, stride=3), [U(1, 10, 2), U(2, 2, 2)]),
    "conv2d": (lambda x, w: mx.conv2d(x, w), [U(2, 5, 5, 2), U(3, 3, 3, 2)]),
    "conv2d_stride_pad": (lambda x, w: mx.conv2d(x, w, stride=(2, 1), padding=(1, 2)), [U(1, 6, 5, 2), U(3, 3, 2, 2)]),
    "conv2d_dilation_groups": (lambda x, w: mx.conv2d(x, w, dilation=(2, 1), groups=2), [U(2, 7, 5, 4), U(4, 2, 3, 2)]),
    "conv_transpose1d": (lambda x, w: mx.conv_transpose1d(x, w, stride=2, padding=1), [U(2, 5, 3), U(2, 3, 3)]),
    "conv_transpose2d": (lambda x, w: mx.conv_transpose2d(x, w, stride=2), [U(1, 3, 4, 2), U(3, 2, 3, 2)]),
    "conv_general_all": (
        lambda x, w: mx.conv_general(
            x, w, stride=[2, 1], padding=([1, 0], [2, 1]), kernel_dilation=[1, 2], input_dilation=[2, 1], groups=2, flip=True
        ),
        [U(2, 4, 6, 4), U(4, 2, 2, 2)],
    ),
    "conv_general_flip_1d": (
        lambda x, w: mx.conv_general(x, w, stride=2, padding=([0], [3]), input_dilation=3, flip=True),
        [U(1, 4, 2), U(3, 3, 2)],
    ),
}
