// Element types, their categories and MLX's promotion rules.
#pragma once

#include <complex>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <type_traits>

#include "kiln/api.h"

namespace kiln {

/** IEEE half precision; GCC implements arithmetic through float (F16C converts in hardware). */
using float16_t = _Float16;

/** bfloat16 stored as the upper half of a float32; arithmetic goes through float. */
struct bfloat16_t {
  uint16_t bits;
  bfloat16_t() = default;
  static constexpr bfloat16_t from_bits(uint16_t b) {
    bfloat16_t r{};
    r.bits = b;
    return r;
  }
  bfloat16_t(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
      bits = static_cast<uint16_t>(u >> 16);
    }
  }
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  bfloat16_t(T v) : bfloat16_t(static_cast<float>(v)) {}
  bfloat16_t(float16_t v) : bfloat16_t(static_cast<float>(v)) {}
  operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

using complex64_t = std::complex<float>;

/** A dtype: which element type, and its size in bytes. */
struct KILN_API Dtype {
  enum class Val : uint8_t {
    bool_,
    uint8,
    uint16,
    uint32,
    uint64,
    int8,
    int16,
    int32,
    int64,
    float16,
    bfloat16,
    float32,
    float64,
    complex64,
  };
  /** Abstract categories, as in numpy/MLX (`issubdtype(x, floating)`). */
  enum class Category {
    complexfloating,
    floating,
    inexact,
    signedinteger,
    unsignedinteger,
    integer,
    number,
    generic,
  };
  /** One-letter kind: b bool, u unsigned, i signed, f float, V bfloat16, c complex. */
  enum class Kind { b, u, i, f, V, c };

  Val val;
  uint8_t size;
  constexpr Dtype(Val v, uint8_t s) : val(v), size(s) {}
  constexpr operator Val() const { return val; }
  constexpr bool operator==(const Dtype& o) const { return val == o.val; }
  constexpr bool operator!=(const Dtype& o) const { return val != o.val; }
};

inline constexpr Dtype bool_{Dtype::Val::bool_, 1};
inline constexpr Dtype uint8{Dtype::Val::uint8, 1};
inline constexpr Dtype uint16{Dtype::Val::uint16, 2};
inline constexpr Dtype uint32{Dtype::Val::uint32, 4};
inline constexpr Dtype uint64{Dtype::Val::uint64, 8};
inline constexpr Dtype int8{Dtype::Val::int8, 1};
inline constexpr Dtype int16{Dtype::Val::int16, 2};
inline constexpr Dtype int32{Dtype::Val::int32, 4};
inline constexpr Dtype int64{Dtype::Val::int64, 8};
inline constexpr Dtype float16{Dtype::Val::float16, 2};
inline constexpr Dtype bfloat16{Dtype::Val::bfloat16, 2};
inline constexpr Dtype float32{Dtype::Val::float32, 4};
inline constexpr Dtype float64{Dtype::Val::float64, 8};
inline constexpr Dtype complex64{Dtype::Val::complex64, 8};

inline constexpr Dtype::Category complexfloating = Dtype::Category::complexfloating;
inline constexpr Dtype::Category floating = Dtype::Category::floating;
inline constexpr Dtype::Category inexact = Dtype::Category::inexact;
inline constexpr Dtype::Category signedinteger = Dtype::Category::signedinteger;
inline constexpr Dtype::Category unsignedinteger = Dtype::Category::unsignedinteger;
inline constexpr Dtype::Category integer = Dtype::Category::integer;
inline constexpr Dtype::Category number = Dtype::Category::number;
inline constexpr Dtype::Category generic = Dtype::Category::generic;

/** All dtypes, in declaration order. */
inline constexpr Dtype all_dtypes[] = {bool_, uint8, uint16, uint32, uint64, int8, int16,
                                       int32, int64, float16, bfloat16, float32, float64, complex64};

/** Size of one element in bytes. */
inline constexpr size_t size_of(Dtype t) { return t.size; }
/** The dtype's one-letter kind. */
KILN_API Dtype::Kind kind(Dtype t);
/** The dtype both operands are converted to by a binary op (MLX's table). */
KILN_API Dtype promote_types(Dtype a, Dtype b);
/** True if `a` belongs to category `c` (or equals it, for the dtype overloads). */
KILN_API bool issubdtype(Dtype a, Dtype::Category c);
KILN_API bool issubdtype(Dtype a, Dtype b);
KILN_API bool issubdtype(Dtype::Category a, Dtype::Category b);
KILN_API bool issubdtype(Dtype::Category a, Dtype b);
/** Name as MLX prints it: "float32", "bool", ... */
KILN_API std::string dtype_name(Dtype t);
KILN_API std::ostream& operator<<(std::ostream& os, Dtype t);
KILN_API std::ostream& operator<<(std::ostream& os, Dtype::Category c);

inline bool is_floating_point(Dtype t) {
  return t == float16 || t == bfloat16 || t == float32 || t == float64;
}
inline bool is_complex(Dtype t) { return t == complex64; }
inline bool is_inexact(Dtype t) { return is_floating_point(t) || is_complex(t); }
inline bool is_integral(Dtype t) { return !is_inexact(t) && t != bool_; }
inline bool is_unsigned(Dtype t) {
  return t == uint8 || t == uint16 || t == uint32 || t == uint64 || t == bool_;
}

/** Maps a C++ element type to its dtype. */
template <typename T>
struct TypeToDtype;
#define KILN_TYPE_TO_DTYPE(T, D) \
  template <>                    \
  struct TypeToDtype<T> {        \
    static constexpr Dtype value = D; \
    constexpr operator Dtype() const { return D; } \
  };
KILN_TYPE_TO_DTYPE(bool, bool_)
KILN_TYPE_TO_DTYPE(uint8_t, uint8)
KILN_TYPE_TO_DTYPE(uint16_t, uint16)
KILN_TYPE_TO_DTYPE(uint32_t, uint32)
KILN_TYPE_TO_DTYPE(uint64_t, uint64)
KILN_TYPE_TO_DTYPE(int8_t, int8)
KILN_TYPE_TO_DTYPE(int16_t, int16)
KILN_TYPE_TO_DTYPE(int32_t, int32)
KILN_TYPE_TO_DTYPE(int64_t, int64)
KILN_TYPE_TO_DTYPE(float16_t, float16)
KILN_TYPE_TO_DTYPE(bfloat16_t, bfloat16)
KILN_TYPE_TO_DTYPE(float, float32)
KILN_TYPE_TO_DTYPE(double, float64)
KILN_TYPE_TO_DTYPE(complex64_t, complex64)
#undef KILN_TYPE_TO_DTYPE

/** A value carrying the element type `T` for generic lambdas: `[](auto tag){ using T = typename decltype(tag)::type; }`. */
template <typename T>
struct type_tag {
  using type = T;
};

[[noreturn]] KILN_API void throw_unsupported_dtype(const char* op, Dtype t);

/**
 * Calls `f(type_tag<T>{})` with the C++ type of `t`. The one place that switches on dtype;
 * kernels use it (or the narrower variants below) instead of their own switch.
 */
template <typename F>
decltype(auto) dispatch_all_types(Dtype t, const char* op, F&& f) {
  switch (t.val) {
    case Dtype::Val::bool_: return f(type_tag<bool>{});
    case Dtype::Val::uint8: return f(type_tag<uint8_t>{});
    case Dtype::Val::uint16: return f(type_tag<uint16_t>{});
    case Dtype::Val::uint32: return f(type_tag<uint32_t>{});
    case Dtype::Val::uint64: return f(type_tag<uint64_t>{});
    case Dtype::Val::int8: return f(type_tag<int8_t>{});
    case Dtype::Val::int16: return f(type_tag<int16_t>{});
    case Dtype::Val::int32: return f(type_tag<int32_t>{});
    case Dtype::Val::int64: return f(type_tag<int64_t>{});
    case Dtype::Val::float16: return f(type_tag<float16_t>{});
    case Dtype::Val::bfloat16: return f(type_tag<bfloat16_t>{});
    case Dtype::Val::float32: return f(type_tag<float>{});
    case Dtype::Val::float64: return f(type_tag<double>{});
    case Dtype::Val::complex64: return f(type_tag<complex64_t>{});
  }
  throw_unsupported_dtype(op, t);
}

/** Like dispatch_all_types, for real (non-complex) dtypes only. */
template <typename F>
decltype(auto) dispatch_real_types(Dtype t, const char* op, F&& f) {
  if (t == complex64) throw_unsupported_dtype(op, t);
  return dispatch_all_types(t, op, [&](auto tag) -> decltype(auto) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64_t>) {
      return f(type_tag<float>{});  // unreachable
    } else {
      return f(tag);
    }
  });
}

/** Like dispatch_all_types, for float16/bfloat16/float32/float64 only. */
template <typename F>
decltype(auto) dispatch_float_types(Dtype t, const char* op, F&& f) {
  switch (t.val) {
    case Dtype::Val::float16: return f(type_tag<float16_t>{});
    case Dtype::Val::bfloat16: return f(type_tag<bfloat16_t>{});
    case Dtype::Val::float32: return f(type_tag<float>{});
    case Dtype::Val::float64: return f(type_tag<double>{});
    default: throw_unsupported_dtype(op, t);
  }
}

}  // namespace kiln
