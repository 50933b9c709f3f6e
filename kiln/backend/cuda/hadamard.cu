// Walsh-Hadamard transform of contiguous rows of n = m * p (p = 2^k, m in {1, 12, 20, 28}).
//
// Rows that fit in shared memory (n * sizeof(compute type) <= 96 KiB) are transformed by one
// block (several short rows per block): the first three butterfly stages on 8 consecutive
// points a thread as they are loaded, the other stages in shared memory three at a time (each
// thread holds 8 points a stage group apart in registers), then the m x m
// Hadamard mix across runs, the scale and the store (plain 2^k rows store from the last stage
// group's registers). Longer rows go through a global scratch
// buffer with one launch per group of three stages.
//
// Every butterfly computes the same (u + w, u - w) from the same two values as the CPU's
// stage-by-stage loop, and the mix adds the runs in the CPU's order starting from 0, then
// scales: results are bit-identical to the CPU's. Half types compute in float, float64 in double.
#include <algorithm>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/transforms.h"

namespace kiln::cuda {

namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxSmem = 96 * 1024;
constexpr int64_t kBlockElems = 4096;  // short rows are grouped up to this many points a block

struct Signs {
  uint32_t s[28];
};

// The G = 2^g butterfly stages h = H, 2H, .. (H = 2^hl) on octet t of the runs of p = 2^pl
// points at x: points base + e H, e < G, with base's bits hl .. hl + g - 1 clear.
// With `dst` (the last group of rows with m = 1) the results go there, times `scale`, instead
// of back to x.
template <int g, typename A, typename T = A>
__device__ __forceinline__ void butterfly_group(A* x, int64_t t, int pl, int hl, T* dst = nullptr, A scale = A(1)) {
  constexpr int G = 1 << g;
  int per_run_log = pl - g;
  int64_t run = t >> per_run_log;
  int64_t o = t & ((int64_t(1) << per_run_log) - 1);
  int64_t H = int64_t(1) << hl;
  int64_t off = (run << pl) + ((o >> hl) << (hl + g)) + (o & (H - 1));
  A* b = x + off;
  A v[G];
#pragma unroll
  for (int e = 0; e < G; ++e) v[e] = b[e * H];
#pragma unroll
  for (int s = 0; s < g; ++s) {
#pragma unroll
    for (int e = 0; e < G; ++e) {
      if ((e & (1 << s)) == 0) {
        A u = v[e], w = v[e + (1 << s)];
        v[e] = u + w;
        v[e + (1 << s)] = u - w;
      }
    }
  }
  if (dst != nullptr) {
#pragma unroll
    for (int e = 0; e < G; ++e) dst[off + e * H] = cast_to<T>(v[e] * scale);
  } else {
#pragma unroll
    for (int e = 0; e < G; ++e) b[e * H] = v[e];
  }
}

template <typename A, typename T = A>
__device__ __forceinline__ void butterfly(A* x, int64_t t, int pl, int hl, int g, T* dst = nullptr,
                                          A scale = A(1)) {
  if (g == 3) {
    butterfly_group<3>(x, t, pl, hl, dst, scale);
  } else if (g == 2) {
    butterfly_group<2>(x, t, pl, hl, dst, scale);
  } else {
    butterfly_group<1>(x, t, pl, hl, dst, scale);
  }
}

// The first stage group (h = 1 .. G/2) read straight from global memory: thread t holds the
// G consecutive points t G .. t G + G - 1 (16-byte loads for float when aligned), writes x.
template <int g, typename T, typename A>
__device__ __forceinline__ void first_group(A* x, const T* src, int t, bool vec) {
  constexpr int G = 1 << g;
  A v[G];
  if constexpr (std::is_same_v<T, float> && g == 3) {
    if (vec) {
      float4 a = reinterpret_cast<const float4*>(src)[2 * t], b = reinterpret_cast<const float4*>(src)[2 * t + 1];
      v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
    } else {
#pragma unroll
      for (int e = 0; e < G; ++e) v[e] = src[t * G + e];
    }
  } else {
#pragma unroll
    for (int e = 0; e < G; ++e) v[e] = cast_to<A>(src[t * G + e]);
  }
#pragma unroll
  for (int s = 0; s < g; ++s) {
#pragma unroll
    for (int e = 0; e < G; ++e) {
      if ((e & (1 << s)) == 0) {
        A u = v[e], w = v[e + (1 << s)];
        v[e] = u + w;
        v[e + (1 << s)] = u - w;
      }
    }
  }
#pragma unroll
  for (int e = 0; e < G; ++e) x[t * G + e] = v[e];
}

// Output point c of a row (runs already transformed): sum over runs k of +-run k at c % p,
// in order from 0, times the scale.
template <typename A>
__device__ __forceinline__ A mix(const A* row, int64_t c, int m, int pl, const Signs& sg, A scale) {
  if (m == 1) return row[c] * scale;
  int64_t j = c & ((int64_t(1) << pl) - 1);
  uint32_t bits = sg.s[c >> pl];
  A acc = A(0);
  for (int k = 0; k < m; ++k) {
    A v = row[(int64_t(k) << pl) + j];
    acc = (bits >> k) & 1u ? acc - v : acc + v;
  }
  return acc * scale;
}

template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    smem_kernel(const T* in, T* out, int64_t rows, int n, int m, int pl, Signs sg, A scale, int rpb) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* x = reinterpret_cast<A*>(smem_raw);
  int64_t row0 = static_cast<int64_t>(blockIdx.x) * rpb;
  int nr = static_cast<int>(min(static_cast<int64_t>(rpb), rows - row0));
  int total = nr * n;
  const T* src = in + row0 * n;
  int g0 = min(3, pl);
  if (g0 == 0) {
    for (int i = threadIdx.x; i < total; i += kThreads) x[i] = cast_to<A>(src[i]);
  } else {
    bool vec = (reinterpret_cast<uintptr_t>(src) & 15) == 0;
    int cnt0 = total >> g0;  // every run's length is a multiple of 2^g0
    for (int t = threadIdx.x; t < cnt0; t += kThreads) {
      if (g0 == 3) {
        first_group<3>(x, src, t, vec);
      } else if (g0 == 2) {
        first_group<2>(x, src, t, vec);
      } else {
        first_group<1>(x, src, t, vec);
      }
    }
  }
  __syncthreads();
  int runs = nr * m;
  T* dst = out + row0 * n;
  for (int hl = g0; hl < pl; hl += 3) {
    int g = min(3, pl - hl);
    int cnt = runs << (pl - g);
    if (m == 1 && hl + g == pl) {
      // The last stages of plain 2^k rows store the result (times the scale) directly.
      for (int t = threadIdx.x; t < cnt; t += kThreads) butterfly(x, t, pl, hl, g, dst, scale);
      return;
    }
    for (int t = threadIdx.x; t < cnt; t += kThreads) butterfly(x, t, pl, hl, g);
    __syncthreads();
  }
  for (int i = threadIdx.x; i < total; i += kThreads) {
    int r = i / n;
    dst[i] = cast_to<T>(mix(x + static_cast<int64_t>(r) * n, i - r * n, m, pl, sg, scale));
  }
}

template <typename T, typename A>
__global__ void load_kernel(const T* in, A* x, int64_t total) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < total) x[i] = cast_to<A>(in[i]);
}

template <typename A>
__global__ void group_kernel(A* x, int64_t cnt, int pl, int hl, int g) {
  int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < cnt) butterfly(x, t, pl, hl, g);
}

template <typename T, typename A>
__global__ void mix_kernel(const A* x, T* out, int64_t total, int64_t n, int m, int pl, Signs sg, A scale) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  int64_t r = i / n;
  out[i] = cast_to<T>(mix(x + r * n, i - r * n, m, pl, sg, scale));
}

unsigned grid_for(int64_t count) { return static_cast<unsigned>((count + kThreads - 1) / kThreads); }

template <typename T, typename A>
void run(const char* name, const T* in, T* out, int64_t rows, int64_t n, int m, int pl, const Signs& sg, A scale,
         cudaStream_t s) {
  size_t row_bytes = static_cast<size_t>(n) * sizeof(A);
  if (row_bytes <= kMaxSmem) {
    int64_t rpb = std::max<int64_t>(1, std::min<int64_t>(rows, kBlockElems / n));
    size_t bytes = static_cast<size_t>(rpb) * row_bytes;
    auto kernel = smem_kernel<T, A>;
    if (bytes > 48 * 1024) {
      check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)), name);
    }
    int64_t blocks = (rows + rpb - 1) / rpb;
    kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, s>>>(in, out, rows, static_cast<int>(n), m, pl, sg, scale,
                                                                   static_cast<int>(rpb));
    check_launch(name);
    return;
  }
  int64_t total = rows * n;
  Scratch buf(static_cast<size_t>(total) * sizeof(A), s);
  A* x = static_cast<A*>(buf.get());
  load_kernel<<<grid_for(total), kThreads, 0, s>>>(in, x, total);
  check_launch(name);
  for (int hl = 0; hl < pl; hl += 3) {
    int g = std::min(3, pl - hl);
    int64_t cnt = (rows * m) << (pl - g);
    group_kernel<<<grid_for(cnt), kThreads, 0, s>>>(x, cnt, pl, hl, g);
    check_launch(name);
  }
  mix_kernel<<<grid_for(total), kThreads, 0, s>>>(x, out, total, n, m, pl, sg, scale);
  check_launch(name);
}

}  // namespace

void hadamard(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, int m,
              const uint32_t* signs, double scale, cudaStream_t stream) {
  if (rows == 0 || n == 0) return;
  int pl = 0;
  while ((int64_t(m) << pl) < n) ++pl;
  Signs sg{};
  for (int i = 0; i < m && m > 1; ++i) sg.s[i] = signs[i];
  switch (t.val) {
    case Dtype::Val::float16:
      run<__half, float>(name, static_cast<const __half*>(in), static_cast<__half*>(out), rows, n, m, pl, sg,
                         static_cast<float>(scale), stream);
      break;
    case Dtype::Val::bfloat16:
      run<__nv_bfloat16, float>(name, static_cast<const __nv_bfloat16*>(in), static_cast<__nv_bfloat16*>(out), rows,
                                n, m, pl, sg, static_cast<float>(scale), stream);
      break;
    case Dtype::Val::float32:
      run<float, float>(name, static_cast<const float*>(in), static_cast<float*>(out), rows, n, m, pl, sg,
                        static_cast<float>(scale), stream);
      break;
    case Dtype::Val::float64:
      run<double, double>(name, static_cast<const double*>(in), static_cast<double*>(out), rows, n, m, pl, sg, scale,
                          stream);
      break;
    default: throw_unsupported_dtype(name, t);
  }
}

}  // namespace kiln::cuda
