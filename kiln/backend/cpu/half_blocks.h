// Vectorized conversion of contiguous runs between the half types and float32, for kernels
// that compute half inputs in float32 (reductions, softmax, half-precision GEMM). GCC does not
// vectorize scalar _Float16 conversions, so float16 goes through F16C intrinsics here.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__F16C__) && defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kiln/dtype.h"

namespace kiln::cpu {

/** dst[i] = float(src[i]) for i < n. */
inline void to_float(const float16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__) && defined(__AVX2__)
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

inline void to_float(const bfloat16_t* src, float* dst, int64_t n) {
  // A bfloat16 is the upper half of a float32: widen and shift (GCC vectorizes this loop).
  for (int64_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(static_cast<uint32_t>(src[i].bits) << 16);
}

inline void to_float(const float* src, float* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

/** dst[i] = T(src[i]) for i < n, rounding to nearest even. */
inline void from_float(const float* src, float16_t* dst, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__) && defined(__AVX2__)
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
#endif
  for (; i < n; ++i) dst[i] = static_cast<float16_t>(src[i]);
}

inline void from_float(const float* src, bfloat16_t* dst, int64_t n) {
  // Same rounding as bfloat16_t(float), written without branches so it vectorizes.
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = std::bit_cast<uint32_t>(src[i]);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (u >> 16) | 0x40u;
    dst[i].bits = static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
}

inline void from_float(const float* src, float* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

}  // namespace kiln::cpu
