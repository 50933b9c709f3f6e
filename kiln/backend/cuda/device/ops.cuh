// Device functors of the elementwise primitives, one per primitive, with the CPU's semantics
// (kiln/backend/cpu/elementwise_ops.h): integer arithmetic wraps, integer division by zero is 0,
// floor_divide and remainder follow Python, NaN propagates through maximum/minimum. Each
// functor says which compute types it takes (`ok<C>`) and what it returns (`out<C>`); half
// types arrive as float.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kiln/backend/cuda/device/types.cuh"

namespace kiln::cuda::ops {

template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T>;
template <typename T>
inline constexpr bool is_real_v = std::is_arithmetic_v<T>;

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

// ---- unary

#define KILN_FLOAT_FN(Name, ffn, dfn)                      \
  struct Name : FloatOnly {                                \
    template <typename T>                                  \
    __device__ T operator()(T x) const {                   \
      if constexpr (std::is_same_v<T, float>) return ffn(x); \
      else return dfn(x);                                  \
    }                                                      \
  };
KILN_FLOAT_FN(Sqrt, sqrtf, sqrt)
KILN_FLOAT_FN(Exp, expf, exp)
KILN_FLOAT_FN(Expm1, expm1f, expm1)
KILN_FLOAT_FN(Log, logf, log)
KILN_FLOAT_FN(Log2, log2f, log2)
KILN_FLOAT_FN(Log10, log10f, log10)
KILN_FLOAT_FN(Log1p, log1pf, log1p)
KILN_FLOAT_FN(Sin, sinf, sin)
KILN_FLOAT_FN(Cos, cosf, cos)
KILN_FLOAT_FN(Tan, tanf, tan)
KILN_FLOAT_FN(ArcSin, asinf, asin)
KILN_FLOAT_FN(ArcCos, acosf, acos)
KILN_FLOAT_FN(ArcTan, atanf, atan)
KILN_FLOAT_FN(Sinh, sinhf, sinh)
KILN_FLOAT_FN(Cosh, coshf, cosh)
KILN_FLOAT_FN(Tanh, tanhf, tanh)
KILN_FLOAT_FN(ArcSinh, asinhf, asinh)
KILN_FLOAT_FN(ArcCosh, acoshf, acosh)
KILN_FLOAT_FN(ArcTanh, atanhf, atanh)
KILN_FLOAT_FN(Erf, erff, erf)
KILN_FLOAT_FN(ErfInv, erfinvf, erfinv)
#undef KILN_FLOAT_FN

struct Rsqrt : FloatOnly {
  template <typename T>
  __device__ T operator()(T x) const {
    return T(1) / sqrt(x);  // correctly rounded, as the CPU's 1 / sqrt
  }
};
struct Sigmoid : FloatOnly {
  template <typename T>
  __device__ T operator()(T x) const {
    T e = exp(-fabs(x));  // stable on both sides
    return (x >= 0 ? T(1) : e) / (T(1) + e);
  }
};
struct Abs : AnyReal {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (is_float_v<T>) return fabs(x);
    else if constexpr (std::is_signed_v<T>) return x < 0 ? wrap_neg(x) : x;
    else return x;
  }
};
struct Negative : AnyReal {
  template <typename C>
  static constexpr bool ok = is_real_v<C> && !std::is_same_v<C, bool>;
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return wrap_neg(x);
    else return -x;
  }
};
struct Sign : AnyReal {
  template <typename T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return static_cast<T>(x != 0);
    else if constexpr (is_float_v<T>) return x > 0 ? T(1) : (x < 0 ? T(-1) : x);
    else return static_cast<T>((x > 0) - (x < 0));
  }
};
struct Square : AnyReal {
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
KILN_ROUND_FN(Round, rint)
#undef KILN_ROUND_FN
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
// Complex numbers have no GPU kernels yet, so these are identities (and zero) on real types.
struct Conjugate : AnyReal {
  template <typename T>
  __device__ T operator()(T x) const {
    return x;
  }
};
using Real = Conjugate;
struct Imag : AnyReal {
  template <typename T>
  __device__ T operator()(T) const {
    return T(0);
  }
};

// ---- binary

struct Add : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) + static_cast<wrap_t<T>>(b));
    else return a + b;
  }
};
struct Subtract : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a != b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) - static_cast<wrap_t<T>>(b));
    else return a - b;
  }
};
struct Multiply : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else if constexpr (is_int_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(a) * static_cast<wrap_t<T>>(b));
    else return a * b;
  }
};
struct Divide : AnyReal {
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
struct Power : AnyReal {
  template <typename T>
  __device__ T operator()(T base, T e) const {
    if constexpr (std::is_same_v<T, bool>) {
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
struct Maximum : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) return (a > b || a != a) ? a : b;
    else return a > b ? a : b;
  }
};
struct Minimum : AnyReal {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) return (a < b || a != a) ? a : b;
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
KILN_CMP_FN(Equal, a == b, ToBool)
KILN_CMP_FN(NotEqual, a != b, ToBool)
KILN_CMP_FN(Less, a < b, ToBool)
KILN_CMP_FN(LessEqual, a <= b, ToBool)
KILN_CMP_FN(Greater, a > b, ToBool)
KILN_CMP_FN(GreaterEqual, a >= b, ToBool)
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

}  // namespace kiln::cuda::ops
