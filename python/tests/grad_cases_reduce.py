"""Transformation-rule cases (see test_grad_ops.py) for reductions, softmax/logsumexp, matmul and
the shape/view primitives."""

from helpers import mx
from test_grad_ops import POS, U

CASES = {
    "sum_axis": (lambda x: mx.sum(x, axis=1), [U(3, 4)]),
    "sum_all": (lambda x: mx.sum(x), [U(3, 4)]),
    "mean_keepdims": (lambda x: mx.mean(x, axis=0, keepdims=True), [U(3, 4)]),
    "prod_axis": (lambda x: mx.prod(x, axis=-1), [U(3, 4)]),
    "max_axis": (lambda x: mx.max(x, axis=0), [U(3, 4)]),
    "min_axes": (lambda x: mx.min(x, axis=(0, 2)), [U(2, 3, 2)]),
    "softmax": (lambda x: mx.softmax(x, axis=-1), [U(3, 4)]),
    "softmax_axis0": (lambda x: mx.softmax(x, axis=0), [U(3, 4)]),
    "logsumexp": (lambda x: mx.logsumexp(x, axis=-1), [U(3, 4)]),
    "var": (lambda x: mx.var(x, axis=1), [U(3, 4)]),
    "matmul": (mx.matmul, [U(3, 4), U(4, 2)]),
    "matmul_batched_broadcast": (mx.matmul, [U(2, 3, 4), U(4, 2)]),
    "matvec": (mx.matmul, [U(3, 4), U(4)]),
    "reshape": (lambda x: mx.reshape(x, (4, 3)), [U(3, 4)]),
    "transpose": (lambda x: mx.transpose(x, (1, 0, 2)), [U(2, 3, 2)]),
    "broadcast_to": (lambda x: mx.broadcast_to(x, (2, 3, 4)), [U(3, 1)]),
    "slice_steps": (lambda x: x[1:, ::-2], [U(3, 5)]),
    "expand_squeeze": (lambda x: mx.squeeze(mx.expand_dims(x, (0, 2)), 0), [U(3, 4)]),
    "concatenate": (lambda x, y: mx.concatenate([x, y, x], axis=1), [U(2, 3), U(2, 1)]),
    "split": (lambda x: mx.split(x, [1, 3], axis=1)[1] * 2, [U(2, 5)]),
    "norm_like": (lambda x: mx.sqrt(mx.sum(x * x, axis=-1)), [U(**POS)]),
}
