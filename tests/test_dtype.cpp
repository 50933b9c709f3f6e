// dtype sizes, categories and MLX's promotion table.
#include <gtest/gtest.h>

#include "kiln/kiln.h"

using namespace kiln;

TEST(Dtype, Sizes) {
  EXPECT_EQ(size_of(bool_), 1u);
  EXPECT_EQ(size_of(int16), 2u);
  EXPECT_EQ(size_of(bfloat16), 2u);
  EXPECT_EQ(size_of(float64), 8u);
  EXPECT_EQ(size_of(complex64), 8u);
  EXPECT_EQ(sizeof(bfloat16_t), 2u);
  EXPECT_EQ(sizeof(float16_t), 2u);
}

TEST(Dtype, PromotionFollowsMlx) {
  EXPECT_EQ(promote_types(uint8, int8), int16);
  EXPECT_EQ(promote_types(uint16, int8), int32);
  EXPECT_EQ(promote_types(uint32, int32), int64);
  EXPECT_EQ(promote_types(uint64, int8), float32);  // MLX, not NumPy's float64
  EXPECT_EQ(promote_types(int64, float16), float16);
  EXPECT_EQ(promote_types(float16, bfloat16), float32);
  EXPECT_EQ(promote_types(bool_, bool_), bool_);
  EXPECT_EQ(promote_types(bool_, uint8), uint8);
  EXPECT_EQ(promote_types(float32, float64), float64);
  EXPECT_EQ(promote_types(float64, complex64), complex64);
  // Symmetric for every pair.
  for (auto a : all_dtypes) {
    for (auto b : all_dtypes) EXPECT_EQ(promote_types(a, b), promote_types(b, a)) << a << " " << b;
  }
}

TEST(Dtype, Categories) {
  EXPECT_TRUE(issubdtype(float16, floating));
  EXPECT_TRUE(issubdtype(bfloat16, inexact));
  EXPECT_TRUE(issubdtype(complex64, complexfloating));
  EXPECT_FALSE(issubdtype(complex64, floating));
  EXPECT_TRUE(issubdtype(uint32, unsignedinteger));
  EXPECT_TRUE(issubdtype(int8, integer));
  EXPECT_FALSE(issubdtype(int8, unsignedinteger));
  EXPECT_TRUE(issubdtype(int8, number));
  EXPECT_FALSE(issubdtype(bool_, number));
  EXPECT_TRUE(issubdtype(bool_, generic));
  EXPECT_TRUE(issubdtype(floating, inexact));
  EXPECT_FALSE(issubdtype(inexact, floating));
}

TEST(Dtype, Bfloat16RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(bfloat16_t(1.0f)), 1.0f);
  // 1 + 2^-8 is exactly between two bfloat16 values: ties go to the even one (1.0).
  EXPECT_EQ(static_cast<float>(bfloat16_t(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(static_cast<float>(bfloat16_t(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16_t(std::nanf("")))));
}

TEST(Dtype, WeakScalars) {
  array h = ones({2}, float16);
  EXPECT_EQ((h * 2.5).dtype(), float16);
  array i = ones({2}, int32);
  EXPECT_EQ((i * 2.5).dtype(), float32);
  array u = ones({2}, uint8);
  EXPECT_EQ((u + 1).dtype(), uint8);
  EXPECT_EQ((u + ones({2}, int8)).dtype(), int16);
}

TEST(Dtype, Names) {
  std::ostringstream os;
  os << bfloat16 << " " << bool_;
  EXPECT_EQ(os.str(), "bfloat16 bool");
}
