// Device element types for kiln dtypes, the type each is computed in, element conversion, and
// the dtype dispatch every kernel family uses. The device part also compiles under NVRTC (the
// fused kernels of compile include it, kiln/backend/cuda/compiled.cpp): there the standard
// library is libcu++'s (cuda::std, seen as std) and the host dispatch is left out.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifdef __CUDACC_RTC__
// NVRTC has no standard library. libcu++'s <cuda/std/type_traits> costs ~0.7 s of every fused
// kernel's build, so the few traits the device headers use are spelled out here.
#include <cuda/std/cstdint>
namespace std {
template <bool B, class T, class F>
struct conditional {
  using type = T;
};
template <class T, class F>
struct conditional<false, T, F> {
  using type = F;
};
template <bool B, class T, class F>
using conditional_t = typename conditional<B, T, F>::type;
template <class A, class B>
inline constexpr bool is_same_v = false;
template <class A>
inline constexpr bool is_same_v<A, A> = true;
template <class T, class... U>
inline constexpr bool is_any_of_v = (is_same_v<T, U> || ...);
template <class T>
inline constexpr bool is_integral_v =
    is_any_of_v<T, bool, char, signed char, unsigned char, short, unsigned short, int, unsigned, long, unsigned long,
                long long, unsigned long long>;
template <class T>
inline constexpr bool is_floating_point_v = is_any_of_v<T, float, double, long double>;
template <class T>
inline constexpr bool is_arithmetic_v = is_integral_v<T> || is_floating_point_v<T>;
template <class T, bool = is_arithmetic_v<T>>
inline constexpr bool is_signed_v = T(-1) < T(0);
template <class T>
inline constexpr bool is_signed_v<T, false> = false;
template <class T, bool = is_arithmetic_v<T>>
inline constexpr bool is_unsigned_v = T(0) < T(-1);
template <class T>
inline constexpr bool is_unsigned_v<T, false> = false;
template <class T> struct make_unsigned { using type = T; };
template <> struct make_unsigned<char> { using type = unsigned char; };
template <> struct make_unsigned<signed char> { using type = unsigned char; };
template <> struct make_unsigned<short> { using type = unsigned short; };
template <> struct make_unsigned<int> { using type = unsigned; };
template <> struct make_unsigned<long> { using type = unsigned long; };
template <> struct make_unsigned<long long> { using type = unsigned long long; };
template <class T>
using make_unsigned_t = typename make_unsigned<T>::type;
}  // namespace std
#else
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "kiln/dtype.h"
#endif

namespace kiln::cuda {

/** complex64 on the device (arithmetic and functions in complex.cuh). */
struct alignas(8) complex64_d {
  float re, im;
};

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

/** The type an element is computed in: float for the half types, else the type itself. */
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

template <typename T>
inline constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

/** Converts one element with the CPU's rules (cast.h): anything to bool is != 0, complex to
 *  real keeps the real part, half types go through float. */
template <typename D, typename S>
__device__ __forceinline__ D cast_to(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, complex64_d>) {
    if constexpr (std::is_same_v<D, bool>) {
      return v.re != 0.0f || v.im != 0.0f;
    } else {
      return cast_to<D>(v.re);
    }
  } else if constexpr (std::is_same_v<D, complex64_d>) {
    return complex64_d{cast_to<float>(v), 0.0f};
  } else if constexpr (is_half_v<S>) {
    if constexpr (std::is_same_v<D, bool>) {
      return static_cast<float>(v) != 0.0f;
    } else if constexpr (is_half_v<D>) {
      return D(static_cast<float>(v));
    } else {
      return static_cast<D>(static_cast<float>(v));
    }
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_same_v<D, __half>) {
    if constexpr (std::is_same_v<S, double>) {
      return __double2half(v);
    } else if constexpr (std::is_same_v<S, int64_t>) {
      return __ll2half_rn(v);
    } else if constexpr (std::is_same_v<S, uint64_t>) {
      return __ull2half_rn(v);
    } else {
      return __float2half_rn(static_cast<float>(v));
    }
  } else if constexpr (std::is_same_v<D, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));  // as the CPU: through float
  } else {
    return static_cast<D>(v);
  }
}

#ifndef __CUDACC_RTC__
template <typename T>
struct tag {
  using type = T;
};

/** Calls f(tag<T>{}) with the device type of `t`. */
template <typename F>
decltype(auto) dispatch_device_types(Dtype t, const char* op, F&& f) {
  switch (t.val) {
    case Dtype::Val::bool_: return f(tag<bool>{});
    case Dtype::Val::uint8: return f(tag<uint8_t>{});
    case Dtype::Val::uint16: return f(tag<uint16_t>{});
    case Dtype::Val::uint32: return f(tag<uint32_t>{});
    case Dtype::Val::uint64: return f(tag<uint64_t>{});
    case Dtype::Val::int8: return f(tag<int8_t>{});
    case Dtype::Val::int16: return f(tag<int16_t>{});
    case Dtype::Val::int32: return f(tag<int32_t>{});
    case Dtype::Val::int64: return f(tag<int64_t>{});
    case Dtype::Val::float16: return f(tag<__half>{});
    case Dtype::Val::bfloat16: return f(tag<__nv_bfloat16>{});
    case Dtype::Val::float32: return f(tag<float>{});
    case Dtype::Val::float64: return f(tag<double>{});
    case Dtype::Val::complex64: return f(tag<complex64_d>{});
  }
  throw_unsupported_dtype(op, t);
}

/** The kiln dtype of device type T. */
template <typename T>
constexpr Dtype::Val dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return Dtype::Val::bool_;
  else if constexpr (std::is_same_v<T, uint8_t>) return Dtype::Val::uint8;
  else if constexpr (std::is_same_v<T, uint16_t>) return Dtype::Val::uint16;
  else if constexpr (std::is_same_v<T, uint32_t>) return Dtype::Val::uint32;
  else if constexpr (std::is_same_v<T, uint64_t>) return Dtype::Val::uint64;
  else if constexpr (std::is_same_v<T, int8_t>) return Dtype::Val::int8;
  else if constexpr (std::is_same_v<T, int16_t>) return Dtype::Val::int16;
  else if constexpr (std::is_same_v<T, int32_t>) return Dtype::Val::int32;
  else if constexpr (std::is_same_v<T, int64_t>) return Dtype::Val::int64;
  else if constexpr (std::is_same_v<T, __half>) return Dtype::Val::float16;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return Dtype::Val::bfloat16;
  else if constexpr (std::is_same_v<T, float>) return Dtype::Val::float32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::Val::float64;
  else return Dtype::Val::complex64;
}
#endif  // __CUDACC_RTC__

}  // namespace kiln::cuda
