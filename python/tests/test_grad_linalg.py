"""Targeted transformation-rule tests for the linalg / conv / FFT family that the float64 case
tables (grad_cases_linalg.py) cannot express: FFTs (float32 / complex64 only, complex inputs),
Eig (not differentiable, raises like MLX), vmap with unbatched weights, second derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import mx

L = mx.linalg
RNG = np.random.default_rng(1234)


def crandn(*shape):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(np.complex64)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def vdot_real(a, b):
    """Real inner product <a, b> = Re sum conj(a) b."""
    return float(np.real(np.sum(np.conj(np.asarray(a, np.complex128)) * np.asarray(b, np.complex128))))


# name -> (fn, input maker, complex input?)
FFT_CASES = {
    "fft": (lambda x: mx.fft.fft(x), lambda: crandn(2, 6), True),
    "fft_n_pad": (lambda x: mx.fft.fft(x, n=8), lambda: crandn(2, 6), True),
    "fft_n_cut": (lambda x: mx.fft.fft(x, n=4, axis=0), lambda: crandn(6, 3), True),
    "ifft": (lambda x: mx.fft.ifft(x), lambda: crandn(3, 5), True),
    "fft2": (lambda x: mx.fft.fft2(x), lambda: crandn(2, 4, 5), True),
    "ifftn_axes": (lambda x: mx.fft.ifftn(x, axes=[0, 2]), lambda: crandn(3, 2, 4), True),
    "fft_ortho": (lambda x: mx.fft.fft(x, norm="ortho"), lambda: crandn(7), True),
    "fft_of_real": (lambda x: mx.fft.fft(x), lambda: randn(2, 5), False),
    "rfft_even": (lambda x: mx.fft.rfft(x), lambda: randn(2, 6), False),
    "rfft_odd": (lambda x: mx.fft.rfft(x), lambda: randn(3, 7), False),
    "rfft_axis0": (lambda x: mx.fft.rfft(x, axis=0), lambda: randn(6, 3), False),
    "rfft2": (lambda x: mx.fft.rfft2(x), lambda: randn(2, 4, 6), False),
    "rfftn_axes": (lambda x: mx.fft.rfftn(x, axes=[2, 0]), lambda: randn(4, 2, 5), False),
    "irfft_even": (lambda x: mx.fft.irfft(x), lambda: crandn(2, 4), True),
    "irfft_odd": (lambda x: mx.fft.irfft(x, n=7), lambda: crandn(2, 4), True),
    "irfft2": (lambda x: mx.fft.irfft2(x), lambda: crandn(2, 3, 4), True),
    "irfftn_axes": (lambda x: mx.fft.irfftn(x, axes=[1, 0]), lambda: crandn(4, 3, 2), True),
}


@pytest.mark.parametrize("name", sorted(FFT_CASES))
def test_fft_jvp_matches_linearity(name):
    fn, make, _ = FFT_CASES[name]
    x, t = make(), make()
    _, jv = mx.jvp(fn, [mx.array(x)], [mx.array(t)])
    # The transforms are linear: J t = f(t).
    np.testing.assert_allclose(np.array(jv[0]), np.array(fn(mx.array(t))), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FFT_CASES))
def test_fft_vjp_is_adjoint_of_jvp(name):
    """<c, J t> == <J^H c, t> with the real inner product (MLX's conjugate cotangent convention)."""
    fn, make, _ = FFT_CASES[name]
    x, t = make(), make()
    out = fn(mx.array(x))
    if out.dtype == mx.complex64:
        c = crandn(*out.shape)
    else:
        c = randn(*out.shape)
    _, jv = mx.jvp(fn, [mx.array(x)], [mx.array(t)])
    _, vj = mx.vjp(fn, [mx.array(x)], [mx.array(c)])
    assert vj[0].dtype == mx.array(x).dtype
    lhs = vdot_real(c, np.array(jv[0]))
    rhs = vdot_real(np.array(vj[0]), t)
    assert lhs == pytest.approx(rhs, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("name", ["rfft_even", "rfft_odd", "rfft2", "fft_of_real"])
def test_fft_real_input_grad_matches_finite_differences(name):
    fn, make, _ = FFT_CASES[name]
    x = make().astype(np.float64)
    w = RNG.uniform(0.5, 1.5, size=fn(mx.array(x.astype(np.float32))).shape)

    def loss(a):
        y = fn(a)
        return mx.sum(mx.real(y) * mx.array(w, dtype=mx.float32) + mx.imag(y) * mx.array(w[::-1].copy(), dtype=mx.float32))

    g = np.array(mx.grad(loss)(mx.array(x, dtype=mx.float32)))
    eps = 1e-2
    num = np.zeros_like(x)
    for j in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[j] += eps
        m.flat[j] -= eps
        num.flat[j] = (loss(mx.array(p, dtype=mx.float32)).item() - loss(mx.array(m, dtype=mx.float32)).item()) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=2e-3, atol=2e-3)


def test_fft_vjp_matches_mlx_convention():
    """Complex FFT cotangent is F^H c (n * ifft(c)); irfft's is rfft(c) with the inner bins doubled."""
    c = crandn(5)
    _, vj = mx.vjp(mx.fft.fft, [mx.array(crandn(5))], [mx.array(c)])
    np.testing.assert_allclose(np.array(vj[0]), 5 * np.fft.ifft(c), rtol=1e-5, atol=1e-5)
    co = randn(6)
    _, vj = mx.vjp(lambda z: mx.fft.irfft(z), [mx.array(crandn(4))], [mx.array(co)])
    np.testing.assert_allclose(np.array(vj[0]), np.fft.rfft(co) * np.array([1, 2, 2, 1]) / 6, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FFT_CASES))
def test_fft_vmap_matches_loop(name):
    fn, make, _ = FFT_CASES[name]
    xs = np.stack([make() for _ in range(3)], axis=1)
    got = mx.vmap(fn, in_axes=1)(mx.array(xs))
    expected = np.stack([np.array(fn(mx.array(xs[:, b]))) for b in range(3)])
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-5, atol=1e-5)


def test_eig_derivatives_raise_like_mlx():
    a = mx.array(RNG.standard_normal((3, 3)), dtype=mx.float32)
    with pytest.raises(ValueError, match="Eig"):
        mx.grad(lambda x: mx.sum(mx.real(L.eigvals(x))))(a)
    with pytest.raises(ValueError, match="Eig"):
        mx.jvp(lambda x: L.eig(x)[1], [a], [a])


def test_eig_vmap_matches_loop():
    a = RNG.standard_normal((2, 3, 3)).astype(np.float32)
    w, v = mx.vmap(L.eig)(mx.array(a))
    for b in range(2):
        wb, vb = L.eig(mx.array(a[b]))
        np.testing.assert_allclose(np.array(w[b]), np.array(wb), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.array(v[b]), np.array(vb), rtol=1e-5, atol=1e-5)


def test_lu_of_non_square_grad_raises():
    a = mx.array(RNG.standard_normal((3, 2)))
    with pytest.raises(ValueError, match="LUF"):
        mx.grad(lambda x: mx.sum(L.lu_factor(x)[0]))(a)


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (2, None), (None, 3)])
def test_conv_vmap_batched_input_or_weights(in_axes):
    x = RNG.standard_normal((3, 2, 6, 5, 4))
    w = RNG.standard_normal((3, 4, 2, 3, 2))
    xs = x if in_axes[0] is not None else x[0]
    ws = w if in_axes[1] is not None else w[0]
    if in_axes[0] == 2:
        xs = np.moveaxis(x, 0, 2)
    if in_axes[1] == 3:
        ws = np.moveaxis(w, 0, 3)

    def f(a, b):
        return mx.conv2d(a, b, stride=(2, 1), padding=1, groups=2)

    f64 = lambda a: mx.array(a, dtype=mx.float64)
    got = mx.vmap(f, in_axes=in_axes)(f64(xs), f64(ws))
    expected = np.stack(
        [np.array(f(f64(x[i] if in_axes[0] is not None else x[0]), f64(w[i] if in_axes[1] is not None else w[0]))) for i in range(3)]
    )
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: mx.sum(L.inv(x + 3 * mx.eye(3, dtype=x.dtype)) ** 2),
        lambda x: mx.sum(L.cholesky(x @ x.T + 3 * mx.eye(3, dtype=x.dtype)) ** 3),
        lambda x: mx.sum(L.svd(x, compute_uv=False) ** 3),
        lambda x: mx.sum(mx.conv1d(x[None, :, :2], x[None, :2, :2] + 1, padding=1) ** 2),
    ],
)
def test_second_derivative_matches_finite_differences(fn):
    x = RNG.uniform(-1, 1, size=(3, 3))
    v = RNG.standard_normal((3, 3))
    f64 = lambda a: mx.array(a, dtype=mx.float64)
    hv = np.array(mx.jvp(mx.grad(fn), [f64(x)], [f64(v)])[1][0])
    eps = 1e-5
    gp = np.array(mx.grad(fn)(f64(x + eps * v)))
    gm = np.array(mx.grad(fn)(f64(x - eps * v)))
    np.testing.assert_allclose(hv, (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-6)
