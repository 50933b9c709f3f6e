// eval_cpu of the unary elementwise primitives: one functor per op, run by cpu::elementwise.
// GCC if-converts (and so vectorizes) the selects of simd_math.h only when floating-point
// operations may be assumed not to trap; kiln never unmasks FP exceptions.
#pragma GCC optimize("no-trapping-math")

#include <immintrin.h>

#include <cmath>
#include <complex>
#include <concepts>
#include <limits>
#include <stdexcept>
#include <string>

#include "kiln/backend/cpu/elementwise.h"
#include "kiln/backend/cpu/simd_math.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cpu::compute_t;
using cpu::FloatType;
using cpu::InexactType;
using cpu::RealType;

template <typename T>
concept NotBool = !std::is_same_v<T, bool>;

template <typename T>
T wrap_neg(T x) {
  return static_cast<T>(cpu::wrap_t<T>(0) - static_cast<cpu::wrap_t<T>>(x));
}

// float uses the vectorizable simd:: version, double and complex the standard library.
#define KILN_MATH_OP(Name, simd_fn, std_fn)   \
  struct Name {                               \
    template <InexactType T>                  \
    T operator()(T x) const {                 \
      if constexpr (std::is_same_v<T, float>) \
        return cpu::simd::simd_fn(x);         \
      else                                    \
        return std_fn(x);                     \
    }                                         \
  };
// Only the standard library (float too).
#define KILN_STD_OP(Name, std_fn) \
  struct Name {                   \
    template <InexactType T>      \
    T operator()(T x) const {     \
      return std_fn(x);           \
    }                             \
  };

KILN_MATH_OP(ExpOp, exp, std::exp)
KILN_MATH_OP(LogOp, log, std::log)
KILN_MATH_OP(TanhOp, tanh, std::tanh)
KILN_STD_OP(TanOp, std::tan)
KILN_STD_OP(ArcSinOp, std::asin)
KILN_STD_OP(ArcCosOp, std::acos)
KILN_STD_OP(ArcTanOp, std::atan)
KILN_STD_OP(SinhOp, std::sinh)
KILN_STD_OP(CoshOp, std::cosh)
KILN_STD_OP(ArcSinhOp, std::asinh)
KILN_STD_OP(ArcCoshOp, std::acosh)
KILN_STD_OP(ArcTanhOp, std::atanh)
#undef KILN_MATH_OP
#undef KILN_STD_OP

// Real-only functions: complex64 is not supported.
struct ErfOp {
  template <FloatType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return cpu::simd::erf(x);
    else
      return std::erf(x);
  }
};

// erfinv by Newton's method in double from a closed-form first guess (relative error ~2e-3);
// near |y| = 1 the residual is formed from erfc and the exact 1 - |y|.
double erfinv(double y) {
  double a = std::fabs(y);
  if (!(a < 1.0)) return a == 1.0 ? std::copysign(std::numeric_limits<double>::infinity(), y) : std::nan("");
  if (a == 0.0) return y;
  constexpr double k = 0.147, two_over_sqrt_pi = 1.1283791670955126;
  double w = std::log((1.0 - a) * (1.0 + a));
  double t = 2.0 / (3.141592653589793 * k) + 0.5 * w;
  double x = std::sqrt(std::sqrt(t * t - w / k) - t);
  for (int i = 0; i < 4; ++i) {
    double f = a < 0.5 ? std::erf(x) - a : (1.0 - a) - std::erfc(x);
    x -= f / (two_over_sqrt_pi * std::exp(-x * x));
  }
  return std::copysign(x, y);
}
// float erfinv without branches (vectorisable): with w = -log((1 - |x|)(1 + |x|)),
// erfinv(x) / x is a polynomial in w - 2.5 for w < 5 and in sqrt(w) - 3 beyond (both fitted
// for kiln to ~3e-8 relative error over their ranges, w up to 18).
inline float erfinv_f32(float x) {
  namespace s = cpu::simd;
  float a = std::fabs(x);
  float w = -s::log((1.0f - a) * (1.0f + a));
  float small = s::poly(w - 2.5f, 1.501409357e+00f, 2.466402722e-01f, -4.177372148e-03f, -1.252707539e-03f,
                        2.183307777e-04f, -4.985515529e-06f, -3.458728704e-06f, 4.713729252e-07f,
                        2.287780290e-08f, -9.192555768e-09f);
  float r = std::sqrt(std::max(w, 5.0f)) - 3.0f;
  float large = s::poly(r, 2.832976800e+00f, 1.001675032e+00f, 9.445355891e-03f, -7.638309431e-03f,
                        5.686471455e-03f, -3.593268202e-03f, 1.485870287e-03f, -6.257070982e-05f,
                        -3.095956764e-04f, 1.179737290e-04f);
  float y = (w < 5.0f ? small : large) * x;
  y = a == 1.0f ? std::copysign(s::kInf, x) : y;
  return a > 1.0f || x != x ? s::kNaN : y;
}

struct ErfInvOp {
  template <FloatType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, double>)
      return erfinv(x);
    else
      return static_cast<T>(erfinv_f32(static_cast<float>(x)));
  }
};

// sin/cos: float reduces arguments up to kTrigMax in the vector path; larger ones are redone
// with the library, which reduces exactly.
#define KILN_TRIG_OP(Name, fn)                                                    \
  struct Name {                                                                   \
    template <InexactType T>                                                      \
    T operator()(T x) const {                                                     \
      if constexpr (std::is_same_v<T, float>)                                     \
        return cpu::simd::fn(x);                                                  \
      else                                                                        \
        return std::fn(x);                                                        \
    }                                                                             \
    template <std::same_as<float> T>                                              \
    bool needs_fixup(T x) const {                                                 \
      return std::fabs(x) > cpu::simd::kTrigMax;                                  \
    }                                                                             \
    template <std::same_as<float> T>                                              \
    T fixup(T x) const {                                                          \
      return std::fn(x);                                                          \
    }                                                                             \
  };
KILN_TRIG_OP(SinOp, sin)
KILN_TRIG_OP(CosOp, cos)
#undef KILN_TRIG_OP

struct Expm1Op {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return cpu::simd::expm1(x);
    else if constexpr (std::is_same_v<T, double>)
      return std::expm1(x);
    else
      return std::exp(x) - T(1);
  }
};
struct Log1pOp {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return cpu::simd::log1p(x);
    else if constexpr (std::is_same_v<T, double>)
      return std::log1p(x);
    else
      return std::log(T(1) + x);
  }
};
struct Log2Op {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return cpu::simd::log2(x);
    else if constexpr (std::is_same_v<T, double>)
      return std::log2(x);
    else
      return std::log(x) / 0.693147180559945309f;
  }
};
struct Log10Op {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return cpu::simd::log10(x);
    else
      return std::log10(x);
  }
};
// std::sqrt does not vectorize (it may set errno), so dense float and double runs use the
// instruction directly through run().
template <bool Reciprocal>
struct SqrtBase {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (Reciprocal)
      return T(1) / std::sqrt(x);
    else
      return std::sqrt(x);
  }
  static void run(float* o, int64_t n, const float* p) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 r = _mm256_sqrt_ps(_mm256_loadu_ps(p + i));
      if constexpr (Reciprocal) r = _mm256_div_ps(_mm256_set1_ps(1.0f), r);
      _mm256_storeu_ps(o + i, r);
    }
    for (; i < n; ++i) o[i] = SqrtBase{}(p[i]);
  }
  static void run(double* o, int64_t n, const double* p) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      __m256d r = _mm256_sqrt_pd(_mm256_loadu_pd(p + i));
      if constexpr (Reciprocal) r = _mm256_div_pd(_mm256_set1_pd(1.0), r);
      _mm256_storeu_pd(o + i, r);
    }
    for (; i < n; ++i) o[i] = SqrtBase{}(p[i]);
  }
};
using SqrtOp = SqrtBase<false>;
using RsqrtOp = SqrtBase<true>;
struct SigmoidOp {
  template <InexactType T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>) {
      return cpu::simd::sigmoid(x);
    } else if constexpr (std::is_same_v<T, double>) {
      double e = std::exp(-std::fabs(x));
      return (x >= 0 ? 1.0 : e) / (1.0 + e);
    } else {
      return T(1) / (T(1) + std::exp(-x));
    }
  }
};

// Rounding: integers are already whole.
#define KILN_ROUND_OP(Name, fn)                  \
  struct Name {                                  \
    template <RealType T>                        \
    T operator()(T x) const {                    \
      if constexpr (std::is_floating_point_v<T>) \
        return cpu::simd::fn(x);                 \
      else                                       \
        return x;                                \
    }                                            \
  };
KILN_ROUND_OP(FloorOp, floor)
KILN_ROUND_OP(CeilOp, ceil)
#undef KILN_ROUND_OP
struct RoundOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return {cpu::simd::rint(x.real()), cpu::simd::rint(x.imag())};
    else if constexpr (std::is_floating_point_v<T>)
      return cpu::simd::rint(x);
    else
      return x;
  }
};

struct AbsOp {
  template <typename T>
  auto operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return std::abs(x);
    else if constexpr (std::is_floating_point_v<T>)
      return std::fabs(x);
    else if constexpr (std::is_signed_v<T> && std::is_integral_v<T>)
      return x < 0 ? wrap_neg(x) : x;
    else
      return x;
  }
};
struct NegativeOp {
  template <NotBool T>
  T operator()(T x) const {
    if constexpr (std::is_integral_v<T>)
      return wrap_neg(x);
    else
      return -x;
  }
};
struct SignOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>) {
      return x == T(0) ? T(0) : x / std::abs(x);
    } else if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(x != 0);
    } else if constexpr (std::is_floating_point_v<T>) {
      return x > 0 ? T(1) : (x < 0 ? T(-1) : x);  // NaN and zeros pass through
    } else {
      return static_cast<T>((x > 0) - (x < 0));
    }
  }
};
struct SquareOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>)
      return x;
    else if constexpr (std::is_integral_v<T>)
      return static_cast<T>(static_cast<cpu::wrap_t<T>>(x) * static_cast<cpu::wrap_t<T>>(x));
    else
      return x * x;
  }
};
struct LogicalNotOp {
  template <RealType T>
  bool operator()(T x) const {
    return !x;
  }
};
struct BitwiseInvertOp {
  template <std::integral T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>)
      return !x;
    else
      return static_cast<T>(~x);
  }
};
struct ConjugateOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return std::conj(x);
    else
      return x;
  }
};
struct RealOp {
  template <typename T>
  auto operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return x.real();
    else
      return x;
  }
};
struct ImagOp {
  template <typename T>
  auto operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return x.imag();
    else
      return T(0);
  }
};

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
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) { unary<Name##Op>(inputs, out, name()); }
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
