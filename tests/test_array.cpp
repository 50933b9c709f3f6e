// The array handle: construction, metadata, views sharing buffers, detach, donation.
#include <gtest/gtest.h>

#include "kiln/kiln.h"

using namespace kiln;

TEST(Array, ScalarAndListConstruction) {
  array s(3.5f);
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(s.is_evaluated());
  EXPECT_EQ(s.item<float>(), 3.5f);
  array v({1, 2, 3});
  EXPECT_EQ(v.dtype(), int32);
  EXPECT_EQ(v.shape(), Shape{3});
  EXPECT_EQ(v.nbytes(), 12u);
  std::vector<double> d = {1, 2, 3, 4, 5, 6};
  array m(d.begin(), {2, 3}, float32);
  EXPECT_EQ(m.shape(1), 3);
  EXPECT_EQ(m.shape(-2), 2);
  EXPECT_EQ(m.strides(), (Strides{3, 1}));
  EXPECT_EQ(m.data<float>()[5], 6.0f);
  EXPECT_THROW(m.shape(2), std::out_of_range);
}

TEST(Array, ItemConvertsAndChecksSize) {
  array b(true);
  EXPECT_EQ(b.item<int>(), 1);
  array v({1.5f, 2.5f});
  EXPECT_THROW(v.item<float>(), std::invalid_argument);
}

TEST(Array, ViewsShareTheBuffer) {
  std::vector<float> d(24);
  for (int i = 0; i < 24; ++i) d[i] = static_cast<float>(i);
  array a(d.begin(), {2, 3, 4}, float32);
  array t = transpose(a, {2, 0, 1});
  array r = reshape(a, {6, 4});
  array sl = slice(a, {0, 1, 0}, {2, 3, 4}, {1, 1, 2});
  array b = broadcast_to(array({1.0f, 2.0f, 3.0f, 4.0f}), {5, 4});
  eval(t, r, sl, b);
  for (auto* x : {&t, &r, &sl}) EXPECT_EQ(x->data_shared_count(), a.data_shared_count());
  EXPECT_EQ(t.buffer().ptr, a.buffer().ptr);
  EXPECT_EQ(t.strides(), (Strides{1, 12, 4}));
  EXPECT_FALSE(t.flags().row_contiguous);
  EXPECT_TRUE(t.flags().contiguous);
  EXPECT_EQ(sl.strides(), (Strides{12, 4, 2}));
  EXPECT_EQ(*sl.data<float>(), 4.0f);
  EXPECT_EQ(b.strides(), (Strides{0, 1}));
  EXPECT_EQ(b.data_size(), 4u);
}

TEST(Array, ReshapeOfNonContiguousCopiesOnlyWhenNeeded) {
  array a = reshape(arange(12), {3, 4});
  array t = transpose(a);              // (4, 3), strides (1, 4)
  array v = reshape(t, {4, 3, 1});     // still a view
  array c = reshape(t, {12});          // needs a copy
  eval(v, c);
  EXPECT_EQ(v.buffer().ptr, a.buffer().ptr);
  EXPECT_NE(c.buffer().ptr, a.buffer().ptr);
  std::vector<int> expect = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(c.data<int32_t>()[i], expect[i]);
}

TEST(Array, DetachAfterEval) {
  array a = ones({3});
  array b = a * 2.0f;
  EXPECT_TRUE(b.has_primitive());
  EXPECT_EQ(b.inputs().size(), 2u);
  b.eval();
  EXPECT_FALSE(b.has_primitive());
  EXPECT_TRUE(b.inputs().empty());
}

TEST(Array, DonationReusesTheInputBuffer) {
  // exp(x + 1) where x + 1 is used only once: the exp output can take over its buffer.
  array x = ones({1 << 16});
  array y = exp(x + 1.0f);
  eval(y);
  size_t active = get_active_memory();
  // x (256 KiB) and y (256 KiB) live; the temporary x + 1 was donated to y, not kept.
  EXPECT_LE(active, 2 * (1u << 18) + 4096);
  EXPECT_NEAR(y.data<float>()[7], std::exp(2.0f), 1e-5);
}

TEST(Array, MultiOutputSiblings) {
  array a = arange(10);
  auto parts = split(a, Shape{3, 7});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].siblings().size(), 2u);
  eval(parts[2]);
  EXPECT_TRUE(parts[0].is_evaluated());  // siblings are computed together
  EXPECT_EQ(parts[1].shape(), Shape{4});
  EXPECT_EQ(parts[1].data<int32_t>()[0], 3);
  EXPECT_EQ(parts[2].data<int32_t>()[2], 9);
}

TEST(Array, ShapeErrorsNameTheOp) {
  array a = ones({2, 3});
  try {
    reshape(a, {4});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "[reshape] Cannot reshape array of size 6 into shape (4,).");
  }
  EXPECT_THROW(transpose(a, {0, 0}), std::invalid_argument);
  EXPECT_THROW(sum(a, 2), std::out_of_range);
  EXPECT_THROW(a + ones({4}), std::invalid_argument);
  EXPECT_THROW(matmul(a, a), std::invalid_argument);
}
