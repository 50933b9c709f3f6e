"""compile: results equal to uncompiled on random elementwise graphs, retracing rules
(shapes, dtypes, constants, shapeless), closures, pytrees, implicit state through
inputs/outputs, transformations of compiled functions, disable_compile and export_to_dot."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from helpers import mx

UNARY = [mx.exp, mx.sin, mx.tanh, mx.sigmoid, mx.abs, mx.square, lambda x: mx.log1p(mx.abs(x)), mx.negative]
BINARY = [mx.add, mx.subtract, mx.multiply, mx.maximum, mx.minimum, lambda a, b: a / (1 + mx.abs(b))]


def random_graph(seed, n_inputs=3, n_ops=12):
    """A random elementwise function of n_inputs arrays (with scalar constants)."""
    rng = random.Random(seed)
    program = []
    for _ in range(n_ops):
        if rng.random() < 0.4:
            program.append(("u", rng.randrange(len(UNARY)), None))
        else:
            program.append(("b", rng.randrange(len(BINARY)), rng.random() < 0.3))

    def fn(*xs):
        vals = list(xs)
        for kind, op, with_const in program:
            a = vals[rng_pick(len(vals), len(program), op)]
            if kind == "u":
                vals.append(UNARY[op](a))
            else:
                b = 0.5 if with_const else vals[-1]
                vals.append(BINARY[op](a, b))
        return vals[-1], vals[-2]

    return fn


def rng_pick(n, salt, op):
    return (salt * 31 + op * 7 + n) % n


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_match_uncompiled(seed):
    fn = random_graph(seed)
    rng = np.random.default_rng(seed)
    shapes = [(4, 5), (5,), (4, 1)]
    xs = [mx.array(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    expected = fn(*xs)
    got = mx.compile(fn)(*xs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.array(g), np.array(e), rtol=1e-6, atol=1e-6)


@pytest.mark.kiln_only("kiln's node names in export_to_dot")
def test_fused_kernel_appears_in_the_graph():
    f = mx.compile(lambda x, y: mx.exp(x * y + 1) * 0.5)
    out = f(mx.ones((3, 3)), mx.ones((3, 3)))
    buf = io.StringIO()
    mx.export_to_dot(buf, out)
    assert "digraph" in buf.getvalue()
    assert "Compiled(" in buf.getvalue()
    np.testing.assert_allclose(np.array(out), np.full((3, 3), np.exp(2) * 0.5), rtol=1e-6)


def test_retraces_on_new_shapes_dtypes_and_constants_only():
    traces = []

    def f(x, scale):
        traces.append(1)
        return x * scale

    cf = mx.compile(f)
    cf(mx.ones(3), 2.0)
    cf(mx.ones(3), 2.0)
    assert len(traces) == 1
    cf(mx.ones(4), 2.0)
    assert len(traces) == 2
    cf(mx.ones(4, dtype=mx.float16), 2.0)
    assert len(traces) == 3
    out = cf(mx.ones(4), 3.0)
    assert len(traces) == 4
    np.testing.assert_array_equal(np.array(out), np.full(4, 3.0))


def test_shapeless_does_not_retrace_for_new_shapes():
    traces = []

    def f(x, y):
        traces.append(1)
        return mx.exp(x) + y * 2

    cf = mx.compile(f, shapeless=True)
    for n in (3, 5, 8):
        x = mx.array(np.linspace(0, 1, n, dtype=np.float32))
        np.testing.assert_allclose(np.array(cf(x, x)), np.exp(np.array(x)) + 2 * np.array(x), rtol=1e-6)
    assert len(traces) == 1
    cf(mx.ones((2, 2)), mx.ones((2, 2)))  # a new rank retraces
    assert len(traces) == 2


def test_closures_and_pytrees():
    w = mx.array([1.0, 2.0, 3.0])

    def f(params, x):
        return {"out": mx.tanh(params["a"] * x + w), "pair": (x + 1, [x * 2])}

    cf = mx.compile(f)
    params = {"a": mx.array([0.5, 0.5, 0.5])}
    x = mx.array([1.0, -1.0, 0.0])
    got, expected = cf(params, x), f(params, x)
    np.testing.assert_allclose(np.array(got["out"]), np.array(expected["out"]), rtol=1e-6)
    assert isinstance(got["pair"], tuple) and isinstance(got["pair"][1], list)
    np.testing.assert_allclose(np.array(got["pair"][1][0]), np.array(expected["pair"][1][0]))


def test_implicit_state_through_inputs_and_outputs():
    state = [mx.array(0.0)]

    def step(x):
        state[0] = state[0] + mx.sum(x)
        return state[0] * 2

    cstep = mx.compile(step, inputs=state, outputs=state)
    for i in range(1, 4):
        out = cstep(mx.ones(2))
        assert state[0].item() == 2.0 * i
        assert out.item() == 4.0 * i


def test_random_with_explicit_keys_matches_uncompiled():
    def f(key, x):
        return x + mx.random.normal(x.shape, key=key)

    key = mx.random.key(3)
    x = mx.zeros((4,))
    np.testing.assert_array_equal(np.array(mx.compile(f)(key, x)), np.array(f(key, x)))


def test_grad_of_compiled_and_compiled_grad():
    f = lambda x: mx.sum(mx.sin(x) * mx.exp(x))
    x = mx.array([0.1, 0.5, -0.3])
    expected = np.array(mx.grad(f)(x))
    np.testing.assert_allclose(np.array(mx.grad(mx.compile(f))(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.compile(mx.grad(f))(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.vmap(mx.compile(lambda r: mx.exp(r) * 2 + r))(mx.ones((2, 3)))),
                               np.full((2, 3), np.exp(1) * 2 + 1), rtol=1e-6)


def test_disable_compile_runs_the_function_each_time():
    traces = []

    def f(x):
        traces.append(1)
        return x + 1

    cf = mx.compile(f)
    mx.disable_compile()
    try:
        cf(mx.ones(2))
        cf(mx.ones(2))
        assert len(traces) == 2
    finally:
        mx.enable_compile()
    cf(mx.ones(2))
    cf(mx.ones(2))
    assert len(traces) == 3


def test_non_array_outputs_pass_through():
    assert mx.compile(lambda x: "text")(mx.ones(2)) == "text"
    out, n = mx.compile(lambda x: (x * 2, 3))(mx.ones(2))
    assert n == 3
    np.testing.assert_array_equal(np.array(out), [2, 2])


def test_reading_values_while_tracing_is_an_error():
    with pytest.raises(ValueError, match=r"\[eval\]"):
        mx.compile(lambda x: x.item())(mx.ones(1))


@pytest.mark.kiln_only("kiln's CPU JIT and its disk cache")
def test_fused_kernels_are_built_and_cached_on_disk(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import numpy as np, kiln.core as mx
        f = mx.compile(lambda x, y: mx.tanh(x * 0.5 + y) * mx.exp(-x))
        x = mx.array(np.linspace(-2, 2, 4096, dtype=np.float32).reshape(64, 64))
        y = x.T  # a strided input exercises the strided kernel too
        for a, b in ((x, x), (x, y)):
            got = np.array(f(a, b))
            ref = np.tanh(np.array(a) * 0.5 + np.array(b)) * np.exp(-np.array(a))
            np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-6)
        print("ok")
        """
    )
    def kernels(where):
        # The CPU JIT's shared objects, or the CUDA kernels NVRTC built (a GPU is the default device).
        jit = tmp_path / where / "jit"
        return sorted(jit.glob("kernel-*.so")) + sorted(jit.glob("cuda-*.cubin")) + sorted(jit.glob("cuda-*.ptx"))

    for disable in (False, True):
        env = dict(os.environ, KILN_CACHE_DIR=str(tmp_path / ("off" if disable else "on")))
        if disable:
            env["KILN_DISABLE_JIT"] = "1"
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        found = kernels("off" if disable else "on")
        assert (len(found) == 0) if disable else (len(found) >= 2)
    # A fresh process loads the kernels from the disk cache: nothing is built or written again.
    built = {k: k.stat().st_mtime_ns for k in kernels("on")}
    env = dict(os.environ, KILN_CACHE_DIR=str(tmp_path / "on"), KILN_JIT_VERBOSE="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert {k: k.stat().st_mtime_ns for k in kernels("on")} == built
    assert out.stderr.count("from the disk cache") >= 2, out.stderr


def test_global_random_state_through_compile():
    state = mx.random.state
    f = mx.compile(lambda x: x + mx.random.uniform(shape=x.shape), inputs=state, outputs=state)
    mx.random.seed(5)
    a, b = f(mx.zeros(3)), f(mx.zeros(3))
    mx.random.seed(5)
    ua, ub = mx.random.uniform(shape=(3,)), mx.random.uniform(shape=(3,))
    np.testing.assert_array_equal(np.array(a), np.array(ua))
    np.testing.assert_array_equal(np.array(b), np.array(ub))
    assert not np.array_equal(np.array(a), np.array(b))


@pytest.mark.kiln_only("kiln's environment variable")
def test_kiln_disable_compile_environment_variable():
    import os
    import subprocess
    import sys

    script = (
        "import kiln.core as mx\n"
        "calls = []\n"
        "f = mx.compile(lambda x: calls.append(1) or x + 1)\n"
        "f(mx.ones(2)); f(mx.ones(2))\n"
        "print(len(calls))\n"
    )
    for env_value, expected in ((None, "1"), ("1", "2")):
        env = dict(os.environ)
        env.pop("KILN_DISABLE_COMPILE", None)
        if env_value:
            env["KILN_DISABLE_COMPILE"] = env_value
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected


@pytest.mark.kiln_only("kiln's node names in export_to_dot")
def test_equal_constants_and_subexpressions_are_merged():
    f = mx.compile(lambda x: (x * 2.0) + (x * 2.0))
    out = f(mx.ones(3))
    buf = io.StringIO()
    mx.export_to_dot(buf, out)
    assert "Compiled(Broadcast, Multiply, Add)" in buf.getvalue()
    np.testing.assert_array_equal(np.array(out), [4.0, 4.0, 4.0])


@pytest.mark.kiln_only("kiln's node names in export_to_dot")
def test_complex_chains_are_fused():
    rng = np.random.default_rng(0)
    a = mx.array((rng.uniform(-2, 2, (5, 7)) + 1j * rng.uniform(-2, 2, (5, 7))).astype(np.complex64))
    b = mx.array((rng.uniform(-2, 2, (7,)) + 1j * rng.uniform(-2, 2, (7,))).astype(np.complex64))
    for f in (lambda a, b: mx.exp(a * b) + mx.sqrt(a) / (b + 2),
              lambda a, b: mx.abs(a * a + 1) + mx.real(a) * mx.imag(b),
              lambda a, b: mx.sigmoid(a) * mx.arctanh(b) - mx.power(a, b)):
        got = mx.compile(f)(a, b)
        buf = io.StringIO()
        mx.export_to_dot(buf, got)
        assert "Compiled(" in buf.getvalue()
        np.testing.assert_allclose(np.array(got), np.array(f(a, b)), rtol=1e-5, atol=1e-6)
