// ArgReduce kernels (argmin, argmax) along one axis of any layout, every real dtype.
//
// The reduced axis is the layout's innermost run (inner_n elements inner_is apart). A
// contiguous axis is shared by a warp or a block (each thread keeps its best element, then
// the group combines); otherwise one thread per output walks the axis in order, consecutive
// threads on consecutive outputs, split into parts when the outputs are too few. Ties go to the first index and NaN beats everything (the
// first NaN wins), as on the CPU and in NumPy.
#include <algorithm>
#include <string>

#include "kiln/backend/cuda/device/reduce.cuh"

namespace kiln::cuda {

namespace {

using kernels::kReduceThreads;

template <typename V, bool IsMax>
__device__ __forceinline__ bool better(V a, V b) {  // a strictly beats b
  if constexpr (std::is_floating_point_v<V>) {
    return (IsMax ? a > b : a < b) || (a != a && b == b);
  } else {
    return IsMax ? a > b : a < b;
  }
}

// The better of two candidates; equal values (or two NaNs) go to the smaller index. An index
// of -1 is an empty candidate.
template <typename V, bool IsMax>
__device__ __forceinline__ void combine(V& v, int64_t& i, V ov, int64_t oi) {
  if (oi < 0) return;
  if (i < 0 || better<V, IsMax>(ov, v) || (!better<V, IsMax>(v, ov) && oi < i)) {
    v = ov;
    i = oi;
  }
}

template <typename T, bool IsMax>
__global__ void __launch_bounds__(kReduceThreads)
    arg_group(const __grid_constant__ ReduceLayout l, const T* __restrict__ in, uint32_t* out, int tpr) {
  using V = compute_t<T>;
  int gpb = kReduceThreads / tpr;
  int64_t o = static_cast<int64_t>(blockIdx.x) * gpb + threadIdx.x / tpr;
  int lane = threadIdx.x % tpr;
  if (o >= l.n_out) return;  // only warp groups: they return before any sync
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  const T* p = in + in_off;
  V best{};
  int64_t bi = -1;
  for (int64_t r = lane; r < l.inner_n; r += tpr) {
    V x = cast_to<V>(p[r * l.inner_is]);
    if (bi < 0 || better<V, IsMax>(x, best)) {
      best = x;
      bi = r;
    }
  }
#pragma unroll
  for (int m = 16; m >= 1; m >>= 1) {
    V ov = kernels::shfl_xor(best, m);
    int64_t oi = kernels::shfl_xor(bi, m);
    combine<V, IsMax>(best, bi, ov, oi);
  }
  if (tpr > 32) {
    __shared__ V wv[kReduceThreads / 32];
    __shared__ int64_t wi[kReduceThreads / 32];
    int w = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) {
      wv[w] = best;
      wi[w] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int k = 1; k < kReduceThreads / 32; ++k) combine<V, IsMax>(best, bi, wv[k], wi[k]);
    }
  }
  if (lane == 0) out[out_off] = static_cast<uint32_t>(bi);
}

// One thread per output walks its slice [b, e) of the axis (part blockIdx.y of gridDim.y),
// four loads in flight; with several parts it writes the slice's best to (pv, pi).
template <typename T, bool IsMax>
__global__ void __launch_bounds__(kReduceThreads)
    arg_lane(const __grid_constant__ ReduceLayout l, const T* __restrict__ in, uint32_t* out, compute_t<T>* pv,
             int64_t* pi) {
  using V = compute_t<T>;
  int64_t o = static_cast<int64_t>(blockIdx.x) * kReduceThreads + threadIdx.x;
  if (o >= l.n_out) return;
  int part = blockIdx.y, parts = gridDim.y;
  int64_t b = l.inner_n * part / parts, e = l.inner_n * (part + 1) / parts;
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  const T* p = in + in_off;
  int64_t s = l.inner_is;
  V best = cast_to<V>(p[b * s]);
  int64_t bi = b;
  auto take = [&](V x, int64_t r) {
    if (better<V, IsMax>(x, best)) {
      best = x;
      bi = r;
    }
  };
  int64_t r = b + 1;
  for (; r + 4 <= e; r += 4) {
    T x0 = p[r * s], x1 = p[(r + 1) * s], x2 = p[(r + 2) * s], x3 = p[(r + 3) * s];
    take(cast_to<V>(x0), r);
    take(cast_to<V>(x1), r + 1);
    take(cast_to<V>(x2), r + 2);
    take(cast_to<V>(x3), r + 3);
  }
  for (; r < e; ++r) take(cast_to<V>(p[r * s]), r);
  if (parts == 1) {
    out[out_off] = static_cast<uint32_t>(bi);
  } else {
    pv[part * l.n_out + o] = best;
    pi[part * l.n_out + o] = bi;
  }
}

// Combines the parts' bests in order (a later part wins only when strictly better).
template <typename V, bool IsMax>
__global__ void __launch_bounds__(kReduceThreads)
    arg_finish(const __grid_constant__ ReduceLayout l, const V* pv, const int64_t* pi, int parts, uint32_t* out) {
  int64_t o = static_cast<int64_t>(blockIdx.x) * kReduceThreads + threadIdx.x;
  if (o >= l.n_out) return;
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  V best = pv[o];
  int64_t bi = pi[o];
  for (int k = 1; k < parts; ++k) {
    V x = pv[k * l.n_out + o];
    if (better<V, IsMax>(x, best)) {
      best = x;
      bi = pi[k * l.n_out + o];
    }
  }
  out[out_off] = static_cast<uint32_t>(bi);
}

template <typename T, bool IsMax>
void run_arg(const char* name, const ReduceLayout& l, const T* in, uint32_t* out, cudaStream_t s) {
  using V = compute_t<T>;
  if (l.inner_n >= 32 && l.inner_is == 1) {
    // A contiguous axis: a warp or a block per output.
    int tpr = l.inner_n >= 2048 ? kReduceThreads : 32;
    int gpb = kReduceThreads / tpr;
    auto blocks = static_cast<unsigned>((l.n_out + gpb - 1) / gpb);
    arg_group<T, IsMax><<<blocks, kReduceThreads, 0, s>>>(l, in, out, tpr);
    check_launch(name);
    return;
  }
  // A strided axis: coalesced across outputs; too few outputs for one wave over every SM split
  // the axis into parts (at least 64 elements each), combined in order by a second launch.
  int64_t blocks = (l.n_out + kReduceThreads - 1) / kReduceThreads;
  int64_t slots = static_cast<int64_t>(sm_count()) * 8;
  int64_t parts = blocks < slots ? std::max<int64_t>(1, std::min<int64_t>({slots / blocks, l.inner_n / 64, 65535})) : 1;
  dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(parts));
  if (parts == 1) {
    arg_lane<T, IsMax><<<grid, kReduceThreads, 0, s>>>(l, in, out, nullptr, nullptr);
    check_launch(name);
    return;
  }
  Scratch vals(static_cast<size_t>(parts * l.n_out) * sizeof(V), s);
  Scratch idx(static_cast<size_t>(parts * l.n_out) * sizeof(int64_t), s);
  auto* pv = static_cast<V*>(vals.get());
  auto* pi = static_cast<int64_t*>(idx.get());
  arg_lane<T, IsMax><<<grid, kReduceThreads, 0, s>>>(l, in, out, pv, pi);
  check_launch(name);
  arg_finish<V, IsMax><<<static_cast<unsigned>(blocks), kReduceThreads, 0, s>>>(l, pv, pi, static_cast<int>(parts), out);
  check_launch(name);
}

}  // namespace

void arg_reduce(bool is_max, const char* name, Dtype t, const void* in, uint32_t* out, const ReduceLayout& l,
                cudaStream_t s) {
  if (l.n_out == 0) return;
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (is_max) {
      run_arg<T, true>(name, l, static_cast<const T*>(in), out, s);
    } else {
      run_arg<T, false>(name, l, static_cast<const T*>(in), out, s);
    }
  };
  if (t == bool_) return run(tag<uint8_t>{});  // false < true, as 0 < 1
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64_d> || std::is_same_v<T, bool>) {
      throw std::invalid_argument(std::string("[") + name + "] complex64 has no GPU implementation yet.");
    } else {
      run(tag);
    }
  });
}

}  // namespace kiln::cuda
