"""Transformation-rule cases (see test_grad_ops.py) for hadamard_transform, gather_mm, depends
and the fp8 conversions (solve is in grad_cases_linalg.py)."""

from helpers import mx
from test_grad_ops import U


def idx(*v):
    return mx.array(list(v), dtype=mx.uint32)


CASES = {
    "hadamard": (lambda x: mx.hadamard_transform(x), [U(3, 8)]),
    "hadamard_m12_scaled": (lambda x: mx.hadamard_transform(x, scale=0.25), [U(2, 12)]),
    "hadamard_vector": (lambda x: mx.hadamard_transform(x), [U(4)]),
    # repeated indices: the cotangents of a matrix read twice add up
    "gather_mm": (lambda a, b: mx.gather_mm(a, b, idx(2, 0, 2, 1), idx(0, 1, 1, 0)), [U(3, 2, 4), U(2, 4, 5)]),
    "gather_mm_lhs_only": (lambda a, b: mx.gather_mm(a, b, lhs_indices=idx(1, 1, 0)), [U(2, 3, 4), U(4, 2)]),
    "gather_mm_negative_broadcast": (
        lambda a, b: mx.gather_mm(a, b, mx.array([[-1], [0]]), mx.array([[0, 1, 0]])),
        [U(2, 2, 3), U(2, 3, 2)],
    ),
    "gather_mm_batch_dims": (lambda a, b: mx.gather_mm(a, b, idx(3, 0), idx(1, 1)), [U(2, 2, 3, 4), U(2, 4, 3)]),
    "gather_mm_vector": (lambda a, b: mx.gather_mm(a, b, rhs_indices=idx(1, 0, 1)), [U(3), U(2, 3, 2)]),
    "segmented_mm": (lambda a, b: mx.segmented_mm(a, b, mx.array([[0, 2], [2, 5], [1, 4]])), [U(3, 5), U(5, 2)]),
    "block_masked_mm": (
        lambda a, b: mx.block_masked_mm(a, b, 32, mx.array([[True], [False]]), mx.array([[True], [True]])),
        [U(64, 32), U(32, 32)],
    ),
    "einsum_chain": (lambda a, b: mx.einsum("ij,jk,ik->i", a, b, a @ b), [U(2, 3), U(3, 2)]),
    "tensordot": (lambda a, b: mx.tensordot(a, b, axes=([0, 2], [1, 0])), [U(2, 3, 4), U(4, 2, 2)]),
    "kron": (mx.kron, [U(2, 2), U(2, 3)]),
    "inner_outer": (lambda a, b: mx.outer(mx.inner(a, b), b[0]), [U(2, 3), U(2, 3)]),
    "addmm": (lambda c, a, b: mx.addmm(c, a, b, alpha=0.5, beta=2.0), [U(2, 2), U(2, 3), U(3, 2)]),
    "dynamic_slice": (lambda x: mx.slice(x, mx.array([1, 2]), [0, 1], [2, 2]), [U(4, 5)]),
    "dynamic_slice_update": (
        lambda x, u: mx.slice_update(x, u, mx.array([1]), [1]),
        [U(3, 5), U(3, 2)],
    ),
    "pad_roll_tile": (lambda x: mx.tile(mx.roll(mx.pad(x, [(1, 0), (0, 2)], mode="edge"), 2, axis=1), (2, 1)), [U()]),
    "diagonal_trace": (lambda x: mx.diagonal(x, 1) * mx.trace(x), [U(3, 4)]),
    "repeat_diff": (lambda x: mx.diff(mx.repeat(x, 2, axis=1), n=2), [U()]),
    "median": (lambda x: mx.median(x, axis=1), [U(3, 5)]),
    "depends": (lambda x, y: mx.depends([mx.sin(x)], [y * 2])[0] * 3, [U(), U()]),
}

ZERO_GRAD = {
    "fp8_round_trip": (lambda x: mx.from_fp8(mx.to_fp8(x), mx.float64), [U()]),
}
