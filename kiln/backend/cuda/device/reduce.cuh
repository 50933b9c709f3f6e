// Device helpers shared by the reduction families (reduce.cu, arg_reduce.cu): offsets of a
// ReduceLayout's outputs and reduced elements, and warp shuffles of any accumulator type.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"

namespace kiln::cuda::kernels {

constexpr int kReduceThreads = 256;

/** Input and output offsets of output `o` (kept dims, last fastest). */
__device__ __forceinline__ void kept_offsets(const ReduceLayout& l, int64_t o, int64_t& in_off, int64_t& out_off) {
  in_off = 0;
  out_off = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < l.nk) {
      int64_t c = o % l.kshape[d];
      o /= l.kshape[d];
      in_off += c * l.kis[d];
      out_off += c * l.kos[d];
    }
  }
}

/** Input offset (from the output's base) of reduced element r: outer reduced dims, then the
 *  innermost run. */
__device__ __forceinline__ int64_t reduced_offset(const ReduceLayout& l, int64_t r) {
  if (l.nr == 0) return r * l.inner_is;
  int64_t q = r / l.inner_n;
  int64_t off = (r - q * l.inner_n) * l.inner_is;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < l.nr) {
      int64_t c = q % l.rshape[d];
      q /= l.rshape[d];
      off += c * l.ris[d];
    }
  }
  return off;
}

/** A warp shuffle (__shfl_xor_sync or __shfl_up_sync) of any trivially copyable value of 1 to 8 bytes. */
template <bool Up, typename V>
__device__ __forceinline__ V shfl_any(V v, int k) {
  if constexpr (sizeof(V) == 8) {
    long long x;
    memcpy(&x, &v, 8);
    x = Up ? __shfl_up_sync(0xffffffffu, x, k) : __shfl_xor_sync(0xffffffffu, x, k);
    memcpy(&v, &x, 8);
  } else {
    int x = 0;
    memcpy(&x, &v, sizeof(V));
    x = Up ? __shfl_up_sync(0xffffffffu, x, k) : __shfl_xor_sync(0xffffffffu, x, k);
    memcpy(&v, &x, sizeof(V));
  }
  return v;
}
template <typename V>
__device__ __forceinline__ V shfl_xor(V v, int mask) { return shfl_any<false>(v, mask); }
template <typename V>
__device__ __forceinline__ V shfl_up(V v, int delta) { return shfl_any<true>(v, delta); }

}  // namespace kiln::cuda::kernels
