// Softmax and LogSumExp over contiguous rows: a warp (short rows) or a block (long rows) per
// row. One pass keeps an online maximum and the sum of exp(x - max), rescaled when the maximum
// grows; softmax then makes a second pass that writes exp(x - max) / sum. Half types compute in
// float (MLX's `precise`, always, like the CPU), float64 in double.
//
// Special values follow the CPU: a NaN makes the row NaN, a +inf makes softmax NaN and
// logsumexp +inf, an all -inf row gives softmax NaN (0/0) and logsumexp -inf.
#include <cmath>
#include <limits>

#include "kiln/backend/cuda/device/reduce.cuh"

namespace kiln::cuda {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

// Online (max, sum of exp(x - max)).
template <typename V>
struct MaxSum {
  V m, s;
  __device__ void add(V x) {
    if (x > m) {
      s = s * exp_(m - x) + V(1);
      m = x;
    } else if (x != x) {
      m = x;  // NaN: the row is NaN
      s = x;
    } else if (x != -std::numeric_limits<V>::infinity()) {
      s += exp_(x - m);
    }
  }
  __device__ void merge(V om, V os) {
    if (m != m || om != om) {
      m = m + om;
      s = m;
      return;
    }
    V nm = om > m ? om : m;
    V a = s == V(0) ? V(0) : s * exp_(m - nm);
    V b = os == V(0) ? V(0) : os * exp_(om - nm);
    m = nm;
    s = a + b;
  }
};

// The row's (max, sum) in every thread of the group.
template <typename V>
__device__ __forceinline__ MaxSum<V> group_max_sum(MaxSum<V> ms, int tpr) {
#pragma unroll
  for (int k = 16; k >= 1; k >>= 1) ms.merge(kernels::shfl_xor(ms.m, k), kernels::shfl_xor(ms.s, k));
  // Lanes may differ in the last bit (merge order): all take lane 0's.
  ms.m = __shfl_sync(0xffffffffu, ms.m, 0);
  ms.s = __shfl_sync(0xffffffffu, ms.s, 0);
  if (tpr > 32) {
    __shared__ V wm[kThreads / 32], ws[kThreads / 32];
    int w = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) {
      wm[w] = ms.m;
      ws[w] = ms.s;
    }
    __syncthreads();
    ms = MaxSum<V>{wm[0], ws[0]};
    for (int k = 1; k < kThreads / 32; ++k) ms.merge(wm[k], ws[k]);
  }
  return ms;
}

template <typename T, bool Softmax>
__global__ void __launch_bounds__(kThreads) row_kernel(const T* __restrict__ in, T* out, int64_t rows, int64_t n,
                                                         int tpr) {
  using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
  int gpb = kThreads / tpr;
  int64_t row = static_cast<int64_t>(blockIdx.x) * gpb + threadIdx.x / tpr;
  int lane = threadIdx.x % tpr;
  if (row >= rows) return;  // only warp groups: they return before any sync
  const T* x = in + row * n;
  MaxSum<V> ms{-std::numeric_limits<V>::infinity(), V(0)};
  for (int64_t i = lane; i < n; i += tpr) ms.add(cast_to<V>(x[i]));
  ms = group_max_sum(ms, tpr);
  if constexpr (Softmax) {
    // A +inf element makes every term exp(inf - inf) = NaN on the CPU: the whole row is NaN.
    V inv = ms.m == std::numeric_limits<V>::infinity() ? ms.m - ms.m : V(1) / ms.s;
    T* y = out + row * n;
    for (int64_t i = lane; i < n; i += tpr) y[i] = cast_to<T>(exp_(cast_to<V>(x[i]) - ms.m) * inv);
  } else {
    if (lane == 0) {
      V m = ms.m;
      bool special = m != m || m == std::numeric_limits<V>::infinity() || m == -std::numeric_limits<V>::infinity();
      out[row] = cast_to<T>(special ? m : m + log_(ms.s));
    }
  }
}

template <bool Softmax>
void run_rows(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, cudaStream_t s) {
  if (rows == 0) return;
  int tpr = n > 1024 ? kThreads : 32;
  int gpb = kThreads / tpr;
  auto blocks = static_cast<unsigned>((rows + gpb - 1) / gpb);
  auto launch = [&](auto tag) {
    using T = typename decltype(tag)::type;
    row_kernel<T, Softmax><<<blocks, kThreads, 0, s>>>(static_cast<const T*>(in), static_cast<T*>(out), rows, n, tpr);
  };
  switch (t.val) {
    case Dtype::Val::float16: launch(tag<__half>{}); break;
    case Dtype::Val::bfloat16: launch(tag<__nv_bfloat16>{}); break;
    case Dtype::Val::float32: launch(tag<float>{}); break;
    case Dtype::Val::float64: launch(tag<double>{}); break;
    default: throw_unsupported_dtype(name, t);
  }
  check_launch(name);
}

}  // namespace

void softmax(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  run_rows<true>(name, t, in, out, rows, n, s);
}

void logsumexp(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, cudaStream_t s) {
  run_rows<false>(name, t, in, out, rows, n, s);
}

}  // namespace kiln::cuda
