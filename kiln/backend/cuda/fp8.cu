// e4m3 ("fn") float8 conversions: 1 sign, 4 exponent (bias 7) and 3 mantissa bits, no
// infinities, NaN = 0x7f/0xff. The same arithmetic as the CPU's (api_misc.cpp), so the bits
// agree: encoding saturates at +-448 (NaN and infinities too), rounds to nearest even, and
// float64 is encoded from the double (half types through float, exactly); decoding is exact in
// every float type, with the CPU's NaN bits (sign kept, quiet).
#include <cmath>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/transforms.h"

namespace kiln::cuda {

namespace {

constexpr int kThreads = 256;

template <typename V>
__device__ __forceinline__ uint8_t encode(V x) {
  uint8_t sign = signbit(x) ? 0x80 : 0;
  V a = fabs(x);
  if (!(a < V(448))) return sign | 0x7e;
  int e;
  frexp(a, &e);
  // ee: the exponent of a's binade; subnormals (and zero) share the lowest one, 2^-6, where
  // a / 2^(ee - 3) is 8 + mantissa (0..8 for subnormals): rounding it to the nearest even
  // integer is fp8's rounding, and a carry to 16 lands on the next binade's code by itself.
  int ee = a < V(0.015625) ? -6 : e - 1;
  int q = static_cast<int>(rint(ldexp(a, 3 - ee)));
  return sign | static_cast<uint8_t>((ee + 6) * 8 + q);
}

template <typename T>
__global__ void to_kernel(const T* __restrict__ in, uint8_t* __restrict__ out, int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if constexpr (std::is_same_v<T, double>) {
    out[i] = encode(in[i]);
  } else {
    out[i] = encode(cast_to<float>(in[i]));
  }
}

template <typename T>
__global__ void from_kernel(const uint8_t* __restrict__ in, T* __restrict__ out, int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint8_t b = in[i];
  int m = b & 7, e = (b >> 3) & 15;
  bool neg = (b & 0x80) != 0;
  if (e == 15 && m == 7) {
    // The CPU's -NAN / NAN (float 0xffc00000 / 0x7fc00000) converted to T.
    if constexpr (std::is_same_v<T, __half>) {
      out[i] = __ushort_as_half(neg ? 0xfe00 : 0x7e00);
    } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      out[i] = __ushort_as_bfloat16(neg ? 0xffc0 : 0x7fc0);
    } else if constexpr (std::is_same_v<T, float>) {
      out[i] = __uint_as_float(neg ? 0xffc00000u : 0x7fc00000u);
    } else {
      out[i] = __longlong_as_double(neg ? static_cast<long long>(0xfff8000000000000ull) : 0x7ff8000000000000ll);
    }
    return;
  }
  float v = e == 0 ? ldexpf(static_cast<float>(m), -9) : ldexpf(static_cast<float>(8 + m), e - 10);
  out[i] = cast_to<T>(neg ? -v : v);
}

unsigned grid_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

}  // namespace

void to_fp8(const char* name, Dtype t, const void* in, uint8_t* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  switch (t.val) {
    case Dtype::Val::float16: to_kernel<<<grid_for(n), kThreads, 0, s>>>(static_cast<const __half*>(in), out, n); break;
    case Dtype::Val::bfloat16:
      to_kernel<<<grid_for(n), kThreads, 0, s>>>(static_cast<const __nv_bfloat16*>(in), out, n);
      break;
    case Dtype::Val::float32: to_kernel<<<grid_for(n), kThreads, 0, s>>>(static_cast<const float*>(in), out, n); break;
    case Dtype::Val::float64: to_kernel<<<grid_for(n), kThreads, 0, s>>>(static_cast<const double*>(in), out, n); break;
    default: throw_unsupported_dtype(name, t);
  }
  check_launch(name);
}

void from_fp8(const char* name, Dtype t, const uint8_t* in, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  switch (t.val) {
    case Dtype::Val::float16: from_kernel<<<grid_for(n), kThreads, 0, s>>>(in, static_cast<__half*>(out), n); break;
    case Dtype::Val::bfloat16:
      from_kernel<<<grid_for(n), kThreads, 0, s>>>(in, static_cast<__nv_bfloat16*>(out), n);
      break;
    case Dtype::Val::float32: from_kernel<<<grid_for(n), kThreads, 0, s>>>(in, static_cast<float*>(out), n); break;
    case Dtype::Val::float64: from_kernel<<<grid_for(n), kThreads, 0, s>>>(in, static_cast<double*>(out), n); break;
    default: throw_unsupported_dtype(name, t);
  }
  check_launch(name);
}

}  // namespace kiln::cuda
