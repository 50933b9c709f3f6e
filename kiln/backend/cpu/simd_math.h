// float32 transcendental functions written so that GCC vectorizes the loops that call them:
// straight-line arithmetic, bit casts and selects, no branches and no library calls. Each is
// accurate to about 1-2 ulp and handles inf, NaN, overflow, underflow and subnormals.
// Polynomial coefficients were fitted for kiln (near-minimax least squares on Chebyshev nodes).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace kiln::cpu::simd {

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Adding 1.5 * 2^23 rounds a float of magnitude below 2^22 to an integer held in the low
// mantissa bits: the integer is then read from the bits without a float-to-int conversion.
inline constexpr float kRoundShift = 12582912.0f;
inline constexpr float kLn2Hi = 0.693359375f;  // 355/512: few bits, so n * kLn2Hi is exact
inline constexpr float kLn2Lo = -2.12194442e-4f;

inline int32_t bits(float x) { return std::bit_cast<int32_t>(x); }
inline float from_bits(int32_t i) { return std::bit_cast<float>(i); }

/** x limited to [lo, hi]; NaN stays NaN. (GCC compiles this form to fewer instructions.) */
inline float clamp(float x, float lo, float hi) { return std::max(std::min(x, hi), lo); }

/** c0 + x (c1 + x (c2 + ...)): Horner's rule with FMAs. */
template <typename... C>
inline float poly(float x, float c0, C... rest) {
  if constexpr (sizeof...(rest) == 0) {
    return c0;
  } else {
    return std::fma(x, poly(x, rest...), c0);
  }
}

/** 2^n for n in [-126, 127]. */
inline float pow2i(int32_t n) { return from_bits(static_cast<int32_t>(static_cast<uint32_t>(n + 127) << 23)); }

/** Round half to even for float or double, without the library (std::rint does not vectorize). */
template <typename T>
inline T rint(T x) {
  constexpr T big = std::is_same_v<T, float> ? T(8388608.0f) : T(4503599627370496.0);  // 2^mantissa bits
  T a = std::fabs(x);
  T r = (a + big) - big;
  return a < big ? std::copysign(r, x) : x;
}
template <typename T>
inline T floor(T x) {
  T r = rint(x);
  return std::copysign(r > x ? r - T(1) : r, x);
}
template <typename T>
inline T ceil(T x) {
  T r = rint(x);
  return std::copysign(r < x ? r + T(1) : r, x);
}

/** e^x. */
inline float exp(float x) {
  x = clamp(x, -110.0f, 88.8f);  // the ends still underflow to 0 and overflow to inf
  float t = std::fma(x, 1.44269502f, kRoundShift);
  float n = t - kRoundShift;
  int32_t ni = bits(t) - bits(kRoundShift);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float q = poly(r, 0.499999881f, 0.166665182f, 0.0416695327f, 0.00836891588f, 0.00137514074f);
  float p = std::fma(r * r, q, r) + 1.0f;
  // Two power-of-two factors cover n in [-159, 128]: results near overflow and in the
  // subnormal range get a single rounding.
  int32_t n1 = ni >> 1;
  return p * pow2i(n1) * pow2i(ni - n1);
}

// e^x - 1 = 2^n (p + 1) - 1 with p = expm1(r), x = n ln2 + r, |r| <= ln2/2 (x >= -20).
struct Expm1Parts {
  float p;
  int32_t n;
};
inline Expm1Parts expm1_parts(float x) {
  float t = std::fma(x, 1.44269502f, kRoundShift);
  float n = t - kRoundShift;
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float q = poly(r, 0.166666657f, 0.0416664779f, 0.0083335005f, 0.00139335555f, 0.000197788831f);
  return {std::fma(r * r, std::fma(r, q, 0.5f), r), bits(t) - bits(kRoundShift)};
}

/** e^x - 1, accurate near 0. */
inline float expm1(float x) {
  float xc = clamp(x, -20.0f, 89.0f);  // below -20 the result rounds to -1
  auto [p, n] = expm1_parts(xc);
  // 2^n (p + 1) - 1 with one rounding; n = 128 needs 2^127 * 2.
  float s = pow2i(n > 127 ? 127 : n);
  float res = std::fma(p, s, s - 1.0f);
  float res128 = std::fma(p, s, s) * 2.0f - 1.0f;
  res = n > 127 ? res128 : res;
  return x == 0.0f ? x : res;  // keeps -0
}

// log(x) = e*ln2 + log1p(f) with 1 + f in [sqrt(1/2), sqrt(2)); log1p(f) from
// s = f / (2 + f): log1p(f) = f - hf + s*(hf + R(s^2)), hf = f^2 / 2.
struct LogParts {
  float e;    // exponent
  float l1p;  // log1p(f)
};
inline LogParts log_parts(float x) {
  bool sub = x < 1.17549435e-38f;
  float xs = sub ? x * 8388608.0f : x;
  int32_t ix = bits(xs);
  int32_t k = (ix - 0x3f3504f3) >> 23;  // exponent relative to sqrt(1/2)
  float m = from_bits(ix - static_cast<int32_t>(static_cast<uint32_t>(k) << 23));
  float e = static_cast<float>(k) - (sub ? 23.0f : 0.0f);
  float f = m - 1.0f;
  float s = f / (2.0f + f);
  float z = s * s;
  float R = z * poly(z, 0.666666687f, 0.400000006f, 0.285714298f, 0.222222222f);  // 2/3, 2/5, 2/7, 2/9
  float hf = 0.5f * f * f;
  return {e, f - (hf - s * (hf + R))};
}
// Special values of log: 0 -> -inf, inf -> inf, negative or NaN -> NaN.
inline float log_special(float x, float res) {
  res = x == kInf ? kInf : res;
  res = x == 0.0f ? -kInf : res;
  return x >= 0.0f ? res : kNaN;
}
inline float log(float x) {
  auto [e, l] = log_parts(x);
  return log_special(x, std::fma(e, kLn2Hi, std::fma(e, kLn2Lo, l)));
}
inline float log2(float x) {
  auto [e, l] = log_parts(x);
  return log_special(x, e + std::fma(l, 1.44269502f, l * 1.92596303e-08f));
}
inline float log10(float x) {
  auto [e, l] = log_parts(x);
  float t = std::fma(l, 0.434294492f, l * -1.010305e-08f);
  return log_special(x, std::fma(e, 0.30103001f, std::fma(e, -1.43209888e-08f, t)));
}

/** log(1 + x), accurate near 0: log(u) corrected by the rounding error of u = 1 + x. */
inline float log1p(float x) {
  float u = 1.0f + x;
  float c = (x - (u - 1.0f)) / (u == 0.0f ? 1.0f : u);
  float res = log(u) + c;
  res = u == kInf ? kInf : res;
  res = u == 0.0f ? -kInf : res;
  return u == 1.0f ? x : res;
}

/** 1 / (1 + e^-x); for x < 0 as e^x / (1 + e^x), which stays accurate down to the subnormals. */
inline float sigmoid(float x) {
  float e = exp(-std::fabs(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/** tanh: an odd polynomial below 0.4; above, expm1(2|x|) / (expm1(2|x|) + 2), whose positive
 *  argument keeps the error of expm1 from being amplified near +-1. */
inline float tanh(float x) {
  float z = x * x;
  float pz = poly(z, -0.333332986f, 0.133311734f, -0.0535577834f, 0.0187311918f);
  float small = std::fma(x * z, pz, x);
  float a = std::fabs(x);
  auto [p, n] = expm1_parts(2.0f * std::min(a, 10.0f));  // tanh(10) rounds to 1; n <= 29
  float s = pow2i(n);
  float e = std::fma(p, s, s - 1.0f);
  return std::copysign(a < 0.4f ? small : e / (e + 2.0f), x);
}

// sin and cos reduce x by n * pi/2 (pi/2 split in three floats, FMA steps) and evaluate the
// Taylor polynomials on |r| <= pi/4. The reduction loses accuracy for |x| > kTrigMax:
// callers recompute those rare elements with std::sin / std::cos.
inline constexpr float kTrigMax = 262144.0f;
inline float sincos_(float x, int32_t quadrant_shift) {
  float t = std::fma(x, 0.636619747f, kRoundShift);
  float n = t - kRoundShift;
  int32_t q = bits(t) - bits(kRoundShift) + quadrant_shift;
  float r = std::fma(n, -1.57079637f, x);
  r = std::fma(n, 4.37113883e-08f, r);
  r = std::fma(n, 1.71512451e-15f, r);
  float z = r * r;
  float s = std::fma(r * z, poly(z, -1.0f / 6, 1.0f / 120, -1.0f / 5040, 1.0f / 362880), r);
  float c = poly(z, 1.0f, -1.0f / 2, 1.0f / 24, -1.0f / 720, 1.0f / 40320, -1.0f / 3628800);
  float res = (q & 1) ? c : s;
  return from_bits(bits(res) ^ static_cast<int32_t>(static_cast<uint32_t>(q & 2) << 30));
}
inline float sin(float x) { return x == 0.0f ? x : sincos_(x, 0); }
inline float cos(float x) { return sincos_(x, 1); }

/** erf: x + x P(x^2) below 1; above, 1 - exp(-x^2) Q(|x| - 2.5), with x^2 split in two floats. */
inline float erf(float x) {
  float z = x * x;
  float pz = poly(z, 0.128379166f, -0.376126379f, 0.112837821f, -0.0268653929f, 0.00522092311f, -0.000848250755f,
                  0.000112546411f, -9.63499133e-06f);
  float small = std::fma(x, pz, x);
  float a = std::min(std::fabs(x), 4.0f);  // erf(4) rounds to 1
  float t = a - 2.5f;
  float q = poly(t, 0.210807547f, -0.0743407905f, 0.0249233451f, -0.0081197042f, 0.00229143165f, -0.000708264415f,
                 0.000493522035f, 0.000201999501f, 0.000102789498f);
  float hi = a * a;
  float lo = std::fma(a, a, -hi);
  float e = exp(-hi) * (1.0f - lo);
  float big = std::copysign(1.0f - e * q, x);
  return std::fabs(x) < 1.0f ? small : big;
}

}  // namespace kiln::cpu::simd
