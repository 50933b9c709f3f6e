"""The CUDA runtime: device memory accounting and limits (MLX's memory API acting on GPU memory),
device_info for the GPU, and the per-op fast paths (host scalars passed as kernel parameters,
the device buffer cache) checked against the CPU's results.

Without a GPU every test here skips with "no GPU".
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import IS_MLX, mx

HAS_GPU = (not IS_MLX) and mx.cuda.is_available()
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no GPU")

MB = 1 << 20


@pytest.fixture
def limits():
    """Restores the memory and cache limits (and empties the cache) after a test."""
    mem = mx.get_memory_limit()
    cache = mx.set_cache_limit(1 << 40)
    mx.set_cache_limit(cache)
    yield
    mx.set_memory_limit(mem)
    mx.set_cache_limit(cache)
    mx.clear_cache()


def gpu_buffer(nbytes: int, fill: float = 1.0):
    """An evaluated float32 array of nbytes on the GPU only (a fill kernel's output)."""
    a = mx.full((nbytes // 4,), fill, dtype=mx.float32, stream=mx.gpu)
    mx.eval(a)
    return a


def settle():
    mx.synchronize(mx.gpu)


# ---------------------------------------------------------------------------------- accounting


def test_active_memory_counts_gpu_buffers(limits):
    settle()
    base = mx.get_active_memory()
    a = gpu_buffer(16 * MB)
    assert mx.get_active_memory() - base >= 16 * MB
    del a
    settle()
    assert mx.get_active_memory() <= base


def test_peak_memory_and_reset(limits):
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    a = gpu_buffer(32 * MB)
    del a
    settle()
    assert mx.get_peak_memory() >= base + 32 * MB
    mx.reset_peak_memory()
    assert mx.get_peak_memory() <= mx.get_active_memory() + MB


def test_freed_gpu_buffer_is_cached_and_reused(limits):
    mx.set_cache_limit(1 << 40)
    mx.clear_cache()
    a = gpu_buffer(8 * MB)
    del a
    settle()
    cached = mx.get_cache_memory()
    assert cached >= 8 * MB, "a freed GPU buffer should stay in the cache"
    active = mx.get_active_memory()
    b = gpu_buffer(8 * MB, 2.0)  # same size: taken from the cache
    assert mx.get_cache_memory() <= cached - 8 * MB
    assert mx.get_active_memory() - active >= 8 * MB
    assert np.array(b[:4]).tolist() == [2.0] * 4  # the reused buffer holds the new values
    del b
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


def test_cache_limit_trims_gpu_cache(limits):
    mx.set_cache_limit(1 << 40)
    mx.clear_cache()
    a, b = gpu_buffer(8 * MB), gpu_buffer(4 * MB)
    del a, b
    settle()
    assert mx.get_cache_memory() >= 12 * MB
    mx.set_cache_limit(5 * MB)  # trims what is cached now
    assert mx.get_cache_memory() <= 5 * MB + MB // 4  # the 4 MiB block (and small host buffers)
    assert mx.get_cache_memory() >= 4 * MB
    mx.set_cache_limit(0)
    assert mx.get_cache_memory() == 0
    c = gpu_buffer(4 * MB)
    del c
    settle()
    assert mx.get_cache_memory() == 0, "with a cache limit of 0 nothing is kept"


def test_memory_limit_releases_cache_before_allocating(limits):
    mx.set_cache_limit(1 << 40)
    mx.clear_cache()
    a = gpu_buffer(64 * MB)
    del a
    settle()
    assert mx.get_cache_memory() >= 64 * MB
    # Active + cache + the new buffer would pass the limit: the cache goes first.
    mx.set_memory_limit(mx.get_active_memory() + 32 * MB)
    b = gpu_buffer(24 * MB, 3.0)  # another size class: not served by the cached block
    assert mx.get_cache_memory() < 64 * MB
    assert np.array(b[-3:]).tolist() == [3.0] * 3
    del b


def test_memory_limit_is_a_guideline(limits):
    """As in MLX, the limit does not fail an allocation the device can serve."""
    old = mx.set_memory_limit(1 * MB)
    assert mx.get_memory_limit() == 1 * MB
    a = gpu_buffer(16 * MB, 5.0)
    assert float(a.sum().item()) == 5.0 * 4 * MB
    assert mx.set_memory_limit(old) == 1 * MB


def test_clear_cache_empties_gpu_cache(limits):
    mx.set_cache_limit(1 << 40)
    a = gpu_buffer(4 * MB)
    del a
    settle()
    assert mx.get_cache_memory() > 0
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


def test_out_of_memory_is_a_runtime_error(limits):
    total = mx.device_info(mx.gpu)["memory_size"]
    rows = 2 * total // (4 * 65536) + 1  # twice the device's memory
    with pytest.raises(RuntimeError, match="memory"):
        mx.eval(mx.zeros((rows, 65536), dtype=mx.float32, stream=mx.gpu))
    a = gpu_buffer(MB, 7.0)  # the device still works afterwards
    assert np.array(a[:2]).tolist() == [7.0, 7.0]


def test_buffers_cross_streams(limits):
    """A buffer freed on one GPU stream and reused on another holds the right values."""
    s1, s2 = mx.new_stream(mx.gpu), mx.new_stream(mx.gpu)
    x = mx.arange(1 << 20, dtype=mx.float32, stream=s1)
    for k in range(5):
        y = mx.multiply(x, float(k), stream=s1)
        z = mx.add(y, 1.0, stream=s2)  # reads s1's output on s2
        del y
        w = mx.full((1 << 20,), float(k), stream=s2)  # may reuse y's buffer
        got = np.array(mx.add(z, w, stream=s2))
        expect = np.arange(1 << 20, dtype=np.float32) * k + 1 + k
        np.testing.assert_array_equal(got, expect)


# ---------------------------------------------------------------------------------- device_info


def test_device_info_gpu():
    info = mx.device_info(mx.gpu)
    assert isinstance(info["device_name"], str) and info["device_name"]
    assert info["architecture"].startswith("sm_")
    assert isinstance(info["memory_size"], int) and info["memory_size"] > 1 << 30
    assert info["total_memory"] >= info["free_memory"] > 0
    assert info["compute_capability_major"] >= 7
    if mx.default_device() == mx.gpu:
        assert set(mx.device_info()) == set(info)


# ---------------------------------------------------------------------------------- scalar operands

SCALAR_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64", "uint64"]


def both(fn):
    """fn(stream) on the GPU and on the CPU, as NumPy arrays."""
    g = fn(mx.gpu)
    c = fn(mx.cpu)
    return np.array(g.astype(mx.float64) if g.dtype in (mx.bfloat16,) else g), np.array(
        c.astype(mx.float64) if c.dtype in (mx.bfloat16,) else c)


@pytest.mark.parametrize("dt", SCALAR_DTYPES)
def test_binary_with_host_scalar_matches_cpu(dt):
    t = getattr(mx, dt)
    base = np.arange(-5, 6) if dt not in ("uint8", "uint64") else np.arange(0, 11)
    big = 2**40 + 3 if dt in ("int64", "uint64") else 3  # 8-byte scalars keep every bit
    for make in [
        lambda s: mx.add(mx.array(base, dtype=t), mx.array(big, dtype=t), stream=s),
        lambda s: mx.subtract(mx.array(big, dtype=t), mx.array(base, dtype=t), stream=s),
        lambda s: mx.maximum(mx.array(base, dtype=t)[::2], mx.array(1, dtype=t), stream=s),
        lambda s: mx.less(mx.array(2, dtype=t), mx.array(base, dtype=t).reshape(1, 11), stream=s),
        lambda s: mx.multiply(mx.array(2, dtype=t), mx.array(3, dtype=t), stream=s),  # both host scalars
    ]:
        g, c = both(make)
        np.testing.assert_array_equal(g, c)


def test_scalar_operand_against_device_resident_input():
    x = mx.abs(mx.array(np.arange(-6, 6, dtype=np.float32).reshape(3, 4)), stream=mx.gpu)
    mx.eval(x)  # device-only now
    for fn, ref in [
        (lambda: x + 1, lambda a: a + 1),
        (lambda: 1 - x, lambda a: 1 - a),
        (lambda: 2 / (x + 1), lambda a: 2 / (a + 1)),
        (lambda: x.T * 0.5, lambda a: a.T * 0.5),
        (lambda: mx.power(2.0, x), lambda a: 2.0**a),
        (lambda: x[:, ::2] - 1, lambda a: a[:, ::2] - 1),
    ]:
        a = np.abs(np.arange(-6, 6, dtype=np.float32).reshape(3, 4))
        np.testing.assert_allclose(np.array(fn()), ref(a), rtol=1e-6)


def test_select_with_scalar_branch():
    c = mx.array(np.array([True, False, True, False, False]))
    x = mx.array(np.arange(5, dtype=np.float32))
    for fn in [lambda s: mx.where(c, x, 0.0, stream=s), lambda s: mx.where(c, -1.0, x, stream=s),
               lambda s: mx.where(c, 2.0, 3.0, stream=s), lambda s: mx.where(c.reshape(5, 1), x, 7.0, stream=s)]:
        g, cc = both(fn)
        np.testing.assert_array_equal(g, cc)


@pytest.mark.parametrize("dt", SCALAR_DTYPES + ["bool"])
def test_full_with_host_value(dt):
    t = getattr(mx, "bool_" if dt == "bool" else dt)
    for fn in [lambda s: mx.full((3, 5), 1, dtype=t, stream=s), lambda s: mx.zeros((1027,), dtype=t, stream=s),
               lambda s: mx.ones((2, 3, 4), dtype=t, stream=s), lambda s: mx.full((), 2**40 if "64" in dt else 5,
                                                                                 dtype=t, stream=s)]:
        g, c = both(fn)
        np.testing.assert_array_equal(g, c)
