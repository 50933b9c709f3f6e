"""Laziness, evaluation, memory accounting, devices and streams.

Memory checks use get_active_memory (bytes held by live arrays), so they are independent of
the buffer cache."""

import gc

import numpy as np

from helpers import assert_close, mx, settle_memory

MB = 1 << 20
N = 1 << 20  # 4 MiB of float32


def test_graph_uses_no_memory_before_eval():
    x = mx.array(np.ones(N, np.float32))
    mx.eval(x)
    before = mx.get_active_memory()
    y = mx.exp(x) * 2 + x
    z = (y * y)[::4096]
    assert mx.get_active_memory() - before < 64 * 1024, "building the graph allocated its buffers"
    mx.eval(z)
    assert_close(z, np.full(N // 4096, (2 * np.e + 1) ** 2), "float32")
    del y, z
    # On a GPU, x (made on the host) gained a device copy when the graph first read it there;
    # that copy lives as long as x does.
    mirror = x.nbytes if mx.default_device() == mx.gpu else 0
    assert settle_memory(before + mirror) <= before + mirror + 64 * 1024


def test_huge_graph_is_free_until_evaluated():
    """Arrays of 512 MiB each cost nothing while nobody evaluates them."""
    before = mx.get_active_memory()
    big = mx.zeros((1 << 27,), dtype=mx.float32)
    y = mx.exp(big) + mx.ones((1 << 27,)) * 3
    s = y[:10]
    assert mx.get_active_memory() - before < MB
    del big, y, s
    assert settle_memory(before) <= before + MB


def test_memory_returns_to_baseline_after_evaluation():
    gc.collect()
    base = settle_memory(mx.get_active_memory())
    a = mx.array(np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32))
    b = mx.matmul(a, a.T) + 1
    c = mx.softmax(b, axis=-1).sum(axis=0)
    d = mx.concatenate([c, c[::-1]])
    mx.eval(d)
    assert mx.get_active_memory() > base
    del a, b, c, d
    assert settle_memory(base) == base


def test_eval_releases_intermediates():
    """A chain of 20 elementwise ops on 4 MiB needs a few buffers at peak, not 20."""
    x = mx.array(np.ones(N, np.float32))
    mx.eval(x)
    base = mx.get_active_memory()
    y = x
    for i in range(20):
        y = y * 1.0001 + 0.5
    mx.reset_peak_memory()
    mx.eval(y)
    peak = mx.get_peak_memory() - base
    assert peak <= 5 * N * 4, f"peak {peak / MB:.1f} MiB for a chain over a 4 MiB input"
    assert mx.get_active_memory() - base <= 2 * N * 4  # the result (and at most one spare)


def test_evaluated_array_no_longer_holds_its_inputs():
    x = mx.array(np.ones(N, np.float32))
    base = settle_memory(mx.get_active_memory())
    y = mx.exp(x * 2)
    mx.eval(y)
    # y was detached from its graph, so deleting x frees x: only y's buffer remains
    del x
    assert settle_memory(base) <= base
    del y


def test_reset_and_peak_memory():
    mx.reset_peak_memory()
    a = mx.ones((4 * N,))
    mx.eval(a)
    assert mx.get_peak_memory() >= 16 * MB
    del a
    settle_memory(0, timeout=0.2)
    mx.reset_peak_memory()
    assert mx.get_peak_memory() <= mx.get_active_memory() + MB


def test_cache_memory_and_clear_cache():
    old = mx.set_cache_limit(1 << 34)
    try:
        a = mx.ones((N,)) * 2
        mx.eval(a)
        del a
        settle_memory(0, timeout=0.2)
        assert mx.get_cache_memory() >= N * 4, "a freed buffer should stay in the cache"
        mx.clear_cache()
        assert mx.get_cache_memory() == 0
    finally:
        mx.set_cache_limit(old)


def test_cache_limit_zero_disables_caching():
    old = mx.set_cache_limit(0)
    try:
        a = mx.ones((N,)) * 3
        mx.eval(a)
        del a
        settle_memory(0, timeout=0.2)
        assert mx.get_cache_memory() == 0
    finally:
        assert mx.set_cache_limit(old) == 0


def test_set_memory_limit_returns_previous():
    old = mx.set_memory_limit(1 << 33)
    try:
        assert mx.set_memory_limit(1 << 32) == 1 << 33
    finally:
        mx.set_memory_limit(old)


def test_eval_structures_and_return_value():
    a, b, c = mx.ones(2) + 1, mx.zeros(3) - 1, mx.full((2,), 4.0) / 2
    assert mx.eval(a, [b, {"k": c}]) is None
    assert_close(a, np.full(2, 2.0), "float32")
    assert_close(b, np.full(3, -1.0), "float32")
    assert_close(c, np.full(2, 2.0), "float32")


def test_async_eval_then_read():
    a = mx.array(np.arange(256 * 256, dtype=np.float32).reshape(256, 256) / 65536)
    b = mx.matmul(a, a) + 1
    assert mx.async_eval(b) is None
    ref = (np.arange(256 * 256, dtype=np.float64).reshape(256, 256) / 65536)
    assert_close(b, ref @ ref + 1, "float32", rtol=1e-4)
    c = mx.tanh(b / 100)
    mx.async_eval(c)
    mx.eval(c)
    assert_close(c, np.tanh((ref @ ref + 1) / 100), "float32", rtol=1e-4)


def test_long_chain_does_not_recurse():
    """Evaluation and destruction of deep graphs must be iterative."""
    x = mx.array(0.0)
    for _ in range(100_000):
        x = x + 1.0
    assert x.item() == 100_000.0
    y = mx.array(0.0)
    for _ in range(100_000):
        y = y - 1.0
    del y  # destroying an unevaluated deep graph


def test_shared_subgraph_evaluated_once_and_right():
    x = mx.array(np.arange(6, dtype=np.float32))
    s = mx.exp(x)
    a, b = s + 1, s * 2
    mx.eval(a, b)
    assert_close(a, np.exp(np.arange(6)) + 1, "float32")
    assert_close(b, np.exp(np.arange(6)) * 2, "float32")


# ---------------------------------------------------------------------------------- devices and streams


def test_default_device():
    d = mx.default_device()
    expected = mx.gpu if mx.is_available(mx.gpu) else mx.cpu
    assert d == expected
    assert mx.is_available(mx.cpu)


def test_new_stream_and_stream_context():
    s = mx.new_stream(mx.cpu)
    assert s != mx.default_stream(mx.cpu)
    assert s.device == mx.cpu
    with mx.stream(s):
        a = mx.arange(5) * 2
    assert_close(a, np.arange(5) * 2, "int32")
    b = mx.add(mx.ones((3,)), 1, stream=s)
    assert_close(b, np.full(3, 2.0), "float32")
    c = mx.add(mx.ones((3,)), 2, stream=mx.cpu)
    assert_close(c, np.full(3, 3.0), "float32")
    mx.synchronize(s)
    mx.synchronize()


def test_cross_stream_dependencies():
    s1, s2 = mx.new_stream(mx.cpu), mx.new_stream(mx.cpu)
    x = mx.array(np.arange(1000, dtype=np.float32))
    a = mx.multiply(x, 2, stream=s1)
    b = mx.add(a, 1, stream=s2)
    c = mx.sum(b, stream=s1)
    mx.eval(c)
    assert_close(c, np.array(np.sum(np.arange(1000) * 2 + 1)), "float32")
    d = mx.subtract(b, a, stream=s2)
    mx.async_eval(d)
    mx.synchronize(s2)
    assert_close(d, np.ones(1000), "float32")


def test_stream_context_restores_default():
    s = mx.new_stream(mx.cpu)
    before = mx.default_stream(mx.default_device())
    with mx.stream(s):
        pass
    assert mx.default_stream(mx.default_device()) == before


def test_ops_on_cpu_device_argument():
    x = mx.array([1.0, 4.0, 9.0])
    assert_close(mx.sqrt(x, stream=mx.cpu), np.array([1.0, 2.0, 3.0]), "float32")
    assert_close(mx.sum(x, stream=mx.Device(mx.cpu)), np.array(14.0), "float32")


def test_eval_of_an_array_with_its_consumer_returns():
    """eval(x, x + 1) and async_eval in both orders: each node is scheduled before the nodes
    that read it (an array listed before its consumer once made eval wait forever)."""
    import threading

    done = []

    def run():
        a = mx.ones((4,))
        x = a * 2
        mx.eval(x, x + 1)
        y = a * 3
        z = y + 1
        mx.eval(z, y, [y * 2, {"k": z - y}])
        w = a - 1
        mx.async_eval(w, w * 5)
        done.append((x.tolist(), y.tolist(), (w * 5).tolist()))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=20)
    assert done, "eval of an array together with its consumer did not return"
    assert done[0] == ([2.0] * 4, [3.0] * 4, [0.0] * 4)
