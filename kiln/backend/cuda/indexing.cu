// Gather and Scatter with the CPU's semantics (kiln/backend/cpu/indexing.cpp): negative indices
// wrap, out-of-range gathers clamp, out-of-range scatter positions are skipped, duplicate
// positions combine (sum/prod/max/min through atomics: native ones where the type has them, a
// compare-and-swap loop otherwise) and, without a reduction, the last duplicate wins: a first
// pass claims each target element for the highest position writing it (atomicMax), a second
// lets only that position write.
#include <string>

#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/indexing.h"

namespace kiln::cuda {

namespace {

__device__ __forceinline__ int64_t load_index(const void* p, int dt, int64_t loc) {
  switch (static_cast<Dtype::Val>(dt)) {
    case Dtype::Val::int8: return static_cast<const int8_t*>(p)[loc];
    case Dtype::Val::int16: return static_cast<const int16_t*>(p)[loc];
    case Dtype::Val::int32: return static_cast<const int32_t*>(p)[loc];
    case Dtype::Val::uint8: return static_cast<const uint8_t*>(p)[loc];
    case Dtype::Val::uint16: return static_cast<const uint16_t*>(p)[loc];
    case Dtype::Val::uint32: return static_cast<const uint32_t*>(p)[loc];
    case Dtype::Val::uint64: return static_cast<int64_t>(static_cast<const uint64_t*>(p)[loc]);
    default: return static_cast<const int64_t*>(p)[loc];
  }
}

// Element offset of position i; false when an index is out of range and !Clamp (skip it).
template <bool Clamp>
__device__ __forceinline__ bool position_offset(const IndexLayout& l, int64_t i, int64_t& off) {
  int64_t loc[kMaxIndexArrays] = {};
  if (l.ndim == 1) {
#pragma unroll
    for (int k = 0; k < kMaxIndexArrays; ++k)
      if (k < l.count) loc[k] = i * l.a[k].strides[0];
  } else {
    int64_t rem = i;
    for (int d = l.ndim - 1; d >= 0; --d) {
      int64_t c = rem % l.shape[d];
      rem /= l.shape[d];
#pragma unroll
      for (int k = 0; k < kMaxIndexArrays; ++k)
        if (k < l.count) loc[k] += c * l.a[k].strides[d];
    }
  }
  off = 0;
#pragma unroll
  for (int k = 0; k < kMaxIndexArrays; ++k) {
    if (k < l.count) {
      const IndexArray& a = l.a[k];
      int64_t v = load_index(a.ptr, a.dtype, loc[k]);
      if (v < 0) v += a.size;
      if constexpr (Clamp) {
        v = v < 0 ? 0 : (v >= a.limit ? a.limit - 1 : v);
      } else {
        if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(a.limit > 0 ? a.limit : 0)) return false;
      }
      off += v * a.stride;
    }
  }
  return true;
}

__device__ __forceinline__ int64_t slice_offset(const IndexLayout& l, int64_t j) {
  int64_t off = 0;
  for (int d = l.slice_ndim - 1; d >= 0; --d) {
    off += (j % l.slice_shape[d]) * l.slice_strides[d];
    j /= l.slice_shape[d];
  }
  return off;
}

// Splits element e of the (positions x slice) iteration space.
__device__ __forceinline__ void split(const IndexLayout& l, int64_t e, int64_t& i, int64_t& j) {
  if (l.slice_n == 1) {
    i = e;
    j = 0;
  } else {
    i = e / l.slice_n;
    j = e - i * l.slice_n;
  }
}

template <typename T>
__global__ void __launch_bounds__(kernels::kBlock)
    gather_kernel(const T* src, T* out, const __grid_constant__ IndexLayout l, int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t i, j, off;
  split(l, e, i, j);
  position_offset<true>(l, i, off);
  out[e] = src[off + (l.slice_n == 1 ? 0 : slice_offset(l, j))];
}

// ---- scatter

// *p = f(*p) atomically, for any element of 1, 2, 4 or 8 bytes (narrow ones through the
// aligned 32-bit word that holds them).
template <typename T, typename F>
__device__ __forceinline__ void atomic_apply(T* p, F f) {
  if constexpr (sizeof(T) == 4 || sizeof(T) == 8) {
    using W = std::conditional_t<sizeof(T) == 4, unsigned int, unsigned long long>;
    W* w = reinterpret_cast<W*>(p);
    W old = *w, assumed;
    do {
      assumed = old;
      T cur, next;
      memcpy(&cur, &assumed, sizeof(T));
      next = f(cur);
      W nw;
      memcpy(&nw, &next, sizeof(T));
      old = atomicCAS(w, assumed, nw);
    } while (old != assumed);
  } else {
    auto addr = reinterpret_cast<uintptr_t>(p);
    unsigned int* w = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
    const unsigned shift = static_cast<unsigned>(addr & 3) * 8;
    constexpr unsigned mask = sizeof(T) == 1 ? 0xffu : 0xffffu;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      T cur, next;
      auto bits = static_cast<std::conditional_t<sizeof(T) == 1, uint8_t, uint16_t>>((assumed >> shift) & mask);
      memcpy(&cur, &bits, sizeof(T));
      next = f(cur);
      memcpy(&bits, &next, sizeof(T));
      unsigned nw = (assumed & ~(mask << shift)) | (static_cast<unsigned>(bits) << shift);
      old = atomicCAS(w, assumed, nw);
    } while (old != assumed);
  }
}

template <typename C>
__device__ __forceinline__ bool isnan_c(C v) {
  if constexpr (std::is_floating_point_v<C>) return v != v;
  else return false;
}

__device__ __forceinline__ bool is_nan_cx(complex64_d v) { return v.re != v.re || v.im != v.im; }
__device__ __forceinline__ bool greater_cx(complex64_d a, complex64_d b) {
  return a.re > b.re || (a.re == b.re && a.im > b.im);
}

// The CPU's combine (indexing.cpp combine_r): integers wrap, half types compute in float.
template <int R, typename T>
__device__ __forceinline__ T combine(T o, T u) {
  if constexpr (std::is_same_v<T, complex64_d>) {
    if constexpr (R == 1) return complex64_d{o.re + u.re, o.im + u.im};
    else if constexpr (R == 2) return complex64_d{o.re * u.re - o.im * u.im, o.re * u.im + o.im * u.re};
    else if constexpr (R == 3) return is_nan_cx(o) ? o : ((is_nan_cx(u) || greater_cx(u, o)) ? u : o);
    else return is_nan_cx(o) ? o : ((is_nan_cx(u) || greater_cx(o, u)) ? u : o);
  } else if constexpr (std::is_same_v<T, bool>) {
    if constexpr (R == 1) return o || u;
    else if constexpr (R == 2) return o && u;
    else if constexpr (R == 3) return u > o ? u : o;
    else return o > u ? u : o;
  } else {
    using C = compute_t<T>;
    C a = cast_to<C>(o), b = cast_to<C>(u);
    if constexpr (R == 1) return cast_to<T>(static_cast<C>(a + b));
    else if constexpr (R == 2) return cast_to<T>(static_cast<C>(a * b));
    else if constexpr (R == 3) return isnan_c(a) ? o : ((isnan_c(b) || b > a) ? u : o);
    else return isnan_c(a) ? o : ((isnan_c(b) || a > b) ? u : o);
  }
}

template <int R, typename T>
__device__ __forceinline__ void atomic_combine(T* p, T u) {
  if constexpr (R == 1 && (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, __half> ||
                           std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, int32_t> ||
                           std::is_same_v<T, uint32_t>)) {
    atomicAdd(p, u);
  } else if constexpr (R == 1 && (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>)) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(u));
  } else if constexpr ((R == 3 || R == 4) && (std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>)) {
    if constexpr (R == 3) atomicMax(p, u);
    else atomicMin(p, u);
  } else if constexpr ((R == 3 || R == 4) && std::is_same_v<T, int64_t>) {
    if constexpr (R == 3) atomicMax(reinterpret_cast<long long*>(p), static_cast<long long>(u));
    else atomicMin(reinterpret_cast<long long*>(p), static_cast<long long>(u));
  } else if constexpr ((R == 3 || R == 4) && std::is_same_v<T, uint64_t>) {
    if constexpr (R == 3) atomicMax(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(u));
    else atomicMin(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(u));
  } else {
    atomic_apply(p, [u](T o) { return combine<R>(o, u); });
  }
}

template <int R, typename T>
__global__ void __launch_bounds__(kernels::kBlock)
    scatter_reduce(T* out, const T* upd, const __grid_constant__ IndexLayout l, int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t i, j, off;
  split(l, e, i, j);
  if (!position_offset<false>(l, i, off)) return;
  atomic_combine<R>(out + off + slice_offset(l, j), upd[e]);
}

// No duplicates possible (one position) or `winner` says who writes: plain stores.
template <typename T, typename W>
__global__ void __launch_bounds__(kernels::kBlock)
    scatter_store(T* out, const T* upd, const W* winner, const __grid_constant__ IndexLayout l, int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t i, j, off;
  split(l, e, i, j);
  if (!position_offset<false>(l, i, off)) return;
  off += slice_offset(l, j);
  if (winner == nullptr || winner[off] == static_cast<W>(i + 1)) out[off] = upd[e];
}

template <typename W>
__global__ void __launch_bounds__(kernels::kBlock)
    scatter_claim(W* winner, const __grid_constant__ IndexLayout l, int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t i, j, off;
  split(l, e, i, j);
  if (!position_offset<false>(l, i, off)) return;
  atomicMax(winner + off + slice_offset(l, j), static_cast<W>(i + 1));
}

unsigned grid_for(int64_t n) { return static_cast<unsigned>((n + kernels::kBlock - 1) / kernels::kBlock); }

template <typename F>
void dispatch_size(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(tag<uint8_t>{});
    case 2: return f(tag<uint16_t>{});
    case 4: return f(tag<uint32_t>{});
    default: return f(tag<uint64_t>{});
  }
}

}  // namespace

void gather(const char* name, size_t itemsize, const void* src, void* out, const IndexLayout& l, cudaStream_t s) {
  int64_t total = l.n * l.slice_n;
  if (total == 0) return;
  dispatch_size(itemsize, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gather_kernel<T><<<grid_for(total), kernels::kBlock, 0, s>>>(static_cast<const T*>(src), static_cast<T*>(out), l,
                                                                 total);
  });
  check_launch(name);
}

void scatter(const char* name, Dtype t, int reduce, void* out, const void* upd, const IndexLayout& l, void* winner,
             int64_t out_size, cudaStream_t s) {
  int64_t total = l.n * l.slice_n;
  if (total == 0) return;
  if (reduce == 0) {
    dispatch_size(size_of(t), [&](auto ttag) {
      using T = typename decltype(ttag)::type;
      auto run = [&](auto wtag) {
        using W = typename decltype(wtag)::type;
        W* w = static_cast<W*>(winner);
        if (w) {
          check(cudaMemsetAsync(w, 0, out_size * sizeof(W), s), name);
          scatter_claim<W><<<grid_for(total), kernels::kBlock, 0, s>>>(w, l, total);
          check_launch(name);
        }
        scatter_store<T, W><<<grid_for(total), kernels::kBlock, 0, s>>>(static_cast<T*>(out),
                                                                         static_cast<const T*>(upd), w, l, total);
      };
      // Winner words hold position + 1: 32 bits unless there are more positions than that.
      if (l.n < int64_t(UINT32_MAX)) run(tag<unsigned int>{});
      else run(tag<unsigned long long>{});
    });
    check_launch(name);
    return;
  }
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto launch = [&](auto r) {
      constexpr int R = decltype(r)::value;
      scatter_reduce<R, T><<<grid_for(total), kernels::kBlock, 0, s>>>(static_cast<T*>(out),
                                                                        static_cast<const T*>(upd), l, total);
    };
    switch (reduce) {
      case 1: launch(std::integral_constant<int, 1>{}); break;
      case 2: launch(std::integral_constant<int, 2>{}); break;
      case 3: launch(std::integral_constant<int, 3>{}); break;
      default: launch(std::integral_constant<int, 4>{}); break;
    }
  });
  check_launch(name);
}

}  // namespace kiln::cuda
