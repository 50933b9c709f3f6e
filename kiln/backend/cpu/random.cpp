// eval_cpu of RandomBits: each Threefry-2x32 block gives 8 bytes, cut into 8 / width elements.
#include <algorithm>

#include "kiln/backend/common/threefry.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Threefry over kLanes consecutive blocks at once: with the rounds unrolled and the rotation
// amounts constant, each lane loop compiles to a few AVX2 instructions (the scalar function in
// threefry.h is the reference; the known-answer test covers both through RandomBits).
constexpr int kLanes = 16;

struct Lanes {
  uint32_t x0[kLanes], x1[kLanes];
};

template <int R>
inline void mix(Lanes& v) {
  for (int l = 0; l < kLanes; ++l) {
    v.x0[l] += v.x1[l];
    v.x1[l] = ((v.x1[l] << R) | (v.x1[l] >> (32 - R))) ^ v.x0[l];
  }
}

inline void inject(Lanes& v, uint32_t a, uint32_t b) {
  for (int l = 0; l < kLanes; ++l) {
    v.x0[l] += a;
    v.x1[l] += b;
  }
}

inline void threefry_lanes(Lanes& v, uint32_t k0, uint32_t k1) {
  const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
  inject(v, k0, k1);
  mix<13>(v), mix<15>(v), mix<26>(v), mix<6>(v);
  inject(v, k1, k2 + 1);
  mix<17>(v), mix<29>(v), mix<16>(v), mix<24>(v);
  inject(v, k2, k0 + 2);
  mix<13>(v), mix<15>(v), mix<26>(v), mix<6>(v);
  inject(v, k0, k1 + 3);
  mix<17>(v), mix<29>(v), mix<16>(v), mix<24>(v);
  inject(v, k1, k2 + 4);
  mix<13>(v), mix<15>(v), mix<26>(v), mix<6>(v);
  inject(v, k2, k0 + 5);
}

// Element i of block j is bits [8 * width * i, 8 * width * (i + 1)) of the 64-bit value x1:x0,
// defined by value (not memory layout) so that every host and device agrees.
template <typename T>
inline void store_block(T* dst, int64_t base, int64_t m, uint32_t y0, uint32_t y1) {
  uint64_t v = (static_cast<uint64_t>(y1) << 32) | y0;
  for (int64_t i = 0; i < m; ++i) dst[base + i] = static_cast<T>(v >> (8 * sizeof(T) * i));
}

template <typename T>
void fill_bits(T* dst, int64_t n, uint32_t k0, uint32_t k1) {
  constexpr int64_t per_block = 8 / sizeof(T);
  const int64_t nblocks = (n + per_block - 1) / per_block;
  const int64_t full_blocks = n / per_block;
  cpu::parallel_for(nblocks, cpu::kElementwiseGrain / per_block, [&](int64_t b, int64_t e) {
    int64_t j = b;
    for (; j + kLanes <= std::min(e, full_blocks); j += kLanes) {
      Lanes v;
      for (int l = 0; l < kLanes; ++l) {
        v.x0[l] = static_cast<uint32_t>(j + l);
        v.x1[l] = static_cast<uint32_t>((j + l) >> 32);
      }
      threefry_lanes(v, k0, k1);
      if constexpr (sizeof(T) == 4) {
        for (int l = 0; l < kLanes; ++l) {
          dst[2 * (j + l)] = v.x0[l];
          dst[2 * (j + l) + 1] = v.x1[l];
        }
      } else {
        for (int l = 0; l < kLanes; ++l) store_block(dst, (j + l) * per_block, per_block, v.x0[l], v.x1[l]);
      }
    }
    for (; j < e; ++j) {
      auto y = detail::threefry2x32(k0, k1, static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32));
      store_block(dst, j * per_block, std::min(per_block, n - j * per_block), y.x0, y.x1);
    }
  });
}

}  // namespace

void RandomBits::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(out.nbytes()));
  const array& key = inputs[0];
  // The key may be any view of two uint32 values (a row of split's output, a slice).
  const uint32_t* kp = key.data<uint32_t>();
  const uint32_t k0 = kp[0], k1 = kp[key.strides(0)];
  const auto n = static_cast<int64_t>(out.size());
  if (n == 0) return;
  switch (width_) {
    case 1: fill_bits(out.data<uint8_t>(), n, k0, k1); break;
    case 2: fill_bits(out.data<uint16_t>(), n, k0, k1); break;
    default: fill_bits(out.data<uint32_t>(), n, k0, k1); break;
  }
}

}  // namespace kiln
