// Integer and bool matrix products (cuBLASLt has none that wrap like NumPy): 16x16 shared-memory
// tiles, operands widened to 32 or 64 unsigned bits so overflow wraps as on the CPU, the sum cast
// back to the element type (for bool: any product term true).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"

namespace kiln::cuda {

namespace {

constexpr int kTile = 16;

template <typename T>
using wide_t = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;

template <typename T>
__global__ void __launch_bounds__(kTile* kTile)
    int_gemm(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K, IntMatmulOperand A, IntMatmulOperand B,
             int64_t batch0) {
  using W = wide_t<T>;
  __shared__ W ta[kTile][kTile + 1], tb[kTile][kTile + 1];
  int64_t batch = batch0 + blockIdx.z;
  int ty = threadIdx.y, tx = threadIdx.x;
  int64_t row = static_cast<int64_t>(blockIdx.x) * kTile + ty, col = static_cast<int64_t>(blockIdx.y) * kTile + tx;
  const T* pa = a + batch * A.batch_stride;
  const T* pb = b + batch * B.batch_stride;
  W acc = 0;
  for (int64_t k0 = 0; k0 < K; k0 += kTile) {
    int64_t ka = k0 + tx, kb = k0 + ty;
    ta[ty][tx] = row < M && ka < K ? static_cast<W>(pa[A.trans ? ka * A.ld + row : row * A.ld + ka]) : W(0);
    tb[ty][tx] = kb < K && col < N ? static_cast<W>(pb[B.trans ? col * B.ld + kb : kb * B.ld + col]) : W(0);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) acc += ta[ty][k] * tb[k][tx];
    __syncthreads();
  }
  if (row < M && col < N) {
    if constexpr (std::is_same_v<T, bool>) {
      c[batch * M * N + row * N + col] = acc != 0;
    } else {
      c[batch * M * N + row * N + col] = static_cast<T>(acc);
    }
  }
}

}  // namespace

void int_matmul(Dtype t, const void* a, const void* b, void* c, int64_t M, int64_t N, int64_t K, int64_t batch,
                const IntMatmulOperand& A, const IntMatmulOperand& B, cudaStream_t s) {
  dispatch_device_types(t, "Matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      dim3 block(kTile, kTile);
      if ((N + kTile - 1) / kTile > 65535) {
        throw std::invalid_argument("[Matmul] integer products with more than 1048560 columns are not supported on the GPU.");
      }
      for (int64_t b0 = 0; b0 < batch; b0 += 65535) {
        dim3 grid(static_cast<unsigned>((M + kTile - 1) / kTile), static_cast<unsigned>((N + kTile - 1) / kTile),
                  static_cast<unsigned>(std::min<int64_t>(batch - b0, 65535)));
        int_gemm<T><<<grid, block, 0, s>>>(static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c), M,
                                           N, K, A, B, b0);
        check_launch("Matmul");
      }
    } else {
      throw_unsupported_dtype("Matmul", t);
    }
  });
}

}  // namespace kiln::cuda
