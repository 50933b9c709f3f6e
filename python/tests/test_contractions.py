"""hadamard_transform, gather_mm, segmented_mm and block_masked_mm against NumPy references:
explicit Hadamard matrices, loops of matrix products and expanded block masks; shapes with
batch broadcasting, transposed/strided/broadcast operands, float dtypes, empty arrays and the
error cases."""

import numpy as np
import pytest

from helpers import IS_MLX, assert_close, check_op, mk, mx, raises

# (rtol, atol) for sums of up to ~100 products of values in [-1, 1]
TOL = {
    "float32": (1e-4, 1e-4),
    "float64": (1e-10, 1e-10),
    "float16": (1e-2, 3e-2),
    "bfloat16": (2e-2, 1e-1),
}
# MLX's CPU kernels of gather_mm and block_masked_mm take float32 only; kiln takes every float.
MM_DTYPES = ["float32"] if IS_MLX else ["float32", "float64", "float16", "bfloat16"]
LAYOUTS = ("contiguous", "transposed", "strided", "broadcast")

# ---------------------------------------------------------------------------------- hadamard

# The Hadamard matrices of orders 12, 20 and 28 that MLX multiplies into its transform
# ('+' = 1, '-' = -1): n = m * 2^k transforms with kron(H_m, H_2^k).
_H = {
    12: """+-++++++++++ --+-+-+-+-+- +++-++----++ +---+--+-++- +++++-++---- +-+---+--+-+
           ++--+++-++-- +--++---+--+ ++----+++-++ +--+-++---+- ++++----+++- +-+--+-++---""",
    20: """+----+----++--++-++- -+----+---+++---+-++ --+----+---+++-+-+-+ ---+----+---+++++-+-
           ----+----++--++-++-+ -+++++-----+--+++--+ +-+++-+---+-+--+++-- ++-++--+---+-+--+++-
           +++-+---+---+-+--+++ ++++-----++--+-+--++ --++-+-++-+-----++++ ---++-+-++-+---+-+++
           +---++-+-+--+--++-++ ++---++-+----+-+++-+ -++---++-+----+++++- -+--+--++-+----+----
           +-+-----++-+----+--- -+-+-+---+--+----+-- --+-+++------+----+- +--+--++------+----+""",
    28: """+------++----++-+--+-+--++-- -+-----+++-----+-+--+-+--++- --+-----+++---+-+-+----+--++
           ---+-----+++---+-+-+-+--+--+ ----+-----+++---+-+-+++--+-- -----+-----++++--+-+--++--+-
           ------++----++-+--+-+--++--+ --++++-+-------++--+++-+--+- ---++++-+-----+-++--+-+-+--+
           +---+++--+----++-++--+-+-+-- ++---++---+----++-++--+-+-+- +++---+----+----++-++--+-+-+
           ++++--------+-+--++-++--+-+- -++++--------+++--++--+--+-+ -+-++-++--++--+--------++++-
           +-+-++--+--++--+--------++++ -+-+-++--+--++--+----+---+++ +-+-+-++--+--+---+---++---++
           ++-+-+-++--+------+--+++---+ -++-+-+-++--+------+-++++--- +-++-+---++--+------+-++++--
           -++--++-+-++-+++----++------ +-++--++-+-++-+++-----+----- ++-++---+-+-++-+++-----+----
           -++-++-+-+-+-+--+++-----+--- --++-++++-+-+----+++-----+-- +--++-+-++-+-+----+++-----+-
           ++--++-+-++-+-+----++------+""",
}


def small_hadamard(m):
    rows = _H[m].split()
    h = np.array([[1.0 if c == "+" else -1.0 for c in r] for r in rows])
    assert h.shape == (m, m)
    return h


def sylvester(p):
    h = np.ones((1, 1))
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


def hadamard_matrix(n):
    for m in (28, 20, 12):
        if n % m == 0:
            return np.kron(small_hadamard(m), sylvester(n // m))
    return sylvester(n)


def hadamard_ref(x, scale=None):
    n = x.shape[-1] if x.ndim else 1
    s = 1.0 / np.sqrt(n) if scale is None else scale
    return (np.asarray(x, np.float64)[..., None, :] * hadamard_matrix(n)).sum(-1) * s


@pytest.mark.parametrize("m", [12, 20, 28])
def test_small_hadamard_matrices(m):
    h = small_hadamard(m)
    np.testing.assert_array_equal(h @ h.T, m * np.eye(m))
    # The transform of the identity's rows gives the matrix's columns.
    assert_close(mx.hadamard_transform(mk(np.eye(m), "float32"), scale=1.0), h.T, "float32")


HADAMARD_SHAPES = [(1,), (2,), (8,), (3, 16), (2, 3, 32), (2, 1), (4, 12), (3, 24), (2, 2, 48), (4, 20), (3, 40),
                   (2, 28), (2, 56), (2, 112), (2, 1024), (2, 12 * 64), (1, 20 * 32), (1, 28 * 32)]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"] + ([] if IS_MLX else ["float64"]))
def test_hadamard_transform(dtype):
    rtol, atol = {"float32": (1e-5, 1e-5), "float64": (1e-12, 1e-12), "float16": (2e-3, 2e-3),
                  "bfloat16": (2e-2, 3e-2)}[dtype]
    check_op(mx.hadamard_transform, hadamard_ref, HADAMARD_SHAPES, [dtype], low=-1, high=1, out_dtype="same",
             rtol=rtol, atol=atol)


def test_hadamard_transform_scale_and_types():
    check_op(lambda a: mx.hadamard_transform(a, scale=0.25), lambda x: hadamard_ref(x, 0.25), [(3, 8), (2, 12)],
             ["float32"], out_dtype="same", rtol=1e-5, atol=1e-5)
    check_op(lambda a: mx.hadamard_transform(a, 2.0), lambda x: hadamard_ref(x, 2.0), [(3, 20)], ["float32"],
             out_dtype="same", rtol=1e-5, atol=1e-5)
    # Integers and bool are transformed as float32.
    check_op(mx.hadamard_transform, hadamard_ref, [(3, 8), (2, 28)], ["int32", "uint8", "bool_"],
             out_dtype="float32", layouts=("contiguous", "transposed"), rtol=1e-5, atol=1e-5)
    out = mx.hadamard_transform(mx.array(3.0))
    assert out.shape == () and out.item() == 3.0


@pytest.mark.parametrize("n", [3, 6, 36, 44, 60, 96 * 3])
def test_hadamard_transform_bad_size(n):
    if IS_MLX and n > 8:
        pytest.skip("MLX accepts some of these sizes and then writes out of bounds")
    raises(ValueError, "hadamard_transform", lambda: mx.eval(mx.hadamard_transform(mx.ones((2, n)))))


def test_hadamard_transform_errors():
    raises(ValueError, "hadamard_transform", lambda: mx.eval(mx.hadamard_transform(mx.ones((0, 4)))))
    raises(ValueError, "hadamard_transform", lambda: mx.eval(mx.hadamard_transform(mx.ones((4, 0)))))


# ---------------------------------------------------------------------------------- gather_mm


def gather_ref(a, b, li, ri):
    a = a.reshape((_batch_count(a.shape),) + a.shape[-2:])
    b = b.reshape((_batch_count(b.shape),) + b.shape[-2:])
    li, ri = np.broadcast_arrays(np.asarray(li).astype(np.int64), np.asarray(ri).astype(np.int64))
    out = np.zeros(li.shape + (a.shape[-2], b.shape[-1]))
    for idx in np.ndindex(li.shape):
        out[idx] = a[li[idx]] @ b[ri[idx]]
    return out


# (a shape, b shape, lhs index shape or None, rhs index shape or None)
GATHER_CASES = [
    ((3, 4, 5), (2, 5, 6), (4,), (4,)),  # b matrices used twice: one product per b matrix
    ((3, 4, 5), (2, 5, 6), (3, 1), (2,)),  # indices broadcast: (3, 2, 4, 6)
    ((2, 3, 4, 5), (5, 5, 3), (2, 2), (2, 2)),  # flat indices over two batch dims of a
    ((3, 4, 5), (5, 6), (7,), None),  # b has no batch dims: its index is 0
    ((3, 1, 5), (4, 5, 2), None, (2, 3)),
    ((5, 17, 33), (6, 33, 9), (3, 4), (3, 4)),
    ((1, 1, 1), (1, 1, 1), (5,), (5,)),
    ((3, 4, 5), (3, 5, 6), None, None),  # every b matrix used once: one product per pair
    ((2, 40, 8), (3, 8, 5), (4,), (4,)),  # tall a matrices: one product per pair
    ((3, 4, 5), (2, 5, 6), (0,), (0,)),  # empty index: empty output
    ((3, 0, 5), (2, 5, 6), (2,), (2,)),  # M = 0
    ((3, 4, 0), (2, 0, 6), (2,), (2,)),  # K = 0: zeros
]


def _batch_count(shape):
    return int(np.prod(shape[:-2])) if len(shape) > 2 else 1


def run_gather_case(a_shape, b_shape, li_shape, ri_shape, dtype, idx_dtype="uint32", seed=0, layouts=LAYOUTS):
    rng = np.random.default_rng(seed)
    counts = {2: _batch_count(a_shape), 3: _batch_count(b_shape)}
    shapes = [a_shape, b_shape] + [s for s in (li_shape, ri_shape) if s is not None]
    positions = [2 if li_shape is not None else None, 3 if ri_shape is not None else None]
    slots = [p for p in positions if p is not None]

    def gen(rng_, shape, name, i):
        if i < 2:
            return rng_.uniform(-1, 1, size=shape)
        return rng_.integers(0, counts[slots[i - 2]], size=shape)

    def op(a, b, *idx):
        it = iter(idx)
        li = next(it) if li_shape is not None else None
        ri = next(it) if ri_shape is not None else None
        return mx.gather_mm(a, b, li, ri)

    def ref(a, b, *idx):
        it = iter(idx)
        li = next(it) if li_shape is not None else np.arange(_batch_count(a_shape)).reshape(a_shape[:-2])
        ri = next(it) if ri_shape is not None else np.arange(_batch_count(b_shape)).reshape(b_shape[:-2])
        return gather_ref(a, b, li, ri)

    rtol, atol = TOL[dtype]
    check_op(op, ref, [tuple(shapes)], [tuple([dtype, dtype] + [idx_dtype] * (len(shapes) - 2))], gen=gen,
             out_dtype=dtype, rtol=rtol, atol=atol, layouts=layouts, seed=seed)


@pytest.mark.parametrize("dtype", MM_DTYPES)
@pytest.mark.parametrize("case", GATHER_CASES, ids=str)
def test_gather_mm(case, dtype):
    run_gather_case(*case, dtype)


@pytest.mark.parametrize("idx_dtype", ["uint8", "int32", "int64", "uint64"])
def test_gather_mm_index_dtypes(idx_dtype):
    run_gather_case((3, 4, 5), (2, 5, 6), (3, 1), (2,), "float32", idx_dtype, layouts=("contiguous",))


def test_gather_mm_default_indices_and_vectors():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (2, 1, 4, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, (3, 5, 6)).astype(np.float32)
    # Without indices: a batched matmul with broadcast batch dims.
    assert_close(mx.gather_mm(mk(a, "float32"), mk(b, "float32")), a.astype(np.float64) @ b, "float32", 1e-4, 1e-4)
    # 1-d operands lose their unit dim, as in matmul.
    v = rng.uniform(-1, 1, (5,)).astype(np.float32)
    ri = np.array([2, 0, 1], np.uint32)
    out = mx.gather_mm(mk(v, "float32"), mk(b, "float32"), None, mk(ri, "uint32"))
    assert_close(out, gather_ref(v[None].astype(np.float64), b, [0], ri)[:, 0], "float32", 1e-4, 1e-4)
    out = mx.gather_mm(mk(a[0], "float32"), mk(v, "float32"), mk(np.array([0, 0]), "int32"))
    assert_close(out, np.stack([a[0, 0] @ v] * 2), "float32", 1e-4, 1e-4)
    # sorted_indices is a hint only.
    li = np.array([0, 0, 1, 1], np.uint32)
    a3 = rng.uniform(-1, 1, (2, 4, 5)).astype(np.float32)
    out = mx.gather_mm(mk(a3, "float32"), mk(b, "float32"), mk(li, "uint32"), mk(li, "uint32"), sorted_indices=True)
    assert_close(out, gather_ref(a3, b, li, li), "float32", 1e-4, 1e-4)


def test_gather_mm_mixed_dtypes():
    a = mx.ones((2, 3, 4), dtype=mx.float16)
    b = mx.ones((2, 4, 5))
    out = mx.gather_mm(a, b, mx.array([1, 0]), mx.array([0, 1]))
    assert_close(out, np.full((2, 3, 5), 4.0), "float32")


@pytest.mark.skipif(IS_MLX, reason="MLX reads out of bounds")
def test_gather_mm_negative_indices_wrap():
    rng = np.random.default_rng(2)
    a = rng.uniform(-1, 1, (3, 2, 4)).astype(np.float32)
    b = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    out = mx.gather_mm(mk(a, "float32"), mk(b, "float32"), mk(np.array([-1, -3]), "int32"))
    assert_close(out, np.stack([a[2] @ b, a[0] @ b]), "float32", 1e-5, 1e-5)


def test_gather_mm_errors():
    a, b = mx.ones((3, 4, 5)), mx.ones((2, 5, 6))
    i2 = mx.array([0, 1])
    raises(ValueError, "gather_mm", lambda: mx.gather_mm(a, mx.ones((2, 4, 6)), i2, i2))
    raises(ValueError, "gather_mm", lambda: mx.gather_mm(a, b, mx.array([0.0, 1.0]), i2))
    raises(ValueError, "gather_mm", lambda: mx.gather_mm(a, b, i2, mx.array([True, False])))
    raises(ValueError, "gather_mm", lambda: mx.gather_mm(mx.ones((3, 4, 5), dtype=mx.int32),
                                                         mx.ones((2, 5, 6), dtype=mx.int32), i2, i2))
    raises(ValueError, "gather_mm", lambda: mx.gather_mm(a.astype(mx.complex64), b, i2, i2))
    raises(ValueError, ("gather_mm", "broadcast_shapes"), lambda: mx.gather_mm(a, b, mx.array([0, 1, 2]), i2))
    raises(ValueError, ("gather_mm", "broadcast_shapes"), lambda: mx.gather_mm(a, b))  # batches (3) and (2)


# ---------------------------------------------------------------------------------- segmented_mm


def segmented_ref(a, b, seg):
    seg = np.asarray(seg).astype(np.int64)
    out = np.zeros(seg.shape[:-1] + (a.shape[0], b.shape[1]))
    for idx in np.ndindex(seg.shape[:-1]):
        lo, hi = np.clip(seg[idx], 0, a.shape[1])
        if hi > lo:
            out[idx] = a[:, lo:hi] @ b[lo:hi]
    return out


SEGMENTS = [
    np.array([[0, 3], [3, 10]]),
    np.array([[0, 10], [2, 2], [5, 4], [9, 10]]),  # whole, empty, reversed (empty), last column
    np.array([[[0, 5], [5, 10]], [[1, 2], [0, 0]], [[3, 9], [0, 10]]]),  # (3, 2) segments
    np.zeros((0, 2), np.int64),  # no segments
]


# MLX's CPU segmented_mm gives wrong rows for float16/bfloat16.
@pytest.mark.parametrize("dtype", ["float32", "float64"] + ([] if IS_MLX else ["float16", "bfloat16"]))
@pytest.mark.parametrize("si", range(len(SEGMENTS)))
def test_segmented_mm(si, dtype):
    seg = SEGMENTS[si]
    rtol, atol = TOL[dtype]
    for sdt in ["uint32", "int32"]:
        s = mk(seg, sdt)
        check_op(lambda a, b: mx.segmented_mm(a, b, s), lambda a, b: segmented_ref(a, b, seg),
                 [((4, 10), (10, 3)), ((1, 10), (10, 17))], [dtype], low=-1, high=1, out_dtype=dtype,
                 rtol=rtol, atol=atol, layouts=LAYOUTS)


def test_segmented_mm_transposed_segments_and_mixed_types():
    seg = np.array([[0, 4], [4, 6]])
    s = mx.transpose(mk(seg.T, "int64"))
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, (3, 6)).astype(np.float16)
    b = rng.uniform(-1, 1, (6, 2)).astype(np.float32)
    out = mx.segmented_mm(mk(a, "float16"), mk(b, "float32"), s)
    assert_close(out, segmented_ref(a.astype(np.float64), b, seg), "float32", 1e-4, 1e-4)


@pytest.mark.skipif(IS_MLX, reason="MLX reads out of bounds")
def test_segmented_mm_out_of_range_segments_clip():
    seg = np.array([[-2, 3], [8, 12]])
    rng = np.random.default_rng(4)
    a = rng.uniform(-1, 1, (4, 10)).astype(np.float32)
    b = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
    out = mx.segmented_mm(mk(a, "float32"), mk(b, "float32"), mk(seg, "int32"))
    assert_close(out, segmented_ref(a, b, seg), "float32", 1e-4, 1e-4)


def test_segmented_mm_errors():
    a, b, s = mx.ones((4, 10)), mx.ones((10, 3)), mx.array([[0, 3], [3, 10]])
    raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(a[None], b, s))
    raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(mx.ones((10,)), b, s))
    if not IS_MLX:  # MLX reads out of bounds
        raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(a, mx.ones((9, 3)), s))
    raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(a, b, s.astype(mx.float32)))
    raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(a, b, mx.array([0, 3, 10])))
    raises(ValueError, "segmented_mm", lambda: mx.segmented_mm(a.astype(mx.int32), b.astype(mx.int32), s))


# ---------------------------------------------------------------------------------- block_masked_mm


def expand_mask(mask, rows, cols, bs):
    return np.repeat(np.repeat(np.asarray(mask), bs, -2), bs, -1)[..., :rows, :cols]


def apply_mask(x, mask, bs):
    m = expand_mask(mask, x.shape[-2], x.shape[-1], bs)
    return np.where(m, x, 0.0) if m.dtype == bool else x * m


def block_masked_ref(a, b, bs, mo, ml, mr):
    if ml is not None:
        a = apply_mask(a, ml, bs)
    if mr is not None:
        b = apply_mask(b, mr, bs)
    out = a @ b
    return apply_mask(out, mo, bs) if mo is not None else out


def _blocks(n, bs):
    return -(-n // bs)


# (a shape, b shape, block size, mask batch shape)
BMM_CASES = [
    ((70, 40), (40, 33), 32, ()),
    ((64, 128), (128, 64), 64, ()),
    ((2, 1, 70, 40), (3, 40, 33), 32, (3,)),  # batch broadcast; masks broadcast too
    ((2, 65, 64), (64, 1), 64, (2,)),
]


def random_mask(rng, shape, kind):
    if kind == "bool":
        return rng.random(shape) < 0.6
    if kind == "int32":
        return rng.integers(0, 3, shape).astype(np.int32)
    return rng.uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("kind", ["bool", "float32", "int32"])
@pytest.mark.parametrize("which", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (0, 1, 1)], ids=str)
@pytest.mark.parametrize("case", BMM_CASES, ids=str)
def test_block_masked_mm(case, which, kind):
    a_shape, b_shape, bs, mb = case
    if IS_MLX and kind == "bool" and which[1] and len(a_shape) > 3:
        pytest.skip("MLX zeroes too much with a boolean lhs mask broadcast over batch dims")
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    rng = np.random.default_rng(5)
    dims = [(M, N), (M, K), (K, N)]
    masks = [random_mask(rng, mb + (_blocks(r, bs), _blocks(c, bs)), kind) if w else None
             for w, (r, c) in zip(which, dims)]
    arrs = [mk(m, "bool_" if kind == "bool" else kind) if m is not None else None for m in masks]
    for dtype in MM_DTYPES:
        rtol, atol = TOL[dtype]
        check_op(lambda a, b: mx.block_masked_mm(a, b, bs, *arrs), lambda a, b: block_masked_ref(a, b, bs, *masks),
                 [(a_shape, b_shape)], [dtype], low=-1, high=1, out_dtype=dtype, rtol=rtol, atol=atol,
                 layouts=("contiguous", "transposed") if dtype == "float32" else ("contiguous",))


def test_block_masked_mm_bool_masks_zero_blocks():
    a = np.ones((64, 64), np.float32)
    a[0, 0] = np.nan
    lhs = np.array([[False, True]])
    out = np.array(mx.block_masked_mm(mk(a, "float32"), mx.ones((64, 64)), 32, None, mk(lhs, "bool_")))
    assert not np.isnan(out).any()
    mo = np.array([[False, True], [True, True]])
    out = np.array(mx.block_masked_mm(mk(a, "float32"), mx.ones((64, 64)), 32, mk(mo, "bool_")))
    assert (out[:32, :32] == 0).all() and np.isnan(out[0, 32:]).all() and not np.isnan(out[1:]).any()


def test_block_masked_mm_no_masks_and_empty():
    rng = np.random.default_rng(6)
    a = rng.uniform(-1, 1, (5, 7)).astype(np.float32)
    b = rng.uniform(-1, 1, (7, 3)).astype(np.float32)
    # Without masks the block size is not checked: a plain product.
    assert_close(mx.block_masked_mm(mk(a, "float32"), mk(b, "float32"), 16), a @ b.astype(np.float64), "float32",
                 1e-5, 1e-5)
    out = mx.block_masked_mm(mx.ones((0, 40)), mx.ones((40, 33)), 32, mx.ones((0, 2), dtype=mx.bool_))
    assert out.shape == (0, 33)
    out = mx.block_masked_mm(mx.ones((70, 0)), mx.ones((0, 33)), 32, mx.ones((3, 2)), mx.ones((3, 0)),
                             mx.ones((0, 2)))
    assert_close(out, np.zeros((70, 33)), "float32")


def test_block_masked_mm_errors():
    a, b = mx.ones((70, 40)), mx.ones((40, 33))
    mo = mx.ones((3, 2), dtype=mx.bool_)
    raises(ValueError, "block_masked_mm", lambda: mx.block_masked_mm(a, b, 16, mo))
    raises(ValueError, "block_masked_mm", lambda: mx.block_masked_mm(a, b, 48, None, mx.ones((3, 2))))
    raises(ValueError, "block_masked_mm", lambda: mx.block_masked_mm(a, mx.ones((41, 33)), 32, mo))
    raises(ValueError, "block_masked_mm", lambda: mx.block_masked_mm(a.astype(mx.int32), b.astype(mx.int32), 32))
    raises(ValueError, None, lambda: mx.block_masked_mm(a, b, 32, mx.ones((3, 3), dtype=mx.bool_)))
    raises(ValueError, None, lambda: mx.block_masked_mm(a, b, 32, mx.ones((4, 3, 2), dtype=mx.bool_)))
