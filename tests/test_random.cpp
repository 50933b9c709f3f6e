// kiln/random.h: the Threefry block function against its published known answers, keys,
// splitting and the layout of RandomBits for every width.
#include <gtest/gtest.h>

#include "kiln/backend/common/threefry.h"
#include "kiln/kiln.h"
#include "kiln/random.h"

using namespace kiln;

TEST(Random, ThreefryKnownAnswers) {
  // Random123's known-answer vectors for threefry2x32 with 20 rounds: (counter, key) -> output.
  auto a = detail::threefry2x32(0, 0, 0, 0);
  EXPECT_EQ(a.x0, 0x6b200159u);
  EXPECT_EQ(a.x1, 0x99ba4efeu);
  auto b = detail::threefry2x32(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(b.x0, 0x1cb996fcu);
  EXPECT_EQ(b.x1, 0xbb002be7u);
  auto c = detail::threefry2x32(0x13198a2eu, 0x03707344u, 0x243f6a88u, 0x85a308d3u);
  EXPECT_EQ(c.x0, 0xc4923a9cu);
  EXPECT_EQ(c.x1, 0x483df7a0u);
}

TEST(Random, KeyAndSplit) {
  array k = random::key((uint64_t{7} << 32) | 9);
  ASSERT_EQ(k.shape(), Shape{2});
  EXPECT_EQ(k.dtype(), uint32);
  EXPECT_EQ(k.data<uint32_t>()[0], 7u);
  EXPECT_EQ(k.data<uint32_t>()[1], 9u);
  array ks = random::split(k, 3);
  ks.eval();
  ASSERT_EQ(ks.shape(), (Shape{3, 2}));
  for (uint32_t j = 0; j < 3; ++j) {
    auto y = detail::threefry2x32(7, 9, j, 0);
    EXPECT_EQ(ks.data<uint32_t>()[2 * j], y.x0);
    EXPECT_EQ(ks.data<uint32_t>()[2 * j + 1], y.x1);
  }
  auto [k1, k2] = random::split(k);
  EXPECT_EQ(k1.shape(), Shape{2});
  EXPECT_EQ(k2.shape(), Shape{2});
}

TEST(Random, BitsWidthsReadOneStream) {
  array k = random::key(42);
  array w = random::bits({4}, 4, k);
  array h = random::bits({8}, 2, k);
  array b = random::bits({15}, 1, k);
  w.eval();
  h.eval();
  b.eval();
  EXPECT_EQ(h.dtype(), uint16);
  EXPECT_EQ(b.dtype(), uint8);
  for (int i = 0; i < 8; ++i) {
    uint32_t word = w.data<uint32_t>()[i / 2];
    EXPECT_EQ(h.data<uint16_t>()[i], static_cast<uint16_t>(word >> (16 * (i % 2))));
  }
  for (int i = 0; i < 15; ++i) {
    uint32_t word = w.data<uint32_t>()[i / 4];
    EXPECT_EQ(b.data<uint8_t>()[i], static_cast<uint8_t>(word >> (8 * (i % 4))));
  }
}

TEST(Random, BitsMatchTheScalarBlockFunction) {
  // Long enough for the CPU kernel's vectorized lanes, odd so the last block is partial.
  const int n = 2 * 1000 + 1;
  array w = random::bits({n}, 4, random::key(0x123456789abcdefull));
  w.eval();
  for (int i = 0; i < n; ++i) {
    auto y = detail::threefry2x32(0x1234567u, 0x89abcdefu, static_cast<uint32_t>(i / 2), 0);
    ASSERT_EQ(w.data<uint32_t>()[i], i % 2 ? y.x1 : y.x0) << "element " << i;
  }
  array b = random::bits({4 * 1000 + 3}, 2, random::key(1));
  b.eval();
  for (int i = 0; i < 4 * 1000 + 3; ++i) {
    auto y = detail::threefry2x32(0, 1, static_cast<uint32_t>(i / 4), 0);
    uint64_t v = (static_cast<uint64_t>(y.x1) << 32) | y.x0;
    ASSERT_EQ(b.data<uint16_t>()[i], static_cast<uint16_t>(v >> (16 * (i % 4)))) << "element " << i;
  }
}

TEST(Random, GlobalStateAdvancesLikeSplit) {
  random::seed(5);
  array a = random::next_key();
  array ks = random::split(random::key(5), 2);
  ks.eval();
  EXPECT_EQ(a.data<uint32_t>()[0], ks.data<uint32_t>()[2]);
  EXPECT_EQ(a.data<uint32_t>()[1], ks.data<uint32_t>()[3]);
  array b = random::next_key();
  EXPECT_NE(a.data<uint32_t>()[0], b.data<uint32_t>()[0]);
}

TEST(Random, Errors) {
  EXPECT_THROW(random::bits({2}, 3), std::invalid_argument);
  EXPECT_THROW(random::bits({-1}), std::invalid_argument);
  EXPECT_THROW(random::uniform({2}, float32, zeros({3}, uint32)), std::invalid_argument);
  EXPECT_THROW(random::uniform({2}, int32), std::invalid_argument);
  EXPECT_THROW(random::categorical(zeros({2, 3}), 2), std::out_of_range);
}
