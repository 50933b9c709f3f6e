// Bindings of kiln/export.h: export_function, import_function, exporter / FunctionExporter.
// Functions take arrays as positional and keyword arguments (keywords are recorded by name) and
// imported functions return a tuple of arrays, as in MLX.
#include <fstream>
#include <memory>
#include <sstream>

#include "kiln/export.h"
#include "transformed_function.h"
#include "trees.h"

using namespace kiln;
using namespace kiln::py;

namespace {

// The example arrays: positional ones, then keyword ones in the given order.
struct Signature {
  std::vector<array> arrays;
  int num_positional = 0;
  std::vector<std::string> keywords;
};

Signature signature(const nb::args& args, const nb::kwargs& kwargs, const char* who) {
  Signature s;
  for (nb::handle a : args) {
    if (!nb::isinstance<array>(a)) {
      throw std::invalid_argument(std::string("[") + who + "] Inputs must be arrays; got " +
                                  nb::type_name(a.type()).c_str() + ".");
    }
    s.arrays.push_back(nb::cast<array>(a));
  }
  s.num_positional = static_cast<int>(s.arrays.size());
  for (auto [k, v] : kwargs) {
    if (!nb::isinstance<array>(v)) {
      throw std::invalid_argument(std::string("[") + who + "] Keyword inputs must be arrays.");
    }
    s.keywords.push_back(nb::cast<std::string>(k));
    s.arrays.push_back(nb::cast<array>(v));
  }
  return s;
}

// `fun` as a function of the flat arrays of a signature; its results (an array or a tuple/list
// of arrays) flattened.
ArrayFn array_fn(nb::callable fun, int num_positional, std::vector<std::string> keywords) {
  return [fun, num_positional, keywords](const std::vector<array>& xs) {
    nb::list args;
    for (int i = 0; i < num_positional; ++i) args.append(nb::cast(xs[i]));
    nb::dict kwargs;
    for (size_t k = 0; k < keywords.size(); ++k) kwargs[keywords[k].c_str()] = nb::cast(xs[num_positional + k]);
    nb::object out = fun(*nb::tuple(args), **kwargs);
    return tree_arrays(out, true, "export_function");
  };
}

std::ofstream open_out(const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument("[export_function] Cannot open " + path + " for writing.");
  return f;
}

// A file being written trace by trace (exporter()).
struct Exporter {
  std::ofstream file;
  std::unique_ptr<FunctionExporter> exporter;
  nb::object fun;
  bool shapeless;
  std::string metadata;

  void add(const nb::args& args, const nb::kwargs& kwargs) {
    auto sig = signature(args, kwargs, "exporter");
    if (!exporter) {
      exporter = std::make_unique<FunctionExporter>(file, array_fn(nb::borrow<nb::callable>(fun), sig.num_positional,
                                                                   sig.keywords),
                                                    shapeless, metadata, sig.num_positional, sig.keywords);
    }
    exporter->add_trace(sig.arrays);
  }
  void close() {
    if (exporter) exporter->close();
    file.close();
  }
};

}  // namespace

void init_export(nb::module_& m) {
  m.def(
      "export_function",
      [](const std::string& file, nb::callable fun, nb::args args, bool shapeless, std::optional<std::string> metadata,
         nb::kwargs kwargs) {
        auto sig = signature(args, kwargs, "export_function");
        auto f = open_out(file);
        FunctionExporter e(f, array_fn(fun, sig.num_positional, sig.keywords), shapeless, metadata.value_or(""),
                           sig.num_positional, sig.keywords);
        e.add_trace(sig.arrays);
        e.close();
      },
      "file"_a, "fun"_a, "args"_a, "shapeless"_a = false, "metadata"_a = nb::none(), "kwargs"_a,
      nb::sig("def export_function(file: str, fun: Callable, *args, shapeless: bool = False, metadata: str | None = "
              "None, **kwargs) -> None"),
      "Traces ``fun`` on the example arrays and writes the graph to ``file``.\n\n"
      "Args:\n    file: Path of the file to write.\n    fun: A function of arrays returning an array or a tuple/list of arrays.\n"
      "    *args: Example positional arrays.\n    shapeless: Let the imported function take other shapes.\n"
      "    metadata: A string stored with the function.\n    **kwargs: Example keyword arrays.");

  nb::class_<ImportedFunction>(m, "ImportedFunction", "A function loaded with :func:`import_function`.")
      .def("__call__", [](const ImportedFunction& f, nb::args args, nb::kwargs kwargs) {
        if (static_cast<int>(args.size()) != f.num_positional() || kwargs.size() != f.keywords().size()) {
          throw std::invalid_argument("[import_function] The function takes " + std::to_string(f.num_positional()) +
                                      " positional and " + std::to_string(f.keywords().size()) +
                                      " keyword arrays.");
        }
        auto sig = signature(args, kwargs, "import_function");
        std::vector<array> xs(sig.arrays.begin(), sig.arrays.begin() + sig.num_positional);
        for (auto& name : f.keywords()) {
          if (!kwargs.contains(name.c_str())) {
            throw std::invalid_argument("[import_function] Missing keyword argument '" + name + "'.");
          }
          xs.push_back(nb::cast<array>(kwargs[name.c_str()]));
        }
        nb::list out;
        for (auto& o : f(xs)) out.append(nb::cast(o));
        return nb::tuple(out);
      });
  m.def(
      "import_function",
      [](const std::string& file, bool return_metadata) -> nb::object {
        std::ifstream f(file, std::ios::binary);
        if (!f) throw std::invalid_argument("[import_function] Cannot open " + file + ".");
        ImportedFunction fn = import_function(f);
        std::string meta = fn.metadata();
        nb::object callable = nb::cast(std::move(fn));
        if (return_metadata) return nb::make_tuple(callable, meta);
        return callable;
      },
      "file"_a, "return_metadata"_a = false,
      nb::sig("def import_function(file: str, return_metadata: bool = False) -> Callable | tuple[Callable, str]"),
      "Loads a function written by :func:`export_function` (it returns a tuple of arrays).");

  nb::class_<Exporter>(m, "FunctionExporter", "Writes several traces of one function (see :func:`exporter`).")
      .def("__call__", [](Exporter& e, nb::args args, nb::kwargs kwargs) { e.add(args, kwargs); })
      .def("close", &Exporter::close)
      .def("__enter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__exit__", [](Exporter& e, nb::args) { e.close(); });
  m.def(
      "exporter",
      [](const std::string& file, nb::callable fun, bool shapeless, std::optional<std::string> metadata) {
        auto e = std::make_unique<Exporter>();
        e->file = open_out(file);
        e->fun = fun;
        e->shapeless = shapeless;
        e->metadata = metadata.value_or("");
        return e.release();
      },
      "file"_a, "fun"_a, nb::kw_only(), "shapeless"_a = false, "metadata"_a = nb::none(), nb::rv_policy::take_ownership,
      "An exporter writing one trace of ``fun`` per call (per input signature) to ``file``; use it as\n"
      "a context manager or call ``close()``.");
}
