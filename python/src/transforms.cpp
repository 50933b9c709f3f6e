// Bindings of kiln/transforms.h: eval and async_eval (grad, vmap, ... come with the transforms issue).
#include "utils.h"

using namespace kiln;

namespace {

// Arrays found in arbitrarily nested lists, tuples and dicts; other leaves are ignored, as in MLX.
void collect_arrays(nb::handle h, std::vector<array>& out, int depth = 0) {
  if (depth > 1000) throw std::invalid_argument("[eval] Inputs are nested too deeply.");
  if (nb::isinstance<array>(h)) {
    out.push_back(*nb::inst_ptr<array>(h));
  } else if (nb::isinstance<nb::list>(h) || nb::isinstance<nb::tuple>(h)) {
    for (nb::handle item : h) collect_arrays(item, out, depth + 1);
  } else if (nb::isinstance<nb::dict>(h)) {
    for (auto [k, v] : nb::borrow<nb::dict>(h)) collect_arrays(v, out, depth + 1);
  }
}

}  // namespace

void init_transforms(nb::module_& m) {
  m.def(
      "eval",
      [](nb::args args) {
        std::vector<array> arrays;
        collect_arrays(args, arrays);
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
        std::vector<array> arrays;
        collect_arrays(args, arrays);
        nb::gil_scoped_release nogil;
        kiln::async_eval(std::move(arrays));
      },
      nb::sig("def async_eval(*args) -> None"),
      "Starts evaluating the arrays in ``args`` and returns at once.\n\n"
      "Reading an array (``eval``, ``item``, printing) waits for it.\n\n"
      "Args:\n    *args: Arrays, or (nested) lists, tuples and dicts of arrays.");
}
