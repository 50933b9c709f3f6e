// eval_cpu of the unary elementwise primitives: one functor per op, run by cpu::elementwise.
// GCC if-converts (and so vectorizes) the selects of simd_math.h only when floating-point
// operations may be assumed not to trap; kiln never unmasks FP exceptions.
#pragma GCC optimize("no-trapping-math")

#include <cmath>
#include <complex>
#include <concepts>
#include <limits>
#include <stdexcept>
#include <string>

#include "kiln/backend/cpu/elementwise.h"
#include "kiln/backend/cpu/elementwise_ops.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cpu::compute_t;

// Runs Op over inputs[0] into out. The output element type is the input's, unless the op
// returns another type (complex abs, real, imag): then that one.
template <typename Op>
void unary(const std::vector<array>& inputs, array& out, const char* name) {
  const array& in = inputs[0];
  dispatch_all_types(in.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    if constexpr (std::is_invocable_v<const Op&, C>) {
      using R = std::invoke_result_t<const Op&, C>;
      using Out = std::conditional_t<std::is_same_v<R, C>, T, R>;
      if (out.dtype() != TypeToDtype<Out>::value) cpu::throw_unsupported(name, out.dtype());
      cpu::elementwise<Out, T>(Op{}, inputs, out);
    } else {
      cpu::throw_unsupported(name, in.dtype());
    }
  });
}

}  // namespace

#define KILN_UNARY(Name) \
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) { unary<cpu::Name##Op>(inputs, out, name()); }
KILN_UNARY(Abs)
KILN_UNARY(Negative)
KILN_UNARY(Sign)
KILN_UNARY(Sqrt)
KILN_UNARY(Rsqrt)
KILN_UNARY(Square)
KILN_UNARY(Exp)
KILN_UNARY(Expm1)
KILN_UNARY(Log)
KILN_UNARY(Log2)
KILN_UNARY(Log10)
KILN_UNARY(Log1p)
KILN_UNARY(Sin)
KILN_UNARY(Cos)
KILN_UNARY(Tan)
KILN_UNARY(ArcSin)
KILN_UNARY(ArcCos)
KILN_UNARY(ArcTan)
KILN_UNARY(Sinh)
KILN_UNARY(Cosh)
KILN_UNARY(Tanh)
KILN_UNARY(ArcSinh)
KILN_UNARY(ArcCosh)
KILN_UNARY(ArcTanh)
KILN_UNARY(Floor)
KILN_UNARY(Ceil)
KILN_UNARY(Round)
KILN_UNARY(Sigmoid)
KILN_UNARY(Erf)
KILN_UNARY(ErfInv)
KILN_UNARY(LogicalNot)
KILN_UNARY(BitwiseInvert)
KILN_UNARY(Conjugate)
KILN_UNARY(Real)
KILN_UNARY(Imag)
#undef KILN_UNARY

}  // namespace kiln
