// eval_cpu of Select (where): inputs are the bool condition and two arrays of the output's dtype,
// all broadcast to the output's shape.
#include "kiln/backend/cpu/elementwise.h"
#include "kiln/backend/cpu/elementwise_ops.h"
#include "kiln/primitives.h"

namespace kiln {

void Select::eval_cpu(const std::vector<array>& inputs, array& out) {
  if (inputs[0].dtype() != bool_) throw_unsupported_dtype(name(), inputs[0].dtype());
  if (inputs[1].dtype() != out.dtype() || inputs[2].dtype() != out.dtype()) {
    throw_unsupported_dtype(name(), inputs[1].dtype() != out.dtype() ? inputs[1].dtype() : inputs[2].dtype());
  }
  dispatch_all_types(out.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::elementwise<T, bool, T, T>(cpu::SelectOp{}, inputs, out);
  });
}

}  // namespace kiln
