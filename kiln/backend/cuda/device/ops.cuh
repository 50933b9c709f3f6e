// Device functors of the elementwise primitives, one per primitive, with the CPU's semantics
// (kiln/backend/cpu/elementwise_ops.h): integer arithmetic wraps, integer division by zero is 0,
// floor_divide and remainder follow Python, NaN propagates through maximum/minimum. Each
// functor says which compute types it takes (`ok<C>`) and what it returns (`out<C>`); half
// types arrive as float, complex64 as complex64_d with the CPU's complex definitions.
// The unfused kernels (unary.cu, binary.cu) and the fused ones that compile generates and NVRTC
// builds (compiled.cpp, which embeds this header's text) both use these functors: one
// definition of every op. So this header and what it includes must compile under NVRTC: device
// code only, no standard headers beyond types.cuh's.
#pragma once

#include "kiln/backend/cuda/device/complex.cuh"
#include "kiln/backend/cuda/device/types.cuh"

namespace kiln::cuda::ops {

template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T>;
template <typename T>
inline constexpr bool is_real_v = std::is_arithmetic_v<T>;
template <typename T>
inline constexpr bool is_complex_v = std::is_same_v<T, complex64_d>;

template <typename T>
using wrap_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T>
__device__ __forceinline__ T wrap_neg(T x) {
  return static_cast<T>(wrap_t<T>(0) - static_cast<wrap_t<T>>(x));
}

/** Defaults: any real type, the result in the same type. */
struct AnyReal {
  template <typename C>
  static constexpr bool ok = is_real_v<C>;
  template <typename C>
  using out = C;
};
struct FloatOnly : AnyReal {
  template <typename C>
  static constexpr bool ok = is_float_v<C>;
};
struct IntegralOnly : AnyReal {
  template <typename C>
  static constexpr bool ok = std::is_integral_v<C>;
};
struct ToBool : AnyReal {
  template <typename C>
  using out = bool;
};
/** Real or complex. */
struct AnyNumber : AnyReal {
  template <typename C>
  static constexpr bool ok = is_real_v<C> || is_complex_v<C>;
};
/** Floating point or complex. */
struct Inexact : AnyReal {
  template <typename C>
  static constexpr bool ok = is_float_v<C> || is_complex_v<C>;
};
/** Real or complex, compared: bool. */
struct AnyToBool : AnyNumber {
  template <typename C>
  using out = bool;
};
/** Real or complex; complex gives its (float) magnitude or part. */
struct ToRealPart : AnyNumber {
  template <typename C>
  using out = std::conditional_t<is_complex_v<C>, float, C>;
};

// ---- unary

// Floating-point functions; those the CPU defines on complex64 too (all but erf, erfinv) take
// it through complex.cuh's c_<fn>.
#define KILN_FLOAT_FN(Name, ffn, dfn)                      \
  struct Name : FloatOnly {                                \
    template <typename T>                                  \
    __device__ T operator()(T x) const {                   \
      if constexpr (std::is_same_v<T, float>) return ffn(x); \
      else return dfn(x);                                  \
    }                                                      \
  };
#define KILN_INEXACT_FN(Name, ffn, dfn, cfn)                 \
  struct Name : Inexact {                                  \
    template <typename T>                                  \
    __device__ T operator()(T x) const {                   \
      if constexpr (is_complex_v<T>) return cfn(x);        \
      else if constexpr (std::is_same_v<T, float>) return ffn(x); \
      else return dfn(x);                                  \
    }                                                      \
  };
KILN_INEXACT_FN(Sqrt, sqrtf, sqrt, c_sqrt)
KILN_INEXACT_FN(Exp, expf, exp, c_exp)
KILN_INEXACT_FN(Expm1, expm1f, expm1, c_expm1)
KILN_INEXACT_FN(Log, logf, log, c_log)
KILN_INEXACT_FN(Log2, log2f, log2, c_log2)
KILN_INEXACT_FN(Log10, log10f, log10, c_log10)
KILN_INEXACT_FN(Log1p, log1pf, log1p, c_log1p)
KILN_INEXACT_FN(Sin, sinf, sin, c_sin)
KILN_INEXACT_FN(Cos, cosf, cos, c_cos)
KILN_INEXACT_FN(Tan, tanf, tan, c_tan)
KILN_INEXACT_FN(ArcSin, asinf, asin, c_asin)
KILN_INEXACT_FN(ArcCos, acosf, acos, c_acos)
KILN_INEXACT_FN(ArcTan, atanf, atan, c_atan)
KILN_INEXACT_FN(Sinh, sinhf, sinh, c_sinh)
KILN_INEXACT_FN(Cosh, coshf, cosh, c_cosh)
KILN_INEXACT_FN(Tanh, tanhf, tanh, c_tanh)
KILN_INEXACT_FN(ArcSinh, asinhf, asinh, c_asinh)
KILN_INEXACT_FN(ArcCosh, acoshf, acosh, c_acosh)
KILN_INEXACT_FN(ArcTanh, atanhf, atanh, c_atanh)
KILN_FLOAT_FN(Erf, erff, erf)
KILN_FLOAT_FN(ErfInv, erfinvf, erfinv)
#undef KILN_FLOAT_FN
#undef KILN_INEXACT_FN

struct Rsqrt : Inexact {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_complex_v<T>) return c_rsqrt(x);
    else return T(1) / sqrt(x);  // correctly rounded, as the CPU's 1 / sqrt
  }
};
struct Sigmoid : Inexact {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_complex_v<T>) {
      return c_sigmoid(x);
    } else {
      T e = exp(-fabs(x));  // stable on both sides
      return (x >= 0 ? T(1) : e) / (T(1) + e);
    }
  }
};
struct Abs : ToRealPart {
  template <typename T>
  __device__ out<T> operator()(T x) const {
    if constexpr (is_complex_v<T>) return c_abs(x);
    else if constexpr (is_float_v<T>) return fabs(x);
    else if constexpr (std::is_signed_v<T>) return x < 0 ? wrap_neg(x) : x;
    else return x;
  }
};
struct Negative : AnyReal {
  template <typename C>
  static constexpr bool ok = (is_real_v<C> && !std::is_same_v<C, bool>) || is_complex_v<C>;
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return wrap_neg(x);
    else return -x;
  }
};
struct Sign : AnyNumber {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_complex_v<T>) {
      if (x.re == 0 && x.im == 0) return T{0.0f, 0.0f};
      float a = c_abs(x);  // as the CPU: z / |z| with |z| a float
      return T{x.re / a, x.im / a};
    } else if constexpr (std::is_unsigned_v<T>) return static_cast<T>(x != 0);
    else if constexpr (is_float_v<T>) return x > 0 ? T(1) : (x < 0 ? T(-1) : x);
    else return static_cast<T>((x > 0) - (x < 0));
  }
};
struct Square : AnyNumber {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return x;
    else if constexpr (std::is_integral_v<T>)
      return static_cast<T>(static_cast<wrap_t<T>>(x) * static_cast<wrap_t<T>>(x));
    else return x * x;
  }
};
#define KILN_ROUND_FN(Name, fn)                        \
  struct Name : AnyReal {                                 \
    template <typename T>                              \
    __device__ T operator()(T x) const {               \
      if constexpr (is_float_v<T>) return fn(x);       \
      else return x;                                   \
    }                                                  \
  };
KILN_ROUND_FN(Floor, floor)
KILN_ROUND_FN(Ceil, ceil)
#undef KILN_ROUND_FN
struct Round : AnyNumber {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_complex_v<T>) return T{rintf(x.re), rintf(x.im)};
    else if constexpr (is_float_v<T>) return rint(x);
    else return x;
  }
};
struct LogicalNot : ToBool {
  template <typename T>
  __device__ bool operator()(T x) const {
    return !x;
  }
};
struct BitwiseInvert : IntegralOnly {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return !x;
    else return static_cast<T>(~x);
  }
};
// On real types: the identity, the value itself and zero.
struct Conjugate : AnyNumber {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_complex_v<T>) return T{x.re, -x.im};
    else return x;
  }
};
struct Real : ToRealPart {
  template <typename T>
  __device__ out<T> operator()(T x) const {
    if constexpr (is_complex_v<T>) return x.re;
    else return x;
  }
};
struct Imag : ToRealPart {
  template <typename T>
  __device__ out<T> operator()(T x) const {
    if constexpr (is_complex_v<T>) return x.im;
    else return T(0);
  }
};

// ---- binary

struct Add : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) + static_cast<wrap_t<T>>(b));
    else return a + b;
  }
};
struct Subtract : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a != b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) - static_cast<wrap_t<T>>(b));
    else return a - b;
  }
};
struct Multiply : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) * static_cast<wrap_t<T>>(b));
    else return a * b;
  }
};
struct Divide : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return wrap_neg(a);
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};
struct FloorDivide : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (is_int_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return wrap_neg(a);
        T q = static_cast<T>(a / b);
        return (a % b != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
      } else {
        return static_cast<T>(a / b);
      }
    } else {
      if (b == 0) return a / b;
      T mod = fmod(a, b);
      T div = (a - mod) / b;
      if (mod != 0 && ((b < 0) != (mod < 0))) div -= T(1);
      if (div == 0) return copysign(T(0), a / b);
      T fl = floor(div);
      return div - fl > T(0.5) ? fl + T(1) : fl;
    }
  }
};
struct Remainder : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
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
      T mod = fmod(a, b);
      if (mod == 0) return copysign(T(0), b);
      return ((b < 0) != (mod < 0)) ? mod + b : mod;
    }
  }
};
struct Power : AnyNumber {
  template <typename T>
  __device__ T operator()(T base, T e) const {
    if constexpr (is_complex_v<T>) {
      return c_pow(base, e);
    } else if constexpr (std::is_same_v<T, bool>) {
      return base || !e;
    } else if constexpr (is_int_v<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (e < 0) return base == 1 ? T(1) : base == -1 ? ((e & 1) ? T(-1) : T(1)) : T(0);
      }
      wrap_t<T> result = 1, b = static_cast<wrap_t<T>>(base);
      for (auto k = static_cast<std::make_unsigned_t<T>>(e); k != 0; k >>= 1) {
        if (k & 1) result *= b;
        b *= b;
      }
      return static_cast<T>(result);
    } else {
      return pow(base, e);
    }
  }
};
// NaN propagates; complex numbers are ordered lexicographically (as on the CPU).
struct Maximum : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (is_complex_v<T>) return c_isnan(a) ? a : c_isnan(b) ? b : c_less(a, b) ? b : a;
    else if constexpr (is_float_v<T>) return (a > b || a != a) ? a : b;
    else return a > b ? a : b;
  }
};
struct Minimum : AnyNumber {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (is_complex_v<T>) return c_isnan(a) ? a : c_isnan(b) ? b : c_less(b, a) ? b : a;
    else if constexpr (is_float_v<T>) return (a < b || a != a) ? a : b;
    else return a < b ? a : b;
  }
};
#define KILN_CMP_FN(Name, op, Base)                    \
  struct Name : Base {                                 \
    template <typename T>                              \
    __device__ bool operator()(T a, T b) const {       \
      return op;                                       \
    }                                                  \
  };
#define KILN_ORDER_FN(Name, op, complex_expr)            \
  struct Name : AnyToBool {                            \
    template <typename T>                              \
    __device__ bool operator()(T a, T b) const {       \
      if constexpr (is_complex_v<T>) return complex_expr; \
      else return a op b;                              \
    }                                                  \
  };
KILN_CMP_FN(Equal, a == b, AnyToBool)
KILN_CMP_FN(NotEqual, a != b, AnyToBool)
KILN_ORDER_FN(Less, <, c_less(a, b))
KILN_ORDER_FN(LessEqual, <=, c_less(a, b) || a == b)
KILN_ORDER_FN(Greater, >, c_less(b, a))
KILN_ORDER_FN(GreaterEqual, >=, c_less(b, a) || a == b)
#undef KILN_ORDER_FN
KILN_CMP_FN(LogicalAnd, a && b, ToBool)
KILN_CMP_FN(LogicalOr, a || b, ToBool)
#undef KILN_CMP_FN
struct LogAddExp : FloatOnly {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    T m = (a > b || a != a) ? a : b;
    T r = m + log1p(exp(-fabs(a - b)));
    return a == b ? a + T(0.693147180559945309) : r;  // equal infinities would give inf - inf
  }
};
struct ArcTan2 : FloatOnly {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return atan2(a, b);
  }
};
#define KILN_BIT_FN(Name, op)                          \
  struct Name : IntegralOnly {                         \
    template <typename T>                              \
    __device__ T operator()(T a, T b) const {          \
      return static_cast<T>(a op b);                   \
    }                                                  \
  };
KILN_BIT_FN(BitwiseAnd, &)
KILN_BIT_FN(BitwiseOr, |)
KILN_BIT_FN(BitwiseXor, ^)
#undef KILN_BIT_FN
// A count below zero or of the width or more shifts every bit out.
template <typename T>
__device__ __forceinline__ bool shift_out(T b) {
  constexpr T bits = static_cast<T>(8 * sizeof(T));
  if constexpr (std::is_signed_v<T>) return b < 0 || b >= bits;
  else return b >= bits;
}
struct LeftShift : IntegralOnly {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && !b;
    } else {
      return shift_out(b) ? T(0) : static_cast<T>(static_cast<wrap_t<T>>(a) << b);
    }
  }
};
struct RightShift : IntegralOnly {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && !b;
    } else {
      T out = T(0);
      if constexpr (std::is_signed_v<T>) out = a < 0 ? T(-1) : T(0);
      return shift_out(b) ? out : static_cast<T>(a >> b);
    }
  }
};

// ---- ternary

/** where(c, x, y): x and y in their (shared) compute type. */
struct Select : AnyNumber {
  template <typename T>
  __device__ T operator()(bool c, T x, T y) const {
    return c ? x : y;
  }
};

}  // namespace kiln::cuda::ops
