"""kiln.core.fft against numpy.fft: every transform, lengths with and without a power of two,
batches, several axes, cutting and padding, norms, round trips and error cases."""

import numpy as np
import pytest

from helpers import ALL_LAYOUTS, IS_MLX, assert_close, check_op, mx, raises

LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 36, 51, 64, 97, 100, 128, 143, 210, 625, 1000, 1024, 4099]
NORMS = ["backward", "ortho", "forward"]


def cgen(rng, shape, name, i):
    """Complex values with both parts in [-1, 1] (real values for real dtypes)."""
    v = rng.uniform(-1, 1, size=shape)
    if name == "complex64":
        v = v + 1j * rng.uniform(-1, 1, size=shape)
    return v


def f32(op):
    """`op` checked to return float32: check_op is then told no dtype (out_dtype=None), as its NumPy
    inputs for a float result would drop the imaginary parts of complex inputs."""

    def run(a):
        out = op(a)
        assert out.dtype == mx.float32
        return out

    return run


def tol(n):
    # Rounding of float32 inputs and outputs; the sums themselves are accurate (double).
    return dict(rtol=1e-4, atol=1e-5 * max(1.0, np.sqrt(n)))


@pytest.mark.parametrize("n", LENGTHS)
def test_fft_ifft_lengths(n):
    shapes = [(n,), (3, n)]
    for op, ref in [(mx.fft.fft, np.fft.fft), (mx.fft.ifft, np.fft.ifft)]:
        check_op(lambda a: op(a), lambda a: ref(a), shapes, ["complex64"], gen=cgen, out_dtype="complex64",
                 layouts=["contiguous", "transposed"], **tol(n))


@pytest.mark.parametrize("n", LENGTHS)
def test_rfft_irfft_lengths(n):
    check_op(lambda a: mx.fft.rfft(a), lambda a: np.fft.rfft(a), [(n,), (4, n)], ["float32"], gen=cgen,
             out_dtype="complex64", layouts=["contiguous", "transposed"], **tol(n))
    if n > 1:
        m = n // 2 + 1
        check_op(f32(lambda a: mx.fft.irfft(a, n)), lambda a: np.fft.irfft(a, n), [(m,), (2, m)], ["complex64"],
                 gen=cgen, out_dtype=None, layouts=["contiguous"], **tol(n))
        check_op(f32(lambda a: mx.fft.irfft(a)), lambda a: np.fft.irfft(a), [(m,), (2, m)], ["complex64"],
                 gen=cgen, out_dtype=None, layouts=["contiguous"], **tol(n))


def test_input_dtypes_and_layouts():
    # Real and integer inputs become complex64 (rfft: float32); any memory layout.
    for dt in ["float32", "int32", "float16", "bfloat16", "bool_"]:
        check_op(lambda a: mx.fft.fft(a), lambda a: np.fft.fft(a), [(5,), (4, 6)], [dt], out_dtype="complex64",
                 **tol(6))
        check_op(lambda a: mx.fft.rfft(a), lambda a: np.fft.rfft(a), [(5,), (4, 6)], [dt],
                 out_dtype="complex64", **tol(6))
    check_op(lambda a: mx.fft.fft(a, axis=0), lambda a: np.fft.fft(a, axis=0), [(6, 5), (3, 4, 5)],
             ["complex64"], gen=cgen, out_dtype="complex64", layouts=ALL_LAYOUTS, **tol(6))


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_batched_axes(axis):
    shape = (6, 5, 7)
    for op, ref in [(mx.fft.fft, np.fft.fft), (mx.fft.ifft, np.fft.ifft)]:
        check_op(lambda a: op(a, axis=axis), lambda a: ref(a, axis=axis), [shape], ["complex64"], gen=cgen,
                 out_dtype="complex64", **tol(7))
    check_op(lambda a: mx.fft.rfft(a, axis=axis), lambda a: np.fft.rfft(a, axis=axis), [shape], ["float32"],
             out_dtype="complex64", **tol(7))


@pytest.mark.parametrize("n", [1, 3, 4, 9, 16, 33])
def test_n_cut_and_pad(n):
    shape = (3, 8)
    for op, ref in [(mx.fft.fft, np.fft.fft), (mx.fft.ifft, np.fft.ifft)]:
        check_op(lambda a: op(a, n), lambda a: ref(a, n), [shape], ["complex64"], gen=cgen,
                 out_dtype="complex64", **tol(n))
        check_op(lambda a: op(a, n, 0), lambda a: ref(a, n, 0), [shape], ["complex64"], gen=cgen,
                 out_dtype="complex64", **tol(n))
    check_op(lambda a: mx.fft.rfft(a, n), lambda a: np.fft.rfft(a, n), [shape], ["float32"],
             out_dtype="complex64", **tol(n))
    if n > 1:
        check_op(f32(lambda a: mx.fft.irfft(a, n)), lambda a: np.fft.irfft(a, n), [shape], ["complex64"], gen=cgen,
                 out_dtype=None, **tol(n))


@pytest.mark.parametrize("norm", NORMS)
def test_norms(norm):
    for op, ref in [(mx.fft.fft, np.fft.fft), (mx.fft.ifft, np.fft.ifft)]:
        check_op(lambda a: op(a, norm=norm), lambda a: ref(a, norm=norm), [(2, 12)], ["complex64"], gen=cgen,
                 out_dtype="complex64", **tol(12))
    check_op(lambda a: mx.fft.rfft(a, norm=norm), lambda a: np.fft.rfft(a, norm=norm), [(2, 12)], ["float32"],
             out_dtype="complex64", **tol(12))
    check_op(f32(lambda a: mx.fft.irfft(a, 9, norm=norm)), lambda a: np.fft.irfft(a, 9, norm=norm), [(2, 5)],
             ["complex64"], gen=cgen, out_dtype=None, **tol(12))
    check_op(lambda a: mx.fft.fftn(a, norm=norm), lambda a: np.fft.fftn(a, norm=norm), [(3, 4, 5)], ["complex64"],
             gen=cgen, out_dtype="complex64", **tol(60))
    check_op(f32(lambda a: mx.fft.irfftn(a, norm=norm)), lambda a: np.fft.irfftn(a, norm=norm), [(3, 4, 5)],
             ["complex64"], gen=cgen, out_dtype=None, **tol(60))


ND_CASES = [
    # (shape, s, axes)
    ((4, 6), None, None),
    ((3, 5, 7), None, None),
    ((3, 5, 7), None, [0, 2]),
    ((3, 5, 7), None, [2, 0]),
    ((3, 5, 7), None, [-1]),
    ((3, 5, 7), [4, 9], [0, 1]),
    ((3, 5, 7), [2, 3, 16], [0, 1, 2]),
    ((3, 5, 7), [6, 4], [-1, 0]),
    ((2, 3, 4, 5), None, [1, 3]),
]


@pytest.mark.parametrize("shape,s,axes", ND_CASES)
def test_nd(shape, s, axes):
    kw = {}
    if s is not None:
        kw["s"] = s
    if axes is not None:
        kw["axes"] = axes
    t = tol(int(np.prod(shape)) * 2)
    for op, ref in [(mx.fft.fftn, np.fft.fftn), (mx.fft.ifftn, np.fft.ifftn)]:
        check_op(lambda a: op(a, **kw), lambda a: ref(a, **kw), [shape], ["complex64"], gen=cgen,
                 out_dtype="complex64", **t)
    check_op(lambda a: mx.fft.rfftn(a, **kw), lambda a: np.fft.rfftn(a, **kw), [shape], ["float32"],
             out_dtype="complex64", **t)
    check_op(f32(lambda a: mx.fft.irfftn(a, **kw)), lambda a: np.fft.irfftn(a, **kw), [shape], ["complex64"],
             gen=cgen, out_dtype=None, layouts=["contiguous", "transposed"], **t)


@pytest.mark.parametrize("shape,s,axes", [((4, 6), None, None), ((3, 5, 7), None, None), ((3, 5, 7), [4, 9], [-2, -1]),
                                          ((3, 5, 7), None, [0, 2]), ((3, 5, 7), [6, 3], [2, 0])])
def test_2d(shape, s, axes):
    kw = {}
    if s is not None:
        kw["s"] = s
    if axes is not None:
        kw["axes"] = axes
    t = tol(200)
    pairs = [(mx.fft.fft2, np.fft.fft2, "complex64", "complex64"), (mx.fft.ifft2, np.fft.ifft2, "complex64", "complex64"),
             (mx.fft.rfft2, np.fft.rfft2, "float32", "complex64"), (mx.fft.irfft2, np.fft.irfft2, "complex64", "float32")]
    for op, ref, din, dout in pairs:
        f = (lambda a: op(a, **kw)) if dout == "complex64" else f32(lambda a: op(a, **kw))
        check_op(f, lambda a: ref(a, **kw), [shape], [din], gen=cgen, out_dtype=dout if dout == "complex64" else None,
                 **t)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 17, 100, 1024])
def test_round_trips(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((3, n)).astype(np.float32)
    a = mx.array(x)
    assert_close(mx.fft.irfft(mx.fft.rfft(a), n), x, "float32", rtol=1e-4, atol=1e-5)
    z = (x + 1j * rng.standard_normal((3, n))).astype(np.complex64)
    assert_close(mx.fft.ifft(mx.fft.fft(mx.array(z))), z, "complex64", rtol=1e-4, atol=1e-5)
    y = rng.standard_normal((4, 5, n)).astype(np.float32)
    assert_close(mx.fft.irfftn(mx.fft.rfftn(mx.array(y)), s=y.shape, axes=[0, 1, 2]), y, "float32", rtol=1e-4, atol=1e-5)


def test_large_parallel():
    # Enough rows to split over threads, with a Bluestein length.
    check_op(lambda a: mx.fft.fft(a), lambda a: np.fft.fft(a), [(300, 257)], ["complex64"], gen=cgen,
             out_dtype="complex64", layouts=["contiguous"], **tol(257))
    check_op(lambda a: mx.fft.rfft2(a), lambda a: np.fft.rfft2(a), [(120, 96)], ["float32"], gen=cgen,
             out_dtype="complex64", layouts=["contiguous"], **tol(120 * 96))


def test_empty_and_complex_rfft():
    out = mx.fft.fft(mx.zeros((0, 4), dtype=mx.complex64))
    assert out.shape == (0, 4) and out.dtype == mx.complex64
    out = mx.fft.rfft(mx.zeros((0, 4)))
    assert out.shape == (0, 3)
    # Padding an empty axis gives zeros.
    assert_close(mx.fft.fft(mx.zeros((2, 0)), n=3, axis=1), np.zeros((2, 3), np.complex64), "complex64")
    # rfft of complex input uses the real part.
    z = np.array([1 + 2j, 2 - 1j, 3 + 0.5j], np.complex64)
    assert_close(mx.fft.rfft(mx.array(z)), np.fft.rfft(z.real), "complex64", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (6,), (4, 7), (3, 4, 5)])
def test_fftshift(shape):
    for dt in ["int32", "float32"]:
        check_op(lambda a: mx.fft.fftshift(a), lambda a: np.fft.fftshift(a), [shape], [dt], out_dtype="same")
        check_op(lambda a: mx.fft.ifftshift(a), lambda a: np.fft.ifftshift(a), [shape], [dt], out_dtype="same")
        check_op(lambda a: mx.fft.fftshift(a, axes=-1), lambda a: np.fft.fftshift(a, axes=-1), [shape], [dt],
                 out_dtype="same")
        check_op(lambda a: mx.fft.ifftshift(a, axes=[0]), lambda a: np.fft.ifftshift(a, axes=[0]), [shape], [dt],
                 out_dtype="same")


def test_errors():
    x = mx.ones((3, 4))
    raises(ValueError, "fft", lambda: mx.fft.fft(x, n=0))
    raises(ValueError, "fft", lambda: mx.fft.fft(x, n=-2))
    raises(ValueError, "rfft", lambda: mx.fft.rfft(x, n=0))
    raises(ValueError, "fftn", lambda: mx.fft.fftn(x, s=[4, 0]))
    raises(ValueError, "fft", lambda: mx.fft.fft(mx.zeros((0,))))
    raises(ValueError, "irfft", lambda: mx.fft.irfft(mx.ones((1,))))
    raises(IndexError, "fft", lambda: mx.fft.fft(x, axis=2))
    raises(IndexError, "fft", lambda: mx.fft.fft(x, axis=-3))
    raises(IndexError, "fft", lambda: mx.fft.fft(mx.array(1.0)))
    raises(IndexError, "fft2", lambda: mx.fft.fft2(mx.ones((3,))))
    raises(IndexError, "fftn", lambda: mx.fft.fftn(x, axes=[0, 5]))
    raises(ValueError, "fftn", lambda: mx.fft.fftn(x, axes=[0, 0]))
    raises(ValueError, "fftn", lambda: mx.fft.fftn(x, s=[2], axes=[0, 1]))
    raises(ValueError, "fft", lambda: mx.fft.fft(x, norm="bad"))
    raises(ValueError, "fftn", lambda: mx.fft.fftn(x, s=[2, 2]))
    raises(ValueError, "rfftn", lambda: mx.fft.rfftn(x, s=[2], axes=None))
    raises(IndexError, "fftshift", lambda: mx.fft.fftshift(x, axes=3))


def test_no_axes_is_identity():
    x = mx.ones((2, 3))
    assert_close(mx.fft.fftn(x, axes=[]), np.ones((2, 3), np.float32), "float32")


@pytest.mark.parametrize("n", [1, 2, 5, 8, 101])
@pytest.mark.parametrize("d", [1.0, 0.25, -3.0])
def test_fftfreq(n, d):
    assert_close(mx.fft.fftfreq(n, d), np.fft.fftfreq(n, d), "float32", rtol=1e-6, atol=1e-7)
    assert_close(mx.fft.rfftfreq(n, d), np.fft.rfftfreq(n, d), "float32", rtol=1e-6, atol=1e-7)
    assert_close(mx.fft.fftfreq(n), np.fft.fftfreq(n), "float32", rtol=1e-6, atol=1e-7)


def test_fftfreq_errors():
    raises(ValueError, "fftfreq", lambda: mx.fft.fftfreq(0))
    raises(ValueError, "fftfreq", lambda: mx.fft.fftfreq(3, 0.0))
    raises(ValueError, "rfftfreq", lambda: mx.fft.rfftfreq(-1))
