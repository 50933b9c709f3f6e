"""load / save / savez / savez_compressed / save_safetensors / save_gguf.

References are independent of kiln: NumPy's np.save / np.load for .npy and .npz, the
`safetensors` package (numpy API) and the `gguf` package (writer, reader, dequantize), and
bytes written by hand for malformed files. Every malformed file must raise a clear error naming
the problem, never crash or hang.
"""

from __future__ import annotations

import io
import json
import pathlib
import struct
import zipfile

import numpy as np
import pytest

from helpers import ALL, IS_MLX, dtype_name, mx, mx_dtype, to_numpy

try:
    import safetensors.numpy as safetensors_np
except ImportError:  # pragma: no cover
    safetensors_np = None
try:
    import gguf
except ImportError:  # pragma: no cover
    gguf = None

needs_safetensors = pytest.mark.skipif(safetensors_np is None, reason="needs the safetensors package")
needs_gguf = pytest.mark.skipif(gguf is None, reason="needs the gguf package")
kiln_only = pytest.mark.skipif(IS_MLX, reason="kiln goes beyond MLX here")
# MLX 0.32 accepts some malformed files and crashes on others; these checks are kiln's own bar.
strict = pytest.mark.skipif(IS_MLX, reason="MLX 0.32 accepts or crashes on some malformed files")

DTYPES = ALL + ["complex64"]
SHAPES = [(), (0,), (5,), (3, 4), (2, 0, 3), (2, 3, 4)]
# Malformed input raises ValueError in kiln (MLX raises a mix of ValueError and RuntimeError).
BAD = Exception if IS_MLX else ValueError


def values(shape, name, seed=0):
    rng = np.random.default_rng(seed)
    if name == "bool_":
        return rng.random(shape) < 0.5
    if name == "complex64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    if name in ("float16", "float32", "float64", "bfloat16"):
        v = rng.uniform(-100, 100, shape).astype(np.float32)
        if name == "bfloat16":  # exactly representable in bfloat16
            v = (v.view(np.uint32) & 0xFFFF0000).view(np.float32)
        return v.astype(np.float64 if name == "float64" else np.float16 if name == "float16" else np.float32)
    info = np.iinfo(np.dtype(name))
    return rng.integers(info.min, info.max, size=shape, dtype=np.dtype(name), endpoint=True)


def make(shape, name, seed=0):
    v = values(shape, name, seed)
    return v, mx.array(v, dtype=mx_dtype(name))


def assert_same(a, expected: np.ndarray, name: str):
    assert dtype_name(a.dtype) == name
    assert tuple(a.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(to_numpy(a), expected.astype(np.float32) if name == "bfloat16" else expected)


def bf16_bits(v: np.ndarray) -> np.ndarray:
    return (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)


# ------------------------------------------------------------------------------------ .npy


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_npy_round_trip(tmp_path, name, shape):
    v, a = make(shape, name)
    mx.save(str(tmp_path / "a.npy"), a)
    assert_same(mx.load(str(tmp_path / "a.npy")), v, name)


@pytest.mark.parametrize("name", DTYPES)
def test_npy_read_by_numpy(tmp_path, name):
    v, a = make((3, 5), name)
    mx.save(str(tmp_path / "a"), a)
    got = np.load(tmp_path / "a.npy")
    if name == "bfloat16":  # no NumPy type: 2-byte void holding the bfloat16 bits, as MLX writes it
        assert got.dtype.itemsize == 2 and got.dtype.kind == "V"
        np.testing.assert_array_equal(got.view(np.uint16), bf16_bits(v))
    else:
        assert got.dtype == v.dtype
        np.testing.assert_array_equal(got, v)


def test_npy_header_aligned(tmp_path):
    mx.save(str(tmp_path / "a"), mx.zeros((7, 3)))
    raw = (tmp_path / "a.npy").read_bytes()
    header_len = struct.unpack("<H", raw[8:10])[0]
    assert (10 + header_len) % 64 == 0 or IS_MLX
    assert len(raw) == 10 + header_len + 7 * 3 * 4


@pytest.mark.parametrize("layout", ["transposed", "strided", "broadcast", "reversed"])
def test_npy_non_contiguous(tmp_path, layout):
    base = np.arange(60, dtype=np.float32).reshape(6, 10)
    a = mx.array(base)
    if layout == "transposed":
        a, ref = a.T, base.T
    elif layout == "strided":
        a, ref = a[1::2, 3::3], base[1::2, 3::3]
    elif layout == "broadcast":
        a, ref = mx.broadcast_to(a[:1], (4, 10)), np.broadcast_to(base[:1], (4, 10))
    else:
        a, ref = a[::-1], base[::-1]
    mx.save(str(tmp_path / "a.npy"), a)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), ref)
    np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / "a.npy"))), ref)


def test_npy_lazy_input_is_evaluated(tmp_path):
    a = mx.arange(10) * 3 + 1
    mx.save(str(tmp_path / "a.npy"), a)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.arange(10) * 3 + 1)


@pytest.mark.parametrize(
    "dt", ["|b1", "|u1", "<u2", "<u4", "<u8", "|i1", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8", "<c8"]
)
@pytest.mark.parametrize("shape", [(), (0,), (4,), (2, 3), (2, 3, 4)])
def test_numpy_files_load(tmp_path, dt, shape):
    rng = np.random.default_rng(1)
    v = (rng.standard_normal(shape) * 50).astype(dt)
    np.save(tmp_path / "n.npy", v)
    got = mx.load(str(tmp_path / "n.npy"))
    assert tuple(got.shape) == shape
    np.testing.assert_array_equal(np.array(got), v)


@pytest.mark.parametrize("dt", [">u2", ">i4", ">i8", ">f2", ">f4", ">f8", ">c8", ">u8"])
def test_numpy_big_endian_files(tmp_path, dt):
    if IS_MLX and dt == ">c8":
        pytest.skip("MLX 0.32 swaps a complex64 as one 8-byte value")
    v = (np.arange(-6, 6).reshape(3, 4) * 3.5).astype(dt)
    np.save(tmp_path / "be.npy", v)
    got = mx.load(str(tmp_path / "be.npy"))
    np.testing.assert_array_equal(np.array(got), v.astype(v.dtype.newbyteorder("=")))


@pytest.mark.parametrize("shape", [(2, 3), (3, 1, 4), (2, 3, 4, 5)])
def test_numpy_fortran_order(tmp_path, shape):
    v = np.asfortranarray(np.arange(np.prod(shape), dtype=np.int32).reshape(shape))
    np.save(tmp_path / "f.npy", v)
    assert b"'fortran_order': True" in (tmp_path / "f.npy").read_bytes()[:128]
    got = mx.load(str(tmp_path / "f.npy"))
    np.testing.assert_array_equal(np.array(got), v)
    np.testing.assert_array_equal(np.array(got + 1), v + 1)  # computes on the column-major view
    mx.save(str(tmp_path / "g.npy"), got)
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), v)


@pytest.mark.parametrize(
    "v", [np.array([1j], np.complex128), np.array(["ab"]), np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])],
    ids=["complex128", "unicode", "structured"],
)
def test_npy_unsupported_dtypes(tmp_path, v):
    np.save(tmp_path / "u.npy", v)
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "u.npy"))


def _npy_bytes(v):
    b = io.BytesIO()
    np.save(b, v)
    return b.getvalue()


@strict
def test_npy_truncated_everywhere(tmp_path):
    raw = _npy_bytes(np.arange(24, dtype=np.float32).reshape(4, 6))
    for n in list(range(0, 140, 3)) + [len(raw) - 1]:
        (tmp_path / "t.npy").write_bytes(raw[:n])
        with pytest.raises(BAD):
            mx.load(str(tmp_path / "t.npy"))


@strict
@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: b"\x93NUMPX" + r[6:],  # magic
        lambda r: r[:6] + b"\x09" + r[7:],  # version
        lambda r: r[:8] + struct.pack("<H", 0xFFFF) + r[10:],  # header length past the end
        lambda r: r.replace(b"'descr'", b"'dascr'"),  # missing key
        lambda r: r.replace(b"'<f4'", b"'<q4'"),  # unknown dtype
        lambda r: r.replace(b"(4, 6)", b"(9, 9)"),  # shape needs more data than there is
        lambda r: r.replace(b"(4, 6)", b"(4, x)"),  # not a tuple of ints
        lambda r: r.replace(b"(4, 6)", b"(99999999999999999999999, 1)"),  # absurd size
        lambda r: r.replace(b"False", b"Maybe"),
        lambda r: r.replace(b"{", b"["),
    ],
)
def test_npy_corrupt_header(tmp_path, mutate):
    raw = _npy_bytes(np.arange(24, dtype=np.float32).reshape(4, 6))
    (tmp_path / "c.npy").write_bytes(mutate(raw))
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "c.npy"))


def test_npy_v2_header(tmp_path):
    b = io.BytesIO()
    np.lib.format.write_array(b, np.arange(5, dtype=np.int16), version=(2, 0))
    (tmp_path / "v2.npy").write_bytes(b.getvalue())
    np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / "v2.npy"))), np.arange(5, dtype=np.int16))


# ------------------------------------------------------------------------ paths and files


def test_save_appends_extensions(tmp_path):
    mx.save(str(tmp_path / "a"), mx.array([1]))
    mx.save(str(tmp_path / "b.bin"), mx.array([1]))
    mx.save(tmp_path / "c.npy", mx.array([1]))  # pathlib.Path
    mx.savez(str(tmp_path / "d"), mx.array([1]))
    mx.savez_compressed(tmp_path / "e", mx.array([1]))
    mx.save_safetensors(str(tmp_path / "f"), {"x": mx.array([1])})
    mx.save_gguf(str(tmp_path / "g"), {"x": mx.array([1.0])}, {})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a.npy", "b.bin.npy", "c.npy", "d.npz", "e.npz", "f.safetensors", "g.gguf"]
    for n in names:
        assert mx.load(tmp_path / n) is not None  # pathlib.Path input


def test_file_objects(tmp_path):
    b = io.BytesIO()
    mx.save(b, mx.array([1, 2, 3]))
    b.seek(0)
    np.testing.assert_array_equal(np.array(mx.load(b, format="npy")), [1, 2, 3])
    b.seek(0)
    np.testing.assert_array_equal(np.load(b), [1, 2, 3])
    for saver, fmt in [
        (lambda f: mx.savez(f, x=mx.array([1.5])), "npz"),
        (lambda f: mx.savez_compressed(f, x=mx.array([1.5])), "npz"),
        (lambda f: mx.save_safetensors(f, {"x": mx.array([1.5])}), "safetensors"),
        (lambda f: mx.save_gguf(f, {"x": mx.array([1.5])}, {}), "gguf"),
    ][: 3 if IS_MLX else 4]:  # MLX 0.32's save_gguf takes paths only
        b = io.BytesIO()
        saver(b)
        b.seek(0)
        np.testing.assert_array_equal(np.array(mx.load(b, format=fmt)["x"]), [1.5])
    # A real file object: the format comes from its name.
    with open(tmp_path / "w.safetensors", "wb") as f:
        mx.save_safetensors(f, {"x": mx.array([2.5])})
    with open(tmp_path / "w.safetensors", "rb") as f:
        np.testing.assert_array_equal(np.array(mx.load(f)["x"]), [2.5])


@kiln_only  # MLX 0.32 reads file objects from their start
def test_load_from_file_object_at_offset():
    b = io.BytesIO()
    b.write(b"junk")
    mx.save(b, mx.array([4, 5]))
    b.seek(4)
    np.testing.assert_array_equal(np.array(mx.load(b, format="npy")), [4, 5])


def test_format_argument_and_errors(tmp_path):
    mx.save(str(tmp_path / "a.npy"), mx.array([1, 2]))
    (tmp_path / "a.npy").rename(tmp_path / "a.data")
    np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / "a.data"), format="npy")), [1, 2])
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "a.data"))  # unknown extension
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "a.data"), format="xyz")
    (tmp_path / "a.data").rename(tmp_path / "noext")
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "noext"))
    with pytest.raises(RuntimeError):
        mx.load(str(tmp_path / "missing.npy"))
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "noext"), format="npy", return_metadata=True)
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "noext"), format="safetensors")  # an .npy read as safetensors
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "noext"), format="gguf")
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "noext"), format="npz")


@kiln_only
def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError):
        mx.save(str(tmp_path / "x"), [1, 2])
    with pytest.raises(TypeError):
        mx.savez(str(tmp_path / "x"), a=np.ones(2))
    with pytest.raises(TypeError):
        mx.save_safetensors(str(tmp_path / "x"), {1: mx.array(1)})
    with pytest.raises(TypeError):
        mx.save_safetensors(str(tmp_path / "x"), {"a": [1]})
    with pytest.raises(TypeError):
        mx.save(12, mx.array(1))
    with pytest.raises(ValueError):
        mx.load(io.BytesIO(b"abc"))  # a file object without a name needs format=


# ------------------------------------------------------------------------------------ .npz


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip_and_numpy(tmp_path, compressed):
    save = mx.savez_compressed if compressed else mx.savez
    arrays = {n: make((3, 4) if i % 2 else (5,), n, seed=i) for i, n in enumerate(DTYPES)}
    pos = [mx.arange(7), mx.zeros((0, 3))]
    save(str(tmp_path / "z"), *pos, **{k: a for k, (v, a) in arrays.items()})
    got = mx.load(str(tmp_path / "z.npz"))
    assert set(got) == set(arrays) | {"arr_0", "arr_1"}
    for k, (v, a) in arrays.items():
        assert_same(got[k], v, k)
    np.testing.assert_array_equal(np.array(got["arr_0"]), np.arange(7))
    assert got["arr_1"].shape == (0, 3)
    with zipfile.ZipFile(tmp_path / "z.npz") as z:
        kinds = {i.compress_type for i in z.infolist()}
        assert kinds == ({zipfile.ZIP_DEFLATED} if compressed else {zipfile.ZIP_STORED})
        assert z.testzip() is None  # CRCs
    ref = np.load(tmp_path / "z.npz")
    for k, (v, a) in arrays.items():
        if k == "bfloat16":
            np.testing.assert_array_equal(ref[k].view(np.uint16), bf16_bits(v))
        else:
            np.testing.assert_array_equal(ref[k], v)
    np.testing.assert_array_equal(ref["arr_0"], np.arange(7))


def test_npz_compresses(tmp_path):
    mx.savez_compressed(str(tmp_path / "c"), x=mx.zeros((1000, 100)))
    assert (tmp_path / "c.npz").stat().st_size < 40000


@pytest.mark.parametrize("compressed", [False, True])
def test_numpy_npz_loads(tmp_path, compressed):
    save = np.savez_compressed if compressed else np.savez
    a, b = np.arange(12, dtype=np.int64).reshape(3, 4), np.asfortranarray(np.ones((2, 3), np.float16))
    save(tmp_path / "n.npz", a, named=b, empty=np.zeros((0,), np.uint8), big=np.arange(100000, dtype=np.float32))
    got = mx.load(str(tmp_path / "n.npz"))
    assert set(got) == {"arr_0", "named", "empty", "big"}
    np.testing.assert_array_equal(np.array(got["arr_0"]), a)
    np.testing.assert_array_equal(np.array(got["named"]), b)
    np.testing.assert_array_equal(np.array(got["big"]), np.arange(100000, dtype=np.float32))
    assert got["empty"].shape == (0,)


def test_npz_errors(tmp_path):
    with pytest.raises(ValueError):
        mx.savez(str(tmp_path / "x"), mx.array(1), arr_0=mx.array(2))
    mx.savez(str(tmp_path / "m"), a=mx.array(1))
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "m.npz"), return_metadata=True)
    mx.savez(str(tmp_path / "empty"))
    assert mx.load(str(tmp_path / "empty.npz")) == {}


def _npz_bytes(compressed):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, x=np.arange(300, dtype=np.int32), y=np.ones(5))
    return b.getvalue()


@strict
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_truncated(tmp_path, compressed):
    raw = _npz_bytes(compressed)
    for n in list(range(0, len(raw), max(1, len(raw) // 40))) + [len(raw) - 1]:
        (tmp_path / "t.npz").write_bytes(raw[:n])
        with pytest.raises(BAD):
            mx.load(str(tmp_path / "t.npz"))


@strict
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_corrupt_data_detected(tmp_path, compressed):
    raw = bytearray(_npz_bytes(compressed))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as z:
        info = z.getinfo("x.npy")
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2  # inside x's data
    raw[at] ^= 0x5A
    (tmp_path / "c.npz").write_bytes(bytes(raw))
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "c.npz"))


@strict
def test_npz_bad_entries(tmp_path):
    with zipfile.ZipFile(tmp_path / "t.npz", "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "t.npz"))
    with zipfile.ZipFile(tmp_path / "b.npz", "w", compression=zipfile.ZIP_BZIP2) as z:
        z.writestr("x.npy", _npy_bytes(np.arange(3)))
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "b.npz"))
    (tmp_path / "nz.npz").write_bytes(b"PK\x05\x06" + b"\xff" * 18)  # end record pointing nowhere
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "nz.npz"))


# ---------------------------------------------------------------------------- .safetensors

ST_DTYPES = [n for n in DTYPES if n != "float64"] + ([] if IS_MLX else ["float64"])


@pytest.mark.parametrize("name", ST_DTYPES)
def test_safetensors_round_trip(tmp_path, name):
    arrays = {f"t{i}": make(s, name, seed=i) for i, s in enumerate(SHAPES)}
    mx.save_safetensors(str(tmp_path / "s"), {k: a for k, (v, a) in arrays.items()}, {"k": "v", "é": "ü"})
    got, meta = mx.load(str(tmp_path / "s.safetensors"), return_metadata=True)
    assert meta == {"k": "v", "é": "ü"}
    assert set(got) == set(arrays)
    for k, (v, a) in arrays.items():
        assert_same(got[k], v, name)
    got = mx.load(str(tmp_path / "s.safetensors"))
    assert isinstance(got, dict) and set(got) == set(arrays)


@needs_safetensors
@pytest.mark.parametrize("name", [n for n in ST_DTYPES if n != "bfloat16"])
def test_safetensors_read_by_package(tmp_path, name):
    v, a = make((3, 5), name)
    mx.save_safetensors(str(tmp_path / "s"), {"w": a, "z": mx.transpose(a), "e": mx.zeros((0, 2))}, {"m": "1"})
    got = safetensors_np.load_file(str(tmp_path / "s.safetensors"))
    np.testing.assert_array_equal(got["w"], v)
    np.testing.assert_array_equal(got["z"], v.T)
    assert got["e"].shape == (0, 2)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "s.safetensors"), "np") as f:
        assert f.metadata() == {"m": "1"}


@needs_safetensors
def test_safetensors_bfloat16_bits_for_package(tmp_path):
    v, a = make((4,), "bfloat16")
    mx.save_safetensors(str(tmp_path / "b"), {"b": a})
    raw = (tmp_path / "b.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    assert header["b"]["dtype"] == "BF16" and header["b"]["shape"] == [4]
    s, e = header["b"]["data_offsets"]
    np.testing.assert_array_equal(np.frombuffer(raw[8 + n + s : 8 + n + e], np.uint16), bf16_bits(v))


@needs_safetensors
def test_safetensors_package_files_load(tmp_path):
    tensors = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f16": np.ones((3,), np.float16),
        "i64": np.array([-1, 2**40], np.int64),
        "u8": np.arange(4, dtype=np.uint8),
        "b": np.array([True, False]),
        "s": np.array(3, np.int32),
        "e": np.zeros((0, 5), np.float32),
    }
    safetensors_np.save_file(tensors, str(tmp_path / "p.safetensors"), metadata={"format": "np"})
    got, meta = mx.load(str(tmp_path / "p.safetensors"), return_metadata=True)
    assert meta == {"format": "np"}
    for k, v in tensors.items():
        np.testing.assert_array_equal(np.array(got[k]), v)
        assert tuple(got[k].shape) == v.shape


def test_safetensors_errors(tmp_path):
    with pytest.raises(ValueError):
        mx.save_safetensors(str(tmp_path / "m"), {"x": mx.array(1)}, {"k": 1})
    with pytest.raises(ValueError):
        mx.save_safetensors(str(tmp_path / "m"), {"x": mx.array(1)}, {2: "v"})


@kiln_only
def test_safetensors_reserved_name(tmp_path):
    with pytest.raises(ValueError):
        mx.save_safetensors(str(tmp_path / "m"), {"__metadata__": mx.array(1)})


def _st_file(header: dict | bytes, data: bytes, length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


@strict
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x05\x00\x00",
        _st_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, length=2**62),
        _st_file(b'{"x": {"dtype": "F32", ', b""),  # not JSON
        _st_file(b"[1, 2]", b""),  # not an object
        _st_file({"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
        _st_file({"x": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
        _st_file({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),  # size mismatch
        _st_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),  # truncated
        _st_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8),
        _st_file({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8),
        _st_file({"x": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, b"\0" * 8),
        _st_file({"x": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}, b"\0" * 8),
        _st_file({"x": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
        _st_file({"x": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
        _st_file({"__metadata__": {"a": 1}}, b""),
        _st_file({"x": [1]}, b""),
        _st_file(b"[" * 100000, b""),  # deep nesting must not overflow the stack
    ],
)
def test_safetensors_malformed(tmp_path, raw):
    (tmp_path / "bad.safetensors").write_bytes(raw)
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "bad.safetensors"))


@strict
def test_safetensors_truncated_everywhere(tmp_path):
    mx.save_safetensors(str(tmp_path / "s"), {"a": mx.arange(10), "b": mx.ones((2, 2))}, {"k": "v"})
    raw = (tmp_path / "s.safetensors").read_bytes()
    for n in range(0, len(raw), 7):
        (tmp_path / "t.safetensors").write_bytes(raw[:n])
        with pytest.raises(BAD):
            mx.load(str(tmp_path / "t.safetensors"))


# ------------------------------------------------------------------------------------ .gguf

GGUF_DTYPES = ["float32", "float16", "int8", "int16", "int32"] + ([] if IS_MLX else ["bfloat16", "float64", "int64"])


@pytest.mark.parametrize("name", GGUF_DTYPES)
def test_gguf_round_trip(tmp_path, name):
    arrays = {f"t{i}": make(s, name, seed=i) for i, s in enumerate([(), (5,), (3, 4), (2, 0, 3), (1, 2, 3, 4, 2)])}
    meta = {
        "s": "héllo",
        "l": ["a", "bc", ""],
        "i": mx.array(3),
        "f": mx.array(2.5),
        "v": mx.array([1, 2, 3], mx.uint8),
        "vf": mx.array([1.0, 2.0]),
        "b": mx.array(True),
        "u64": mx.array(2**40, mx.uint64),
        "i64": mx.array([-(2**40)], mx.int64),
    }
    mx.save_gguf(str(tmp_path / "g"), {k: a for k, (v, a) in arrays.items()}, meta)
    got, gmeta = mx.load(str(tmp_path / "g.gguf"), return_metadata=True)
    for k, (v, a) in arrays.items():
        assert_same(got[k], v, name)
    assert set(gmeta) == set(meta)
    for k, v in meta.items():
        if isinstance(v, (str, list)):
            assert gmeta[k] == v
        else:
            assert gmeta[k].dtype == v.dtype and gmeta[k].shape == v.shape
            np.testing.assert_array_equal(np.array(gmeta[k]), np.array(v))


@pytest.mark.parametrize("name", ["bool_", "uint8", "uint32", "complex64"])
def test_gguf_unsupported_tensor_dtypes(tmp_path, name):
    with pytest.raises((ValueError, RuntimeError)):
        mx.save_gguf(str(tmp_path / "g"), {"x": make((3,), name)[1]}, {})


def test_gguf_bad_metadata(tmp_path):
    x = {"x": mx.array([1.0])}
    with pytest.raises(BAD):
        mx.save_gguf(str(tmp_path / "g"), x, {"a": mx.zeros((2, 2))})
    with pytest.raises(ValueError):
        mx.save_gguf(str(tmp_path / "g"), x, {"a": mx.array(1.0, mx.float16)})
    with pytest.raises((ValueError, RuntimeError)):
        mx.save_gguf(str(tmp_path / "g"), x, {"a": [1, 2]})


@needs_gguf
def test_gguf_read_by_package(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    h = np.arange(6, dtype=np.float16).reshape(3, 2)
    i = np.arange(5, dtype=np.int32)
    mx.save_gguf(
        str(tmp_path / "g"),
        {"a": mx.array(a), "h": mx.array(h), "i": mx.array(i)},
        {"name": "kiln", "tags": ["x", "y"], "n": mx.array(7, mx.uint32), "v": mx.array([1.5, 2.5])},
    )
    r = gguf.GGUFReader(str(tmp_path / "g.gguf"))
    tensors = {t.name: t for t in r.tensors}
    for name, ref in [("a", a), ("h", h), ("i", i)]:
        t = tensors[name]
        assert list(t.shape) == list(reversed(ref.shape))  # GGUF lists dims fastest first
        np.testing.assert_array_equal(np.asarray(t.data).reshape(ref.shape), ref)
    assert tensors["a"].tensor_type == gguf.GGMLQuantizationType.F32
    assert tensors["h"].tensor_type == gguf.GGMLQuantizationType.F16
    assert tensors["i"].tensor_type == gguf.GGMLQuantizationType.I32
    f = r.fields
    assert bytes(f["name"].parts[f["name"].data[0]]).decode() == "kiln"
    assert [bytes(f["tags"].parts[k]).decode() for k in f["tags"].data] == ["x", "y"]
    assert f["n"].types == [gguf.GGUFValueType.UINT32] and int(f["n"].parts[f["n"].data[0]][0]) == 7
    assert f["v"].types == [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.FLOAT32]
    assert [float(f["v"].parts[k][0]) for k in f["v"].data] == [1.5, 2.5]


def _gguf_write(path, meta=None, tensors=()):
    w = gguf.GGUFWriter(str(path), "llama")
    if meta:
        meta(w)
    for name, arr, raw in tensors:
        w.add_tensor(name, arr, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@needs_gguf
@kiln_only  # MLX 0.32 crashes on FLOAT64 metadata
def test_gguf_package_metadata_types(tmp_path):
    V = gguf.GGUFValueType

    def meta(w):
        w.add_uint8("u8", 7)
        w.add_int8("i8", -7)
        w.add_uint16("u16", 700)
        w.add_int16("i16", -700)
        w.add_uint32("u32", 70000)
        w.add_int32("i32", -70000)
        w.add_float32("f32", 1.5)
        w.add_bool("bool", True)
        w.add_string("str", "héllo")
        w.add_uint64("u64", 2**40)
        w.add_int64("i64", -(2**40))
        w.add_float64("f64", 0.1)
        w.add_array("a_i32", [1, 2, 3])
        w.add_array("a_str", ["a", "b"])
        w.add_key_value("a_u8", [1, 2], V.ARRAY, V.UINT8)
        w.add_key_value("a_bool", [True, False], V.ARRAY, V.BOOL)
        w.add_key_value("a_f64", [1.5, 2.5], V.ARRAY, V.FLOAT64)

    _gguf_write(tmp_path / "m.gguf", meta, [("x", np.ones(3, np.float32), None)])
    arrays, m = mx.load(str(tmp_path / "m.gguf"), return_metadata=True)
    np.testing.assert_array_equal(np.array(arrays["x"]), np.ones(3))
    assert m["general.architecture"] == "llama"
    assert m["str"] == "héllo" and m["a_str"] == ["a", "b"]
    expect = {
        "u8": ("uint8", 7), "i8": ("int8", -7), "u16": ("uint16", 700), "i16": ("int16", -700),
        "u32": ("uint32", 70000), "i32": ("int32", -70000), "f32": ("float32", 1.5), "bool": ("bool_", True),
        "u64": ("uint64", 2**40), "i64": ("int64", -(2**40)), "f64": ("float64", 0.1),
    }
    for k, (dt, v) in expect.items():
        assert dtype_name(m[k].dtype) == dt and m[k].shape == () and m[k].item() == v, k
    for k, dt, v in [("a_i32", "int32", [1, 2, 3]), ("a_u8", "uint8", [1, 2]), ("a_bool", "bool_", [True, False]),
                     ("a_f64", "float64", [1.5, 2.5])]:
        assert dtype_name(m[k].dtype) == dt and m[k].tolist() == v, k


@needs_gguf
def test_gguf_package_tensors(tmp_path):
    rng = np.random.default_rng(0)
    tensors = [
        ("f32", rng.standard_normal((3, 4)).astype(np.float32), None),
        ("f16", rng.standard_normal((2, 5)).astype(np.float16), None),
        ("i8", np.arange(-3, 3, dtype=np.int8).reshape(2, 3), None),
        ("i32", np.arange(6, dtype=np.int32), None),
        ("d3", rng.standard_normal((2, 3, 4)).astype(np.float32), None),
    ]
    _gguf_write(tmp_path / "t.gguf", None, tensors)
    got = mx.load(str(tmp_path / "t.gguf"))
    for name, ref, _ in tensors:
        np.testing.assert_array_equal(np.array(got[name]), ref)
        assert tuple(got[name].shape) == ref.shape


@needs_gguf
@kiln_only  # MLX 0.32 turns BF16 into float16
def test_gguf_bf16_loads_as_bfloat16(tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 32)).astype(np.float32)
    q = gguf.quantize(x, gguf.GGMLQuantizationType.BF16)
    _gguf_write(tmp_path / "b.gguf", None, [("b", q, gguf.GGMLQuantizationType.BF16)])
    got = mx.load(str(tmp_path / "b.gguf"))["b"]
    assert got.dtype == mx.bfloat16 and got.shape == (4, 32)
    ref = gguf.dequantize(q, gguf.GGMLQuantizationType.BF16)
    np.testing.assert_array_equal(np.array(got.astype(mx.float32)), ref)


def _dequantize_affine(w, scales, biases, bits):
    """MLX's affine quantization undone with NumPy: groups of 32, values packed LSB-first in uint32."""
    w = np.array(w).view(np.uint32)
    per = 32 // bits
    q = (w[..., None] >> (np.arange(per, dtype=np.uint32) * bits)) & ((1 << bits) - 1)
    q = q.reshape(*w.shape[:-1], -1).astype(np.float32)
    s = np.repeat(np.array(scales).astype(np.float32), 32, axis=-1)
    b = np.repeat(np.array(biases).astype(np.float32), 32, axis=-1)
    return q * s + b


@needs_gguf
@pytest.mark.parametrize("qtype,bits", [("Q4_0", 4), ("Q4_1", 4), ("Q8_0", 8)])
@pytest.mark.parametrize("shape", [(4, 64), (2, 3, 32)])
def test_gguf_quantized_as_affine_triplet(tmp_path, qtype, bits, shape):
    T = gguf.GGMLQuantizationType
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32) * 4
    q = gguf.quantize(x, getattr(T, qtype))
    _gguf_write(tmp_path / "q.gguf", None, [("blk.0.w.weight", q, getattr(T, qtype)), ("other", q, getattr(T, qtype))])
    got = mx.load(str(tmp_path / "q.gguf"))
    assert set(got) == {"blk.0.w.weight", "blk.0.w.scales", "blk.0.w.biases", "other", "other.scales",
                        "other.biases"} or IS_MLX
    w, s, b = got["blk.0.w.weight"], got["blk.0.w.scales"], got["blk.0.w.biases"]
    assert w.dtype == mx.uint32 and s.dtype == mx.float16 and b.dtype == mx.float16
    assert w.shape == shape[:-1] + (shape[-1] * bits // 32,)
    assert s.shape == b.shape == shape[:-1] + (shape[-1] // 32,)
    ref = gguf.dequantize(q, getattr(T, qtype)).reshape(shape)
    np.testing.assert_allclose(_dequantize_affine(w, s, b, bits), ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())
    if not IS_MLX:
        try:
            import mlx.core as mlx
        except ImportError:
            return
        theirs = mlx.load(str(tmp_path / "q.gguf"))  # the triplet must equal MLX's, bit for bit
        for k in ("blk.0.w.weight", "blk.0.w.scales", "blk.0.w.biases"):
            np.testing.assert_array_equal(np.array(got[k]), np.array(theirs[k]))


@needs_gguf
@pytest.mark.parametrize("qtype", ["Q5_0", "Q5_1"])
def test_gguf_unsupported_quantization(tmp_path, qtype):
    T = gguf.GGMLQuantizationType
    x = np.random.default_rng(3).standard_normal((2, 64)).astype(np.float32)
    _gguf_write(tmp_path / "q.gguf", None, [("w", gguf.quantize(x, getattr(T, qtype)), getattr(T, qtype))])
    with pytest.raises(Exception if IS_MLX else ValueError, match=None if IS_MLX else qtype):
        mx.load(str(tmp_path / "q.gguf"))


def _gguf_bytes(tmp_path):
    mx.save_gguf(str(tmp_path / "ok"), {"a": mx.arange(8).astype(mx.float32), "b": mx.ones((2, 4))},  # no end padding
                 {"name": "x", "list": ["p", "q"], "v": mx.array([1, 2])})
    return (tmp_path / "ok.gguf").read_bytes()


@strict
def test_gguf_truncated_everywhere(tmp_path):
    raw = _gguf_bytes(tmp_path)
    for n in list(range(0, len(raw), 5)) + [len(raw) - 1]:
        (tmp_path / "t.gguf").write_bytes(raw[:n])
        with pytest.raises(BAD):
            mx.load(str(tmp_path / "t.gguf"))


def _gguf_header(n_tensors, n_kv, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def _s(x: bytes):
    return struct.pack("<Q", len(x)) + x


@strict
@pytest.mark.parametrize(
    "raw",
    [
        b"GGUX" + b"\0" * 40,
        _gguf_header(0, 0, version=1) + b"\0" * 16,
        _gguf_header(0, 0, version=9) + b"\0" * 16,
        _gguf_header(0, 2**60) + b"\0" * 64,  # absurd counts
        _gguf_header(2**60, 0) + b"\0" * 64,
        _gguf_header(0, 1) + _s(b"k") + struct.pack("<I", 8) + struct.pack("<Q", 2**62) + b"ab",  # string length
        _gguf_header(0, 1) + _s(b"k") + struct.pack("<IIQ", 9, 5, 2**61) + b"\0" * 16,  # array count
        _gguf_header(0, 1) + _s(b"k") + struct.pack("<IIQ", 9, 8, 2**61) + b"\0" * 16,  # string array count
        _gguf_header(0, 1) + _s(b"k") + struct.pack("<I", 77) + b"\0" * 16,  # unknown value type
        _gguf_header(0, 1) + _s(b"k") + struct.pack("<IIQ", 9, 9, 1) + b"\0" * 16,  # nested arrays
        _gguf_header(1, 0) + _s(b"t") + struct.pack("<IQIQ", 1, 4, 99, 0) + b"\0" * 64,  # unknown ggml type
        _gguf_header(1, 0) + _s(b"t") + struct.pack("<IQIQ", 1, 4, 0, 4096) + b"\0" * 64,  # offset past end
        _gguf_header(1, 0) + _s(b"t") + struct.pack("<IQQIQ", 2, 2**40, 2**40, 0, 0) + b"\0" * 64,  # huge
        _gguf_header(1, 0) + _s(b"t") + struct.pack("<IQIQ", 1, 5, 2, 0) + b"\0" * 64,  # Q4_0 row of 5
        _gguf_header(1, 0) + _s(b"t") + struct.pack("<I", 1000) + b"\0" * 64,  # too many dims
        _gguf_header(0, 1) + _s(b"general.alignment") + struct.pack("<II", 4, 3),  # not a power of two
    ],
)
def test_gguf_malformed(tmp_path, raw):
    (tmp_path / "bad.gguf").write_bytes(raw)
    with pytest.raises(BAD):
        mx.load(str(tmp_path / "bad.gguf"))


def test_npz_zip64_entries(tmp_path):
    """Entries written with ZIP64 extra fields (as NumPy does for arrays past 4 GiB) load."""
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            f.write(_npy_bytes(np.arange(10, dtype=np.int16)))
    np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / "z.npz"))["x"]), np.arange(10))


def test_safetensors_offsets_aligned(tmp_path):
    arrays = {"a": mx.ones((3,), mx.uint8), "b": mx.ones((3,), mx.float64 if not IS_MLX else mx.int64),
              "c": mx.ones((3,), mx.float16), "d": mx.ones((5,), mx.int32)}
    mx.save_safetensors(str(tmp_path / "s"), arrays)
    raw = (tmp_path / "s.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    sizes = {"U8": 1, "F64": 8, "I64": 8, "F16": 2, "I32": 4}
    if not IS_MLX:
        assert n % 8 == 0
        for k in arrays:
            assert header[k]["data_offsets"][0] % sizes[header[k]["dtype"]] == 0


@needs_gguf
def test_gguf_version_2(tmp_path):
    _gguf_write(tmp_path / "v.gguf", lambda w: w.add_string("k", "v"), [("x", np.arange(4, dtype=np.float32), None)])
    raw = bytearray((tmp_path / "v.gguf").read_bytes())
    assert raw[4:8] == struct.pack("<I", 3)
    raw[4:8] = struct.pack("<I", 2)  # v2 and v3 share the little-endian layout
    (tmp_path / "v2.gguf").write_bytes(bytes(raw))
    arrays, meta = mx.load(str(tmp_path / "v2.gguf"), return_metadata=True)
    np.testing.assert_array_equal(np.array(arrays["x"]), np.arange(4))
    assert meta["k"] == "v"


@kiln_only
def test_files_move_between_kiln_and_mlx(tmp_path):
    """Files MLX writes load in kiln and the reverse (MLX installed as a black-box oracle)."""
    mlx = pytest.importorskip("mlx.core")
    vals = {n: values((2, 3), n, seed=i) for i, n in enumerate(["float32", "float16", "int32", "bool_", "int8"])}
    bf = values((4,), "bfloat16")
    theirs = {n: mlx.array(v) for n, v in vals.items()}
    theirs["bf"] = mlx.array(bf).astype(mlx.bfloat16)
    ours = {n: mx.array(v) for n, v in vals.items()}
    ours["bf"] = mx.array(bf).astype(mx.bfloat16)
    gguf_names = ["float32", "float16", "int32", "int8"]
    for lib, arrays, other in [(mlx, theirs, mx), (mx, ours, mlx)]:
        d = tmp_path / lib.__name__.replace(".", "_")
        d.mkdir()
        lib.save(str(d / "a"), arrays["bf"])
        lib.savez(str(d / "z"), **arrays)
        lib.savez_compressed(str(d / "c"), **arrays)
        lib.save_safetensors(str(d / "s"), arrays, {"m": "1"})
        lib.save_gguf(str(d / "g"), {n: arrays[n] for n in gguf_names}, {"t": "x", "v": lib.array([1, 2])})
        np.testing.assert_array_equal(np.array(other.load(str(d / "a.npy")).astype(other.float32)), bf)
        for f in ["z.npz", "c.npz", "s.safetensors", "g.gguf"]:
            got = other.load(str(d / f))
            for n in gguf_names if f == "g.gguf" else vals:
                np.testing.assert_array_equal(np.array(got[n]), vals[n], err_msg=f"{lib.__name__} {f} {n}")
            if f != "g.gguf":
                np.testing.assert_array_equal(np.array(got["bf"].astype(other.float32)), bf)
        _, meta = other.load(str(d / "s.safetensors"), return_metadata=True)
        assert meta == {"m": "1"}
        _, meta = other.load(str(d / "g.gguf"), return_metadata=True)
        assert meta["t"] == "x" and np.array(meta["v"]).tolist() == [1, 2]


# Byte offsets of the float16 scale fields in each K-quant block (random bytes elsewhere).
K_QUANT_SCALES = {"Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}


def _k_quant_blocks(name, rows, seed=0):
    T = gguf.GGMLQuantizationType
    block, size = gguf.GGML_QUANT_SIZES[getattr(T, name)]
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(rows, 2, size), dtype=np.uint8)  # two blocks per row
    for off in K_QUANT_SCALES[name]:
        raw[..., off : off + 2] = rng.uniform(0.001, 0.05, (rows, 2, 1)).astype(np.float16).view(np.uint8)
    return raw.reshape(rows, 2 * size)


@needs_gguf
@pytest.mark.parametrize("name", list(K_QUANT_SCALES))
def test_gguf_k_quants_expand_to_float16(tmp_path, name):
    if IS_MLX and name in ("Q3_K", "Q5_K"):
        pytest.skip("MLX 0.32 cannot read Q3_K or Q5_K")
    if IS_MLX and name == "Q4_K":
        pytest.skip("MLX 0.32's Q4_K values disagree with the gguf package's dequantize")
    T = gguf.GGMLQuantizationType
    raw = _k_quant_blocks(name, 3)
    _gguf_write(tmp_path / "k.gguf", None, [("w", raw, getattr(T, name))])
    got = mx.load(str(tmp_path / "k.gguf"))["w"]
    assert got.dtype == mx.float16 and got.shape == (3, 512)
    ref = gguf.dequantize(raw, getattr(T, name))
    np.testing.assert_allclose(np.array(got).astype(np.float32), ref, rtol=2e-3, atol=1e-4)
    if not IS_MLX and name in ("Q2_K", "Q6_K"):  # (MLX's Q4_K disagrees with the gguf package)
        try:
            import mlx.core as mlx
        except ImportError:
            return
        theirs = np.array(mlx.load(str(tmp_path / "k.gguf"))["w"]).astype(np.float32)
        np.testing.assert_allclose(np.array(got).astype(np.float32), theirs, rtol=2e-3, atol=1e-4)


@kiln_only
def test_gguf_strings_that_are_not_utf8(tmp_path):
    raw = (
        _gguf_header(0, 1) + _s(b"tokens") + struct.pack("<IIQ", 9, 8, 2) + _s(b"ok") + _s(b"\xff\xfe")
    )
    (tmp_path / "u.gguf").write_bytes(raw)
    _, meta = mx.load(str(tmp_path / "u.gguf"), return_metadata=True)
    assert meta["tokens"][0] == "ok"
    assert meta["tokens"][1].encode("utf-8", "surrogateescape") == b"\xff\xfe"


@needs_gguf
@kiln_only
def test_gguf_custom_alignment(tmp_path):
    x = np.arange(5, dtype=np.float32)
    mx.save_gguf(str(tmp_path / "a"), {"x": mx.array(x), "y": mx.array(x * 2)},
                 {"general.alignment": mx.array(64, mx.uint32)})
    r = gguf.GGUFReader(str(tmp_path / "a.gguf"))
    assert r.alignment == 64
    for t in r.tensors:
        assert t.data_offset % 64 == 0
    got = mx.load(str(tmp_path / "a.gguf"))
    np.testing.assert_array_equal(np.array(got["y"]), x * 2)
    with pytest.raises(ValueError):
        mx.save_gguf(str(tmp_path / "b"), {"x": mx.array(x)}, {"general.alignment": mx.array(48, mx.uint32)})
