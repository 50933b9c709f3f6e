// Device element types for kiln dtypes, the type each is computed in, element conversion, and
// the dtype dispatch every kernel family uses. The device part also compiles under NVRTC (the
// fused kernels of compile include it, kiln/backend/cuda/compiled.cpp): there the standard
// library is libcu++'s (cuda::std, seen as std) and the host dispatch is left out.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifdef __CUDACC_RTC__
#include <cuda/std/cstdint>
#include <cuda/std/type_traits>
#include <cuda/std/utility>
namespace std {
using namespace ::cuda::std;
}
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
