"""Error paths: bad shapes, out-of-range axes, bad dtypes and bad arguments raise the right
exception, with the op name as `[op_name]` in the message, when the op is called (before any
evaluation), and never crash the process.

Conventions (DESIGN.md): std::invalid_argument -> ValueError; axis errors are std::out_of_range
-> IndexError. Where MLX (the sanity-check backend) raises a different type, the case says so.
"""

import numpy as np
import pytest

from helpers import IS_MLX, mx, raises

A = mx.zeros((2, 3))
B3 = mx.zeros((2, 3, 4))

# id, thunk, expected exception, op names accepted in the message, MLX's exception if it differs
CASES = [
    # ---- shapes
    ("reshape-size", lambda: mx.reshape(A, (4,)), ValueError, "reshape", None),
    ("reshape-size-method", lambda: A.reshape(5, 1), ValueError, "reshape", None),
    ("reshape-two-infer", lambda: mx.reshape(A, (-1, -1)), ValueError, "reshape", None),
    ("reshape-infer-indivisible", lambda: mx.reshape(A, (-1, 4)), ValueError, "reshape", None),
    ("add-broadcast", lambda: A + mx.zeros((4,)), ValueError, ("add", "broadcast_shapes"), None),
    ("multiply-broadcast", lambda: mx.multiply(A, mx.zeros((3, 2))), ValueError, ("multiply", "broadcast_shapes"),
     None),
    ("where-broadcast", lambda: mx.where(mx.zeros((2,)), A, mx.zeros((4,))), ValueError,
     ("where", "broadcast_shapes"), None),
    ("broadcast_to-incompatible", lambda: mx.broadcast_to(A, (3, 3)), ValueError,
     ("broadcast_to", "broadcast_shapes"), None),
    ("broadcast_to-fewer-dims", lambda: mx.broadcast_to(A, (3,)), ValueError, ("broadcast_to", "broadcast_shapes"),
     None),
    ("full-vals-shape", lambda: mx.full((2, 2), mx.zeros((3,))), ValueError,
     ("full", "broadcast_shapes", "broadcast_to"), None),
    ("matmul-inner", lambda: mx.matmul(A, mx.zeros((2, 3))), ValueError, "matmul", None),
    ("matmul-vectors", lambda: mx.matmul(mx.zeros((3,)), mx.zeros((4,))), ValueError, "matmul", None),
    ("matmul-0d", lambda: mx.matmul(mx.zeros(()), A), ValueError, "matmul", None),
    ("matmul-batch", lambda: mx.matmul(mx.zeros((2, 2, 3)), mx.zeros((3, 3, 2))), ValueError,
     ("matmul", "broadcast_shapes"), None),
    ("matmul-operator", lambda: A @ A, ValueError, "matmul", None),
    ("concatenate-shapes", lambda: mx.concatenate([A, mx.zeros((3, 3))], axis=1), ValueError, "concatenate", None),
    ("concatenate-ndim", lambda: mx.concatenate([A, mx.zeros((6,))], axis=0), ValueError, "concatenate", None),
    ("concatenate-empty", lambda: mx.concatenate([]), ValueError, "concatenate", None),
    ("stack-shapes", lambda: mx.stack([A, mx.zeros((3, 3))]), ValueError, "stack", None),
    ("stack-empty", lambda: mx.stack([]), ValueError, "stack", None),
    ("split-unequal", lambda: mx.split(A, 2, axis=1), ValueError, "split", None),
    ("split-zero", lambda: mx.split(A, 0), ValueError, "split", None),
    ("squeeze-non-unit", lambda: mx.squeeze(A, 0), ValueError, "squeeze", None),
    ("transpose-count", lambda: mx.transpose(A, (0,)), ValueError, "transpose", None),
    ("transpose-repeat", lambda: mx.transpose(A, (0, 0)), ValueError, "transpose", None),
    ("expand_dims-repeat", lambda: mx.expand_dims(A, (0, 0)), ValueError, "expand_dims", None),
    ("flatten-order", lambda: mx.flatten(B3, 2, 1), ValueError, "flatten", None),
    ("zeros-negative", lambda: mx.zeros((2, -3)), ValueError, ("zeros", "full"), None),
    ("ones-negative", lambda: mx.ones((-1,)), ValueError, ("ones", "full"), None),
    ("full-negative", lambda: mx.full((-1,), 2.0), ValueError, "full", None),
    # ---- axes: std::out_of_range -> IndexError
    ("sum-axis", lambda: mx.sum(A, axis=2), IndexError, "sum", None),
    ("sum-neg-axis", lambda: mx.sum(A, axis=-3), IndexError, "sum", None),
    ("prod-axis", lambda: mx.prod(A, axis=(0, 5)), IndexError, "prod", None),
    ("max-axis", lambda: mx.max(A, axis=2), IndexError, "max", None),
    ("min-axis", lambda: mx.min(A, axis=-3), IndexError, "min", None),
    ("mean-axis", lambda: mx.mean(A, axis=2), IndexError, "mean", None),
    ("var-axis", lambda: mx.var(A, axis=2), IndexError, ("var", "mean"), None),
    ("std-axis", lambda: mx.std(A, axis=2), IndexError, ("std", "var", "mean"), None),
    ("all-axis", lambda: mx.all(A, axis=2), IndexError, "all", None),
    ("any-axis", lambda: mx.any(A, axis=2), IndexError, "any", None),
    ("argmax-axis", lambda: mx.argmax(A, axis=3), IndexError, "argmax", None),
    ("argmin-axis", lambda: mx.argmin(A, axis=-3), IndexError, "argmin", None),
    ("logsumexp-axis", lambda: mx.logsumexp(A, axis=2), IndexError, "logsumexp", None),
    ("softmax-axis", lambda: mx.softmax(A, axis=2), IndexError, "softmax", None),
    ("transpose-axis", lambda: mx.transpose(A, (0, 2)), IndexError, "transpose", None),
    ("swapaxes-axis", lambda: mx.swapaxes(A, 0, 5), IndexError, "swapaxes", None),
    ("moveaxis-axis", lambda: mx.moveaxis(A, 0, -3), IndexError, "moveaxis", None),
    ("expand_dims-axis", lambda: mx.expand_dims(A, 5), IndexError, "expand_dims", None),
    ("expand_dims-neg-axis", lambda: mx.expand_dims(A, -4), IndexError, "expand_dims", None),
    ("squeeze-axis", lambda: mx.squeeze(A, 4), IndexError, "squeeze", None),
    ("concatenate-axis", lambda: mx.concatenate([A, A], axis=3), IndexError, "concatenate", None),
    ("stack-axis", lambda: mx.stack([A, A], axis=4), IndexError, "stack", None),
    ("split-axis", lambda: mx.split(A, 2, axis=5), IndexError, "split", None),
    ("flatten-axis", lambda: mx.flatten(A, -4), IndexError, "flatten", None),
    # ---- duplicate axes
    ("sum-duplicate-axes", lambda: mx.sum(A, axis=(0, 0)), ValueError, "sum", None),
    ("softmax-duplicate-axes", lambda: mx.softmax(A, axis=(1, -1)), ValueError, "softmax", None),
    # ---- reductions of nothing
    ("max-empty", lambda: mx.max(mx.zeros((0, 3)), axis=0), ValueError, "max", None),
    ("argmax-empty", lambda: mx.argmax(mx.zeros((0,))), ValueError, "argmax", None),
    # ---- dtypes
    ("bitwise_and-float", lambda: mx.bitwise_and(A, A), (ValueError, TypeError), "bitwise_and", RuntimeError),
    ("left_shift-float", lambda: mx.left_shift(A, A), (ValueError, TypeError), "left_shift", RuntimeError),
    ("bitwise_invert-float", lambda: mx.bitwise_invert(A), (ValueError, TypeError), "bitwise_invert", None),
    ("negative-bool", lambda: mx.negative(mx.array([True])), ValueError, "negative", None),
    ("floor-complex", lambda: mx.floor(mx.array([1 + 1j])), ValueError, "floor", None),
    ("arange-bool", lambda: mx.arange(0, 5, dtype=mx.bool_), ValueError, "arange", None),
    # ---- arguments
    ("arange-step0", lambda: mx.arange(0, 10, 0), ValueError, "arange", None),
    ("linspace-negative", lambda: mx.linspace(0, 1, -1), ValueError, "linspace", None),
    ("eye-negative", lambda: mx.eye(-1), ValueError, "eye", None),
    ("eye-negative-m", lambda: mx.eye(2, -1), ValueError, "eye", None),
    ("identity-negative", lambda: mx.identity(-2), ValueError, ("identity", "eye"), None),
]


KILN_ONLY = {"flatten-axis": "MLX clamps out-of-range flatten axes instead of raising"}


@pytest.mark.parametrize(
    "thunk, exc, names, mlx_exc",
    [pytest.param(*c[1:], id=c[0], marks=[pytest.mark.kiln_only(KILN_ONLY[c[0]])] if c[0] in KILN_ONLY else [])
     for c in CASES],
)
def test_error(thunk, exc, names, mlx_exc):
    raises(exc, names, thunk, mlx_exc=mlx_exc)


# ---- the Python layer: construction, conversion, indexing, operators


def test_ragged_list():
    with pytest.raises(ValueError):
        mx.array([[1, 2], [3]])


@pytest.mark.parametrize("bad", ["abc", object(), {"a": 1}], ids=["str", "object", "dict"])
def test_unsupported_construction_value(bad):
    with pytest.raises((ValueError, TypeError)):
        mx.array(bad)


def test_item_of_many_elements():
    with pytest.raises(ValueError):
        mx.zeros((2,)).item()


def test_len_of_scalar():
    with pytest.raises(TypeError):
        len(mx.array(3))


def test_operator_with_string():
    with pytest.raises((TypeError, ValueError)):
        A + "x"


def test_too_many_indices():
    with pytest.raises((IndexError, ValueError)):
        A[0, 0, 0]


def test_two_ellipses():
    with pytest.raises((IndexError, ValueError)):
        A[..., ...]


@pytest.mark.kiln_only("MLX does not bounds-check integer indices")
def test_index_out_of_range():
    with pytest.raises(IndexError):
        A[2]
    with pytest.raises(IndexError):
        A[:, -4]


@pytest.mark.kiln_only("MLX dies with SIGFPE on a zero slice step")
def test_zero_slice_step():
    with pytest.raises(ValueError):
        A[::0]


def test_errors_leave_the_library_usable():
    """After every error above, ordinary work still gives right answers."""
    for c in CASES:
        try:
            c[1]()
        except Exception:
            pass
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(np.array(mx.sum(mx.array(x) * 2, axis=0)), (x * 2).sum(axis=0))


@pytest.mark.skipif(IS_MLX, reason="MLX's messages do not all start with the op name")
def test_messages_start_with_op_name_and_show_values():
    with pytest.raises(ValueError) as e:
        mx.reshape(mx.zeros((2, 3)), (4,))
    msg = str(e.value)
    assert msg.startswith("[reshape]") and "6" in msg and "4" in msg
    with pytest.raises(IndexError) as e:
        mx.sum(mx.zeros((2, 3)), axis=5)
    assert str(e.value).startswith("[sum]") and "5" in str(e.value)
