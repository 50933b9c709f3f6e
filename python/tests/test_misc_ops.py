"""Composed ops against NumPy: tri/tril/triu, windows, meshgrid, nan_to_num, flip, roll, repeat,
tile, pad, unflatten, unstack, diagonal, diag, trace, diff, contiguous, tensordot, inner, outer,
vecdot, kron, addmm, einsum, einsum_path, finfo, iinfo, isdtype, can_cast and the print options."""

import numpy as np
import pytest

from helpers import assert_close, check_op, mk, mx, promote, raises, sum_result

DTYPES = ["bool_", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
NUM = ["uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
SHAPES = [(7,), (3, 5), (4, 1, 6), (2, 3, 4), (0, 3), (3, 0)]
SHAPES2D = [(3, 5), (5, 3), (4, 4), (2, 3, 4), (0, 3), (3, 0)]


# ---------------------------------------------------------------------------------- triangles


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (3, 5, 1), (4, 2, -1), (0, 3, 0), (3, 0, 2), (2, 2, 9)])
def test_tri(n, m, k):
    assert_close(mx.tri(n, m, k), np.tri(n, m, k), "float32")
    assert_close(mx.tri(n, m, k, dtype=mx.int32), np.tri(n, m, k, dtype=np.int32), "int32")


@pytest.mark.parametrize("k", [-2, 0, 1, 7])
def test_tril_triu(k):
    check_op(lambda a: mx.tril(a, k), lambda x: np.tril(x, k), SHAPES2D, DTYPES, out_dtype="same")
    check_op(lambda a: mx.triu(a, k), lambda x: np.triu(x, k), SHAPES2D, DTYPES, out_dtype="same")


@pytest.mark.parametrize("name", ["bartlett", "hanning", "hamming", "blackman"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 16])
def test_windows(name, n):
    assert_close(getattr(mx, name)(n), getattr(np, name)(n), "float32", atol=1e-6)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("sizes", [(3,), (3, 4), (2, 3, 4), (0, 3)])
def test_meshgrid(indexing, sparse, sizes):
    xs = [np.arange(n, dtype=np.float32) * (i + 1) for i, n in enumerate(sizes)]
    got = mx.meshgrid(*[mk(x, "float32") for x in xs], sparse=sparse, indexing=indexing)
    want = np.meshgrid(*xs, sparse=sparse, indexing=indexing)
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, "float32")


# ---------------------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_nan_to_num(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0, 0.0])
    big = float(mx.finfo(getattr(mx, dtype)).max)
    assert_close(mx.nan_to_num(mk(x, dtype)), [0.0, big, -big, 1.5, -2.0, 0.0], dtype)
    assert_close(mx.nan_to_num(mk(x, dtype), 7.0, posinf=3.0, neginf=-4.0), [7, 3, -4, 1.5, -2, 0], dtype)
    assert_close(mx.nan_to_num(mk(np.array(np.nan), dtype)), np.array(0.0), dtype)


def test_nan_to_num_ints_and_scalars():
    assert_close(mx.nan_to_num(mk(np.array([1, 2]), "int32")), [1, 2], "int32")
    assert_close(mx.nan_to_num(float("nan")), np.array(0.0), "float32")


# ---------------------------------------------------------------------------------- rearranging


@pytest.mark.parametrize("axis", [None, 0, -1, [0, -1]])
def test_flip(axis):
    shapes = [(3, 5), (2, 3, 4), (0, 3), (3, 0)] + ([] if isinstance(axis, list) else [(7,)])
    check_op(lambda a: mx.flip(a, axis), lambda x: np.flip(x, axis), shapes, DTYPES, out_dtype="same")
    if axis is None:
        assert_close(mx.flip(mx.array(2.5)), np.array(2.5), "float32")
    # A repeated axis flips once, as in MLX.
    assert_close(mx.flip(mx.array([1, 2, 3]), [0, -1]), [3, 2, 1], "int32")


@pytest.mark.parametrize("shift,axis", [(2, None), (-9, None), (1, 0), (-2, -1), ((1, 2), (0, -1)),
                                        (3, (0, 1)), ((1, 2), None), (0, 0)])
def test_roll(shift, axis):
    shapes = [(3, 5), (2, 3, 4), (0, 3), (3, 0)]
    ref_shift = sum(shift) if isinstance(shift, tuple) and axis is None else shift
    check_op(lambda a: mx.roll(a, shift, axis), lambda x: np.roll(x, ref_shift, axis), shapes, DTYPES,
             out_dtype="same")


@pytest.mark.parametrize("repeats,axis", [(3, None), (2, 0), (2, -1), (0, 1), (1, 1)])
def test_repeat(repeats, axis):
    check_op(lambda a: mx.repeat(a, repeats, axis), lambda x: np.repeat(x, repeats, axis),
             [(3, 5), (2, 3, 4), (0, 3)], DTYPES, out_dtype="same")
    if axis is None:
        assert_close(mx.repeat(mx.array(4), repeats), np.repeat(4, repeats).astype(np.int32), "int32")


@pytest.mark.parametrize("reps", [2, (2,), (2, 1), (1, 3, 2), (0, 2), (2, 1, 1, 2)])
def test_tile(reps):
    check_op(lambda a: mx.tile(a, reps), lambda x: np.tile(x, reps), [(4,), (3, 5), (2, 3, 4), (0, 3)], DTYPES,
             out_dtype="same")
    assert_close(mx.tile(mx.array(3), reps), np.tile(np.int32(3), reps), "int32")


@pytest.mark.parametrize("width", [1, (2,), (1, 2), [(0, 1), (2, 0)], [(1, 1)], ((3, 0), (0, 0))])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad(width, mode):
    kw = {"constant_values": 5} if mode == "constant" else {}
    shapes = [(3, 4), (1, 5)]
    if mode in ("constant",):
        shapes.append((0, 2))
    check_op(lambda a: mx.pad(a, width, mode, **kw), lambda x: np.pad(x, width, mode, **kw), shapes, NUM,
             out_dtype="same")


def test_pad_1d_and_0d():
    assert_close(mx.pad(mx.array([1, 2, 3]), (2, 1), constant_values=-1), [-1, -1, 1, 2, 3, -1], "int32")
    assert_close(mx.pad(mx.array(2.0), 0), np.array(2.0), "float32")
    # A float fill value into an int array takes the array's dtype.
    assert_close(mx.pad(mx.array([1, 2]), 1, constant_values=2.0), [2, 1, 2, 2], "int32")


def test_unflatten_unstack():
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    assert_close(mx.unflatten(mk(x, "float32"), 1, (3, -1)), x.reshape(2, 3, 4), "float32")
    assert_close(mx.unflatten(mk(x, "float32"), -2, (1, 2)), x.reshape(1, 2, 12), "float32")
    assert_close(mx.unflatten(mk(np.zeros((2, 0)), "float32"), 1, (0, 5)), np.zeros((2, 0, 5)), "float32")
    y = np.arange(24).reshape(2, 3, 4)
    for axis in (0, 1, -1):
        got = mx.unstack(mk(y, "int64"), axis=axis)
        want = [np.take(y, i, axis) for i in range(y.shape[axis])]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w, "int64")
    assert mx.unstack(mk(np.zeros((0, 3)), "float32")) == ()
    assert isinstance(mx.unstack(mk(y, "int64")), tuple)


# ---------------------------------------------------------------------------------- diagonals


@pytest.mark.parametrize("offset,a1,a2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (2, 1, 0), (0, -1, 0), (9, 0, 1)])
def test_diagonal_trace(offset, a1, a2):
    shapes = [(3, 5), (5, 3), (2, 3, 4), (0, 3)]
    check_op(lambda a: mx.diagonal(a, offset, a1, a2), lambda x: np.diagonal(x, offset, a1, a2), shapes, DTYPES,
             out_dtype="same")
    check_op(lambda a: mx.trace(a, offset, a1, a2), lambda x: np.trace(x, offset, a1, a2), shapes,
             [d for d in NUM if d not in ("float16", "bfloat16")], out_dtype=sum_result)


def test_trace_dtype():
    x = np.arange(9).reshape(3, 3)
    assert_close(mx.trace(mk(x, "int32"), dtype=mx.float32), np.array(12.0), "float32")


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_diag(k):
    check_op(lambda a: mx.diag(a, k), lambda x: np.diag(x, k), [(4,), (1,), (0,), (3, 5), (5, 3)], DTYPES,
             out_dtype="same")


@pytest.mark.parametrize("n,axis", [(1, -1), (2, 0), (0, 1), (5, -1)])
def test_diff(n, axis):
    check_op(lambda a: mx.diff(a, n, axis), lambda x: np.diff(x, n, axis), [(3, 5), (2, 3, 4), (3, 0)],
             ["bool_", "int32", "int64", "float16", "float32", "float64"], out_dtype="same")


def test_contiguous():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert_close(mx.contiguous(mx.transpose(mk(x, "float32"))), x.T, "float32")
    assert_close(mx.contiguous(mx.array(1)), np.array(1), "int32")


# ---------------------------------------------------------------------------------- contractions

FDT = ["float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("axes,sa,sb", [
    (2, (2, 3, 4), (3, 4, 5)), (1, (3, 4), (4, 2)), (0, (2, 3), (4,)),
    ([[0, 2], [1, 0]], (4, 2, 3), (3, 4, 5)), ([1, 0], (2, 3), (3, 4)), (1, (0, 3), (3, 2))])
def test_tensordot(axes, sa, sb):
    check_op(lambda a, b: mx.tensordot(a, b, axes), lambda x, y: np.tensordot(x, y, axes), [(sa, sb)], FDT,
             layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((2, 3), (5, 3)), ((), (2, 3)), ((2, 0), (3, 0))])
def test_inner_outer(sa, sb):
    check_op(mx.inner, np.inner, [(sa, sb)], FDT, layouts=("contiguous",))
    check_op(mx.outer, np.outer, [(sa, sb)], ["int32", "float32"], layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("sa,sb,axis", [((3, 4), (3, 4), -1), ((2, 3, 4), (3, 1), -2), ((5,), (5,), 0)])
def test_vecdot(sa, sb, axis):
    check_op(lambda a, b: mx.vecdot(a, b, axis=axis), lambda x, y: np.sum(x * y, axis=axis), [(sa, sb)],
             ["int32", "float32", "float64"], layouts=("contiguous", "transposed"), out_dtype=None)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (2, 2)), ((), (3,)), ((2, 1, 2), (3, 2)), ((0, 2), (2,))])
def test_kron(sa, sb):
    check_op(mx.kron, np.kron, [(sa, sb)], ["int32", "float32", "bfloat16"], layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (2.0, -0.5), (0.0, 3.0)])
def test_addmm(alpha, beta):
    check_op(lambda c, a, b: mx.addmm(c, a, b, alpha, beta), lambda c, a, b: alpha * (a @ b) + beta * c,
             [((3, 4), (3, 5), (5, 4)), ((4,), (2, 3, 5), (5, 4)), ((1, 1), (0, 2), (2, 3))], FDT,
             layouts=("contiguous", "transposed"))
    # The result takes the promotion of all three inputs; integers join a float c.
    assert_close(mx.addmm(mx.ones((2, 2)), mx.ones((2, 2), mx.int32), mx.ones((2, 2), mx.int32)),
                 np.full((2, 2), 3.0), "float32")


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ijk,kl,jl->il", [(2, 3, 4), (4, 5), (3, 5)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 5), (5, 2)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...i,...i", [(2, 3), (3,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ij,kl->", [(2, 3), (4, 5)]),
    ("ij,jk->ik", [(0, 4), (4, 5)]),
    ("i->i", [(0,)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ij,jk->ik", [(3, 1), (4, 5)]),
]


@pytest.mark.parametrize("subs,shapes", EINSUM_CASES)
def test_einsum(subs, shapes):
    check_op(lambda *ops: mx.einsum(subs, *ops), lambda *ops: np.einsum(subs, *ops), [tuple(shapes)],
             ["float32", "float64"], layouts=("contiguous", "transposed"))


def test_einsum_ints_and_path():
    a, b = np.arange(12).reshape(3, 4), np.arange(20).reshape(4, 5)
    assert_close(mx.einsum("ij,jk->ik", mk(a, "int32"), mk(b, "int32")), a @ b, "int32")
    ops = [mx.ones((2, 3)), mx.ones((3, 4)), mx.ones((4, 5))]
    path, desc = mx.einsum_path("ij,jk,kl->il", *ops)
    # The greedy order first makes the smallest intermediate: ij,jk -> ik (2x4).
    assert path == [(0, 1), (0, 1)]
    assert isinstance(desc, str)


# ---------------------------------------------------------------------------------- dtype info


def test_finfo_iinfo():
    for name in ("float16", "float32", "float64"):
        f, nf = mx.finfo(getattr(mx, name)), np.finfo(getattr(np, name))
        assert f.max == float(nf.max) and f.min == float(nf.min) and f.eps == float(nf.eps)
        assert f.dtype == getattr(mx, name) and f.bits == nf.bits
        assert f.smallest_normal == float(nf.smallest_normal)
    bf = mx.finfo(mx.bfloat16)
    assert bf.eps == 2.0**-7 and bf.max == 3.3895313892515355e38 and bf.min == -bf.max
    for name in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        i, ni = mx.iinfo(getattr(mx, name)), np.iinfo(getattr(np, name))
        assert (i.min, i.max) == (int(ni.min), int(ni.max)) and i.dtype == getattr(mx, name)
    assert "float16" in repr(mx.finfo(mx.float16)) and "int8" in repr(mx.iinfo(mx.int8))
    raises(ValueError, "finfo", lambda: mx.finfo(mx.int32))
    raises(ValueError, "iinfo", lambda: mx.iinfo(mx.float32))


KINDS = {
    "bool": ["bool_"],
    "signed integer": ["int8", "int16", "int32", "int64"],
    "unsigned integer": ["uint8", "uint16", "uint32", "uint64"],
    "integral": ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"],
    "real floating": ["float16", "bfloat16", "float32", "float64"],
    "complex floating": ["complex64"],
}
ALL_NAMES = KINDS["bool"] + KINDS["integral"] + KINDS["real floating"] + KINDS["complex floating"]


def test_isdtype():
    kinds = dict(KINDS, numeric=[n for n in ALL_NAMES if n != "bool_"])
    for kind, members in kinds.items():
        for name in ALL_NAMES:
            assert mx.isdtype(getattr(mx, name), kind) == (name in members), (name, kind)
    assert mx.isdtype(mx.int8, ("bool", "integral")) and not mx.isdtype(mx.int8, ("bool", mx.float32))
    assert mx.isdtype(mx.float32, mx.float32) and not mx.isdtype(mx.float32, mx.float16)
    raises(ValueError, "isdtype", lambda: mx.isdtype(mx.int8, "foo"))


def test_can_cast():
    # The reference: the tests' own table of MLX promotion (ints with a float give the float).
    names = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16",
             "bfloat16", "float32", "float64"]
    for a in names:
        for b in names:
            assert mx.can_cast(getattr(mx, a), getattr(mx, b)) == (promote(a, b) == b), (a, b)
    assert not mx.can_cast(mx.int32, mx.int8) and mx.can_cast(mx.int8, mx.int32)
    assert mx.can_cast(mx.array([1.0]), mx.float64) and not mx.can_cast(mx.array([1.0]), mx.float16)
    assert mx.can_cast(mx.float32, mx.complex64)


def test_printoptions():
    x = mx.array([1.23456789, 100.5, 1e-9])
    default = repr(x)
    try:
        mx.set_printoptions(precision=3)
        assert repr(x) == "array([1.235, 100.500, 0.000], dtype=float32)"
        assert repr(mx.array([1, 2])) == "array([1, 2], dtype=int32)"
        with mx.printoptions(precision=1):
            assert repr(mx.array(2.25)) == "array(2.2, dtype=float32)"
        assert repr(mx.array(2.25)) == "array(2.250, dtype=float32)"
    finally:
        mx.set_printoptions()
    assert repr(x) == default == "array([1.23457, 100.5, 1e-09], dtype=float32)"


# ---------------------------------------------------------------------------------- errors


def test_errors():
    x = mx.zeros((2, 3, 4))
    v = mx.zeros((3,))
    raises(ValueError, "tri", lambda: mx.tri(-1))
    raises(ValueError, "tril", lambda: mx.tril(v))
    raises(ValueError, "triu", lambda: mx.triu(mx.array(1.0)))
    raises(ValueError, "meshgrid", lambda: mx.meshgrid(v, v, indexing="xz"))
    raises(IndexError, "flip", lambda: mx.flip(x, 3))
    raises(IndexError, "roll", lambda: mx.roll(x, 1, 3))
    raises(ValueError, "roll", lambda: mx.roll(x, (1, 2, 3), (0, 1)))
    raises(ValueError, "repeat", lambda: mx.repeat(x, -1))
    raises(IndexError, "repeat", lambda: mx.repeat(x, 2, 3))
    raises(IndexError, "repeat", lambda: mx.repeat(mx.array(1), 2, 0))
    raises(ValueError, "tile", lambda: mx.tile(x, (-1, 2)))
    raises(ValueError, "pad", lambda: mx.pad(x, -1))
    raises(ValueError, "pad", lambda: mx.pad(x, [(1, 1), (1, 1)]))
    raises(ValueError, "pad", lambda: mx.pad(x, 1, mode="wrap"))
    raises(ValueError, "pad", lambda: mx.pad(mx.zeros((0, 2)), 1, mode="edge"))
    raises(ValueError, "pad", lambda: mx.pad(x, 1, constant_values=mx.zeros((2,))))
    raises(ValueError, "unflatten", lambda: mx.unflatten(x, 2, (3, -1)))
    raises(ValueError, "unflatten", lambda: mx.unflatten(x, 2, (-1, -1)))
    raises(ValueError, "unflatten", lambda: mx.unflatten(x, 2, (3, 3)))
    raises(IndexError, "unflatten", lambda: mx.unflatten(x, 5, (2, 2)))
    raises(IndexError, "unflatten", lambda: mx.unflatten(mx.array(1), 0, (1,)))
    raises(ValueError, "nan_to_num", lambda: mx.nan_to_num(mx.array([1j])))
    raises(ValueError, "addmm", lambda: mx.addmm(mx.array([1]), mx.array([[1]]), mx.array([[1]])))
    raises(ValueError, "unstack", lambda: mx.unstack(mx.array(1.0)))
    raises(ValueError, "diagonal", lambda: mx.diagonal(v))
    raises(ValueError, "diagonal", lambda: mx.diagonal(x, 0, 1, 1))
    raises(IndexError, "diagonal", lambda: mx.diagonal(x, 0, 0, 3))
    raises(ValueError, "diag", lambda: mx.diag(x))
    raises(ValueError, "diff", lambda: mx.diff(x, -1))
    raises(ValueError, "diff", lambda: mx.diff(mx.array(1.0)))
    raises(IndexError, "diff", lambda: mx.diff(x, 1, 3))
    raises(ValueError, "tensordot", lambda: mx.tensordot(x, x, 1))
    raises(ValueError, "tensordot", lambda: mx.tensordot(x, x, 4))
    raises(ValueError, "tensordot", lambda: mx.tensordot(x, x, [[0], [1, 2]]))
    raises(ValueError, "inner", lambda: mx.inner(x, v))
    raises(ValueError, "einsum", lambda: mx.einsum("ij,jk->ik", x, x))
    raises(ValueError, "einsum", lambda: mx.einsum("ij,jk", mx.zeros((2, 3)), mx.zeros((4, 5))))
    raises(ValueError, "einsum", lambda: mx.einsum("ij->iz", mx.zeros((2, 3))))
    raises(ValueError, "einsum", lambda: mx.einsum("ij->ii", mx.zeros((2, 3))))
    raises(ValueError, "einsum", lambda: mx.einsum("ij", mx.zeros((2, 3)), mx.zeros((2, 3))))
    raises(ValueError, "einsum", lambda: mx.einsum("i1", mx.zeros((2, 3))))
    raises(ValueError, "einsum", lambda: mx.einsum("ij,ij", mx.zeros((2, 3)), mx.zeros((2, 4))))


# ---- count_nonzero, trunc, median ----

def _sparse_ints(rng, shape, dtype, i):
    v = rng.integers(-2, 3, size=shape) * (rng.random(shape) < 0.5)
    return v.astype(bool) if dtype == "bool_" else v.astype(dtype)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (-1, True), ((0, 1), False)])
def test_count_nonzero(axis, keepdims):
    kw = {} if axis is None else {"axis": axis}
    check_op(lambda a: mx.count_nonzero(a, keepdims=keepdims, **kw),
             lambda x: np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims)),
             [(3, 4), (2, 3, 5), (0, 4)], ["bool_", "int32", "float32", "float16"], gen=_sparse_ints,
             out_dtype="int32")


def test_trunc():
    check_op(mx.trunc, np.trunc, [(7,), (3, 4), ()], ["float32", "float64", "float16"], low=-5, high=5, out_dtype="same")
    check_op(mx.trunc, np.trunc, [(5,)], ["int32", "uint8"], out_dtype="same")
    raises(ValueError, "trunc", lambda: mx.trunc(mx.array([1 + 2j])))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False)])
def test_median(axis, keepdims):
    check_op(lambda a: mx.median(a, axis=axis, keepdims=keepdims),
             lambda x: np.median(x, axis=axis, keepdims=keepdims),
             [(3, 4, 5), (2, 1, 6), (4, 3, 2)], ["float32", "float64", "int32"], out_dtype="float")


def test_median_errors():
    raises(IndexError, "median", lambda: mx.median(mx.zeros((2, 3)), axis=2))
    raises(ValueError, "median", lambda: mx.median(mx.zeros((0, 3)), axis=0))


def test_aliases():
    assert_close(mx.empty((2, 3), dtype=mx.int32), np.zeros((2, 3), np.int32), "int32")
    assert_close(mx.empty_like(mx.ones((4,))), np.zeros(4, np.float32), "float32")
    assert_close(mx.cumulative_sum(mx.array([1, 2, 3])), np.array([1, 3, 6], np.int32), "int32")
    assert_close(mx.cumulative_prod(mx.array([1.0, 2.0, 3.0])), np.array([1, 2, 6], np.float32), "float32")


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side):
    rng = np.random.default_rng(3)
    seq = np.sort(rng.integers(0, 6, 12)).astype(np.float32)
    vals = rng.integers(-1, 8, (3, 4)).astype(np.float32)
    out = mx.searchsorted(mx.array(seq), mx.array(vals), side=side)
    assert_close(out, np.searchsorted(seq, vals, side=side).astype(np.uint32), "uint32")
    assert_close(mx.searchsorted(mx.array(seq), mx.array(2.0), side=side),
                 np.asarray(np.searchsorted(seq, 2.0, side=side), np.uint32), "uint32")
    raises(ValueError, "searchsorted", lambda: mx.searchsorted(mx.zeros((2, 2)), mx.array([1.0])))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), ((0, 1), False)])
def test_minmax(axis, keepdims):
    x = np.random.default_rng(4).normal(size=(3, 4, 2)).astype(np.float32)
    lo, hi = mx.minmax(mx.array(x), axis=axis, keepdims=keepdims)
    assert_close(lo, np.min(x, axis=axis, keepdims=keepdims), "float32")
    assert_close(hi, np.max(x, axis=axis, keepdims=keepdims), "float32")


def test_matrix_norm_alias():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert_close(mx.matrix_norm(mx.array(x)), np.linalg.norm(x), "float32")
