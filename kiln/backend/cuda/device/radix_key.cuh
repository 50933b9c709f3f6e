// Unsigned radix keys whose order is the CPU sort's order (kiln/backend/cpu/sort.cpp): integers
// flip the sign bit, floats flip all bits (negative) or the sign bit (positive), every NaN maps
// to the largest key (NaN last); with `canonical` (index sorts) -0.0 takes +0.0's key so equal
// values tie and keep their order. complex64 keys are (real key, imaginary key). Keys of
// elements up to 4 bytes are uint32_t, wider ones uint64_t; `bits` is how many are used.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kiln/backend/cuda/device/types.cuh"

namespace kiln::cuda {

template <typename T>
struct RadixKey {
  using U = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;
  static constexpr int bits = 8 * sizeof(T);
};

template <typename T>
using key_t = typename RadixKey<T>::U;

// The raw bits of a float type and back.
template <typename T>
__device__ __forceinline__ auto float_bits(T v) {
  if constexpr (std::is_same_v<T, float>) return static_cast<uint32_t>(__float_as_uint(v));
  else if constexpr (std::is_same_v<T, double>) return static_cast<uint64_t>(__double_as_longlong(v));
  else if constexpr (std::is_same_v<T, __half>) return static_cast<uint16_t>(__half_as_ushort(v));
  else return static_cast<uint16_t>(__bfloat16_as_ushort(v));
}
template <typename T, typename B>
__device__ __forceinline__ T float_from_bits(B b) {
  if constexpr (std::is_same_v<T, float>) return __uint_as_float(static_cast<uint32_t>(b));
  else if constexpr (std::is_same_v<T, double>) return __longlong_as_double(static_cast<long long>(b));
  else if constexpr (std::is_same_v<T, __half>) return __ushort_as_half(static_cast<unsigned short>(b));
  else return __ushort_as_bfloat16(static_cast<unsigned short>(b));
}

template <typename T>
__device__ __forceinline__ auto float_key(T v, bool canonical) {
  using B = decltype(float_bits(v));
  constexpr B sign = B(B(1) << (8 * sizeof(B) - 1));
  constexpr B exp_mask = sizeof(B) == 8 ? B(0x7ff0000000000000ull)
                         : sizeof(B) == 4 ? B(0x7f800000u)
                         : std::is_same_v<T, __half> ? B(0x7c00) : B(0x7f80);
  B b = float_bits(v);
  B mag = static_cast<B>(b & B(~sign));
  if (mag > exp_mask) return B(~B(0));
  if (canonical && mag == 0) b = 0;
  return (b & sign) ? B(~b) : B(b | sign);
}

template <typename T, typename B>
__device__ __forceinline__ T float_from_key(B k) {
  constexpr B sign = B(B(1) << (8 * sizeof(B) - 1));
  B b = (k & sign) ? B(k & B(~sign)) : B(~k);
  return float_from_bits<T>(b);
}

template <typename T>
__device__ __forceinline__ key_t<T> to_key(T v, bool canonical) {
  using U = key_t<T>;
  if constexpr (std::is_same_v<T, complex64_d>) {
    return (static_cast<uint64_t>(float_key(v.re, canonical)) << 32) | float_key(v.im, canonical);
  } else if constexpr (std::is_floating_point_v<T> || is_half_v<T>) {
    return static_cast<U>(float_key(v, canonical));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? 1u : 0u;
  } else {
    using UT = std::make_unsigned_t<T>;
    constexpr UT flip = std::is_signed_v<T> ? UT(UT(1) << (8 * sizeof(T) - 1)) : UT(0);
    return static_cast<U>(static_cast<UT>(static_cast<UT>(v) ^ flip));
  }
}

template <typename T>
__device__ __forceinline__ T from_key(key_t<T> k) {
  if constexpr (std::is_same_v<T, complex64_d>) {
    return complex64_d{float_from_key<float>(static_cast<uint32_t>(k >> 32)),
                       float_from_key<float>(static_cast<uint32_t>(k))};
  } else if constexpr (std::is_floating_point_v<T> || is_half_v<T>) {
    using B = decltype(float_bits(T{}));
    return float_from_key<T>(static_cast<B>(k));
  } else if constexpr (std::is_same_v<T, bool>) {
    return k != 0;
  } else {
    using UT = std::make_unsigned_t<T>;
    constexpr UT flip = std::is_signed_v<T> ? UT(UT(1) << (8 * sizeof(T) - 1)) : UT(0);
    return static_cast<T>(static_cast<UT>(static_cast<UT>(k) ^ flip));
  }
}

}  // namespace kiln::cuda
