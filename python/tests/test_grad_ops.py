"""Every op's transformation rules against independent references, one table for all:

- grad against central finite differences of the op's own forward pass, in float64;
- jvp against vjp (adjoint identity <c, J t> == <J^T c, t>);
- vmap against a Python loop over the batch.

Adding an op is one line in a case table: a function of arrays and the (shape, low, high) of
each random float64 input. The elementwise tables are below; each other primitive family has its
own module grad_cases_<family>.py (CASES and ZERO_GRAD dicts, using U/POS/UNIT from here), merged
into the tables at import.
"""

from __future__ import annotations

import glob
import importlib
import os
import zlib

import numpy as np
import pytest

from helpers import mx


def U(*shape, lo=-2.0, hi=2.0):
    return (shape or (2, 3), lo, hi)


POS = dict(lo=0.2, hi=2.0)  # strictly positive inputs (log, sqrt, ...)
UNIT = dict(lo=-0.8, hi=0.8)  # inside (-1, 1) (arcsin, arctanh, erfinv)

# name -> (function, input specs). Inputs are float64 unless the op needs otherwise.
CASES = {
    # unary
    "abs": (mx.abs, [U()]),
    "negative": (mx.negative, [U()]),
    "sqrt": (mx.sqrt, [U(**POS)]),
    "rsqrt": (mx.rsqrt, [U(**POS)]),
    "square": (mx.square, [U()]),
    "reciprocal": (mx.reciprocal, [U(**POS)]),
    "exp": (mx.exp, [U()]),
    "expm1": (mx.expm1, [U()]),
    "log": (mx.log, [U(**POS)]),
    "log2": (mx.log2, [U(**POS)]),
    "log10": (mx.log10, [U(**POS)]),
    "log1p": (mx.log1p, [U(**POS)]),
    "sin": (mx.sin, [U()]),
    "cos": (mx.cos, [U()]),
    "tan": (mx.tan, [U(lo=-1.2, hi=1.2)]),
    "arcsin": (mx.arcsin, [U(**UNIT)]),
    "arccos": (mx.arccos, [U(**UNIT)]),
    "arctan": (mx.arctan, [U()]),
    "sinh": (mx.sinh, [U()]),
    "cosh": (mx.cosh, [U()]),
    "tanh": (mx.tanh, [U()]),
    "arcsinh": (mx.arcsinh, [U()]),
    "arccosh": (mx.arccosh, [U(lo=1.2, hi=3.0)]),
    "arctanh": (mx.arctanh, [U(**UNIT)]),
    "sigmoid": (mx.sigmoid, [U()]),
    "erf": (mx.erf, [U()]),
    "erfinv": (mx.erfinv, [U(**UNIT)]),
    # binary (with broadcasting)
    "add": (mx.add, [U(), U(3)]),
    "subtract": (mx.subtract, [U(), U(2, 1)]),
    "multiply": (mx.multiply, [U(), U()]),
    "divide": (mx.divide, [U(), U(**POS)]),
    "remainder": (mx.remainder, [U(lo=0.1, hi=3.0), U(lo=0.7, hi=1.3)]),
    "power": (mx.power, [U(**POS), U()]),
    "maximum": (mx.maximum, [U(), U()]),
    "minimum": (mx.minimum, [U(), U()]),
    "logaddexp": (mx.logaddexp, [U(), U()]),
    "arctan2": (mx.arctan2, [U(), U()]),
    "where": (lambda x, y: mx.where(x > 0, x, y), [U(), U()]),
    # composites built on the above
    "sum_of_squares_chain": (lambda x, y: mx.exp(mx.sin(x) * y) / (1 + mx.square(y)), [U(), U()]),
    "clip": (lambda x: mx.clip(x, -0.5, 0.5), [U()]),
}

# Ops with zero derivative everywhere they are differentiable (piecewise constant), and
# stop_gradient (whose forward pass is the identity).
ZERO_GRAD = {
    "floor": (mx.floor, [U()]),
    "ceil": (mx.ceil, [U()]),
    "round": (mx.round, [U()]),
    "sign": (mx.sign, [U()]),
    "floor_divide": (mx.floor_divide, [U(), U(**POS)]),
    "stop_gradient": (mx.stop_gradient, [U()]),
}


# Case tables of the other primitive families.
for _path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "grad_cases_*.py"))):
    _mod = importlib.import_module(os.path.basename(_path)[:-3])
    CASES.update(getattr(_mod, "CASES", {}))
    ZERO_GRAD.update(getattr(_mod, "ZERO_GRAD", {}))


def make_inputs(name, specs, batch=None):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    out = []
    for shape, lo, hi in specs:
        full = ((batch,) if batch else ()) + tuple(shape)
        out.append(rng.uniform(lo, hi, size=full).astype(np.float64))
    return out


def as_mx(xs):
    return [mx.array(x, dtype=mx.float64) for x in xs]


def weighted_loss(fn, weights):
    def loss(*xs):
        return mx.sum(fn(*xs) * weights)

    return loss


def numeric_grads(loss, xs, eps=1e-6):
    grads = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        for j in range(x.size):
            plus = [a.copy() for a in xs]
            minus = [a.copy() for a in xs]
            plus[i].flat[j] += eps
            minus[i].flat[j] -= eps
            fp = loss(*as_mx(plus)).item()
            fm = loss(*as_mx(minus)).item()
            g.flat[j] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def output_weights(name, fn, xs):
    out = fn(*as_mx(xs))
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    return mx.array(rng.uniform(0.5, 1.5, size=out.shape), dtype=mx.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_matches_finite_differences(name):
    fn, specs = CASES[name]
    xs = make_inputs(name, specs)
    loss = weighted_loss(fn, output_weights(name, fn, xs))
    grads = mx.grad(loss, argnums=list(range(len(xs))))(*as_mx(xs))
    grads = [grads] if len(xs) == 1 else grads  # a one-element argnums gives the gradient bare
    expected = numeric_grads(loss, xs)
    for g, e in zip(grads, expected):
        assert g.dtype == mx.float64
        np.testing.assert_allclose(np.array(g), e, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ZERO_GRAD))
def test_piecewise_constant_ops_have_zero_grad(name):
    fn, specs = ZERO_GRAD[name]
    xs = make_inputs(name, specs)
    grads = mx.grad(lambda *a: mx.sum(fn(*a)), argnums=list(range(len(xs))))(*as_mx(xs))
    grads = [grads] if len(xs) == 1 else grads
    for g, x in zip(grads, xs):
        np.testing.assert_array_equal(np.array(g), np.zeros_like(x))


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_is_adjoint_of_vjp(name):
    fn, specs = CASES[name]
    xs = make_inputs(name, specs)
    rng = np.random.default_rng(7)
    tangents = [rng.standard_normal(x.shape) for x in xs]
    outs, jvps = mx.jvp(fn, as_mx(xs), as_mx(tangents))
    cot = rng.standard_normal(outs[0].shape)
    _, vjps = mx.vjp(fn, as_mx(xs), as_mx([cot]))
    lhs = float(np.sum(cot * np.array(jvps[0])))
    rhs = sum(float(np.sum(t * np.array(v))) for t, v in zip(tangents, vjps))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(ZERO_GRAD))
def test_vmap_matches_loop(name):
    fn, specs = {**CASES, **ZERO_GRAD}[name]
    batch = 3
    xs = make_inputs(name, specs, batch=batch)
    got = mx.vmap(fn)(*as_mx(xs))
    expected = np.stack([np.array(fn(*as_mx([x[b] for x in xs]))) for b in range(batch)])
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_other_axes_and_unmapped_inputs(name):
    """First input mapped along its last axis, the others not mapped; output axis last."""
    fn, specs = CASES[name]
    batch = 2
    xs = make_inputs(name, specs)
    first = make_inputs(name + "/batched", specs[:1], batch=batch)[0]
    first = np.moveaxis(first, 0, -1)
    in_axes = (-1,) + (None,) * (len(xs) - 1)
    got = mx.vmap(fn, in_axes=in_axes, out_axes=-1)(*as_mx([first] + xs[1:]))
    expected = np.stack([np.array(fn(*as_mx([first[..., b]] + xs[1:]))) for b in range(batch)], axis=-1)
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-12, atol=1e-12)
