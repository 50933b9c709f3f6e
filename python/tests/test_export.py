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
