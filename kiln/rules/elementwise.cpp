// vjp / jvp / vmap of the elementwise primitives (unary, binary, ternary, copies) and of the
// transforms' own buffer-sharing nodes.
//
// An elementwise output depends on each input through one elementwise partial derivative, so
// every rule is "tangent times partial" (jvp, summed over inputs) or "cotangent times partial"
// (vjp). vmap applies the op to the batched inputs with the batch axis moved to the front.
#include <cmath>

#include "kiln/ops.h"
#include "kiln/primitives.h"
#include "kiln/transforms.h"

namespace kiln {

namespace {

using Arrays = std::vector<array>;
using VmapResult = std::pair<std::vector<array>, std::vector<int>>;

/** The constant `v` in the dtype of `like`, so rules keep half precision half. */
array cst(double v, const array& like) { return array(v, like.dtype()); }

array zero_partial(const array& like) { return zeros_like(like); }

/** jvp of an elementwise node from the partials of its inputs. */
template <typename Partial>
Arrays jvp_from_partials(const Arrays& tangents, const std::vector<int>& argnums, Partial partial) {
  array out = multiply(tangents[0], partial(argnums[0]));
  for (size_t k = 1; k < argnums.size(); ++k) out = add(out, multiply(tangents[k], partial(argnums[k])));
  return {out};
}

template <typename Partial>
Arrays vjp_from_partials(const Arrays& cotangents, const std::vector<int>& argnums, Partial partial) {
  Arrays out;
  for (int a : argnums) out.push_back(multiply(cotangents[0], partial(a)));
  return out;
}

/** Batch axis to the front of each input (a size-1 axis for unbatched ones); ops broadcast it. */
template <typename Op>
VmapResult vmap_elementwise(const Arrays& inputs, const std::vector<int>& axes, Op op) {
  if (inputs.size() == 1) return {{op(inputs)}, {axes[0]}};
  Arrays moved;
  for (size_t i = 0; i < inputs.size(); ++i) {
    moved.push_back(axes[i] >= 0 ? moveaxis(inputs[i], axes[i], 0) : expand_dims(inputs[i], 0));
  }
  return {{op(moved)}, {0}};
}

}  // namespace

// An elementwise primitive whose partial derivatives are expressions in the inputs `x` (and, for
// binary ops, `y`), `s` (stream) and `out()` (the output; recomputed under jvp). `OP` rebuilds the
// node from inputs `in` for vmap.
#define KILN_ELEMENTWISE_RULES(Name, OP, PARTIAL)                                                      \
  Arrays Name::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {  \
    auto out = [&] {                                                                                   \
      const Arrays& in = primals;                                                                      \
      return OP;                                                                                       \
    };                                                                                                 \
    return jvp_from_partials(tangents, argnums, [&](int arg) { return PARTIAL(primals, arg, out); });  \
  }                                                                                                    \
  Arrays Name::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,   \
                   const Arrays& outputs) {                                                            \
    auto out = [&] { return outputs[0]; };                                                             \
    return vjp_from_partials(cotangents, argnums, [&](int arg) { return PARTIAL(primals, arg, out); }); \
  }                                                                                                    \
  VmapResult Name::vmap(const Arrays& inputs, const std::vector<int>& axes) {                          \
    return vmap_elementwise(inputs, axes, [&](const Arrays& in) { return OP; });                       \
  }

namespace {
// Partials: (primals, argument index, output thunk) -> d out / d primals[arg].
#define PARTIAL_FN(fname, ...)                                                  \
  template <typename Out>                                                       \
  array fname(const Arrays& p, [[maybe_unused]] int arg, [[maybe_unused]] Out out) { \
    [[maybe_unused]] const array& x = p[0];                                     \
    [[maybe_unused]] const array& y = p.size() > 1 ? p[1] : p[0];               \
    __VA_ARGS__                                                                 \
  }

PARTIAL_FN(d_zero, return zero_partial(p[arg]);)
PARTIAL_FN(d_abs, return sign(x);)
PARTIAL_FN(d_sqrt, return divide(cst(0.5, x), out());)
PARTIAL_FN(d_rsqrt, return multiply(cst(-0.5, x), divide(out(), x));)
PARTIAL_FN(d_square, return multiply(cst(2, x), x);)
PARTIAL_FN(d_exp, return out();)
PARTIAL_FN(d_expm1, return exp(x);)
PARTIAL_FN(d_log, return reciprocal(x);)
PARTIAL_FN(d_log2, return reciprocal(multiply(x, cst(std::log(2.0), x)));)
PARTIAL_FN(d_log10, return reciprocal(multiply(x, cst(std::log(10.0), x)));)
PARTIAL_FN(d_log1p, return reciprocal(add(x, cst(1, x)));)
PARTIAL_FN(d_sin, return cos(x);)
PARTIAL_FN(d_cos, return negative(sin(x));)
PARTIAL_FN(d_tan, return reciprocal(square(cos(x)));)
PARTIAL_FN(d_arcsin, return rsqrt(subtract(cst(1, x), square(x)));)
PARTIAL_FN(d_arccos, return negative(rsqrt(subtract(cst(1, x), square(x))));)
PARTIAL_FN(d_arctan, return reciprocal(add(cst(1, x), square(x)));)
PARTIAL_FN(d_sinh, return cosh(x);)
PARTIAL_FN(d_cosh, return sinh(x);)
PARTIAL_FN(d_tanh, return subtract(cst(1, x), square(out()));)
PARTIAL_FN(d_arcsinh, return rsqrt(add(square(x), cst(1, x)));)
PARTIAL_FN(d_arccosh, return rsqrt(subtract(square(x), cst(1, x)));)
PARTIAL_FN(d_arctanh, return reciprocal(subtract(cst(1, x), square(x)));)
PARTIAL_FN(d_sigmoid, array s = out(); return multiply(s, subtract(cst(1, s), s));)
PARTIAL_FN(d_erf, return multiply(cst(2 / std::sqrt(M_PI), x), exp(negative(square(x))));)
PARTIAL_FN(d_erfinv, return multiply(cst(std::sqrt(M_PI) / 2, x), exp(square(out())));)
PARTIAL_FN(d_multiply, return arg == 0 ? y : x;)
PARTIAL_FN(d_divide, return arg == 0 ? reciprocal(y) : negative(divide(out(), y));)
PARTIAL_FN(d_remainder, return arg == 0 ? ones_like(x) : negative(floor_divide(x, y));)
PARTIAL_FN(d_power,
           if (arg == 0) return multiply(y, power(x, subtract(y, cst(1, y))));
           // d/dy x^y = x^y log x, taken as 0 where x <= 0 (0^y has no slope in y; x < 0 is real only at integers).
           return where(greater(x, cst(0, x)), multiply(out(), log(x)), zeros_like(x));)
PARTIAL_FN(d_maximum, return astype(arg == 0 ? greater_equal(x, y) : less(x, y), x.dtype());)
PARTIAL_FN(d_minimum, return astype(arg == 0 ? less_equal(x, y) : greater(x, y), x.dtype());)
PARTIAL_FN(d_logaddexp, return exp(subtract(p[arg], out()));)
PARTIAL_FN(d_arctan2,  // out = atan2(x, y): d/dx = y / (x^2 + y^2), d/dy = -x / (x^2 + y^2)
           array r = add(square(x), square(y));
           return arg == 0 ? divide(y, r) : negative(divide(x, r));)
#undef PARTIAL_FN
}  // namespace

#define UNARY(Name, op, partial) KILN_ELEMENTWISE_RULES(Name, op(in[0]), partial)
#define BINARY(Name, op, partial) KILN_ELEMENTWISE_RULES(Name, op(in[0], in[1]), partial)

UNARY(Abs, abs, d_abs)
UNARY(Sign, sign, d_zero)
UNARY(Sqrt, sqrt, d_sqrt)
UNARY(Rsqrt, rsqrt, d_rsqrt)
UNARY(Square, square, d_square)
UNARY(Exp, exp, d_exp)
UNARY(Expm1, expm1, d_expm1)
UNARY(Log, log, d_log)
UNARY(Log2, log2, d_log2)
UNARY(Log10, log10, d_log10)
UNARY(Log1p, log1p, d_log1p)
UNARY(Sin, sin, d_sin)
UNARY(Cos, cos, d_cos)
UNARY(Tan, tan, d_tan)
UNARY(ArcSin, arcsin, d_arcsin)
UNARY(ArcCos, arccos, d_arccos)
UNARY(ArcTan, arctan, d_arctan)
UNARY(Sinh, sinh, d_sinh)
UNARY(Cosh, cosh, d_cosh)
UNARY(Tanh, tanh, d_tanh)
UNARY(ArcSinh, arcsinh, d_arcsinh)
UNARY(ArcCosh, arccosh, d_arccosh)
UNARY(ArcTanh, arctanh, d_arctanh)
UNARY(Floor, floor, d_zero)
UNARY(Ceil, ceil, d_zero)
UNARY(Round, round, d_zero)
UNARY(Sigmoid, sigmoid, d_sigmoid)
UNARY(Erf, erf, d_erf)
UNARY(ErfInv, erfinv, d_erfinv)
UNARY(LogicalNot, logical_not, d_zero)
UNARY(BitwiseInvert, bitwise_invert, d_zero)

BINARY(Multiply, multiply, d_multiply)
BINARY(Divide, divide, d_divide)
BINARY(FloorDivide, floor_divide, d_zero)
BINARY(Remainder, remainder, d_remainder)
BINARY(Power, power, d_power)
BINARY(Maximum, maximum, d_maximum)
BINARY(Minimum, minimum, d_minimum)
BINARY(Equal, equal, d_zero)
BINARY(NotEqual, not_equal, d_zero)
BINARY(Less, less, d_zero)
BINARY(LessEqual, less_equal, d_zero)
BINARY(Greater, greater, d_zero)
BINARY(GreaterEqual, greater_equal, d_zero)
BINARY(LogicalAnd, logical_and, d_zero)
BINARY(LogicalOr, logical_or, d_zero)
BINARY(LogAddExp, logaddexp, d_logaddexp)
BINARY(ArcTan2, arctan2, d_arctan2)
BINARY(BitwiseAnd, bitwise_and, d_zero)
BINARY(BitwiseOr, bitwise_or, d_zero)
BINARY(BitwiseXor, bitwise_xor, d_zero)
BINARY(LeftShift, left_shift, d_zero)
BINARY(RightShift, right_shift, d_zero)

#undef UNARY
#undef BINARY
#undef KILN_ELEMENTWISE_RULES

// ---- linear ops: the rule applies the op (or its transpose) to the tangent itself ----

#define KILN_LINEAR_RULES(Name, TANGENT_OP, COTANGENT_OP, VMAP_OP)                                       \
  Arrays Name::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {                     \
    const array& t = tangents[0];                                                                        \
    return {TANGENT_OP};                                                                                 \
  }                                                                                                      \
  Arrays Name::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) { \
    const array& c = cotangents[0];                                                                      \
    const array& x = primals[0];                                                                         \
    (void)x, (void)c;                                                                                    \
    return {COTANGENT_OP};                                                                               \
  }                                                                                                      \
  VmapResult Name::vmap(const Arrays& inputs, const std::vector<int>& axes) {                            \
    const array& in = inputs[0];                                                                         \
    return {{VMAP_OP}, {axes[0]}};                                                                       \
  }

KILN_LINEAR_RULES(Negative, negative(t), negative(c), negative(in))
KILN_LINEAR_RULES(Copy, t, c, copy(in))
KILN_LINEAR_RULES(Full, t, c, copy(in))
KILN_LINEAR_RULES(Identity, t, c, in)
KILN_LINEAR_RULES(StopGradient, zeros_like(t), zeros_like(x), stop_gradient(in))
KILN_LINEAR_RULES(Conjugate, conjugate(t), conjugate(c), conjugate(in))
KILN_LINEAR_RULES(Real, real(t), astype(c, complex64), real(in))
// imag(z) = (z - conj z) / 2i; its transpose maps a real cotangent c to i*c.
KILN_LINEAR_RULES(Imag, imag(t), multiply(astype(c, complex64), array(complex64_t(0, 1))), imag(in))
#undef KILN_LINEAR_RULES

Arrays Add::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {tangents.size() == 2 ? add(tangents[0], tangents[1]) : tangents[0]};
}
Arrays Add::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>& argnums, const Arrays&) {
  return Arrays(argnums.size(), cotangents[0]);
}
VmapResult Add::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return vmap_elementwise(inputs, axes, [](const Arrays& in) { return add(in[0], in[1]); });
}

Arrays Subtract::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>& argnums) {
  if (tangents.size() == 2) return {subtract(tangents[0], tangents[1])};
  return {argnums[0] == 0 ? tangents[0] : negative(tangents[0])};
}
Arrays Subtract::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>& argnums, const Arrays&) {
  Arrays out;
  for (int a : argnums) out.push_back(a == 0 ? cotangents[0] : negative(cotangents[0]));
  return out;
}
VmapResult Subtract::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return vmap_elementwise(inputs, axes, [](const Arrays& in) { return subtract(in[0], in[1]); });
}

// where(condition, x, y): the cotangent goes to x where the condition holds, to y elsewhere.
Arrays Select::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  array tx = zeros_like(primals[1]), ty = zeros_like(primals[2]);
  for (size_t k = 0; k < argnums.size(); ++k) {
    if (argnums[k] == 1) tx = tangents[k];
    if (argnums[k] == 2) ty = tangents[k];
  }
  return {where(primals[0], tx, ty)};
}
Arrays Select::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums, const Arrays&) {
  Arrays out;
  const array& c = cotangents[0];
  for (int a : argnums) {
    if (a == 0) out.push_back(zeros_like(primals[0]));
    else if (a == 1) out.push_back(where(primals[0], c, zeros_like(c)));
    else out.push_back(where(primals[0], zeros_like(c), c));
  }
  return out;
}
VmapResult Select::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return vmap_elementwise(inputs, axes, [](const Arrays& in) { return where(in[0], in[1], in[2]); });
}

}  // namespace kiln
