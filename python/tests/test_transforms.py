"""The transformation API: grad / value_and_grad / vjp / jvp / vmap over pytrees, nesting,
custom_function, checkpoint, stop_gradient and their error messages. References are written
out by hand (derivatives of small closed forms) or computed with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import mx


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=tol, atol=tol)


X = np.array([0.5, -1.0, 2.0], dtype=np.float32)
Y = np.array([1.5, 0.25, -0.5], dtype=np.float32)


def test_grad_default_first_argument():
    g = mx.grad(lambda x, y: mx.sum(x * x * y))(mx.array(X), mx.array(Y))
    close(g, 2 * X * Y)


def test_grad_argnums_sequence_and_int():
    f = lambda x, y: mx.sum(mx.sin(x) * y)
    gx, gy = mx.grad(f, argnums=[0, 1])(mx.array(X), mx.array(Y))
    close(gx, np.cos(X) * Y)
    close(gy, np.sin(X))
    close(mx.grad(f, argnums=1)(mx.array(X), mx.array(Y)), np.sin(X))
    only = mx.grad(f, argnums=(1,))(mx.array(X), mx.array(Y))  # bare, as MLX returns it
    close(only, np.sin(X))


def test_grad_argnames():
    f = lambda x, y=None: mx.sum(x * y)
    pos, named = mx.grad(f, argnames=["y"])(mx.array(X), y=mx.array(Y))
    assert pos is None
    close(named["y"], X)
    pos, named = mx.grad(f, argnums=0, argnames="y")(mx.array(X), y=mx.array(Y))
    close(pos, Y)
    close(named["y"], X)


def test_grad_over_pytrees_and_non_array_arguments():
    def f(params, scale):
        return mx.sum(params["w"] * params["b"][0]) * scale

    params = {"w": mx.array(X), "b": [mx.array(Y), mx.array(Y)]}
    g = mx.grad(f)(params, 3.0)
    close(g["w"], 3 * Y)
    close(g["b"][0], 3 * X)
    close(g["b"][1], np.zeros(3))
    assert isinstance(g["b"], list)


def test_value_and_grad_with_auxiliary_outputs():
    def f(x):
        loss = mx.sum(x * x)
        return loss, x + 1, {"n": x * 2}

    (loss, aux, extra), g = mx.value_and_grad(f)(mx.array(X))
    close(loss, np.sum(X * X))
    close(aux, X + 1)
    close(extra["n"], X * 2)
    close(g, 2 * X)


def test_grad_of_grad_and_mixed_nesting():
    f = lambda x: mx.sum(x**3)
    close(mx.grad(lambda x: mx.sum(mx.grad(f)(x)))(mx.array(X)), 6 * X)
    # jvp of vjp: the Hessian-vector product of sum(sin(x) * x)
    g = lambda x: mx.vjp(lambda a: mx.sum(mx.sin(a) * a), [x], [mx.array(1.0)])[1][0]
    _, (hv,) = mx.jvp(g, [mx.array(X)], [mx.ones(3)])
    close(hv, 2 * np.cos(X) - X * np.sin(X))
    # vmap of grad and grad of vmap
    batch = np.stack([X, Y, X * 2])
    per_row = mx.vmap(mx.grad(lambda r: mx.sum(mx.exp(r))))(mx.array(batch))
    close(per_row, np.exp(batch))
    gv = mx.grad(lambda b: mx.sum(mx.vmap(lambda r: r * r)(b)))(mx.array(batch))
    close(gv, 2 * batch)


def test_vjp_and_jvp_results():
    outs, vjps = mx.vjp(lambda a, b: [a * b, a + b], [mx.array(X), mx.array(Y)], [mx.ones(3), mx.ones(3)])
    close(outs[0], X * Y)
    close(vjps[0], Y + 1)
    close(vjps[1], X + 1)
    outs, jvps = mx.jvp(lambda a: a * a, [mx.array(X)], [mx.ones(3)])
    close(jvps[0], 2 * X)


def test_stop_gradient_blocks_derivatives():
    g = mx.grad(lambda x: mx.sum(mx.stop_gradient(x) * x))(mx.array(X))
    close(g, X)


def test_eval_inside_grad_keeps_the_graph():
    def f(x):
        y = mx.exp(x)
        mx.eval(y)
        if y.sum().item() > 0:  # value-dependent control flow works under grad
            return mx.sum(y * x)
        return mx.sum(x)

    close(mx.grad(f)(mx.array(X)), np.exp(X) * (1 + X))


def test_gradients_through_matmul_reductions_and_views():
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    ga, gb = mx.grad(lambda a, b: mx.sum(a @ b), argnums=(0, 1))(mx.array(a), mx.array(b))
    close(ga, np.ones((3, 2)) @ b.T)
    close(gb, a.T @ np.ones((3, 2)))
    g = mx.grad(lambda a: mx.sum(a.T[1:, ::2] * 2))(mx.array(a))
    expected = np.zeros_like(a)
    expected.T[1:, ::2] = 2
    close(g, expected)
    g = mx.grad(lambda a: mx.sum(mx.max(a, axis=1)))(mx.array(a))
    close(g, (a == a.max(axis=1, keepdims=True)).astype(np.float32))
    g = mx.grad(lambda a: mx.mean(mx.softmax(a, axis=-1)[:, 0]))(mx.array(a))
    s = np.exp(a) / np.exp(a).sum(-1, keepdims=True)
    expected = (s[:, [0]] * ((np.arange(4) == 0)[None] - s)) / 3
    close(g, expected, 1e-5)


def test_vmap_axes_and_pytrees():
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    close(mx.vmap(lambda x, y: x * y, in_axes=(0, None))(mx.array(a), mx.array(Y[:2])), a * Y[:2])
    out, s = mx.vmap(lambda x: (x, mx.sum(x)), out_axes=(1, 0))(mx.array(a))
    close(out, a.T)
    close(s, a.sum(1))
    d = mx.vmap(lambda p: p["a"] + p["b"][0])({"a": mx.array(a), "b": [mx.array(a)]})
    close(d, 2 * a)
    close(mx.vmap(lambda x: x * 2, in_axes=-1, out_axes=-1)(mx.array(a)), a * 2)
    # an output that does not depend on the mapped input is broadcast over the batch
    close(mx.vmap(lambda x: mx.ones(2))(mx.array(a)), np.ones((3, 2)))
    # nested vmap: an outer product
    close(mx.vmap(mx.vmap(lambda u, v: u * v, in_axes=(None, 0)), in_axes=(0, None))(mx.array(X), mx.array(Y)),
          np.outer(X, Y))


def test_custom_function_rules():
    @mx.custom_function
    def f(x, y):
        return mx.sin(x) * y

    @f.vjp
    def f_vjp(primals, cotangent, output):
        x, y = primals
        return cotangent * 100 * y, cotangent * 100

    @f.jvp
    def f_jvp(primals, tangents):
        x, y = primals
        dx, dy = tangents
        return dx * 10 * y + dy * 10

    x, y = mx.array(X), mx.array(Y)
    close(f(x, y), np.sin(X) * Y)
    gx, gy = mx.grad(lambda x, y: mx.sum(f(x, y)), argnums=(0, 1))(x, y)
    close(gx, 100 * Y)
    close(gy, 100 * np.ones(3))
    _, (t,) = mx.jvp(f, [x, y], [mx.ones(3), mx.zeros(3)])
    close(t, 10 * Y)


def test_custom_function_falls_back_to_its_own_derivatives_and_vmap():
    @mx.custom_function
    def g(x):
        return mx.exp(x)

    close(mx.grad(lambda x: mx.sum(g(x)))(mx.array(X)), np.exp(X))

    calls = []

    @g.vmap
    def g_vmap(inputs, axes):
        calls.append(axes)
        return mx.exp(inputs), axes

    out = mx.vmap(g)(mx.array(np.stack([X, Y])))
    close(out, np.exp(np.stack([X, Y])))
    assert calls == [0]


def test_checkpoint_gives_the_same_gradient():
    def block(x):
        return mx.sum(mx.tanh(x) * mx.exp(x))

    plain = mx.grad(block)(mx.array(X))
    ckpt = mx.grad(mx.checkpoint(block))(mx.array(X))
    close(ckpt, plain)


@pytest.mark.parametrize(
    "fn, args, message",
    [
        (lambda x: x * 2, (X,), "scalar|shape"),
        (lambda x: 3, (X,), "scalar"),
        (lambda x: (x, x), (X,), "scalar"),
    ],
)
def test_grad_errors(fn, args, message):
    with pytest.raises(ValueError, match=message):
        mx.grad(fn)(*[mx.array(a) for a in args])


def test_grad_argnum_errors():
    f = lambda x, y: mx.sum(x * y)
    with pytest.raises(ValueError, match="argument index 3"):
        mx.grad(f, argnums=3)(mx.array(X), mx.array(Y))
    with pytest.raises(ValueError, match="negative"):
        mx.grad(f, argnums=-1)(mx.array(X), mx.array(Y))
    with pytest.raises(ValueError, match="only arrays"):
        mx.grad(lambda d: mx.sum(d[0]))([mx.array(X), "text"])


def test_vmap_errors():
    with pytest.raises(ValueError, match="Inconsistent"):
        mx.vmap(lambda a, b: a + b)(mx.ones((3, 2)), mx.ones((4, 2)))
    with pytest.raises(IndexError, match="axis 2"):
        mx.vmap(lambda a: a, in_axes=2)(mx.ones((3, 2)))
    with pytest.raises(IndexError, match="output vectorization axis"):
        mx.vmap(lambda a: a * 2, out_axes=2)(mx.ones((3, 2)))
    with pytest.raises(ValueError):
        mx.vmap(lambda a: a.item())(mx.ones((3, 2)))


def test_vjp_cotangent_shape_error():
    with pytest.raises(ValueError, match="shape"):
        mx.vjp(lambda a: a * 2, [mx.array(X)], [mx.ones(2)])


def test_grad_through_dtype_conversions():
    x = mx.array(X.astype(np.float64), dtype=mx.float64)
    g = mx.grad(lambda a: mx.sum(mx.astype(a, mx.float32) * 3))(x)
    assert g.dtype == mx.float64
    close(g, np.full(3, 3.0))
    g16 = mx.grad(lambda a: mx.sum(a * a))(mx.array(X, dtype=mx.float16))
    assert g16.dtype == mx.float16
    close(g16, 2 * X, 1e-2)


def test_view_has_no_derivative_but_maps():
    x = mx.array(np.arange(12, dtype=np.float32).reshape(4, 3))
    with pytest.raises(ValueError, match="view"):
        mx.grad(lambda a: mx.sum(mx.view(a, mx.int32).astype(mx.float32)))(x)
    # batch axis last: viewing as a smaller type resizes the last axis, so the batch moves off it
    for dt in (mx.uint16, mx.int32, mx.float64):
        got = mx.vmap(lambda a: mx.view(a, dt), in_axes=1)(x)
        np_dt = np.dtype(str(dt).split(".")[-1])
        expected = np.stack([np.ascontiguousarray(np.array(x)[:, b]).view(np_dt) for b in range(3)])
        np.testing.assert_array_equal(np.array(got), expected)
    with pytest.raises(ValueError, match="scalar"):
        mx.vmap(lambda a: mx.view(a, mx.uint8))(x[0])


def test_fp8_conversions_have_zero_derivatives_and_map():
    x = mx.array(np.linspace(-3, 3, 8, dtype=np.float32))
    g = mx.grad(lambda a: mx.sum(mx.from_fp8(mx.to_fp8(a), mx.float32)))(x)
    np.testing.assert_array_equal(np.array(g), np.zeros(8, np.float32))
    xb = mx.reshape(x, (2, 4))
    got = mx.vmap(lambda a: mx.from_fp8(mx.to_fp8(a), mx.float32), in_axes=1)(xb)
    np.testing.assert_array_equal(np.array(got), np.array(mx.from_fp8(mx.to_fp8(xb), mx.float32)).T)
