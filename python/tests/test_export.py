"""export_function / import_function / exporter: a traced function saved to a file and run
again without its Python source; results compared with the original function."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import mx

pytestmark = pytest.mark.kiln_only("kiln's own export file format")

RNG = np.random.default_rng(0)
W = RNG.standard_normal((4, 3)).astype(np.float32)


def model(x, y):
    w = mx.array(W)  # a captured constant travels in the file
    h = mx.tanh(x @ w + 0.5) * mx.exp(-mx.abs(y))
    return mx.sum(h, axis=1), mx.softmax(h, axis=-1)


def test_round_trip_matches_the_function(tmp_path):
    path = str(tmp_path / "model.kfn")
    x, y = mx.array(RNG.standard_normal((2, 4)).astype(np.float32)), mx.ones((2, 3))
    mx.export_function(path, model, x, y)
    f = mx.import_function(path)
    x2 = mx.array(RNG.standard_normal((2, 4)).astype(np.float32))
    y2 = mx.array(RNG.standard_normal((2, 3)).astype(np.float32))
    got = f(x2, y2)
    assert isinstance(got, tuple) and len(got) == 2
    for g, e in zip(got, model(x2, y2)):
        np.testing.assert_allclose(np.array(g), np.array(e), rtol=1e-6, atol=1e-6)


def test_keywords_metadata_and_signature_errors(tmp_path):
    path = str(tmp_path / "kw.kfn")
    mx.export_function(path, lambda a, *, b: a * b + 1, mx.ones(3), b=mx.ones(3), metadata='{"v": 1}')
    f, meta = mx.import_function(path, return_metadata=True)
    assert meta == '{"v": 1}'
    (out,) = f(mx.array([1.0, 2.0, 3.0]), b=mx.array([2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(np.array(out), [3.0, 5.0, 7.0])
    with pytest.raises(ValueError, match="No exported trace"):
        f(mx.ones(4), b=mx.ones(4))
    with pytest.raises(ValueError, match="keyword"):
        f(mx.ones(3), mx.ones(3))


def test_exporter_writes_several_traces_and_shapeless(tmp_path):
    path = str(tmp_path / "multi.kfn")
    fn = lambda a: mx.exp(a) * 2
    with mx.exporter(path, fn) as ex:
        ex(mx.ones(2))
        ex(mx.ones((2, 3)))
    f = mx.import_function(path)
    np.testing.assert_allclose(np.array(f(mx.zeros(2))[0]), [2.0, 2.0])
    np.testing.assert_allclose(np.array(f(mx.zeros((2, 3)))[0]), np.full((2, 3), 2.0))
    spath = str(tmp_path / "shapeless.kfn")
    mx.export_function(spath, fn, mx.ones(2), shapeless=True)
    np.testing.assert_allclose(np.array(mx.import_function(spath)(mx.zeros(5))[0]), np.full(5, 2.0))


def test_malformed_files_raise(tmp_path):
    bad = tmp_path / "bad.kfn"
    bad.write_bytes(b"not a kiln file")
    with pytest.raises(ValueError, match="magic"):
        mx.import_function(str(bad))
    good = str(tmp_path / "good.kfn")
    mx.export_function(good, model, mx.ones((2, 4)), mx.ones((2, 3)))
    data = open(good, "rb").read()
    for cut in (10, len(data) // 2, len(data) - 3):
        (tmp_path / "cut.kfn").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="import_function"):
            mx.import_function(str(tmp_path / "cut.kfn"))
    with pytest.raises(ValueError):
        mx.import_function(str(tmp_path / "missing.kfn"))


SQ = RNG.standard_normal((4, 4)).astype(np.float32)

# One function per primitive family: each primitive's exported state must rebuild it exactly.
FAMILIES = {
    "sort_scan": lambda x: (mx.sort(x, axis=0), mx.argsort(x), mx.partition(x, 1), mx.argpartition(x, 2, axis=0),
                            mx.cumsum(x, axis=1, reverse=True), mx.cummax(x, inclusive=False),
                            mx.logcumsumexp(x, axis=0)),
    "indexing": lambda x: (x[mx.array([2, 0])], x.at[mx.array([1, 1])].add(x[0]), mx.slice_update(
        x, mx.ones((2, 2)), mx.array([1, 1]), (0, 1)), mx.as_strided(x, (3, 2), (1, 2), 1),
        mx.take_along_axis(x, mx.argmax(x, axis=1, keepdims=True), axis=1)),
    "linalg": lambda x: (mx.linalg.inv(x + 4 * mx.eye(4)), mx.linalg.cholesky(x @ x.T + mx.eye(4)),
                         mx.linalg.svd(x)[1], mx.linalg.eigh(x + x.T)[0], mx.linalg.qr(x)[1],
                         mx.linalg.lu_factor(x)[0], mx.linalg.solve(x + 4 * mx.eye(4), x),
                         mx.linalg.tri_inv(x + 4 * mx.eye(4), upper=True)),
    "conv_fft": lambda x: (mx.conv1d(x[None], x[:2, None, :] * mx.ones((2, 2, 4)), stride=2, padding=1),
                           mx.fft.rfft(x, norm="ortho"), mx.fft.irfft(mx.fft.fft(x), n=6, norm="forward"),
                           mx.fft.fft2(x)),
    "contractions_misc": lambda x: (mx.hadamard_transform(x, scale=0.5), mx.gather_mm(
        x[None], x[None], mx.array([0, 0]), mx.array([0, 0])), mx.view(x, mx.int32), mx.depends([x * 2], [x])[0],
        mx.from_fp8(mx.to_fp8(x), mx.float16), mx.softmax(x, precise=True), mx.split(x, [1, 3], axis=1)[1]),
    "random": lambda x: (x + mx.random.uniform(shape=(4, 4), key=mx.random.key(3)),),
    "quantized": lambda x: (lambda w: (
        *mx.quantize(w, 32, 4), mx.dequantize(*mx.quantize(w, 32, 3), 32, 3),
        mx.quantized_matmul(w, *mx.quantize(w, 32, 8), group_size=32, bits=8),
        mx.gather_qmm(x, *[a[None] for a in mx.quantize(w, mode="mxfp4")], rhs_indices=mx.array([0, 0]),
                      transpose=False, mode="mxfp4"),
        mx.dequantize(*mx.quantize(w, mode="nvfp4"), mode="nvfp4")))(mx.tile(x, (1, 8))),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_primitive_family_round_trips(tmp_path, family):
    fn = FAMILIES[family]
    path = str(tmp_path / f"{family}.kfn")
    mx.export_function(path, fn, mx.array(SQ))
    x2 = mx.array(RNG.standard_normal((4, 4)).astype(np.float32))
    got, expected = mx.import_function(path)(x2), fn(x2)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(np.array(g.astype(mx.float32)) if g.dtype != mx.complex64 else np.array(g),
                                   np.array(e.astype(mx.float32)) if e.dtype != mx.complex64 else np.array(e),
                                   rtol=1e-5, atol=1e-5)


def test_shapeless_replay_rebroadcasts_captured_scalars(tmp_path):
    """A scalar captured at trace time was broadcast to the traced shape; a shapeless replay on a
    larger input must broadcast it to the new shape, not read past the old one."""
    path = str(tmp_path / "scalars.kfn")
    fn = lambda a, b: (mx.exp(a) * 2 + 0.5, mx.maximum(a, 1.0) * b)
    mx.export_function(path, fn, mx.ones(2), mx.ones((3, 2)), shapeless=True)
    f = mx.import_function(path)
    a = mx.array(RNG.standard_normal(4099).astype(np.float32))
    b = mx.array(RNG.standard_normal((5, 4099)).astype(np.float32))
    for g, e in zip(f(a, b), fn(a, b)):
        assert g.shape == e.shape
        np.testing.assert_allclose(np.array(g), np.array(e), rtol=1e-6)
