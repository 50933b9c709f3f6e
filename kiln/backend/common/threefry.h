// Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"):
// the block function behind kiln.random. Header-only and free of host-only calls so the CPU
// kernel, the host-side key state and a CUDA kernel all compute the same bits.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln::detail {

struct Threefry2x32Out {
  uint32_t x0, x1;
};

KILN_HOST_DEVICE inline uint32_t rotl32(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

/** Encrypts the counter (c0, c1) under the key (k0, k1). */
KILN_HOST_DEVICE inline Threefry2x32Out threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1) {
  constexpr int rot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
  uint32_t x0 = c0 + ks[0];
  uint32_t x1 = c1 + ks[1];
  for (int i = 0; i < 20; ++i) {
    x0 += x1;
    x1 = rotl32(x1, rot[i % 8]);
    x1 ^= x0;
    if (i % 4 == 3) {
      // Key injection after every four rounds, with the injection count added to the second word.
      uint32_t s = static_cast<uint32_t>(i / 4 + 1);
      x0 += ks[s % 3];
      x1 += ks[(s + 1) % 3] + s;
    }
  }
  return {x0, x1};
}

}  // namespace kiln::detail
