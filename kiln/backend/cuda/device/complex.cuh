// complex64 arithmetic and elementary functions on the device, with the definitions the CPU
// uses (std::complex<float>, i.e. the C library's cexpf, clogf, csqrtf, ...): principal
// branches, lexicographic order. Transcendental functions are evaluated in double and rounded
// once, so they are accurate to float rounding away from overflow; the composite definitions the
// CPU spells out (expm1 = exp - 1, log1p = log(1 + z), sigmoid, log2) take the same steps in
// complex64. Included by ops.cuh, for nvcc and NVRTC alike (no standard headers).
#pragma once

#include "kiln/backend/cuda/device/types.cuh"

namespace kiln::cuda {

using c64 = complex64_d;

__device__ __forceinline__ c64 operator+(c64 a, c64 b) { return {a.re + b.re, a.im + b.im}; }
__device__ __forceinline__ c64 operator-(c64 a, c64 b) { return {a.re - b.re, a.im - b.im}; }
__device__ __forceinline__ c64 operator-(c64 a) { return {-a.re, -a.im}; }
__device__ __forceinline__ bool operator==(c64 a, c64 b) { return a.re == b.re && a.im == b.im; }
__device__ __forceinline__ bool operator!=(c64 a, c64 b) { return !(a == b); }
// Products and quotients in double, rounded once (no overflow of c*c + d*d for float operands).
__device__ __forceinline__ c64 operator*(c64 a, c64 b) {
  double ar = a.re, ai = a.im, br = b.re, bi = b.im;
  return {static_cast<float>(ar * br - ai * bi), static_cast<float>(ar * bi + ai * br)};
}
__device__ __forceinline__ c64 operator/(c64 a, c64 b) {
  double ar = a.re, ai = a.im, br = b.re, bi = b.im;
  double d = br * br + bi * bi;
  return {static_cast<float>((ar * br + ai * bi) / d), static_cast<float>((ai * br - ar * bi) / d)};
}

namespace cplx {

/** A complex number in double, for the internals of the functions below. */
struct zd {
  double re, im;
};
__device__ __forceinline__ zd up(c64 z) { return {z.re, z.im}; }
__device__ __forceinline__ c64 down(zd z) { return {static_cast<float>(z.re), static_cast<float>(z.im)}; }
__device__ __forceinline__ zd add(zd a, zd b) { return {a.re + b.re, a.im + b.im}; }
__device__ __forceinline__ zd sub(zd a, zd b) { return {a.re - b.re, a.im - b.im}; }
__device__ __forceinline__ zd mul(zd a, zd b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
__device__ __forceinline__ zd div(zd a, zd b) {
  double s = fabs(b.re) + fabs(b.im);  // scaled: double operands may be large here
  double br = b.re / s, bi = b.im / s, ar = a.re / s, ai = a.im / s;
  double d = br * br + bi * bi;
  return {(ar * br + ai * bi) / d, (ai * br - ar * bi) / d};
}

__device__ __forceinline__ zd exp(zd z) {
  double e = ::exp(z.re);
  if (z.im == 0) return {e, z.im};
  return {e * ::cos(z.im), e * ::sin(z.im)};
}
__device__ __forceinline__ zd log(zd z) { return {::log(::hypot(z.re, z.im)), ::atan2(z.im, z.re)}; }
__device__ __forceinline__ zd sqrt(zd z) {
  if (z.re == 0 && z.im == 0) return {0.0, z.im};
  if (isinf(z.im)) return {::fabs(z.im), z.im};  // +inf, whatever the real part
  double r = ::hypot(z.re, z.im);
  if (z.re >= 0) {
    double t = ::sqrt(0.5 * (r + z.re));
    return {t, z.im / (2 * t)};
  }
  double t = ::sqrt(0.5 * (r - z.re));
  return {::fabs(z.im) / (2 * t), ::copysign(t, z.im)};
}
__device__ __forceinline__ zd sinh(zd z) { return {::sinh(z.re) * ::cos(z.im), ::cosh(z.re) * ::sin(z.im)}; }
__device__ __forceinline__ zd cosh(zd z) { return {::cosh(z.re) * ::cos(z.im), ::sinh(z.re) * ::sin(z.im)}; }
// tanh(x + iy) = (sinh 2x + i sin 2y) / (cosh 2x + cos 2y); for large |x| the real part is +-1.
__device__ __forceinline__ zd tanh(zd z) {
  if (::fabs(z.re) > 20) {
    return {::copysign(1.0, z.re), 4 * ::sin(z.im) * ::cos(z.im) * ::exp(-2 * ::fabs(z.re))};
  }
  double d = ::cosh(2 * z.re) + ::cos(2 * z.im);
  return {::sinh(2 * z.re) / d, ::sin(2 * z.im) / d};
}
// The circular functions through the hyperbolic ones: sin z = -i sinh(iz), cos z = cosh(iz),
// tan z = -i tanh(iz).
__device__ __forceinline__ zd times_i(zd z) { return {-z.im, z.re}; }
__device__ __forceinline__ zd times_minus_i(zd z) { return {z.im, -z.re}; }
__device__ __forceinline__ zd sin(zd z) { return times_minus_i(sinh(times_i(z))); }
__device__ __forceinline__ zd cos(zd z) { return cosh(times_i(z)); }
__device__ __forceinline__ zd tan(zd z) { return times_minus_i(tanh(times_i(z))); }
// asinh z = log(z + sqrt(z^2 + 1)), evaluated on the right half-plane (asinh is odd).
__device__ __forceinline__ zd asinh(zd z) {
  bool neg = z.re < 0 || (z.re == 0 && signbit(z.re));
  zd w = neg ? zd{-z.re, -z.im} : z;
  zd r = log(add(w, sqrt(add(mul(w, w), zd{1.0, 0.0}))));
  return neg ? zd{-r.re, -r.im} : r;
}
// acosh z = log(z + sqrt(z + 1) sqrt(z - 1)): the principal branch (cut along x < 1).
__device__ __forceinline__ zd acosh(zd z) {
  return log(add(z, mul(sqrt(add(z, zd{1.0, 0.0})), sqrt(sub(z, zd{1.0, 0.0})))));
}
// atanh z = (log(1 + z) - log(1 - z)) / 2.
__device__ __forceinline__ zd atanh(zd z) {
  zd a = log(add(zd{1.0, 0.0}, z)), b = log(sub(zd{1.0, 0.0}, z));
  return {0.5 * (a.re - b.re), 0.5 * (a.im - b.im)};
}
__device__ __forceinline__ zd asin(zd z) { return times_minus_i(asinh(times_i(z))); }
__device__ __forceinline__ zd acos(zd z) {
  zd a = asin(z);
  return {1.5707963267948966 - a.re, -a.im};
}
__device__ __forceinline__ zd atan(zd z) { return times_minus_i(atanh(times_i(z))); }

}  // namespace cplx

#define KILN_C64_FN(name) \
  __device__ __forceinline__ c64 c_##name(c64 z) { return cplx::down(cplx::name(cplx::up(z))); }
KILN_C64_FN(exp)
KILN_C64_FN(log)
KILN_C64_FN(sqrt)
KILN_C64_FN(sin)
KILN_C64_FN(cos)
KILN_C64_FN(tan)
KILN_C64_FN(sinh)
KILN_C64_FN(cosh)
KILN_C64_FN(tanh)
KILN_C64_FN(asin)
KILN_C64_FN(acos)
KILN_C64_FN(atan)
KILN_C64_FN(asinh)
KILN_C64_FN(acosh)
KILN_C64_FN(atanh)
#undef KILN_C64_FN

/** |z| as the C library's cabsf (hypotf). */
__device__ __forceinline__ float c_abs(c64 z) { return hypotf(z.re, z.im); }
__device__ __forceinline__ c64 c_log10(c64 z) {
  cplx::zd l = cplx::log(cplx::up(z));
  return cplx::down({l.re / 2.302585092994045684, l.im / 2.302585092994045684});
}
// As the CPU: log(z) / ln 2 with ln 2 a float.
__device__ __forceinline__ c64 c_log2(c64 z) {
  c64 l = c_log(z);
  return {l.re / 0.693147180559945309f, l.im / 0.693147180559945309f};
}
__device__ __forceinline__ c64 c_expm1(c64 z) { return c_exp(z) - c64{1.0f, 0.0f}; }
__device__ __forceinline__ c64 c_log1p(c64 z) { return c_log(c64{1.0f, 0.0f} + z); }
__device__ __forceinline__ c64 c_rsqrt(c64 z) { return c64{1.0f, 0.0f} / c_sqrt(z); }
__device__ __forceinline__ c64 c_sigmoid(c64 z) { return c64{1.0f, 0.0f} / (c64{1.0f, 0.0f} + c_exp(-z)); }
/** z^w = exp(w log z); 0^w is 1 for w = 0, else 0. */
__device__ __forceinline__ c64 c_pow(c64 z, c64 w) {
  if (z.re == 0 && z.im == 0) return (w.re == 0 && w.im == 0) ? c64{1.0f, 0.0f} : c64{0.0f, 0.0f};
  return cplx::down(cplx::exp(cplx::mul(cplx::up(w), cplx::log(cplx::up(z)))));
}
__device__ __forceinline__ bool c_isnan(c64 z) { return z.re != z.re || z.im != z.im; }
__device__ __forceinline__ bool c_less(c64 a, c64 b) { return a.re < b.re || (a.re == b.re && a.im < b.im); }

}  // namespace kiln::cuda
