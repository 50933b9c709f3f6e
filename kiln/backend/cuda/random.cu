// RandomBits: the Threefry-2x32 block function of kiln/backend/common/threefry.h, one block per
// thread, so the GPU gives the CPU's bits for the same key (see RandomBits in primitives.h).
#include "kiln/backend/common/threefry.h"
#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/indexing.h"

namespace kiln::cuda {

namespace {

// Block j fills elements [j * per, (j + 1) * per): element i of the block is bits
// [8 * sizeof(T) * i, 8 * sizeof(T) * (i + 1)) of the 64-bit value x1:x0.
template <typename T>
__global__ void __launch_bounds__(kernels::kBlock)
    random_bits_kernel(const uint32_t* key, int64_t key_stride, T* out, int64_t n, int64_t nblocks) {
  int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= nblocks) return;
  const uint32_t k0 = key[0], k1 = key[key_stride];
  auto y = detail::threefry2x32(k0, k1, static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32));
  constexpr int64_t per = 8 / sizeof(T);
  int64_t base = j * per;
  uint64_t v = (static_cast<uint64_t>(y.x1) << 32) | y.x0;
  if (base + per <= n) {
    // A whole block: one 8-byte store (the output buffer is at least 8-byte aligned).
    *reinterpret_cast<uint64_t*>(out + base) = v;  // little-endian: element i is bits 8*sizeof(T)*i...
  } else {
    for (int64_t i = 0; base + i < n; ++i) out[base + i] = static_cast<T>(v >> (8 * sizeof(T) * i));
  }
}

}  // namespace

void random_bits(const char* name, int width, const void* key, int64_t key_stride, void* out, int64_t n,
                 cudaStream_t s) {
  if (n == 0) return;
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int64_t per = 8 / sizeof(T);
    int64_t nblocks = (n + per - 1) / per;
    auto grid = static_cast<unsigned>((nblocks + kernels::kBlock - 1) / kernels::kBlock);
    random_bits_kernel<T><<<grid, kernels::kBlock, 0, s>>>(static_cast<const uint32_t*>(key), key_stride,
                                                            static_cast<T*>(out), n, nblocks);
    check_launch(name);
  };
  switch (width) {
    case 1: return run(tag<uint8_t>{});
    case 2: return run(tag<uint16_t>{});
    default: return run(tag<uint32_t>{});
  }
}

}  // namespace kiln::cuda
