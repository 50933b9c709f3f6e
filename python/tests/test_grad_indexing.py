"""Targeted tests of the indexing-family rules (kiln/rules/indexing.cpp) that the case tables of
test_grad_ops.py cannot express: batched integer index arrays under vmap, unbatched inputs,
scatter_prod and RandomBits (which raise), and second derivatives."""

import numpy as np
import pytest

from helpers import mx


def _loop(fn, args, in_axes):
    batch = next(a.shape[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = []
    for b in range(batch):
        outs.append(np.array(fn(*[a if ax is None else mx.take(a, b, axis=ax) for a, ax in zip(args, in_axes)])))
    return np.stack(outs)


RNG = np.random.default_rng(0)
X = mx.array(RNG.uniform(-2, 2, (3, 4, 5)), dtype=mx.float64)  # batch of 3 examples (4, 5)
IDX = mx.array([[0, 2], [3, 3], [1, 0]])  # batch of 3 index arrays (2,)
IDX1 = mx.array([2, 0])

GATHERS = {
    "take_axis0": lambda x, i: mx.take(x, i, axis=0),
    "take_axis1": lambda x, i: mx.take(x, i, axis=1),
    "two_index_arrays": lambda x, i: x[i, mx.array([4, 1])],
    "take_along_axis": lambda x, i: mx.take_along_axis(x, mx.broadcast_to(i[:, None], (2, 5)), axis=0),
}


@pytest.mark.parametrize("name", sorted(GATHERS))
@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None), (2, 0)])
def test_vmap_gather_batched_indices(name, in_axes):
    fn = GATHERS[name]
    x = X if in_axes[0] != 2 else mx.moveaxis(X, 0, 2)
    i = IDX if in_axes[1] is not None else IDX1
    x = x if in_axes[0] is not None else X[0]
    got = mx.vmap(fn, in_axes=in_axes)(x, i)
    np.testing.assert_array_equal(np.array(got), _loop(fn, [x, i], in_axes))


def _set(x, i, u):
    y = mx.array(x)
    y[i] = u
    return y


SCATTERS = {
    "set": _set,
    "add": lambda x, i, u: x.at[i].add(u),
    "multiply": lambda x, i, u: x.at[i].multiply(u),
    "maximum": lambda x, i, u: x.at[i].maximum(u),
    "minimum": lambda x, i, u: x.at[i].minimum(u),
    "put_along_axis": lambda x, i, u: mx.put_along_axis(x, mx.broadcast_to(i[:, None], (2, 5)), u[:, :1], axis=0),
}
U = mx.array(RNG.uniform(-2, 2, (3, 2, 5)), dtype=mx.float64)


@pytest.mark.parametrize("name", sorted(SCATTERS))
@pytest.mark.parametrize(
    "in_axes", [(0, 0, 0), (None, 0, None), (0, None, None), (None, None, 0), (None, 0, 0), (0, 0, None)]
)
def test_vmap_scatter_batched_indices(name, in_axes):
    fn = SCATTERS[name]
    args = [X if in_axes[0] is not None else X[0], IDX if in_axes[1] is not None else IDX1,
            U if in_axes[2] is not None else U[0]]
    got = mx.vmap(fn, in_axes=in_axes)(*args)
    np.testing.assert_array_equal(np.array(got), _loop(fn, args, in_axes))


def test_vmap_slice_update_only_update_batched():
    fn = lambda x, u: mx.slice_update(x, u, mx.array([1]), axes=(0,))
    x, u = X[0], U
    got = mx.vmap(fn, in_axes=(None, 0))(x, u)
    np.testing.assert_array_equal(np.array(got), _loop(fn, [x, u], (None, 0)))


def test_grad_with_respect_to_gathered_values_and_duplicates():
    x = mx.array([1.0, 2.0, 3.0], dtype=mx.float64)
    g = mx.grad(lambda x: mx.sum(mx.take(x, mx.array([0, 0, 2, -1]))))(x)
    np.testing.assert_array_equal(np.array(g), [2.0, 0.0, 2.0])


def test_scatter_overwrite_vjp_last_write_wins():
    # Only the last of duplicate updates reaches the output, so only it gets a cotangent (MLX
    # gives every duplicate the cotangent; finite differences agree with this rule).
    x = mx.array([1.0, 2.0, 3.0, 4.0], dtype=mx.float64)
    u = mx.array([10.0, 20.0, 30.0], dtype=mx.float64)
    w = mx.array([1.0, 2.0, 3.0, 4.0], dtype=mx.float64)
    gx, gu = mx.grad(lambda x, u: mx.sum(_set(x, mx.array([1, 1, 2]), u) * w), argnums=(0, 1))(x, u)
    np.testing.assert_array_equal(np.array(gx), [1.0, 0.0, 0.0, 4.0])
    np.testing.assert_array_equal(np.array(gu), [0.0, 2.0, 3.0])


def test_scatter_max_min_vjp_like_mlx():
    x = mx.array([1.0, 2.0, 3.0, 4.0], dtype=mx.float64)
    u = mx.array([10.0, 20.0, 30.0], dtype=mx.float64)
    w = mx.array([1.0, 2.0, 3.0, 4.0], dtype=mx.float64)
    i = mx.array([1, 1, 2])
    gx, gu = mx.grad(lambda x, u: mx.sum(x.at[i].maximum(u) * w), argnums=(0, 1))(x, u)
    np.testing.assert_array_equal(np.array(gx), [1.0, 0.0, 0.0, 4.0])
    np.testing.assert_array_equal(np.array(gu), [0.0, 2.0, 3.0])
    gx, gu = mx.grad(lambda x, u: mx.sum(x.at[i].minimum(u) * w), argnums=(0, 1))(x, u)
    np.testing.assert_array_equal(np.array(gx), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(np.array(gu), [0.0, 0.0, 0.0])


def test_scatter_prod_grad_raises_like_mlx():
    x = mx.array([1.0, 2.0, 3.0], dtype=mx.float64)
    with pytest.raises(ValueError, match="ScatterProd"):
        mx.grad(lambda x: mx.sum(x.at[mx.array([0, 2])].multiply(x[:2])))(x)


def test_random_bits_vmap_over_keys_raises():
    keys = mx.random.split(mx.random.key(0), 3)
    with pytest.raises(ValueError, match="RandomBits"):
        mx.vmap(lambda k: mx.random.bits((2,), key=k))(keys)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: mx.sum(mx.cumprod(x) ** 2),
        lambda x: mx.sum(mx.logcumsumexp(x, reverse=True) ** 2),
        lambda x: mx.sum(mx.sort(x) ** 3 * mx.arange(4, dtype=mx.float64)),
        lambda x: mx.sum(mx.take(x, mx.array([1, 1, 3])) ** 3),
        lambda x: mx.sum(mx.cummax(x) ** 3),
    ],
)
def test_second_derivative_matches_finite_differences(fn):
    x0 = np.array([0.7, -1.2, 1.5, 0.3])
    hvp_dir = np.array([0.3, -0.5, 0.2, 0.9])
    grad = mx.grad(fn)
    f64 = lambda v: mx.array(v, dtype=mx.float64)
    got = mx.jvp(grad, [f64(x0)], [f64(hvp_dir)])[1][0]
    eps = 1e-6
    fd = (np.array(grad(f64(x0 + eps * hvp_dir))) - np.array(grad(f64(x0 - eps * hvp_dir)))) / (2 * eps)
    np.testing.assert_allclose(np.array(got), fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("inclusive", [True, False])
def test_cumprod_grad_with_zeros(reverse, inclusive):
    # cumprod is a polynomial: finite differences are exact enough at zeros too.
    x0 = np.array([[1.5, 0.0, -2.0, 0.0, 0.7], [0.0, 1.1, 1.3, -0.4, 2.0], [0.5, 1.2, -0.8, 1.4, 0.0]])
    w = np.random.default_rng(3).uniform(0.5, 1.5, x0.shape)
    f64 = lambda v: mx.array(v, dtype=mx.float64)
    fn = lambda x: mx.cumprod(x, axis=1, reverse=reverse, inclusive=inclusive)
    loss = lambda x: mx.sum(fn(x) * f64(w))
    g = np.array(mx.grad(loss)(f64(x0)))
    eps = 1e-6
    fd = np.zeros_like(x0)
    for j in range(x0.size):
        p, m = x0.copy(), x0.copy()
        p.flat[j] += eps
        m.flat[j] -= eps
        fd.flat[j] = (loss(f64(p)).item() - loss(f64(m)).item()) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    t = np.random.default_rng(4).standard_normal(x0.shape)
    _, (jv,) = mx.jvp(fn, [f64(x0)], [f64(t)])
    assert float(np.sum(w * np.array(jv))) == pytest.approx(float(np.sum(g * t)), rel=1e-9, abs=1e-12)


def test_nested_vmap_and_vmap_of_grad():
    x = mx.array(RNG.uniform(-2, 2, (2, 3, 4, 5)), dtype=mx.float64)
    idx = mx.array(RNG.integers(0, 4, (2, 3, 2)))
    fn = lambda x, i: x.at[i].add(mx.take(x, i, axis=0) * 2)
    got = mx.vmap(mx.vmap(fn))(x, idx)
    want = np.stack([np.stack([np.array(fn(x[a, b], idx[a, b])) for b in range(3)]) for a in range(2)])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-12)
    g = lambda x, i: mx.grad(lambda x: mx.sum(mx.sort(fn(x, i), axis=0) ** 2))(x)
    got = mx.vmap(g)(x[0], idx[0])
    want = np.stack([np.array(g(x[0, b], idx[0, b])) for b in range(3)])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-12)


def test_logcumsumexp_grad_with_leading_neg_inf():
    x = mx.array([-np.inf, -np.inf, 0.5, -np.inf, 1.0], dtype=mx.float64)
    g = np.array(mx.grad(lambda x: mx.sum(mx.logcumsumexp(x)))(x))
    assert np.all(np.isfinite(g))
    e = np.exp([0.5, 1.0])
    np.testing.assert_allclose(g, [0.0, 0.0, 1 + 1 + e[0] / e.sum(), 0.0, e[1] / e.sum()], rtol=1e-12)
