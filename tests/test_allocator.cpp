// Memory accounting and the buffer cache.
#include <gtest/gtest.h>

#include "kiln/kiln.h"

using namespace kiln;

TEST(Allocator, ActivePeakAndCache) {
  clear_cache();
  size_t base = get_active_memory();
  reset_peak_memory();
  {
    array a = zeros({1 << 20}, float32);  // 4 MiB
    a.eval();
    EXPECT_GE(get_active_memory(), base + (4u << 20));
    EXPECT_GE(get_peak_memory(), base + (4u << 20));
  }
  EXPECT_EQ(get_active_memory(), base);
  EXPECT_GE(get_cache_memory(), 4u << 20);  // kept for reuse
  size_t cached = get_cache_memory();
  {
    array b = ones({1 << 20}, float32);  // same size class: served from the cache
    b.eval();
    EXPECT_LT(get_cache_memory(), cached);
  }
  clear_cache();
  EXPECT_EQ(get_cache_memory(), 0u);
}

TEST(Allocator, CacheLimit) {
  clear_cache();
  size_t old = set_cache_limit(0);
  {
    array a = zeros({1 << 18});
    a.eval();
  }
  EXPECT_EQ(get_cache_memory(), 0u);
  EXPECT_EQ(set_cache_limit(old), 0u);
}

TEST(Allocator, MemoryLimitRoundTrip) {
  size_t old = set_memory_limit(1u << 30);
  EXPECT_EQ(get_memory_limit(), 1u << 30);
  EXPECT_EQ(set_memory_limit(old), 1u << 30);
}

TEST(Allocator, Alignment) {
  for (size_t n : {1u, 100u, 5000u, 1u << 21}) {
    auto b = allocator::malloc(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.ptr) % 64, 0u);
    EXPECT_GE(allocator::size_of(b), n);
    allocator::free(b);
  }
  EXPECT_EQ(allocator::malloc(0).ptr, nullptr);
}
