"""The fast FFT paths (mixed radix, Bluestein, real half-length trick, blocked columns) against
numpy.fft; stft/istft against MLX (or a NumPy implementation when MLX is missing)."""

import math

import numpy as np
import pytest

from helpers import assert_close, mx, raises, to_numpy

try:
    import mlx.core as mlx
except ImportError:  # pragma: no cover - MLX is normally installed
    mlx = None

RNG = np.random.default_rng(7)
# Radix 4/2/3/5/7, generic odd radices (11, 13, 31), Bluestein primes, and mixes of them.
LENGTHS = [2, 3, 5, 7, 11, 13, 31, 37, 60, 62, 74, 121, 169, 1000, 1001, 2310, 3000, 4096, 10007, 2 * 10007]


def rel_err(got, ref):
    return np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)


def signal(shape, complex_=True):
    x = RNG.standard_normal(shape)
    return x + 1j * RNG.standard_normal(shape) if complex_ else x


@pytest.mark.parametrize("n", LENGTHS)
def test_fft_lengths_accuracy(n):
    x = signal((3, n)).astype(np.complex64)
    for op, ref in [(mx.fft.fft, np.fft.fft), (mx.fft.ifft, np.fft.ifft)]:
        got = to_numpy(op(mx.array(x)))
        assert rel_err(got, ref(x.astype(np.complex128))) < 2e-6, (op, n)


@pytest.mark.parametrize("n", LENGTHS + [1, 9, 4097])
def test_real_fft_lengths_accuracy(n):
    for dt in [np.float32, np.float64]:
        x = signal((2, n), False).astype(dt)
        spec = np.fft.rfft(x.astype(np.float64))
        assert rel_err(to_numpy(mx.fft.rfft(mx.array(x))), spec) < 2e-6, n
        back = to_numpy(mx.fft.irfft(mx.array(spec.astype(np.complex64)), n=n))
        assert rel_err(back, np.fft.irfft(spec, n=n)) < 2e-6, n


def test_irfft_ignores_imaginary_dc_and_nyquist():
    spec = signal((9,)).astype(np.complex64)
    for n in [16, 17]:
        ref = np.fft.irfft(spec.astype(np.complex128), n=n)
        assert rel_err(to_numpy(mx.fft.irfft(mx.array(spec), n=n)), ref) < 2e-6


@pytest.mark.parametrize("shape,axes", [((1000, 1000), (0, 1)), ((48, 30, 7), (0, 2)), ((5, 10007), (0, 1)),
                                        ((256, 1024), (0,)), ((3, 2310, 4), (1,))])
def test_nd_and_column_transforms(shape, axes):
    x = signal(shape).astype(np.complex64)
    got = to_numpy(mx.fft.fftn(mx.array(x), axes=list(axes)))
    assert rel_err(got, np.fft.fftn(x.astype(np.complex128), axes=axes)) < 2e-6
    xr = x.real.copy()
    got = to_numpy(mx.fft.rfftn(mx.array(xr), axes=list(axes)))
    ref = np.fft.rfftn(xr.astype(np.float64), axes=axes)
    assert rel_err(got, ref) < 2e-6
    s = [shape[a] for a in axes]
    back = to_numpy(mx.fft.irfftn(mx.array(ref.astype(np.complex64)), s=s, axes=list(axes)))
    assert rel_err(back, xr) < 2e-6


def test_transposed_input_columns():
    x = signal((300, 200)).astype(np.complex64)
    got = to_numpy(mx.fft.fft(mx.array(x).T, axis=0))
    assert rel_err(got, np.fft.fft(x.T.astype(np.complex128), axis=0)) < 2e-6


# ---------------------------------------------------------------------------------- stft / istft


def np_stft(x, n_fft=2048, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
            norm="backward", onesided=None):
    """Reference: frames of the (padded) last axis, windowed, transformed; (..., n_freq, n_frames)."""
    hop = hop_length or n_fft // 4
    w = np.ones(win_length or n_fft) if window is None else np.asarray(window, np.float64)
    left = (n_fft - len(w)) // 2
    w = np.pad(w, (left, n_fft - len(w) - left))
    if onesided is None:
        onesided = not np.iscomplexobj(x)
    if center:
        mode = {"constant": "constant", "edge": "edge", "reflect": "reflect"}[pad_mode]
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode=mode)
    frames = 1 + (x.shape[-1] - n_fft) // hop
    fr = np.stack([x[..., f * hop:f * hop + n_fft] for f in range(frames)], axis=-2) * w
    spec = np.fft.rfft(fr.real, axis=-1, norm=norm) if onesided else np.fft.fft(fr, axis=-1, norm=norm)
    return np.swapaxes(spec, -1, -2)


def ref_stft(x, **kw):
    if mlx is not None:
        if "window" in kw and kw["window"] is not None:
            kw = dict(kw, window=mlx.array(kw["window"]))
        return np.array(mlx.fft.stft(mlx.array(x), **kw))
    return np_stft(x, **kw)


STFT_CASES = [
    dict(n_fft=16),
    dict(n_fft=16, hop_length=3),
    dict(n_fft=15, win_length=9, norm="ortho"),
    dict(n_fft=16, window=np.hanning(16).astype(np.float32)),
    dict(n_fft=16, window=np.hanning(11).astype(np.float32), hop_length=5),
    dict(n_fft=16, center=False, norm="forward"),
    dict(n_fft=16, pad_mode="constant"),
    dict(n_fft=16, pad_mode="edge", onesided=False),
    dict(n_fft=64),
]


@pytest.mark.parametrize("kw", STFT_CASES)
def test_stft_matches_reference(kw):
    x = RNG.standard_normal((2, 100)).astype(np.float32)
    got = mx.fft.stft(mx.array(x), **{k: mx.array(v) if k == "window" else v for k, v in kw.items()})
    ref = ref_stft(x, **kw)
    assert_close(got, ref, dtype="complex64", rtol=1e-4, atol=1e-4)


def test_stft_complex_and_short_inputs():
    z = (RNG.standard_normal(40) + 1j * RNG.standard_normal(40)).astype(np.complex64)
    assert_close(mx.fft.stft(mx.array(z), n_fft=8), ref_stft(z, n_fft=8), rtol=1e-4, atol=1e-4)
    x = np.array([1.0, 2.0, 3.0], np.float32)  # reflect padding longer than the signal
    assert_close(mx.fft.stft(mx.array(x), n_fft=8), ref_stft(x, n_fft=8), rtol=1e-4, atol=1e-4)
    assert mx.fft.stft(mx.zeros((2, 3, 20)), n_fft=8).shape == (2, 3, 5, 11)


@pytest.mark.parametrize("kw", [dict(n_fft=16), dict(n_fft=16, hop_length=4, window=np.hanning(16)),
                                dict(n_fft=15, hop_length=5, window=np.hanning(15), center=False),
                                dict(n_fft=32, hop_length=8, window=np.hanning(20), norm="ortho")])
def test_istft_round_trip(kw):
    x = RNG.standard_normal((3, 200)).astype(np.float32)
    kw = {k: mx.array(np.asarray(v, np.float32)) if k == "window" else v for k, v in kw.items()}
    spec = mx.fft.stft(mx.array(x), **kw)
    n_fft = kw["n_fft"]
    inv = {k: v for k, v in kw.items()}
    y = mx.fft.istft(spec, length=200, **inv)
    assert y.shape == (3, 200) and y.dtype == mx.float32
    yn = to_numpy(y)
    # Without centring, samples outside the window's support can't be recovered (set to 0).
    lo = 0 if kw.get("center", True) else n_fft
    hi = 200 if kw.get("center", True) else 200 - n_fft
    np.testing.assert_allclose(yn[:, lo:hi], x[:, lo:hi], rtol=1e-4, atol=1e-4)
    if mlx is not None:
        mkw = {k: mlx.array(np.array(v)) if k == "window" else v for k, v in inv.items()}
        ref = np.array(mlx.fft.istft(mlx.array(to_numpy(spec)), **mkw))
        got = mx.fft.istft(spec, **inv)
        assert_close(got, ref, rtol=1e-4, atol=1e-4)


def test_istft_options():
    x = RNG.standard_normal(50).astype(np.float32)
    spec = mx.fft.stft(mx.array(x), n_fft=16)
    assert mx.fft.istft(spec).shape == (48,)
    assert mx.fft.istft(spec, length=60).shape == (60,)
    assert mx.fft.istft(spec, length=-1).shape == (0,)
    assert mx.fft.istft(spec, n_fft=15).shape == (37,)
    z = (RNG.standard_normal(20) + 1j * RNG.standard_normal(20)).astype(np.complex64)
    two = mx.fft.istft(mx.fft.stft(mx.array(z), n_fft=8), onesided=False)
    assert two.dtype == mx.float32
    np.testing.assert_allclose(to_numpy(two), z.real[:two.shape[0]], rtol=1e-4, atol=1e-4)
    if mlx is not None:
        ref = np.array(mlx.fft.istft(mlx.array(to_numpy(spec)), length=60))
        assert_close(mx.fft.istft(spec, length=60), ref, rtol=1e-4, atol=1e-4)


def test_stft_errors():
    x = mx.zeros((20,))
    raises(ValueError, "stft", lambda: mx.fft.stft(x, n_fft=0))
    raises(ValueError, "stft", lambda: mx.fft.stft(x, n_fft=8, hop_length=0))
    raises(ValueError, "stft", lambda: mx.fft.stft(x, n_fft=8, window=mx.ones(9)))
    raises(ValueError, "stft", lambda: mx.fft.stft(x, n_fft=8, win_length=9))
    raises(ValueError, "stft", lambda: mx.fft.stft(x, n_fft=8, window=mx.ones((2, 4))))
    raises(ValueError, "stft", lambda: mx.fft.stft(mx.array(1.0), n_fft=8))
    raises(ValueError, "stft", lambda: mx.fft.stft(mx.zeros((6,)), n_fft=8, center=False))
    raises(ValueError, "istft", lambda: mx.fft.istft(mx.zeros((5,), mx.complex64)))
    raises(ValueError, "istft", lambda: mx.fft.istft(mx.zeros((9, 5), mx.complex64), hop_length=0))
    raises(ValueError, "istft", lambda: mx.fft.istft(mx.zeros((9, 5), mx.complex64), window=mx.ones(17)))


# ---------------------------------------------------------------------------------- erfinv (float32)


def erfinv_ref(y):
    """float64 erfinv: scipy's if installed, else Newton steps on math.erf / math.erfc from the
    statistics-module guess (the residual near |y| = 1 formed from erfc and 1 - |y|)."""
    try:
        from scipy.special import erfinv
        return erfinv(np.asarray(y, np.float64))
    except ImportError:
        pass
    from helpers import np_erfinv

    def refine(t):
        if abs(t) >= 1 or t == 0:
            return math.copysign(math.inf, t) if abs(t) == 1 else t
        a = abs(t)
        x = abs(float(np_erfinv(a)))
        for _ in range(3):
            f = math.erf(x) - a if a < 0.5 else (1.0 - a) - math.erfc(x)
            x -= f / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        return math.copysign(x, t)

    return np.vectorize(refine, otypes=[np.float64])(np.asarray(y, np.float64))


def test_erfinv_float32_ulp():
    ys = np.concatenate([np.linspace(-1, 1, 200001, dtype=np.float32)[1:-1],
                         1 - np.float32(2.0) ** -np.arange(1, 25, dtype=np.float32),
                         np.float32(2.0) ** -np.arange(1, 60, dtype=np.float32)]).astype(np.float32)
    ys = np.concatenate([ys, -ys])
    got = to_numpy(mx.erfinv(mx.array(ys))).astype(np.float64)
    ref = erfinv_ref(ys)
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert (np.abs(got - ref) / ulp).max() <= 4
    special = to_numpy(mx.erfinv(mx.array(np.array([1, -1, 0, -0.0, 1.5, -2, np.nan], np.float32))))
    assert special[0] == np.inf and special[1] == -np.inf and special[2] == 0
    assert np.signbit(special[3]) and np.isnan(special[4:]).all()


# ---------------------------------------------------------------------------------- linalg.solve (LU)


def test_solve_ill_conditioned_beats_inverse():
    n = 12
    i = np.arange(n)
    a = 1.0 / (i[:, None] + i[None, :] + 1)  # Hilbert matrix, condition ~1e16
    b = a @ RNG.standard_normal((n, 3))
    am, bm = mx.array(a, dtype=mx.float64), mx.array(b, dtype=mx.float64)
    x_solve = to_numpy(mx.linalg.solve(am, bm, stream=mx.cpu))
    x_inv = to_numpy(mx.linalg.inv(am, stream=mx.cpu) @ bm)
    res_solve = np.abs(a @ x_solve - b).max()
    res_inv = np.abs(a @ x_inv - b).max()
    assert res_solve < 1e-13 and res_solve * 10 < res_inv


def test_solve_batched_and_vector():
    a = RNG.standard_normal((3, 1, 5, 5)) + 5 * np.eye(5)
    b = RNG.standard_normal((2, 5, 4))
    for dt, tol in [(np.float32, 1e-4), (np.float64, 1e-10)]:
        mt = getattr(mx, np.dtype(dt).name)
        got = mx.linalg.solve(mx.array(a, dtype=mt), mx.array(b, dtype=mt), stream=mx.cpu)
        assert_close(got, np.linalg.solve(a, b), dtype=np.dtype(dt).name, rtol=tol, atol=tol)
    v = RNG.standard_normal(5)
    assert_close(mx.linalg.solve(mx.array(a[0, 0]), mx.array(v), stream=mx.cpu), np.linalg.solve(a[0, 0], v),
                 rtol=1e-4, atol=1e-4)
    with pytest.raises(RuntimeError):
        mx.eval(mx.linalg.solve(mx.array([[1.0, 2.0], [2.0, 4.0]]), mx.array([1.0, 1.0]), stream=mx.cpu))
