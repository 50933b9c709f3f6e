"""kiln.core.random: keys, determinism, distributions and errors.

Statistical checks use fixed keys and generous bounds, and compare with references written here
from the distributions' definitions (CDFs via math.erf), never with the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import IS_MLX, mx

kiln_only = pytest.mark.skipif(IS_MLX, reason="kiln's Threefry stream, not MLX's")

N = 100_000


def np_of(a):
    return np.array(a.astype(mx.float32)) if a.dtype in (mx.bfloat16,) else np.array(a)


def ks_stat(samples, cdf):
    """Kolmogorov-Smirnov distance between the samples' empirical CDF and `cdf`."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    f = np.array([cdf(v) for v in x])
    hi = np.arange(1, n + 1) / n - f
    lo = f - np.arange(0, n) / n
    return max(hi.max(), lo.max())


def ks_bound(n):
    # About 4.5 standard errors of the KS statistic: a fixed key passes unless the sampler is wrong.
    return 2.5 / math.sqrt(n)


def phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# ------------------------------------------------------------------------------ keys


def test_key_layout():
    assert mx.random.key(5).dtype == mx.uint32
    assert mx.random.key(5).tolist() == [0, 5]
    assert mx.random.key(2**40 + 3).tolist() == [256, 3]
    assert mx.random.key(2**64 - 1).tolist() == [2**32 - 1, 2**32 - 1]


def test_key_rejects_negative_and_huge_seeds():
    with pytest.raises(TypeError):
        mx.random.key(-1)
    with pytest.raises(TypeError):
        mx.random.seed(2**64)


@kiln_only
def test_threefry_known_answer():
    # Threefry-2x32-20 of counter (0, 0) under key (0, 0), from the Random123 known-answer vectors.
    k = mx.random.split(mx.random.key(0), 1)
    assert k.tolist() == [[0x6B200159, 0x99BA4EFE]]


def test_split_shapes_and_distinct_keys():
    k = mx.random.key(7)
    ks = mx.random.split(k)
    assert ks.shape == (2, 2) and ks.dtype == mx.uint32
    assert ks[0].tolist() != ks[1].tolist()
    assert mx.random.split(k, 5).shape == (5, 2)
    assert mx.random.split(k, 0).shape == (0, 2)
    rows = [tuple(r) for r in mx.random.split(k, 64).tolist()]
    assert len(set(rows)) == 64
    # Deterministic.
    assert mx.random.split(k, 3).tolist() == mx.random.split(mx.random.key(7), 3).tolist()


def test_split_keys_give_different_streams():
    k1, k2 = mx.random.split(mx.random.key(0))
    a = np.array(mx.random.uniform(shape=(100,), key=k1))
    b = np.array(mx.random.uniform(shape=(100,), key=k2))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    "fn",
    [
        lambda k: mx.random.uniform(shape=(33,), key=k),
        lambda k: mx.random.normal((5, 7), key=k),
        lambda k: mx.random.randint(0, 100, (17,), key=k),
        lambda k: mx.random.bernoulli(0.3, (20,), key=k),
        lambda k: mx.random.gumbel((9,), key=k),
        lambda k: mx.random.laplace((9,), key=k),
        lambda k: mx.random.truncated_normal(-1, 1, (9,), key=k),
        lambda k: mx.random.categorical(mx.zeros((4, 6)), key=k),
        lambda k: mx.random.permutation(20, key=k),
    ],
)
def test_same_key_same_numbers(fn):
    k = mx.random.key(1234)
    a, b = np.array(fn(k)), np.array(fn(mx.random.key(1234)))
    assert np.array_equal(a, b)
    c = np.array(fn(mx.random.key(4321)))
    assert not np.array_equal(a, c)


def test_strided_key_view():
    ks = mx.random.split(mx.random.key(3), 3)
    view = ks.T[:, 1]  # a column of the transpose: ks[1] read with stride 3
    copy = mx.array(np.array(ks[1]))
    a = mx.random.uniform(shape=(50,), key=view)
    b = mx.random.uniform(shape=(50,), key=copy)
    assert np.array_equal(np.array(a), np.array(b))


def test_global_seed_reproducible():
    mx.random.seed(42)
    a = np.array(mx.random.uniform(shape=(10,)))
    b = np.array(mx.random.normal((10,)))
    mx.random.seed(42)
    a2 = np.array(mx.random.uniform(shape=(10,)))
    b2 = np.array(mx.random.normal((10,)))
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    # Each call advances the state.
    a3 = np.array(mx.random.uniform(shape=(10,)))
    assert not np.array_equal(a, a3)
    mx.random.seed(43)
    assert not np.array_equal(a, np.array(mx.random.uniform(shape=(10,))))


@pytest.mark.parametrize(
    "key",
    [
        lambda: mx.zeros((3,), mx.uint32),
        lambda: mx.zeros((1, 2), mx.uint32),
        lambda: mx.zeros((2,), mx.int32),
        lambda: mx.zeros((2,), mx.float32),
    ],
)
def test_bad_key(key):
    with pytest.raises(ValueError):
        mx.random.uniform(key=key())
    with pytest.raises(ValueError):
        mx.random.split(key())
    with pytest.raises(ValueError):
        mx.random.normal((2,), key=key())


def test_negative_shape():
    with pytest.raises(ValueError):
        mx.random.uniform(shape=(-1,))
    with pytest.raises(ValueError):
        mx.random.normal((2, -3))
    with pytest.raises(ValueError):
        mx.random.split(mx.random.key(0), -1)


# ------------------------------------------------------------------------------ bits


@kiln_only
@pytest.mark.parametrize("width,dtype", [(1, "uint8"), (2, "uint16"), (4, "uint32")])
def test_bits_widths_share_one_byte_stream(width, dtype):
    k = mx.random.key(11)
    words = np.array(mx.random.bits((64,), 4, key=k)).astype("<u4")
    b = mx.random.bits((256 // width,), width, key=k)
    assert b.dtype == getattr(mx, dtype)
    expected = np.frombuffer(words.tobytes(), dtype="<" + np.dtype(dtype).str[1:])
    assert np.array_equal(np.array(b), expected)
    # Odd sizes are prefixes of the same stream.
    assert np.array_equal(np.array(mx.random.bits((7,), width, key=k)), expected[:7])


@kiln_only
def test_bits_errors_and_empty():
    with pytest.raises(ValueError):
        mx.random.bits((2,), 3)
    assert mx.random.bits((0, 4)).shape == (0, 4)
    x = np.array(mx.random.bits((N,), key=mx.random.key(1)), dtype=np.float64)
    assert abs(x.mean() / 2**32 - 0.5) < 0.01
    # Each bit is set about half the time.
    w = np.array(mx.random.bits((N,), key=mx.random.key(2)))
    for bit in (0, 7, 16, 31):
        assert abs(((w >> bit) & 1).mean() - 0.5) < 0.01


# ------------------------------------------------------------------------------ uniform


def test_uniform_statistics():
    x = np.array(mx.random.uniform(shape=(N,), key=mx.random.key(0)), dtype=np.float64)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.01
    assert abs(x.var() - 1 / 12) < 0.005
    assert ks_stat(x[:20000], lambda v: min(max(v, 0.0), 1.0)) < ks_bound(20000)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_uniform_dtypes_and_bounds(dtype):
    if IS_MLX and dtype == "float64":
        pytest.skip("MLX has no float64 uniform")
    t = getattr(mx, dtype)
    a = mx.random.uniform(-2, 3, (N,), dtype=t, key=mx.random.key(5))
    assert a.dtype == t and a.shape == (N,)
    x = np_of(a).astype(np.float64)
    assert x.min() >= -2 and x.max() < 3
    assert abs(x.mean() - 0.5) < 0.05
    # The default [0, 1) never rounds up to 1, even in half precision.
    u = np_of(mx.random.uniform(shape=(N,), dtype=t, key=mx.random.key(6))).astype(np.float64)
    assert u.min() >= 0 and u.max() < 1


@pytest.mark.skipif(IS_MLX, reason="MLX's float16 uniform can round up to high")
def test_uniform_never_reaches_high_when_rounding():
    # In float16 the spacing near 1000 is 0.5: many draws round up to high without care.
    x = np.array(mx.random.uniform(999, 1000, (N,), dtype=mx.float16, key=mx.random.key(9)))
    assert x.max() < 1000 and x.min() >= 999


def test_uniform_array_bounds_broadcast():
    low = mx.array([0.0, 10.0, -5.0])
    high = mx.array([[20.0], [100.0]])
    x = np.array(mx.random.uniform(low, high, (4, 2, 3), key=mx.random.key(0)))
    assert x.shape == (4, 2, 3)
    lo = np.broadcast_to(np.array([0.0, 10.0, -5.0]), (4, 2, 3))
    hi = np.broadcast_to(np.array([[20.0], [100.0]]), (4, 2, 3))
    assert (x >= lo).all() and (x < hi).all()


def test_uniform_reversed_bounds_stay_between():
    x = np.array(mx.random.uniform(1, 0, (1000,), key=mx.random.key(0)))
    assert x.min() >= 0 and x.max() <= 1


def test_uniform_errors():
    with pytest.raises(ValueError):
        mx.random.uniform(dtype=mx.int32)
    with pytest.raises(ValueError):
        mx.random.uniform(mx.array([0.0, 1.0]), 2.0)  # shape () can't hold (2,)
    with pytest.raises(ValueError):
        mx.random.uniform(mx.array([0.0, 1.0]), 2.0, (3, 3))


def test_uniform_empty_and_scalar():
    assert mx.random.uniform(shape=(0, 3)).shape == (0, 3)
    s = mx.random.uniform()
    assert s.shape == () and 0 <= s.item() < 1


# ------------------------------------------------------------------------------ normal


def test_normal_statistics():
    x = np.array(mx.random.normal((N,), key=mx.random.key(0)), dtype=np.float64)
    assert abs(x.mean()) < 0.02
    assert abs(x.std() - 1) < 0.02
    assert ks_stat(x[:20000], phi) < ks_bound(20000)
    # Tails: P(|z| > 3) = 0.0027.
    assert 0.0015 < (np.abs(x) > 3).mean() < 0.004
    assert np.isfinite(x).all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_normal_dtypes(dtype):
    t = getattr(mx, dtype)
    a = mx.random.normal((20000,), dtype=t, loc=2.0, scale=3.0, key=mx.random.key(1))
    assert a.dtype == t
    x = np_of(a).astype(np.float64)
    assert abs(x.mean() - 2) < 0.1
    assert abs(x.std() - 3) < 0.1


def test_normal_complex64():
    x = np.array(mx.random.normal((N,), dtype=mx.complex64, key=mx.random.key(3)))
    assert x.dtype == np.complex64
    assert abs(x.real.var() - 0.5) < 0.02 and abs(x.imag.var() - 0.5) < 0.02
    assert abs(np.mean(x.real * x.imag)) < 0.01  # uncorrelated parts
    y = np.array(mx.random.normal((N,), dtype=mx.complex64, loc=1.0, scale=2.0, key=mx.random.key(4)))
    assert abs(y.real.mean() - 1) < 0.03 and abs(y.imag.mean()) < 0.03
    assert abs(y.real.var() - 2) < 0.06 and abs(y.imag.var() - 2) < 0.06


def test_normal_loc_scale_arrays():
    loc = mx.array([0.0, 10.0, -10.0])
    scale = mx.array([1.0, 0.0, 2.0])
    x = np.array(mx.random.normal((20000, 3), loc=loc, scale=scale, key=mx.random.key(2)))
    assert np.allclose(x.mean(axis=0), [0, 10, -10], atol=0.1)
    assert np.allclose(x.std(axis=0), [1, 0, 2], atol=0.1)
    assert (x[:, 1] == 10).all()


def test_normal_errors():
    with pytest.raises(ValueError):
        mx.random.normal(dtype=mx.int32)
    with pytest.raises(ValueError):
        mx.random.normal((2,), loc=mx.array([1.0, 2.0, 3.0]))
    if not IS_MLX:  # MLX lets scale silently grow the output shape
        with pytest.raises(ValueError):
            mx.random.normal((2,), scale=mx.array([[1.0], [2.0]]))


# ------------------------------------------------------------------------------ randint


def test_randint_statistics_and_bounds():
    x = np.array(mx.random.randint(-3, 7, (N,), key=mx.random.key(0)))
    assert x.dtype == np.int32
    assert x.min() == -3 and x.max() == 6
    counts = np.bincount(x + 3, minlength=10)
    expected = N / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 40  # 9 degrees of freedom: P(chi2 > 40) ~ 1e-5


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"])
def test_randint_dtypes(dtype):
    t = getattr(mx, dtype)
    a = mx.random.randint(0, 100, (1000,), dtype=t, key=mx.random.key(3))
    assert a.dtype == t
    x = np.array(a).astype(np.int64)
    assert x.min() >= 0 and x.max() < 100


@pytest.mark.skipif(IS_MLX, reason="MLX's float32 randint loses integers near 2**31")
def test_randint_bool_and_large_ranges():
    b = np.array(mx.random.randint(0, 2, (1000,), dtype=mx.bool_, key=mx.random.key(0)))
    assert b.dtype == np.bool_ and 0.4 < b.mean() < 0.6
    big = np.array(mx.random.randint(0, 2**31 - 1, (N,), dtype=mx.int64, key=mx.random.key(1)))
    assert big.min() >= 0 and big.max() < 2**31 - 1
    assert abs(big.mean() / 2**31 - 0.5) < 0.01
    # Near the top of int32 the values still never reach high.
    top = np.array(mx.random.randint(2**31 - 6, 2**31 - 1, (N,), key=mx.random.key(2)))
    assert top.min() == 2**31 - 6 and top.max() == 2**31 - 2


@pytest.mark.skipif(IS_MLX, reason="MLX draws 32 bits: multiples of 256 here")
def test_randint_wide_int64_range():
    # 64-bit dtypes draw 53 bits: the values are not confined to a coarse grid.
    x = np.array(mx.random.randint(0, 2**40, (N,), dtype=mx.int64, key=mx.random.key(5)))
    assert x.min() >= 0 and x.max() < 2**40
    assert abs(x.mean() / 2**40 - 0.5) < 0.01
    assert (x % 256 != 0).mean() > 0.99
    assert len(np.unique(x)) > N - 10


def test_randint_array_bounds():
    low = mx.array([0, 100])
    high = mx.array([10, 101])
    x = np.array(mx.random.randint(low, high, (500, 2), key=mx.random.key(4)))
    assert (x[:, 0] >= 0).all() and (x[:, 0] < 10).all()
    assert (x[:, 1] == 100).all()


def test_randint_empty_range_gives_low():
    # As MLX: high <= low gives low.
    assert np.array(mx.random.randint(5, 5, (4,))).tolist() == [5] * 4
    assert np.array(mx.random.randint(5, 3, (4,))).tolist() == [5] * 4


def test_randint_errors():
    with pytest.raises(ValueError):
        mx.random.randint(0, 10, (2,), dtype=mx.float32)
    with pytest.raises(ValueError):
        mx.random.randint(0, mx.array([10, 20]))


# ------------------------------------------------------------------------------ bernoulli


def test_bernoulli_frequencies():
    x = np.array(mx.random.bernoulli(0.3, (N,), key=mx.random.key(0)))
    assert x.dtype == np.bool_
    assert abs(x.mean() - 0.3) < 0.01
    p = mx.array([0.0, 0.25, 0.9, 1.0])
    y = np.array(mx.random.bernoulli(p, (20000, 4), key=mx.random.key(1)))
    assert np.allclose(y.mean(axis=0), [0.0, 0.25, 0.9, 1.0], atol=0.015)
    assert not y[:, 0].any() and y[:, 3].all()


def test_bernoulli_shapes():
    assert mx.random.bernoulli().shape == ()
    assert mx.random.bernoulli().dtype == mx.bool_
    assert mx.random.bernoulli(mx.array([0.1, 0.9])).shape == (2,)
    assert mx.random.bernoulli(mx.array([0.1, 0.9]), (3, 2)).shape == (3, 2)
    assert mx.random.bernoulli(mx.array([0.5], mx.float16), (4,)).shape == (4,)


def test_bernoulli_errors():
    with pytest.raises(ValueError):
        mx.random.bernoulli(2)
    with pytest.raises(ValueError):
        mx.random.bernoulli(mx.array([0, 1]))
    with pytest.raises(ValueError):
        mx.random.bernoulli(mx.array([0.0, 1.0]), (3,))


# ------------------------------------------------------------------------------ truncated normal


def test_truncated_normal_statistics():
    a, b = -1.0, 2.0
    x = np.array(mx.random.truncated_normal(a, b, (20000,), key=mx.random.key(0)), dtype=np.float64)
    assert x.min() >= a and x.max() <= b
    z = phi(b) - phi(a)
    pdf = lambda v: math.exp(-v * v / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mean = (pdf(a) - pdf(b)) / z
    assert abs(x.mean() - mean) < 0.02
    assert ks_stat(x, lambda v: min(max((phi(v) - phi(a)) / z, 0.0), 1.0)) < ks_bound(len(x))


@pytest.mark.skipif(IS_MLX, reason="MLX's float32 inverse CDF collapses in the tails")
def test_truncated_normal_tail_and_infinite_bounds():
    # A tail interval far out: values stay inside and are not all at one bound.
    x = np.array(mx.random.truncated_normal(4.0, 5.0, (2000,), key=mx.random.key(1)), dtype=np.float64)
    assert x.min() >= 4.0 and x.max() <= 5.0
    assert len(np.unique(x)) > 1000 and x.mean() < 4.4
    y = np.array(mx.random.truncated_normal(-math.inf, math.inf, (20000,), key=mx.random.key(2)))
    assert np.isfinite(y).all() and abs(y.std() - 1) < 0.03


def test_truncated_normal_shapes_dtypes_errors():
    assert mx.random.truncated_normal(-1, 1).shape == ()
    assert mx.random.truncated_normal(mx.array([-1.0, 0.0]), 1).shape == (2,)
    h = mx.random.truncated_normal(-1, 1, (3,), dtype=mx.float16)
    assert h.dtype == mx.float16
    with pytest.raises(ValueError):
        mx.random.truncated_normal(-1, 1, (3,), dtype=mx.int32)
    with pytest.raises(ValueError):
        mx.random.truncated_normal(mx.array([-1.0, 0.0]), 1, (3,))
    # Reversed bounds collapse to lower, as MLX.
    assert np.array(mx.random.truncated_normal(1, -1, (3,))).tolist() == [1, 1, 1]


# ------------------------------------------------------------------------------ gumbel, laplace


def test_gumbel_statistics():
    x = np.array(mx.random.gumbel((N,), key=mx.random.key(0)), dtype=np.float64)
    assert np.isfinite(x).all()
    assert abs(x.mean() - 0.5772156649) < 0.02
    assert abs(x.var() - math.pi**2 / 6) < 0.05
    assert ks_stat(x[:20000], lambda v: math.exp(-math.exp(-v))) < ks_bound(20000)


def test_laplace_statistics():
    x = np.array(mx.random.laplace((N,), loc=3.0, scale=2.0, key=mx.random.key(0)), dtype=np.float64)
    assert abs(x.mean() - 3) < 0.03
    assert abs(x.var() - 8) < 0.2

    def cdf(v):
        t = (v - 3) / 2
        return 0.5 * math.exp(t) if t < 0 else 1 - 0.5 * math.exp(-t)

    assert ks_stat(x[:20000], cdf) < ks_bound(20000)


@pytest.mark.parametrize("fn", [mx.random.gumbel, mx.random.laplace])
def test_gumbel_laplace_dtypes_errors(fn):
    assert fn((4,), dtype=mx.float16).dtype == mx.float16
    assert fn((2, 3)).shape == (2, 3)
    assert fn().shape == ()
    with pytest.raises(ValueError):
        fn((2,), dtype=mx.int32)


# ------------------------------------------------------------------------------ categorical


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def test_categorical_frequencies():
    logits = np.array([0.0, 1.0, -1.0, 2.0], dtype=np.float32)
    s = np.array(mx.random.categorical(mx.array(logits), num_samples=N, key=mx.random.key(0)))
    assert s.shape == (N,) and s.dtype == np.uint32
    freq = np.bincount(s, minlength=4) / N
    assert np.allclose(freq, softmax(logits), atol=0.01)


def test_categorical_axis_and_batches():
    probs = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]], dtype=np.float32)  # categories on axis 0
    logits = mx.array(np.log(probs))
    s = np.array(mx.random.categorical(logits, axis=0, num_samples=20000, key=mx.random.key(1)))
    assert s.shape == (2, 20000)
    for col in range(2):
        freq = np.bincount(s[col], minlength=3) / 20000
        assert np.allclose(freq, probs[:, col], atol=0.015)
    # `shape` adds leading batch dimensions that share the logits.
    t = np.array(mx.random.categorical(logits, axis=0, shape=(5000, 2), key=mx.random.key(2)))
    assert t.shape == (5000, 2)
    for col in range(2):
        assert np.allclose(np.bincount(t[:, col], minlength=3) / 5000, probs[:, col], atol=0.03)


def test_categorical_shapes():
    z = mx.zeros((3, 4))
    assert mx.random.categorical(z).shape == (3,)
    assert mx.random.categorical(z, axis=0).shape == (4,)
    assert mx.random.categorical(z, num_samples=5).shape == (3, 5)
    assert mx.random.categorical(z, shape=(2, 3)).shape == (2, 3)
    assert mx.random.categorical(mx.zeros((4,))).shape == ()
    if not IS_MLX:  # MLX rejects zero samples (argmax of an empty array)
        assert mx.random.categorical(z, num_samples=0).shape == (3, 0)
    assert mx.random.categorical(mx.zeros((4,), mx.float16)).dtype == mx.uint32
    assert mx.random.categorical(mx.zeros((4,), mx.int32)).shape == ()


def test_categorical_impossible_categories():
    logits = mx.array([-math.inf, 0.0, -math.inf, 1.0])
    s = np.array(mx.random.categorical(logits, num_samples=5000, key=mx.random.key(2)))
    assert set(np.unique(s).tolist()) <= {1, 3}


def test_categorical_errors():
    z = mx.zeros((3, 4))
    with pytest.raises(ValueError):
        mx.random.categorical(z, shape=(2, 3), num_samples=2)
    with pytest.raises(ValueError):
        mx.random.categorical(z, shape=(2, 4))
    with pytest.raises(IndexError):
        mx.random.categorical(z, axis=2)


# ------------------------------------------------------------------------------ permutation


def test_permutation_of_range():
    p = mx.random.permutation(50, key=mx.random.key(0))
    assert p.dtype == mx.uint32 and p.shape == (50,)
    assert sorted(p.tolist()) == list(range(50))
    assert p.tolist() != list(range(50))
    assert mx.random.permutation(0).shape == (0,)


def test_permutation_is_uniform():
    # Position of element 0 over many permutations of 5 is uniform.
    keys = mx.random.split(mx.random.key(1), 2000)
    first = [mx.random.permutation(5, key=keys[i]).tolist()[0] for i in range(2000)]
    freq = np.bincount(first, minlength=5) / 2000
    assert np.allclose(freq, 0.2, atol=0.04)


def test_permutation_of_array():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    p = np.array(mx.random.permutation(mx.array(x), key=mx.random.key(2)))
    assert p.shape == (6, 4)
    # Whole rows move.
    assert sorted(map(tuple, p.tolist())) == sorted(map(tuple, x.tolist()))
    q = np.array(mx.random.permutation(mx.array(x), axis=1, key=mx.random.key(3)))
    assert sorted(map(tuple, q.T.tolist())) == sorted(map(tuple, x.T.tolist()))


def test_permutation_errors():
    with pytest.raises(ValueError):
        mx.random.permutation(-1)
    with pytest.raises(IndexError):
        mx.random.permutation(mx.zeros((3, 2)), axis=2)
    with pytest.raises(IndexError):
        mx.random.permutation(mx.array(3.0))


# ------------------------------------------------------------------------------ multivariate normal


def test_multivariate_normal_moments():
    mean = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    a = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.3, 0.2, 0.7]], dtype=np.float32)
    cov = a @ a.T
    x = np.array(
        mx.random.multivariate_normal(mx.array(mean), mx.array(cov), (50000,), key=mx.random.key(0), stream=mx.cpu),
        dtype=np.float64,
    )
    assert x.shape == (50000, 3)
    assert np.allclose(x.mean(axis=0), mean, atol=0.03)
    assert np.allclose(np.cov(x.T), cov, atol=0.05)


def test_multivariate_normal_shapes_and_singular_cov():
    m, c = mx.zeros((3,)), mx.eye(3)
    assert mx.random.multivariate_normal(m, c, stream=mx.cpu).shape == (3,)
    assert mx.random.multivariate_normal(m, c, (5, 2), stream=mx.cpu).shape == (5, 2, 3)
    assert mx.random.multivariate_normal(mx.zeros((2, 3)), c, stream=mx.cpu).shape == (2, 3)
    z = np.array(mx.random.multivariate_normal(m + 4, mx.zeros((3, 3)), (4,), stream=mx.cpu))
    assert np.allclose(z, 4)


def test_multivariate_normal_errors():
    m, c = mx.zeros((3,)), mx.eye(3)
    with pytest.raises(ValueError):
        mx.random.multivariate_normal(m, mx.eye(4), stream=mx.cpu)
    with pytest.raises(ValueError):
        mx.random.multivariate_normal(m, mx.zeros((3, 4)), stream=mx.cpu)
    with pytest.raises(ValueError):
        mx.random.multivariate_normal(mx.array(1.0), c, stream=mx.cpu)
    with pytest.raises(ValueError):
        mx.random.multivariate_normal(m, c, dtype=mx.float16, stream=mx.cpu)
    with pytest.raises(ValueError):
        mx.random.multivariate_normal(mx.zeros((2, 3)), c, (5,), stream=mx.cpu)


@pytest.mark.parametrize(
    "fn,shape",
    [
        (lambda: mx.random.normal((0, 3)), (0, 3)),
        (lambda: mx.random.gumbel((0,)), (0,)),
        (lambda: mx.random.laplace((0, 2)), (0, 2)),
        (lambda: mx.random.randint(0, 5, (0,), dtype=mx.int64), (0,)),
        (lambda: mx.random.bernoulli(0.5, (0,)), (0,)),
        (lambda: mx.random.truncated_normal(-1, 1, (0,)), (0,)),
        pytest.param(
            lambda: mx.random.categorical(mx.zeros((0, 4))),
            (0,),
            marks=pytest.mark.skipif(IS_MLX, reason="MLX rejects an empty batch (argmax of size 0)"),
        ),
        (lambda: mx.random.permutation(mx.zeros((0, 3))), (0, 3)),
        (lambda: mx.random.multivariate_normal(mx.zeros(2), mx.eye(2), (0,), stream=mx.cpu), (0, 2)),
    ],
)
def test_empty_outputs(fn, shape):
    out = fn()
    assert out.shape == shape
    assert np.array(out).size == 0
