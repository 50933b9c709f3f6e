// Bindings of kiln/io.h: load, save, savez, savez_compressed, save_safetensors, save_gguf, with
// MLX's signatures. `file` is a path (str or os.PathLike) or a binary file object; paths get the
// format's extension appended when they lack it, as in MLX. Path I/O runs without the GIL.
#include <nanobind/stl/map.h>

#include "kiln/io.h"
#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

// A Python binary file object read at `tell() + offset` with seek/readinto. Unseekable
// streams are read whole first (MemoryReader over the bytes).
class PyReader : public Reader {
 public:
  explicit PyReader(nb::object f) : f_(std::move(f)) {
    start_ = nb::cast<uint64_t>(f_.attr("tell")());
    uint64_t end = nb::cast<uint64_t>(f_.attr("seek")(0, 2));
    f_.attr("seek")(start_);
    size_ = end >= start_ ? end - start_ : 0;
    has_readinto_ = nb::hasattr(f_, "readinto");
    if (nb::hasattr(f_, "name") && nb::isinstance<nb::str>(f_.attr("name"))) {
      label_ = nb::cast<std::string>(f_.attr("name"));
    }
  }
  uint64_t size() override { return size_; }
  std::string label() const override { return label_; }
  void read(void* out, uint64_t n, uint64_t offset) override {
    if (n > size_ || offset > size_ - n) {
      throw std::invalid_argument("[load] Malformed file " + label_ + ": a read runs past the end (truncated?).");
    }
    f_.attr("seek")(start_ + offset);
    char* p = static_cast<char*>(out);
    while (n > 0) {
      uint64_t want = std::min<uint64_t>(n, 1ull << 30);
      uint64_t got;
      if (has_readinto_) {
        nb::object view = nb::steal(PyMemoryView_FromMemory(p, static_cast<Py_ssize_t>(want), PyBUF_WRITE));
        if (!view.is_valid()) throw nb::python_error();
        nb::object r = f_.attr("readinto")(view);
        got = r.is_none() ? 0 : nb::cast<uint64_t>(r);
      } else {
        nb::bytes b = nb::cast<nb::bytes>(f_.attr("read")(want));
        got = std::min<uint64_t>(b.size(), want);
        std::memcpy(p, b.c_str(), got);
      }
      if (got == 0) throw std::invalid_argument("[load] Malformed file " + label_ + ": it ended early (truncated?).");
      p += got;
      n -= got;
    }
  }

 private:
  nb::object f_;
  uint64_t start_ = 0, size_ = 0;
  bool has_readinto_ = false;
  std::string label_ = "<file object>";
};

class PyWriter : public Writer {
 public:
  explicit PyWriter(nb::object f) : f_(std::move(f)) {}
  std::string label() const override { return "<file object>"; }
  void write(const void* data, uint64_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      uint64_t chunk = std::min<uint64_t>(n, 1ull << 30);
      nb::object view = nb::steal(
          PyMemoryView_FromMemory(const_cast<char*>(p), static_cast<Py_ssize_t>(chunk), PyBUF_READ));
      if (!view.is_valid()) throw nb::python_error();
      nb::object r = f_.attr("write")(view);
      uint64_t put = nb::isinstance<nb::int_>(r) ? nb::cast<uint64_t>(r) : chunk;
      if (put == 0) throw std::runtime_error("[save] The file object accepted no bytes.");
      p += put;
      n -= put;
    }
  }

 private:
  nb::object f_;
};

// A path (str or os.PathLike), or nothing for file objects.
std::optional<std::string> as_path(nb::handle file) {
  if (nb::isinstance<nb::str>(file)) return nb::cast<std::string>(file);
  if (nb::hasattr(file, "__fspath__")) {
    nb::object p = nb::module_::import_("os").attr("fsdecode")(file);
    return nb::cast<std::string>(p);
  }
  return std::nullopt;
}

[[noreturn]] void bad_file(const char* op, nb::handle file, const char* need) {
  throw nb::type_error((std::string("[") + op + "] Expected a path (str or pathlib.Path) or a binary file object with " +
                        need + "; got " + nb::type_name(file.type()).c_str() + ".")
                           .c_str());
}

// Runs `save(path)` without the GIL for paths, or `save(writer)` for file objects.
template <typename F>
void with_writer(const char* op, nb::handle file, const char* ext, F&& save) {
  if (auto path = as_path(file)) {
    nb::gil_scoped_release release;
    std::string p = *path;
    if (p.size() < std::strlen(ext) || p.compare(p.size() - std::strlen(ext), std::strlen(ext), ext) != 0) p += ext;
    FileWriter w(p);
    save(static_cast<Writer&>(w));
    return;
  }
  if (!nb::hasattr(file, "write")) bad_file(op, file, "write()");
  PyWriter w(nb::borrow(file));
  save(static_cast<Writer&>(w));
}

array checked_array(const char* op, nb::handle v, const std::string& name) {
  if (!nb::isinstance<array>(v)) {
    throw nb::type_error((std::string("[") + op + "] '" + name + "' must be an array; got " +
                          nb::type_name(v.type()).c_str() + ".")
                             .c_str());
  }
  array a = nb::cast<array>(v);
  eval_array(a);  // with the GIL released, before any file is opened
  return a;
}

ArrayMap array_dict(const char* op, nb::handle arrays) {
  if (!nb::isinstance<nb::dict>(arrays)) {
    throw nb::type_error((std::string("[") + op + "] Expected a dict of names to arrays; got " +
                          nb::type_name(arrays.type()).c_str() + ".")
                             .c_str());
  }
  ArrayMap out;
  for (auto [k, v] : nb::borrow<nb::dict>(arrays)) {
    if (!nb::isinstance<nb::str>(k)) {
      throw nb::type_error((std::string("[") + op + "] Array names must be strings; got " +
                            nb::type_name(k.type()).c_str() + ".")
                               .c_str());
    }
    std::string name = nb::cast<std::string>(k);
    out.emplace(name, checked_array(op, v, name));
  }
  return out;
}

void savez_impl(nb::handle file, nb::args args, nb::kwargs kwargs, bool compressed) {
  const char* op = compressed ? "savez_compressed" : "savez";
  std::vector<std::pair<std::string, array>> arrays;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = "arr_" + std::to_string(i);
    arrays.emplace_back(name, checked_array(op, args[i], name));
  }
  for (auto [k, v] : kwargs) {
    std::string name = nb::cast<std::string>(k);
    for (auto& [n, a] : arrays) {
      if (n == name) {
        throw std::invalid_argument(std::string("[") + op + "] Cannot use un-named variables and keyword " + name +
                                    ".");
      }
    }
    arrays.emplace_back(name, checked_array(op, v, name));
  }
  with_writer(op, file, ".npz", [&](Writer& w) { savez(w, arrays, compressed); });
}

// Strings from files need not be valid UTF-8 (GGUF vocabularies); undecodable bytes become
// surrogates, so s.encode("utf-8", "surrogateescape") gives the file's bytes back.
nb::str file_str(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
  if (!o) throw nb::python_error();
  return nb::steal<nb::str>(o);
}

nb::dict to_dict(const ArrayMap& arrays) {
  nb::dict d;
  for (auto& [k, v] : arrays) d[file_str(k)] = nb::cast(v);
  return d;
}

std::string format_of(nb::handle file, const std::optional<std::string>& path) {
  std::string name;
  if (path) {
    name = *path;
  } else if (nb::hasattr(file, "name") && nb::isinstance<nb::str>(file.attr("name"))) {
    name = nb::cast<std::string>(file.attr("name"));
  } else {
    throw std::invalid_argument(
        "[load] Could not infer the format of a file object without a name; pass format='npy', 'npz', "
        "'safetensors' or 'gguf'.");
  }
  auto slash = name.find_last_of('/');
  auto dot = name.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    throw std::invalid_argument("[load] Could not infer file format from extension of " + name +
                                "; pass format=.");
  }
  return name.substr(dot + 1);
}

nb::object load_impl(nb::handle file, std::optional<std::string> format, bool return_metadata) {
  auto path = as_path(file);
  if (!path && !nb::hasattr(file, "read")) bad_file("load", file, "read()");
  std::string fmt = format ? *format : format_of(file, path);
  if (fmt != "npy" && fmt != "npz" && fmt != "safetensors" && fmt != "gguf") {
    throw std::invalid_argument("[load] Unknown file format " + fmt + " (expected npy, npz, safetensors or gguf).");
  }
  if (return_metadata && (fmt == "npy" || fmt == "npz")) {
    throw std::invalid_argument("[load] metadata not supported for format " + fmt + ".");
  }
  // The reader: a file (read without the GIL) or the Python object.
  std::unique_ptr<Reader> reader;
  if (path) {
    nb::gil_scoped_release release;
    reader = std::make_unique<FileReader>(*path);
  } else {
    reader = std::make_unique<PyReader>(nb::borrow(file));
  }
  auto run = [&](auto&& fn) {
    if (path) {
      nb::gil_scoped_release release;
      return fn();
    }
    return fn();
  };
  if (fmt == "npy") return nb::cast(run([&] { return load(*reader); }));
  if (fmt == "npz") return to_dict(run([&] { return load_npz(*reader); }));
  if (fmt == "safetensors") {
    auto [arrays, meta] = run([&] { return load_safetensors(*reader); });
    nb::dict d = to_dict(arrays);
    if (!return_metadata) return d;
    nb::dict m;
    for (auto& [k, v] : meta) m[file_str(k)] = file_str(v);
    return nb::make_tuple(d, m);
  }
  auto [arrays, meta] = run([&] { return load_gguf(*reader); });
  nb::dict d = to_dict(arrays);
  if (!return_metadata) return d;
  nb::dict m;
  for (auto& [k, v] : meta) {
    nb::str key = file_str(k);
    if (auto* a = std::get_if<array>(&v)) {
      m[key] = nb::cast(*a);
    } else if (auto* s = std::get_if<std::string>(&v)) {
      m[key] = file_str(*s);
    } else {
      nb::list l;
      for (auto& s : std::get<std::vector<std::string>>(v)) l.append(file_str(s));
      m[key] = l;
    }
  }
  return nb::make_tuple(d, m);
}

}  // namespace

void init_io(nb::module_& m) {
  m.def(
      "load",
      [](nb::handle file, std::optional<std::string> format, bool return_metadata, StreamOrDevice) {
        return load_impl(file, std::move(format), return_metadata);
      },
      "file"_a, "format"_a.none() = nb::none(), "return_metadata"_a = false, nb::kw_only(),
      "stream"_a = nb::none(),
      nb::sig("def load(file: str | pathlib.Path | typing.BinaryIO, /, format: str | None = None, "
              "return_metadata: bool = False, *, stream: Stream | Device | None = None) -> "
              "array | dict[str, array] | tuple[dict[str, array], dict[str, typing.Any]]"),
      "Loads array(s) from a binary file.\n\n"
      "The formats are ``.npy``, ``.npz``, ``.safetensors`` and ``.gguf``. Loading is eager: the\n"
      "returned arrays are evaluated, read straight into their buffers.\n\n"
      "Args:\n"
      "    file: A path, or a binary file object (then ``format`` is taken from its ``name`` or must be given).\n"
      "    format: ``npy``, ``npz``, ``safetensors`` or ``gguf``; ``None`` infers it from the extension.\n"
      "    return_metadata: Also return the file's metadata (``safetensors``: a dict of strings;\n"
      "      ``gguf``: a dict of arrays, strings and lists of strings).\n\n"
      "Returns:\n"
      "    An array for ``.npy``, else a dict of names to arrays; with ``return_metadata`` a tuple\n"
      "    ``(arrays, metadata)``. GGUF tensors of type Q4_0, Q4_1 and Q8_0 load as MLX's quantized\n"
      "    triplet (``name``, ``<base>.scales``, ``<base>.biases``, group size 32, ``<base>`` being\n"
      "    ``name`` less a ``.weight`` suffix); Q2_K-Q6_K tensors are expanded to float16; BF16 tensors\n"
      "    load as bfloat16; other GGUF types raise ValueError naming the type.");
  m.def(
      "save",
      [](nb::handle file, const array& arr) {
        array a = arr;
        eval_array(a);
        with_writer("save", file, ".npy", [&](Writer& w) { save(w, a); });
      },
      "file"_a, "arr"_a,
      nb::sig("def save(file: str | pathlib.Path | typing.BinaryIO, arr: array) -> None"),
      "Saves the array to a binary file in ``.npy`` format (``.npy`` is appended to a path without it).\n\n"
      "Args:\n    file: A path or a binary file object.\n    arr: The array to save.");
  m.def(
      "savez", [](nb::handle file, nb::args args, nb::kwargs kwargs) { savez_impl(file, args, kwargs, false); },
      "file"_a, "args"_a, "kwargs"_a,
      nb::sig("def savez(file: str | pathlib.Path | typing.BinaryIO, *args: array, **kwargs: array) -> None"),
      "Saves several arrays to a binary file in uncompressed ``.npz`` format.\n\n"
      "Args:\n    file: A path (``.npz`` is appended if missing) or a binary file object.\n"
      "    *args: Arrays saved as ``arr_0``, ``arr_1``, ...\n    **kwargs: Arrays saved under their keyword.");
  m.def(
      "savez_compressed",
      [](nb::handle file, nb::args args, nb::kwargs kwargs) { savez_impl(file, args, kwargs, true); }, "file"_a,
      "args"_a, "kwargs"_a,
      nb::sig("def savez_compressed(file: str | pathlib.Path | typing.BinaryIO, *args: array, **kwargs: array) -> "
              "None"),
      "Saves several arrays to a binary file in compressed (zlib deflate) ``.npz`` format.\n\n"
      "Args:\n    file: A path (``.npz`` is appended if missing) or a binary file object.\n"
      "    *args: Arrays saved as ``arr_0``, ``arr_1``, ...\n    **kwargs: Arrays saved under their keyword.");
  m.def(
      "save_safetensors",
      [](nb::handle file, nb::handle arrays, nb::handle metadata) {
        ArrayMap a = array_dict("save_safetensors", arrays);
        SafetensorsMetadata meta;
        if (!metadata.is_none()) {
          bool ok = nb::isinstance<nb::dict>(metadata);
          if (ok) {
            for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
              if (!nb::isinstance<nb::str>(k) || !nb::isinstance<nb::str>(v)) {
                ok = false;
                break;
              }
              meta[nb::cast<std::string>(k)] = nb::cast<std::string>(v);
            }
          }
          if (!ok) {
            throw std::invalid_argument(
                "[save_safetensors] Metadata must be a dictionary with string keys and values.");
          }
        }
        with_writer("save_safetensors", file, ".safetensors", [&](Writer& w) { save_safetensors(w, a, meta); });
      },
      "file"_a, "arrays"_a, "metadata"_a.none() = nb::none(),
      nb::sig("def save_safetensors(file: str | pathlib.Path | typing.BinaryIO, arrays: dict[str, array], "
              "metadata: dict[str, str] | None = None) -> None"),
      "Saves arrays to a binary file in ``.safetensors`` format.\n\n"
      "Args:\n    file: A path (``.safetensors`` is appended if missing) or a binary file object.\n"
      "    arrays: Names to arrays.\n    metadata: String keys to string values, stored as ``__metadata__``.");
  m.def(
      "save_gguf",
      [](nb::handle file, nb::handle arrays, nb::handle metadata) {
        ArrayMap a = array_dict("save_gguf", arrays);
        GGUFMetadata meta;
        if (!metadata.is_none()) {
          if (!nb::isinstance<nb::dict>(metadata)) {
            throw nb::type_error("[save_gguf] Metadata must be a dict.");
          }
          for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
            if (!nb::isinstance<nb::str>(k)) throw nb::type_error("[save_gguf] Metadata keys must be strings.");
            std::string key = nb::cast<std::string>(k);
            if (nb::isinstance<nb::str>(v)) {
              meta[key] = nb::cast<std::string>(v);
            } else if (nb::isinstance<nb::list>(v) || nb::isinstance<nb::tuple>(v)) {
              std::vector<std::string> strs;
              for (nb::handle s : v) {
                if (!nb::isinstance<nb::str>(s)) {
                  throw std::invalid_argument("[save_gguf] Metadata '" + key +
                                              "': a list must hold strings only (use an array for numbers).");
                }
                strs.push_back(nb::cast<std::string>(s));
              }
              meta[key] = std::move(strs);
            } else if (nb::isinstance<array>(v)) {
              meta[key] = checked_array("save_gguf", v, key);
            } else if (is_python_scalar(v) && !PyComplex_Check(v.ptr())) {
              array x = to_array(v);
              meta[key] = x;
            } else {
              throw std::invalid_argument("[save_gguf] Metadata '" + key + "' must be an array, a str or a list of "
                                          "str; got " + nb::type_name(v.type()).c_str() + ".");
            }
          }
        }
        with_writer("save_gguf", file, ".gguf", [&](Writer& w) { save_gguf(w, a, meta); });
      },
      "file"_a, "arrays"_a, "metadata"_a.none() = nb::none(),
      nb::sig("def save_gguf(file: str | pathlib.Path | typing.BinaryIO, arrays: dict[str, array], "
              "metadata: dict[str, array | str | list[str]] | None = None) -> None"),
      "Saves arrays to a binary file in ``.gguf`` format (version 3).\n\n"
      "Args:\n    file: A path (``.gguf`` is appended if missing) or a binary file object.\n"
      "    arrays: Names to arrays of dtype float32, float16, bfloat16, float64 or int8-int64.\n"
      "    metadata: Keys to values: a scalar or 1-D array (integer, float32/64 or bool), a str, or a\n"
      "      list of str.");
}
