// The elementwise op functors (one struct <Name>Op per unary/binary/ternary primitive <Name>),
// shared by the CPU kernels (unary.cpp, binary.cpp, ternary.cpp) and by the kernels compile
// generates for fused chains (kiln/backend/cpu/compiled.cpp), which include this header at run
// time, so a fused chain computes exactly what the unfused primitives compute. Self-contained:
// it may include only the standard library, dtype.h, cast.h and simd_math.h.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <complex>
#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/simd_math.h"
#include "kiln/dtype.h"

namespace kiln::cpu {

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

/** The type an element is computed in: float for the half types, else the type itself. */
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

// ---- helpers for the op functors

/** Element types an op can constrain its operator() to (half types arrive as float). */
template <typename T>
concept RealType = std::is_arithmetic_v<T>;  // bool, integers, float, double
template <typename T>
concept FloatType = std::is_floating_point_v<T>;
template <typename T>
concept InexactType = FloatType<T> || std::is_same_v<T, complex64_t>;

/** Unsigned type of at least int's width: integer arithmetic in it wraps instead of overflowing. */
template <typename T>
using wrap_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

// ---- unary

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
inline double erfinv(double y) {
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

// ---- binary

template <typename T>
inline constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Integer +, -, * wrap around (as NumPy's do) instead of overflowing; bool + is or, * is and.
struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>)
      return a || b;
    else if constexpr (is_int_v<T>)
      return static_cast<T>(static_cast<wrap_t<T>>(a) + static_cast<wrap_t<T>>(b));
    else
      return a + b;
  }
};
struct SubtractOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>)
      return a != b;
    else if constexpr (is_int_v<T>)
      return static_cast<T>(static_cast<wrap_t<T>>(a) - static_cast<wrap_t<T>>(b));
    else
      return a - b;
  }
};
struct MultiplyOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>)
      return a && b;
    else if constexpr (is_int_v<T>)
      return static_cast<T>(static_cast<wrap_t<T>>(a) * static_cast<wrap_t<T>>(b));
    else
      return a * b;
  }
};

// Integer division by 0 gives 0 and MIN / -1 wraps: neither may trap.
struct DivideOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return static_cast<T>(wrap_t<T>(0) - static_cast<wrap_t<T>>(a));
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};

// Python's // and %: the quotient is floored and the remainder takes the divisor's sign.
// Floats follow CPython's float divmod (fmod based, so 1 // 0.1 is 9 as in Python and NumPy).
struct FloorDivideOp {
  template <RealType T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return static_cast<T>(wrap_t<T>(0) - static_cast<wrap_t<T>>(a));
        T q = static_cast<T>(a / b);
        return (a % b != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
      } else {
        return static_cast<T>(a / b);
      }
    } else {
      if (b == 0) return a / b;
      T mod = std::fmod(a, b);
      T div = (a - mod) / b;
      if (mod != 0 && ((b < 0) != (mod < 0))) div -= T(1);
      if (div == 0) return std::copysign(T(0), a / b);
      T fl = std::floor(div);
      return div - fl > T(0.5) ? fl + T(1) : fl;
    }
  }
};
struct RemainderOp {
  template <RealType T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return false;
    } else if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return 0;
        T r = static_cast<T>(a % b);
        return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
      } else {
        return static_cast<T>(a % b);
      }
    } else {
      T mod = std::fmod(a, b);
      if (mod == 0) return std::copysign(T(0), b);
      return ((b < 0) != (mod < 0)) ? mod + b : mod;
    }
  }
};

// Integer powers by squaring (wrapping); a negative exponent gives 0 unless the base is +-1.
struct PowerOp {
  template <typename T>
  T operator()(T base, T exp) const {
    if constexpr (std::is_same_v<T, bool>) {
      return base || !exp;
    } else if constexpr (is_int_v<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (exp < 0) return base == 1 ? T(1) : base == -1 ? ((exp & 1) ? T(-1) : T(1)) : T(0);
      }
      wrap_t<T> result = 1, b = static_cast<wrap_t<T>>(base);
      for (auto e = static_cast<std::make_unsigned_t<T>>(exp); e != 0; e >>= 1) {
        if (e & 1) result *= b;
        b *= b;
      }
      return static_cast<T>(result);
    } else {
      return std::pow(base, exp);
    }
  }
};

inline bool complex_less(complex64_t a, complex64_t b) {
  return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
}
inline bool complex_isnan(complex64_t a) { return std::isnan(a.real()) || std::isnan(a.imag()); }

// NaN propagates, as in NumPy; complex numbers are ordered lexicographically.
struct MaximumOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return complex_isnan(a) ? a : complex_isnan(b) ? b : complex_less(a, b) ? b : a;
    else if constexpr (std::is_floating_point_v<T>)
      return (a > b || a != a) ? a : b;
    else
      return a > b ? a : b;
  }
};
struct MinimumOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, complex64_t>)
      return complex_isnan(a) ? a : complex_isnan(b) ? b : complex_less(b, a) ? b : a;
    else if constexpr (std::is_floating_point_v<T>)
      return (a < b || a != a) ? a : b;
    else
      return a < b ? a : b;
  }
};

struct EqualOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NotEqualOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a != b;
  }
};
#define KILN_ORDER_OP(Name, op, complex_expr)       \
  struct Name {                                     \
    template <typename T>                           \
    bool operator()(T a, T b) const {               \
      if constexpr (std::is_same_v<T, complex64_t>) \
        return complex_expr;                        \
      else                                          \
        return a op b;                              \
    }                                               \
  };
KILN_ORDER_OP(LessOp, <, complex_less(a, b))
KILN_ORDER_OP(LessEqualOp, <=, complex_less(a, b) || a == b)
KILN_ORDER_OP(GreaterOp, >, complex_less(b, a))
KILN_ORDER_OP(GreaterEqualOp, >=, complex_less(b, a) || a == b)
#undef KILN_ORDER_OP

struct LogicalAndOp {
  template <RealType T>
  bool operator()(T a, T b) const {
    return a && b;
  }
};
struct LogicalOrOp {
  template <RealType T>
  bool operator()(T a, T b) const {
    return a || b;
  }
};

// log(e^a + e^b) = max + log1p(e^-|a-b|); equal infinities would give inf - inf.
struct LogAddExpOp {
  template <FloatType T>
  T operator()(T a, T b) const {
    T m = (a > b || a != a) ? a : b;
    T d = -std::fabs(a - b);
    T r;
    if constexpr (std::is_same_v<T, float>)
      r = m + cpu::simd::log1p(cpu::simd::exp(d));
    else
      r = m + std::log1p(std::exp(d));
    return a == b ? a + T(0.693147180559945309) : r;
  }
};
struct ArcTan2Op {
  template <FloatType T>
  T operator()(T a, T b) const {
    return std::atan2(a, b);
  }
};

#define KILN_BITWISE_OP(Name, op)                                    \
  struct Name {                                                      \
    template <std::integral T>                                       \
    T operator()(T a, T b) const {                                   \
      return static_cast<T>(a op b);                                 \
    }                                                                \
  };
KILN_BITWISE_OP(BitwiseAndOp, &)
KILN_BITWISE_OP(BitwiseOrOp, |)
KILN_BITWISE_OP(BitwiseXorOp, ^)
#undef KILN_BITWISE_OP

// Shifts by a negative count or by the width or more are defined: all bits shift out.
struct LeftShiftOp {
  template <std::integral T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && !b;
    } else {
      constexpr T bits = static_cast<T>(8 * sizeof(T));
      return (b < 0 || b >= bits) ? T(0) : static_cast<T>(static_cast<wrap_t<T>>(a) << b);
    }
  }
};
struct RightShiftOp {
  template <std::integral T>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && !b;
    } else {
      constexpr T bits = static_cast<T>(8 * sizeof(T));
      T shifted_out = (std::is_signed_v<T> && a < 0) ? T(-1) : T(0);
      return (b < 0 || b >= bits) ? shifted_out : static_cast<T>(a >> b);
    }
  }
};

// ---- ternary

struct SelectOp {
  template <typename T>
  T operator()(bool c, T x, T y) const {
    return c ? x : y;
  }
};

}  // namespace kiln::cpu
