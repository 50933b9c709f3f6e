// eval_cpu of the binary elementwise primitives: one functor per op, run by cpu::elementwise.
// Both inputs arrive with the output's shape and one dtype (ops.cpp promotes and broadcasts).
// As in unary.cpp: FP operations may be assumed not to trap, so GCC if-converts selects.
#pragma GCC optimize("no-trapping-math")
#include <cmath>
#include <complex>
#include <concepts>
#include <limits>

#include "kiln/backend/cpu/elementwise.h"
#include "kiln/backend/cpu/elementwise_ops.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cpu::compute_t;

// Runs Op over inputs[0], inputs[1] into out. The output element type is the inputs', unless
// the op returns another type (comparisons: bool).
template <typename Op>
void binary(const std::vector<array>& inputs, array& out, const char* name) {
  Dtype t = inputs[0].dtype();
  if (inputs[1].dtype() != t) throw_unsupported_dtype(name, inputs[1].dtype());
  dispatch_all_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    if constexpr (std::is_invocable_v<const Op&, C, C>) {
      using R = std::invoke_result_t<const Op&, C, C>;
      using Out = std::conditional_t<std::is_same_v<R, C>, T, R>;
      if (out.dtype() != TypeToDtype<Out>::value) cpu::throw_unsupported(name, out.dtype());
      cpu::elementwise<Out, T, T>(Op{}, inputs, out);
    } else {
      cpu::throw_unsupported(name, t);
    }
  });
}

}  // namespace

#define KILN_BINARY(Name) \
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) { binary<cpu::Name##Op>(inputs, out, name()); }
KILN_BINARY(Add)
KILN_BINARY(Subtract)
KILN_BINARY(Multiply)
KILN_BINARY(Divide)
KILN_BINARY(FloorDivide)
KILN_BINARY(Remainder)
KILN_BINARY(Power)
KILN_BINARY(Maximum)
KILN_BINARY(Minimum)
KILN_BINARY(Equal)
KILN_BINARY(NotEqual)
KILN_BINARY(Less)
KILN_BINARY(LessEqual)
KILN_BINARY(Greater)
KILN_BINARY(GreaterEqual)
KILN_BINARY(LogicalAnd)
KILN_BINARY(LogicalOr)
KILN_BINARY(LogAddExp)
KILN_BINARY(ArcTan2)
KILN_BINARY(BitwiseAnd)
KILN_BINARY(BitwiseOr)
KILN_BINARY(BitwiseXor)
KILN_BINARY(LeftShift)
KILN_BINARY(RightShift)
#undef KILN_BINARY

}  // namespace kiln
