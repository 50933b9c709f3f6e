// The FFT's own passes around cuFFT: the norm's scale, and clearing the imaginary parts of the
// half spectrum's DC/Nyquist terms before an inverse real transform.
#include <algorithm>

#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/transforms.h"

namespace kiln::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void scale_kernel(float* __restrict__ x, int64_t n, float s) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if ((reinterpret_cast<uintptr_t>(x) & 15) == 0) {
    auto* v = reinterpret_cast<float4*>(x);
    int64_t nv = n / 4;
    for (int64_t j = i; j < nv; j += stride) {
      float4 a = v[j];
      a.x *= s;
      a.y *= s;
      a.z *= s;
      a.w *= s;
      v[j] = a;
    }
    for (int64_t j = nv * 4 + i; j < n; j += stride) x[j] *= s;
  } else {
    for (int64_t j = i; j < n; j += stride) x[j] *= s;
  }
}

__global__ void zero_imag_kernel(float2* x, int64_t outer, int64_t len, int64_t inner, int64_t k) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= outer * inner) return;
  int64_t o = i / inner, r = i % inner;
  x[(o * len + k) * inner + r].y = 0.0f;
}

}  // namespace

void scale_floats(float* x, int64_t n, float s, cudaStream_t stream) {
  if (n == 0) return;
  int64_t blocks = std::min<int64_t>((n / 4 + kThreads - 1) / kThreads + 1, int64_t(sm_count()) * 16);
  scale_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(x, n, s);
  check_launch("FFT");
}

void zero_imag(void* x, int64_t outer, int64_t len, int64_t inner, int64_t k, cudaStream_t stream) {
  int64_t total = outer * inner;
  if (total == 0) return;
  zero_imag_kernel<<<static_cast<unsigned>((total + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      static_cast<float2*>(x), outer, len, inner, k);
  check_launch("FFT");
}

}  // namespace kiln::cuda
