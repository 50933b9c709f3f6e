// The two elementwise kernels every family launches: a linear one for dense operands (16-byte
// loads and stores when the pointers allow) and a strided one for any layout (broadcasts are
// stride 0). `fn` maps one element of each input to one output element.
#pragma once

#include <algorithm>
#include <utility>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"

namespace kiln::cuda::kernels {

constexpr int kBlock = 256;

template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

// N elements of a dense input from `base`: one vector load, a broadcast scalar, or (at the
// tail or when unaligned) element by element.
template <int N, typename T>
__device__ __forceinline__ Vec<T, N> load_n(const T* p, int64_t base, bool scalar, bool vec, int64_t n) {
  Vec<T, N> r;
  if (scalar) {
    T s = p[0];
#pragma unroll
    for (int j = 0; j < N; ++j) r.v[j] = s;
  } else if (vec) {
    r = *reinterpret_cast<const Vec<T, N>*>(p + base);
  } else {
#pragma unroll
    for (int j = 0; j < N; ++j) r.v[j] = p[base + j < n ? base + j : base];
  }
  return r;
}

template <int N, typename Out, typename Fn, size_t... I, typename... In>
__device__ __forceinline__ void contiguous_body(std::index_sequence<I...>, Out* out, int64_t n, unsigned scalar_mask,
                                                bool aligned, Fn fn, const In*... in) {
  int64_t base = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * N;
  if (base >= n) return;
  bool full = aligned && base + N <= n;
  Vec<Out, N> r;
  [&](auto... v) {
#pragma unroll
    for (int j = 0; j < N; ++j) r.v[j] = fn(v.v[j]...);
  }(load_n<N>(in, base, (scalar_mask >> I) & 1u, full, n)...);
  if (full) {
    *reinterpret_cast<Vec<Out, N>*>(out + base) = r;
  } else {
#pragma unroll
    for (int j = 0; j < N; ++j)
      if (base + j < n) out[base + j] = r.v[j];
  }
}

template <int N, typename Out, typename Fn, typename... In>
__global__ void __launch_bounds__(kBlock) contiguous(Out* out, int64_t n, unsigned scalar_mask, bool aligned, Fn fn,
                                                     const In*... in) {
  contiguous_body<N>(std::index_sequence_for<In...>{}, out, n, scalar_mask, aligned, fn, in...);
}

template <typename Out, typename Fn, size_t... I, typename... In>
__device__ __forceinline__ void strided_body(std::index_sequence<I...>, const Layout& l, Out* out, Fn fn,
                                             const In*... in) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= l.size) return;
  int64_t off[sizeof...(In) + 1] = {};
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < l.ndim) {
      int64_t c = i % l.shape[d];
      i /= l.shape[d];
#pragma unroll
      for (int k = 0; k <= static_cast<int>(sizeof...(In)); ++k) off[k] += c * l.strides[k][d];
    }
  }
  out[off[0]] = fn(in[off[I + 1]]...);
}

template <typename Out, typename Fn, typename... In>
__global__ void __launch_bounds__(kBlock) strided(const __grid_constant__ Layout l, Out* out, Fn fn, const In*... in) {
  strided_body(std::index_sequence_for<In...>{}, l, out, fn, in...);
}

inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

/** Launches fn over the layout: out[i] = fn(in0[i], in1[i], ...). */
template <typename Out, typename Fn, typename... In>
void launch(const char* name, const Layout& l, cudaStream_t s, Fn fn, Out* out, const In*... in) {
  if (l.size == 0) return;
  if (l.contiguous) {
    constexpr size_t widest = std::max({sizeof(Out), sizeof(In)...});
    constexpr int N = widest >= 16 ? 1 : static_cast<int>(16 / widest);
    unsigned mask = 0;
    bool aligned = aligned_to(out, sizeof(Out) * N);
    int k = 0;
    ((mask |= (l.scalar[k + 1] ? 1u : 0u) << k, aligned &= l.scalar[k + 1] || aligned_to(in, sizeof(In) * N), ++k),
     ...);
    int64_t threads = (l.size + N - 1) / N;
    auto blocks = static_cast<unsigned>((threads + kBlock - 1) / kBlock);
    contiguous<N><<<blocks, kBlock, 0, s>>>(out, l.size, mask, aligned, fn, in...);
  } else {
    auto blocks = static_cast<unsigned>((l.size + kBlock - 1) / kBlock);
    strided<<<blocks, kBlock, 0, s>>>(l, out, fn, in...);
  }
  check_launch(name);
}

}  // namespace kiln::cuda::kernels
