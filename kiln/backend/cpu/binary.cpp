// eval_cpu of the binary elementwise primitives: one functor per op, run by cpu::elementwise.
// Both inputs arrive with the output's shape and one dtype (ops.cpp promotes and broadcasts).
// As in unary.cpp: FP operations may be assumed not to trap, so GCC if-converts selects.
#pragma GCC optimize("no-trapping-math")
#include <cmath>
#include <complex>
#include <concepts>
#include <limits>

#include "kiln/backend/cpu/elementwise.h"
#include "kiln/backend/cpu/simd_math.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cpu::compute_t;
using cpu::FloatType;
using cpu::InexactType;
using cpu::RealType;
using cpu::wrap_t;

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

bool complex_less(complex64_t a, complex64_t b) {
  return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
}
bool complex_isnan(complex64_t a) { return std::isnan(a.real()) || std::isnan(a.imag()); }

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
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) { binary<Name##Op>(inputs, out, name()); }
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
