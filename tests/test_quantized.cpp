// kiln/quantized.h from C++: packing known by hand, the products against the dequantized matrix,
// and the argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

std::vector<float> fvalues(array x) {
  x = copy(astype(x, float32));
  eval(x);
  return std::vector<float>(x.data<float>(), x.data<float>() + x.size());
}

}  // namespace

TEST(Quantized, AffinePackingKnownByHand) {
  // One group of 32 values 0..31 with 8 bits. The edge of larger magnitude (31) becomes the
  // bias and the scale is negative, -31/255: code 0 is 31 exactly and code 255 is 0.
  std::vector<float> v(32);
  for (int i = 0; i < 32; ++i) v[i] = static_cast<float>(i);
  array w(v.data(), {1, 32}, float32);
  auto q = quantize(w, 32, 8);
  ASSERT_EQ(q.size(), 3u);
  eval(q);
  EXPECT_EQ(q[0].shape(), (Shape{1, 8}));
  EXPECT_EQ(fvalues(q[2])[0], 31.0f);
  EXPECT_NEAR(fvalues(q[1])[0], -31.0f / 255.0f, 1e-7f);
  // the code of element i sits in byte i of the row
  const uint32_t* words = q[0].data<uint32_t>();
  EXPECT_EQ(words[0] & 0xff, 255u);
  EXPECT_EQ(words[7] >> 24, 0u);
  auto d = fvalues(dequantize(q[0], q[1], q[2], 32, 8));
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(d[i], v[i], 0.07f);
}

TEST(Quantized, MatmulMatchesDequantizedProduct) {
  std::vector<float> wv(16 * 64), xv(3 * 64);
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::cos(0.11f * static_cast<float>(i));
  array w(wv.data(), {16, 64}, float32), x(xv.data(), {3, 64}, float32);
  for (const char* mode : {"affine", "mxfp4", "mxfp8", "nvfp4"}) {
    auto q = quantize(w, std::nullopt, std::nullopt, mode);
    std::optional<array> b;
    if (q.size() > 2) b = q[2];
    array wd = dequantize(q[0], q[1], b, std::nullopt, std::nullopt, mode, std::nullopt, float32);
    auto got = fvalues(quantized_matmul(x, q[0], q[1], b, true, std::nullopt, std::nullopt, mode));
    auto want = fvalues(matmul(x, transpose(wd)));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3f) << mode << " at " << i;
  }
}

TEST(Quantized, BadArgumentsThrow) {
  array w = ones({4, 64});
  EXPECT_THROW(quantize(w, 16), std::invalid_argument);
  EXPECT_THROW(quantize(w, 64, 7), std::invalid_argument);
  EXPECT_THROW(quantize(w, std::nullopt, std::nullopt, "int4"), std::invalid_argument);
  EXPECT_THROW(quantize(ones({64})), std::invalid_argument);
  auto q = quantize(w);
  EXPECT_THROW(quantized_matmul(ones({2, 32}), q[0], q[1], q[2]), std::invalid_argument);
  EXPECT_THROW(quantized_matmul(ones({2, 64}), q[0], q[1]), std::invalid_argument);
}
