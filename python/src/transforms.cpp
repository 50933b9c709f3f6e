// Bindings of kiln/transforms.h: eval, async_eval, grad, value_and_grad, vjp, jvp, vmap,
// custom_function, checkpoint. Python functions of pytrees become kiln::ArrayFn (functions of
// flat array lists) around the call; results are rebuilt into the caller's structures.
#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "transformed_function.h"
#include "trees.h"

using namespace kiln;
using namespace kiln::py;

namespace {

// A Python object kept alive by C++ closures that may be released on a worker thread (when a
// graph holding a custom_function node dies there): the reference is dropped under the GIL.
struct PyRef {
  nb::object obj;
  explicit PyRef(nb::object o) : obj(std::move(o)) {}
  ~PyRef() {
    if (!Py_IsInitialized()) {
      obj.release();
      return;
    }
    nb::gil_scoped_acquire gil;
    obj.reset();
  }
};
using PyRefPtr = std::shared_ptr<PyRef>;

std::string py_type_name(nb::handle h) { return nb::type_name(h.type()).c_str(); }

// ---------------------------------------------------------------- grad / value_and_grad

struct GradSpec {
  std::vector<int> argnums;
  bool single = false;  // argnums given as one int: return that gradient alone
  std::vector<std::string> argnames;
};

GradSpec grad_spec(nb::handle argnums, nb::handle argnames, const char* who) {
  GradSpec spec;
  if (nb::isinstance<nb::str>(argnames)) spec.argnames = {nb::cast<std::string>(argnames)};
  else spec.argnames = nb::cast<std::vector<std::string>>(argnames);
  if (argnums.is_none()) {
    if (spec.argnames.empty()) {
      spec.argnums = {0};
      spec.single = true;
    }
  } else if (nb::isinstance<nb::int_>(argnums)) {
    spec.argnums = {nb::cast<int>(argnums)};
    spec.single = true;
  } else {
    spec.argnums = nb::cast<std::vector<int>>(argnums);
    spec.single = spec.argnums.size() == 1;  // MLX returns a one-element sequence's gradient bare
  }
  for (int a : spec.argnums) {
    if (a < 0) {
      throw std::invalid_argument(std::string("[") + who + "] Can't compute the gradient of negative argument index " +
                                  std::to_string(a) + ".");
    }
  }
  auto sorted = spec.argnums;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw std::invalid_argument(std::string("[") + who + "] Duplicate argument index in argnums.");
  }
  return spec;
}

// Differentiates `fun` at (args, kwargs); returns (value, gradients) shaped as MLX returns them.
std::pair<nb::object, nb::object> value_and_grad_call(const nb::callable& fun, const GradSpec& spec,
                                                      const nb::args& args, const nb::kwargs& kwargs, bool grad_only) {
  const char* who = grad_only ? "grad" : "value_and_grad";
  size_t nargs = args.size();
  for (int a : spec.argnums) {
    if (a >= static_cast<int>(nargs)) {
      throw std::invalid_argument(std::string("[") + who + "] Can't compute the gradient of argument index " +
                                  std::to_string(a) + " because the function is called with only " +
                                  std::to_string(nargs) + " positional arguments.");
    }
  }
  for (auto& name : spec.argnames) {
    if (!kwargs.contains(name.c_str())) {
      throw std::invalid_argument(std::string("[") + who + "] Can't compute the gradient of keyword argument '" + name +
                                  "' because the function is not called with it.");
    }
  }
  // The differentiated trees, in order: positional ones, then keyword ones.
  std::vector<nb::object> trees;
  for (int a : spec.argnums) trees.push_back(nb::borrow(args[a]));
  for (auto& name : spec.argnames) trees.push_back(kwargs[name.c_str()]);
  std::vector<array> primals;
  std::vector<size_t> counts;
  for (auto& t : trees) {
    auto leaves = tree_arrays(t, true, who);
    counts.push_back(leaves.size());
    primals.insert(primals.end(), leaves.begin(), leaves.end());
  }

  nb::object value;
  auto inner = [&](const std::vector<array>& tracers) {
    nb::list new_args;
    for (nb::handle a : args) new_args.append(a);
    nb::dict new_kwargs;
    for (auto [k, v] : kwargs) new_kwargs[k] = v;
    size_t pos = 0;
    for (size_t i = 0; i < spec.argnums.size(); ++i) new_args[spec.argnums[i]] = tree_replace_arrays(trees[i], tracers, pos);
    for (size_t i = 0; i < spec.argnames.size(); ++i) {
      new_kwargs[spec.argnames[i].c_str()] = tree_replace_arrays(trees[spec.argnums.size() + i], tracers, pos);
    }
    value = fun(*nb::tuple(new_args), **new_kwargs);
    if (nb::isinstance<array>(value)) return std::vector<array>{nb::cast<array>(value)};
    bool seq = nb::isinstance<nb::tuple>(value) || nb::isinstance<nb::list>(value);
    if (grad_only || !seq || nb::len(value) == 0 || !nb::isinstance<array>(value[0])) {
      throw std::invalid_argument(std::string("[") + who +
                                  "] The return value of the function whose gradient we want to compute should be a "
                                  "scalar array" + (grad_only ? "" : " or a tuple whose first element is one") +
                                  "; but " + py_type_name(value) + " was returned.");
    }
    return tree_arrays(value, false, who);
  };

  std::vector<array> grads;
  if (primals.empty()) {
    inner({});
  } else {
    std::vector<int> all(primals.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    grads = kiln::value_and_grad(inner, all)(primals).second;
  }

  size_t pos = 0;
  nb::list positional;
  for (size_t i = 0; i < spec.argnums.size(); ++i) positional.append(tree_replace_arrays(trees[i], grads, pos));
  nb::object g = spec.single ? positional[0] : (spec.argnums.empty() ? nb::none() : nb::object(nb::tuple(positional)));
  if (!spec.argnames.empty()) {
    nb::dict named;
    for (size_t i = 0; i < spec.argnames.size(); ++i) {
      named[spec.argnames[i].c_str()] = tree_replace_arrays(trees[spec.argnums.size() + i], grads, pos);
    }
    g = nb::make_tuple(g, named);
  }
  return {value, g};
}

// ---------------------------------------------------------------- vjp / jvp

// `fun(*primals)` as a function of arrays; its result must be an array or a list/tuple of them.
ArrayFn positional_fn(const nb::callable& fun, const char* who) {
  return [fun, who](const std::vector<array>& xs) {
    nb::list args;
    for (auto& x : xs) args.append(nb::cast(x));
    nb::object out = fun(*nb::tuple(args));
    if (nb::isinstance<array>(out)) return std::vector<array>{nb::cast<array>(out)};
    if (!(nb::isinstance<nb::list>(out) || nb::isinstance<nb::tuple>(out))) {
      throw std::invalid_argument(std::string("[") + who +
                                  "] The function must return an array or a list/tuple of arrays; got " +
                                  py_type_name(out) + ".");
    }
    return tree_arrays(out, true, who);
  };
}

nb::list to_list(const std::vector<array>& v) {
  nb::list out;
  for (auto& a : v) out.append(nb::cast(a));
  return out;
}

// ---------------------------------------------------------------- vmap

nb::object vmap_call(const nb::callable& fun, nb::handle in_axes, nb::handle out_axes, const nb::args& args) {
  // Per array leaf of the arguments: its mapped axis, or -1 (None).
  constexpr int kNone = -1;
  nb::object prefix = nb::borrow(in_axes);
  if (nb::isinstance<nb::list>(in_axes) || nb::isinstance<nb::tuple>(in_axes)) {
    if (nb::len(in_axes) != args.size()) {
      throw std::invalid_argument("[vmap] in_axes has " + std::to_string(nb::len(in_axes)) + " entries for " +
                                  std::to_string(args.size()) + " arguments.");
    }
    prefix = nb::tuple(in_axes);
  }
  auto leaves = tree_arrays(args, false, "vmap");
  std::vector<int> axes;
  {
    // None becomes a sentinel first, to tell it from the axis -1.
    constexpr int kSentinel = std::numeric_limits<int>::min();
    axes = tree_prefix_ints(prefix, args, kSentinel, "vmap");
    for (size_t i = 0; i < axes.size(); ++i) {
      if (axes[i] == kSentinel) {
        axes[i] = kNone;
        continue;
      }
      int nd = leaves[i].ndim();
      int ax = axes[i] < 0 ? axes[i] + nd : axes[i];
      if (ax < 0 || ax >= nd) {
        throw std::out_of_range("[vmap] Invalid vectorization axis " + std::to_string(axes[i]) +
                                " for an array with " + std::to_string(nd) + " dimensions.");
      }
      axes[i] = ax;
    }
  }
  nb::object out_structure;
  auto inner = [&](const std::vector<array>& xs) {
    size_t pos = 0;
    nb::object call_args = tree_replace_arrays(args, xs, pos);
    out_structure = fun(*nb::borrow<nb::tuple>(call_args));
    return tree_arrays(out_structure, true, "vmap");
  };
  auto outs = kiln::vmap(inner, axes)(leaves);
  // Batch axes come back first; move them where out_axes says.
  constexpr int kSentinel = std::numeric_limits<int>::min();
  auto oaxes = tree_prefix_ints(out_axes, out_structure, kSentinel, "vmap");
  for (size_t j = 0; j < outs.size(); ++j) {
    if (oaxes[j] == kSentinel) throw std::invalid_argument("[vmap] Output axes cannot be None.");
    int nd = outs[j].ndim();
    int ax = oaxes[j] < 0 ? oaxes[j] + nd : oaxes[j];
    if (ax < 0 || ax >= nd) {
      throw std::out_of_range("[vmap] Invalid output vectorization axis " + std::to_string(oaxes[j]) +
                              " for an output with " + std::to_string(nd - 1) + " dimensions per example.");
    }
    if (ax != 0) outs[j] = moveaxis(outs[j], 0, ax);
  }
  size_t pos = 0;
  return tree_replace_arrays(out_structure, outs, pos);
}

// ---------------------------------------------------------------- custom_function

/** The positional arguments as the user's rules see them: the argument itself when there is
 *  one, else a tuple (as MLX). */
nb::object rule_args(const nb::tuple& args) { return args.size() == 1 ? nb::object(args[0]) : nb::object(args); }

class CustomFunction {
 public:
  explicit CustomFunction(nb::callable fun) : fun_(std::make_shared<PyRef>(std::move(fun))) {}

  nb::object call(const nb::args& args, const nb::kwargs& kwargs, bool checkpointed = false) {
    if (!fun_) throw std::runtime_error("[custom_function] The function was released.");
    auto leaves = tree_arrays(args, false, "custom_function");
    auto state = std::make_shared<State>();
    state->args = std::make_shared<PyRef>(nb::borrow(args));
    state->kwargs = std::make_shared<PyRef>(nb::borrow(kwargs));
    ArrayFn fun = [fun = fun_, state](const std::vector<array>& xs) {
      size_t pos = 0;
      nb::object a = tree_replace_arrays(state->args->obj, xs, pos);
      nb::object out = fun->obj(*nb::borrow<nb::tuple>(a), **nb::borrow<nb::dict>(state->kwargs->obj));
      state->outputs = std::make_shared<PyRef>(out);
      return tree_arrays(out, true, "custom_function");
    };
    std::vector<array> outs;
    if (checkpointed) {
      outs = kiln::checkpoint(fun)(leaves);
    } else {
      outs = kiln::custom_function(fun, vjp_rule(state), jvp_rule(state), vmap_rule(state))(leaves);
    }
    size_t pos = 0;
    return tree_replace_arrays(state->outputs->obj, outs, pos);
  }

  // Garbage-collector support (see transformed_function.h).
  static void visit(CustomFunction& self, const std::function<void(PyObject*)>& v) {
    for (auto* r : {&self.fun_, &self.vjp_, &self.jvp_, &self.vmap_}) {
      if (*r) v((*r)->obj.ptr());
    }
  }
  static void clear(CustomFunction& self) { self.fun_ = self.vjp_ = self.jvp_ = self.vmap_ = nullptr; }

  void set_vjp(nb::callable f) { vjp_ = std::make_shared<PyRef>(std::move(f)); }
  void set_jvp(nb::callable f) { jvp_ = std::make_shared<PyRef>(std::move(f)); }
  void set_vmap(nb::callable f) { vmap_ = std::make_shared<PyRef>(std::move(f)); }

 private:
  // What the rules need of one call: the argument and output structures.
  struct State {
    PyRefPtr args, kwargs, outputs;
  };

  static nb::object with_arrays(const PyRefPtr& tree, const std::vector<array>& xs) {
    size_t pos = 0;
    return tree_replace_arrays(tree->obj, xs, pos);
  }

  std::optional<CustomVjpFn> vjp_rule(const std::shared_ptr<State>& st) const {
    if (!vjp_) return std::nullopt;
    return [f = vjp_, st](const std::vector<array>& primals, const std::vector<array>& cotangents,
                          const std::vector<array>& outputs) {
      nb::object r = f->obj(rule_args(nb::borrow<nb::tuple>(with_arrays(st->args, primals))),
                            with_arrays(st->outputs, cotangents), with_arrays(st->outputs, outputs));
      auto grads = tree_arrays(r, false, "custom_function.vjp");
      if (grads.size() != primals.size()) {
        throw std::invalid_argument("[custom_function.vjp] The vjp must return one array per array argument (" +
                                    std::to_string(primals.size()) + "); got " + std::to_string(grads.size()) + ".");
      }
      return grads;
    };
  }

  std::optional<CustomJvpFn> jvp_rule(const std::shared_ptr<State>& st) const {
    if (!jvp_) return std::nullopt;
    return [f = jvp_, st](const std::vector<array>& primals, const std::vector<array>& tangents,
                          const std::vector<int>& argnums) {
      // Tangents in the arguments' structure, None where an argument has none.
      nb::object args = with_arrays(st->args, primals);
      std::vector<nb::object> tans(primals.size(), nb::none());
      for (size_t k = 0; k < argnums.size(); ++k) tans[argnums[k]] = nb::cast(tangents[k]);
      nb::list flat;
      for (auto& t : tans) flat.append(t);
      nb::object tan_tree = replace_leaves_with(args, flat);
      nb::object r = f->obj(rule_args(nb::borrow<nb::tuple>(args)), rule_args(nb::borrow<nb::tuple>(tan_tree)));
      return tree_arrays(r, true, "custom_function.jvp");
    };
  }

  std::optional<CustomVmapFn> vmap_rule(const std::shared_ptr<State>& st) const {
    if (!vmap_) return std::nullopt;
    return [f = vmap_, st](const std::vector<array>& inputs, const std::vector<int>& axes) {
      nb::object args = with_arrays(st->args, inputs);
      nb::list flat;
      for (int a : axes) flat.append(a < 0 ? nb::object(nb::none()) : nb::object(nb::int_(a)));
      nb::object axes_tree = replace_leaves_with(args, flat);
      nb::object r = f->obj(rule_args(nb::borrow<nb::tuple>(args)), rule_args(nb::borrow<nb::tuple>(axes_tree)));
      if (!nb::isinstance<nb::tuple>(r) || nb::len(r) != 2) {
        throw std::invalid_argument("[custom_function.vmap] The vmap must return (outputs, output_axes).");
      }
      auto outs = tree_arrays(r[0], true, "custom_function.vmap");
      constexpr int kSentinel = std::numeric_limits<int>::min();
      auto oaxes = tree_prefix_ints(r[1], r[0], kSentinel, "custom_function.vmap");
      for (auto& a : oaxes) a = a == kSentinel ? -1 : a;
      return std::make_pair(outs, oaxes);
    };
  }

  // `tree` with its array leaves replaced, in order, by the Python values in `values`.
  static nb::object replace_leaves_with(nb::handle tree, const nb::list& values) {
    size_t k = 0;
    return tree_map_arrays(tree, [&](const array&) { return nb::object(values[k++]); });
  }

  PyRefPtr fun_, vjp_, jvp_, vmap_;
};

}  // namespace

namespace kiln::py {

namespace {
void visit_refs(TransformedFunction& f, const std::function<void(PyObject*)>& v) {
  for (auto& r : f.refs) v(r.ptr());
}
void clear_refs(TransformedFunction& f) { f.refs.clear(); }
}  // namespace

nb::object make_transformed(TransformedFunction::Impl impl, std::vector<nb::object> refs) {
  return nb::cast(TransformedFunction{std::move(impl), std::move(refs)});
}

}  // namespace kiln::py

void init_transforms(nb::module_& m) {
  using TransformedGc = GcSlots<TransformedFunction, &visit_refs, &clear_refs>;
  nb::class_<TransformedFunction>(m, "TransformedFunction", nb::type_slots(TransformedGc::slots),
                                  "A function returned by grad, value_and_grad, vmap, compile or checkpoint.")
      .def("__call__", [](TransformedFunction& f, nb::args args, nb::kwargs kwargs) {
        if (f.refs.empty()) throw std::runtime_error("The transformed function was released.");
        return f.impl(f.refs, args, kwargs);
      });

  m.def(
      "eval",
      [](nb::args args) {
        auto arrays = tree_arrays(args, false, "eval");
        nb::gil_scoped_release nogil;
        kiln::eval(std::move(arrays));
      },
      nb::sig("def eval(*args) -> None"),
      "Evaluates the arrays in ``args`` and everything they depend on.\n\n"
      "Args:\n    *args: Arrays, or (nested) lists, tuples and dicts of arrays. Other values are "
      "ignored.");
  m.def(
      "async_eval",
      [](nb::args args) {
        auto arrays = tree_arrays(args, false, "async_eval");
        nb::gil_scoped_release nogil;
        kiln::async_eval(std::move(arrays));
      },
      nb::sig("def async_eval(*args) -> None"),
      "Starts evaluating the arrays in ``args`` and returns at once.\n\n"
      "Reading an array (``eval``, ``item``, printing) waits for it.\n\n"
      "Args:\n    *args: Arrays, or (nested) lists, tuples and dicts of arrays.");

  m.def(
      "value_and_grad",
      [](nb::callable fun, nb::object argnums, nb::object argnames) {
        GradSpec spec = grad_spec(argnums, argnames, "value_and_grad");
        return make_transformed(
            [spec](const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
              auto [value, grads] = value_and_grad_call(nb::borrow<nb::callable>(refs[0]), spec, args, kwargs, false);
              return nb::object(nb::make_tuple(value, grads));
            },
            {fun});
      },
      "fun"_a, "argnums"_a = nb::none(), "argnames"_a = nb::list(),
      nb::sig("def value_and_grad(fun: Callable, argnums: int | Sequence[int] | None = None, "
              "argnames: str | Sequence[str] = []) -> Callable"),
      "A function that returns ``fun``'s value and its gradient.\n\n"
      "``fun`` returns a scalar array, or a tuple whose first element is the scalar to differentiate\n"
      "(the rest is passed through). Arguments may be arrays or trees (lists, tuples, dicts) of arrays.\n\n"
      "Args:\n    fun: The function.\n    argnums: Positional argument(s) to differentiate (default 0 when "
      "``argnames`` is empty).\n    argnames: Keyword argument(s) to differentiate.\n\n"
      "Returns:\n    A function returning ``(value, grads)``.");
  m.def(
      "grad",
      [](nb::callable fun, nb::object argnums, nb::object argnames) {
        GradSpec spec = grad_spec(argnums, argnames, "grad");
        return make_transformed(
            [spec](const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
              return value_and_grad_call(nb::borrow<nb::callable>(refs[0]), spec, args, kwargs, true).second;
            },
            {fun});
      },
      "fun"_a, "argnums"_a = nb::none(), "argnames"_a = nb::list(),
      nb::sig("def grad(fun: Callable, argnums: int | Sequence[int] | None = None, "
              "argnames: str | Sequence[str] = []) -> Callable"),
      "A function that returns the gradient of ``fun`` (which must return a scalar array).\n\n"
      "Args:\n    fun: The function.\n    argnums: Positional argument(s) to differentiate (default 0 when "
      "``argnames`` is empty).\n    argnames: Keyword argument(s) to differentiate.\n\n"
      "Returns:\n    A function with ``fun``'s arguments returning the gradients: one tree for an int "
      "``argnums``, a tuple for a sequence, and ``(grads, dict)`` when ``argnames`` is given.");
  m.def(
      "vjp",
      [](nb::callable fun, std::vector<array> primals, std::vector<array> cotangents) {
        auto [outs, vjps] = kiln::vjp(positional_fn(fun, "vjp"), primals, cotangents);
        if (cotangents.size() != outs.size()) {
          throw std::invalid_argument("[vjp] Got " + std::to_string(cotangents.size()) + " cotangents for " +
                                      std::to_string(outs.size()) + " outputs.");
        }
        return nb::make_tuple(to_list(outs), to_list(vjps));
      },
      "fun"_a, "primals"_a, "cotangents"_a,
      nb::sig("def vjp(fun: Callable, primals: list[array], cotangents: list[array]) -> tuple[list[array], "
              "list[array]]"),
      "The vector-Jacobian product of ``fun`` at ``primals``.\n\n"
      "Returns:\n    ``(outputs, vjps)``: ``fun(*primals)`` and one cotangent per primal.");
  m.def(
      "jvp",
      [](nb::callable fun, std::vector<array> primals, std::vector<array> tangents) {
        auto [outs, jvps] = kiln::jvp(positional_fn(fun, "jvp"), primals, tangents);
        return nb::make_tuple(to_list(outs), to_list(jvps));
      },
      "fun"_a, "primals"_a, "tangents"_a,
      nb::sig("def jvp(fun: Callable, primals: list[array], tangents: list[array]) -> tuple[list[array], "
              "list[array]]"),
      "The Jacobian-vector product of ``fun`` at ``primals``.\n\n"
      "Returns:\n    ``(outputs, jvps)``: ``fun(*primals)`` and one tangent per output.");
  m.def(
      "vmap",
      [](nb::callable fun, nb::object in_axes, nb::object out_axes) {
        return make_transformed(
            [](const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
              if (kwargs.size() != 0) throw std::invalid_argument("[vmap] Keyword arguments are not supported.");
              return vmap_call(nb::borrow<nb::callable>(refs[0]), refs[1], refs[2], args);
            },
            {fun, in_axes, out_axes});
      },
      "fun"_a, "in_axes"_a = 0, "out_axes"_a = 0,
      nb::sig("def vmap(fun: Callable, in_axes: object = 0, out_axes: object = 0) -> Callable"),
      "Vectorizes ``fun`` over an axis of its inputs.\n\n"
      "Args:\n    fun: The function (arguments and results: arrays or trees of arrays).\n"
      "    in_axes: The mapped axis of each argument (None: not mapped); an int applies to all, a\n"
      "      tuple gives one entry (itself a tree prefix) per argument.\n"
      "    out_axes: Where the mapped axis goes in each output.\n\n"
      "Returns:\n    The vectorized function.");

  using CustomGc = GcSlots<CustomFunction, &CustomFunction::visit, &CustomFunction::clear>;
  nb::class_<CustomFunction>(m, "custom_function", nb::type_slots(CustomGc::slots),
                             "Wraps a function so that transformations use the rules given with "
                             "``.vjp``, ``.jvp`` and ``.vmap`` (each optional).")
      .def(nb::init<nb::callable>(), "f"_a)
      .def("__call__", [](CustomFunction& self, nb::args args, nb::kwargs kwargs) { return self.call(args, kwargs); })
      .def(
          "vjp",
          [](nb::handle self, nb::callable f) {
            nb::cast<CustomFunction&>(self).set_vjp(f);
            return nb::borrow(self);
          },
          "f"_a, "Sets the vjp rule: ``f(primals, cotangents, outputs)`` returns the primals' cotangents.")
      .def(
          "jvp",
          [](nb::handle self, nb::callable f) {
            nb::cast<CustomFunction&>(self).set_jvp(f);
            return nb::borrow(self);
          },
          "f"_a, "Sets the jvp rule: ``f(primals, tangents)`` returns the outputs' tangents.")
      .def(
          "vmap",
          [](nb::handle self, nb::callable f) {
            nb::cast<CustomFunction&>(self).set_vmap(f);
            return nb::borrow(self);
          },
          "f"_a, "Sets the vmap rule: ``f(inputs, axes)`` returns ``(outputs, output_axes)``.");

  m.def(
      "checkpoint",
      [](nb::callable fun) {
        return make_transformed(
            [](const std::vector<nb::object>& refs, const nb::args& args, const nb::kwargs& kwargs) {
              return CustomFunction(nb::borrow<nb::callable>(refs[0])).call(args, kwargs, true);
            },
            {fun});
      },
      "fun"_a, nb::sig("def checkpoint(fun: Callable) -> Callable"),
      "``fun`` whose gradient recomputes its intermediate values instead of keeping them.");
}
