// Bindings of kiln/compile.h: compile (with implicit state through `inputs`/`outputs`),
// disable_compile, enable_compile, export_to_dot.
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "kiln/compile.h"
#include "transformed_function.h"
#include "trees.h"

using namespace kiln;
using namespace kiln::py;

namespace {

// Assigns `arrays` (in order) to the array leaves of `tree`, mutating its lists and dicts in
// place: how compile hands new state back through `outputs`.
void assign_arrays(nb::handle tree, const std::vector<array>& arrays, size_t& pos) {
  if (nb::isinstance<nb::list>(tree)) {
    auto l = nb::borrow<nb::list>(tree);
    for (size_t i = 0; i < nb::len(l); ++i) {
      if (nb::isinstance<array>(l[i])) l[i] = nb::cast(arrays.at(pos++));
      else assign_arrays(l[i], arrays, pos);
    }
  } else if (nb::isinstance<nb::dict>(tree)) {
    auto d = nb::borrow<nb::dict>(tree);
    for (auto [k, v] : d) {
      if (nb::isinstance<array>(v)) d[k] = nb::cast(arrays.at(pos++));
      else assign_arrays(v, arrays, pos);
    }
  } else if (nb::isinstance<nb::tuple>(tree)) {
    for (nb::handle item : tree) {
      if (nb::isinstance<array>(item)) {
        throw std::invalid_argument("[compile] Arrays in `outputs` must sit in lists or dicts (tuples cannot be updated).");
      }
      assign_arrays(item, arrays, pos);
    }
  }
}

// A hash of the non-array parts of the arguments (structure and values), which key the cache
// together with the arrays' shapes and dtypes: a new value retraces.
uint64_t hash_constant(nb::handle h) {
  if (nb::isinstance<array>(h)) return 0x9e3779b97f4a7c15ull;
  if (h.is_none() || nb::isinstance<nb::bool_>(h) || nb::isinstance<nb::int_>(h) || nb::isinstance<nb::float_>(h) ||
      nb::isinstance<nb::str>(h) || nb::isinstance<nb::tuple>(h) || nb::isinstance<nb::list>(h) ||
      nb::isinstance<nb::dict>(h)) {
    uint64_t seed = std::hash<std::string>{}(nb::type_name(h.type()).c_str());
    auto mix = [&](uint64_t v) { seed ^= v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2); };
    if (nb::isinstance<nb::dict>(h)) {
      for (auto [k, v] : nb::borrow<nb::dict>(h)) {
        mix(nb::hash(k));
        mix(hash_constant(v));
      }
    } else if (nb::isinstance<nb::tuple>(h) || nb::isinstance<nb::list>(h)) {
      mix(nb::len(h));
      for (nb::handle item : h) mix(hash_constant(item));
    } else {
      mix(nb::hash(h));
    }
    return seed;
  }
  // Other objects: by identity, as MLX does.
  return reinterpret_cast<uintptr_t>(h.ptr());
}

// The structure of a result with its arrays replaced by Ellipsis (no arrays are kept alive by
// the cache), and the reverse.
nb::object skeleton(nb::handle tree) {
  return tree_map_arrays(tree, [](const array&) { return nb::borrow(nb::ellipsis()); });
}
nb::object fill(nb::handle h, const std::vector<array>& arrays, size_t& pos) {
  if (h.is(nb::ellipsis())) return nb::cast(arrays.at(pos++));
  if (nb::isinstance<nb::dict>(h)) {
    nb::dict out;
    for (auto [k, v] : nb::borrow<nb::dict>(h)) out[k] = fill(v, arrays, pos);
    return out;
  }
  if (nb::isinstance<nb::list>(h) || nb::isinstance<nb::tuple>(h)) {
    nb::list out;
    for (nb::handle item : h) out.append(fill(item, arrays, pos));
    return nb::isinstance<nb::tuple>(h) ? nb::object(nb::tuple(out)) : nb::object(out);
  }
  return nb::borrow(h);
}

// The C++ side of one compiled Python function (its Python objects come in `refs`: the
// function, `inputs` and `outputs`); its graph cache lives while this object does.
struct CompiledFunction {
  bool shapeless = false;
  // Output structures recorded at trace time, by the key the C++ cache uses.
  std::unordered_map<std::string, nb::object> structures;

  ~CompiledFunction() { compile_erase(reinterpret_cast<std::uintptr_t>(this)); }

  nb::object call(const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
    nb::callable fun = nb::borrow<nb::callable>(refs[0]);
    const nb::object& state_in = refs[1];
    const nb::object& state_out = refs[2];
    nb::tuple call = nb::make_tuple(args, kwargs);
    auto leaves = tree_arrays(call, false, "compile");
    size_t n_args = leaves.size();
    auto state = state_in.is_none() ? std::vector<array>{} : tree_arrays(state_in, false, "compile");
    leaves.insert(leaves.end(), state.begin(), state.end());

    std::vector<uint64_t> constants{hash_constant(call)};
    std::ostringstream key;
    key << constants[0];
    for (auto& x : leaves) key << '|' << x.dtype() << (shapeless ? Shape(x.ndim()) : x.shape());
    std::string k = key.str();

    nb::object out_structure;
    size_t n_state_out = 0;
    ArrayFn traced = [&](const std::vector<array>& xs) {
      size_t pos = 0;
      nb::object c = tree_replace_arrays(call, xs, pos);
      std::vector<array> state_tracers(xs.begin() + n_args, xs.end());
      if (!state_in.is_none()) {
        size_t sp = 0;
        assign_arrays(state_in, state_tracers, sp);
      }
      nb::object result;
      try {
        result = fun(*nb::borrow<nb::tuple>(c[0]), **nb::borrow<nb::dict>(c[1]));
      } catch (...) {
        restore_state(state_in, state);
        throw;
      }
      auto outs = tree_arrays(result, false, "compile");  // other leaves are returned as they are, as MLX
      out_structure = result;
      if (!state_out.is_none()) {
        auto so = tree_arrays(state_out, false, "compile");
        n_state_out = so.size();
        outs.insert(outs.end(), so.begin(), so.end());
      }
      restore_state(state_in, state);  // the containers must not keep the placeholders
      return outs;
    };
    auto outs = kiln::compile(traced, reinterpret_cast<std::uintptr_t>(this), shapeless, constants)(leaves);
    // `traced` ran only on a cache miss (or with compile disabled): then record the structure.
    if (out_structure.is_valid()) structures[k] = nb::make_tuple(skeleton(out_structure), n_state_out);
    auto rec = structures.find(k);
    if (rec == structures.end()) throw std::runtime_error("[compile] Internal error: no output structure recorded.");
    nb::object structure = rec->second[0];
    size_t n_so = nb::cast<size_t>(rec->second[1]);
    std::vector<array> fn_outs(outs.begin(), outs.end() - n_so), so(outs.end() - n_so, outs.end());
    if (!state_out.is_none()) {
      size_t pos = 0;
      assign_arrays(state_out, so, pos);
    }
    size_t pos = 0;
    return fill(structure, fn_outs, pos);
  }

  static void restore_state(const nb::object& state_in, const std::vector<array>& state) {
    if (state_in.is_none()) return;
    size_t pos = 0;
    assign_arrays(state_in, state, pos);
  }
};

}  // namespace

void init_compile(nb::module_& m) {
  m.def(
      "compile",
      [](nb::callable fun, nb::object inputs, nb::object outputs, bool shapeless) {
        auto cf = std::make_shared<CompiledFunction>();
        cf->shapeless = shapeless;
        return make_transformed(
            [cf](const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
              return cf->call(refs, args, kwargs);
            },
            {fun, inputs, outputs});
      },
      "fun"_a, "inputs"_a = nb::none(), "outputs"_a = nb::none(), "shapeless"_a = false,
      nb::sig("def compile(fun: Callable, inputs: object | None = None, outputs: object | None = None, "
              "shapeless: bool = False) -> Callable"),
      "Returns a compiled version of ``fun``.\n\n"
      "The first call with given input shapes and dtypes (ranks when ``shapeless``) and given\n"
      "non-array arguments traces ``fun`` into a graph; chains of elementwise operations become\n"
      "single fused kernels. Later calls replay the graph.\n\n"
      "Args:\n    fun: A function of arrays (or trees of arrays) returning arrays.\n"
      "    inputs: Lists/dicts of arrays ``fun`` reads implicitly (state), read at every call.\n"
      "    outputs: Lists/dicts of arrays ``fun`` updates implicitly; they are updated after every\n"
      "      call.\n    shapeless: Do not retrace when only shapes change.\n\n"
      "Returns:\n    The compiled function.");
  m.def("disable_compile", &disable_compile, "Makes compiled functions run uncompiled (globally).");
  m.def("enable_compile", &enable_compile, "Undoes :func:`disable_compile`.");
  m.def(
      "export_to_dot",
      [](nb::object file, nb::args args) {
        auto outputs = tree_arrays(args, false, "export_to_dot");
        std::ostringstream os;
        export_to_dot(os, outputs);
        if (nb::isinstance<nb::str>(file)) {
          std::ofstream f(nb::cast<std::string>(file));
          if (!f) throw std::invalid_argument("[export_to_dot] Cannot open " + nb::cast<std::string>(file) + ".");
          f << os.str();
        } else {
          file.attr("write")(os.str());
        }
      },
      "file"_a, "args"_a, nb::sig("def export_to_dot(file: object, *args) -> None"),
      "Writes the graph of the given arrays to ``file`` (a path or a writable object) in Graphviz dot "
      "form.");
}
