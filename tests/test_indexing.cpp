// Gather, Scatter and SliceUpdate through their ops: values written out by hand, wrapping of
// negative indices, clamping/skipping of out-of-range ones, duplicates, strided inputs, errors.
#include <gtest/gtest.h>

#include "test_utils.h"

#include <vector>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

using kiln::test::values;

array iota(int n, Shape shape) { return reshape(arange(0, n), std::move(shape)); }

}  // namespace

TEST(Indexing, TakeAxisAndWrap) {
  array a = iota(12, {3, 4});
  array t = take(a, array({2, -3}), 0);
  EXPECT_EQ(t.shape(), (Shape{2, 4}));
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{8, 9, 10, 11, 0, 1, 2, 3}));
  array u = take(a, array({-1, 0}), 1);
  EXPECT_EQ(u.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<int32_t>(u), (std::vector<int32_t>{3, 0, 7, 4, 11, 8}));
  EXPECT_EQ(values<int32_t>(take(a, 5)), (std::vector<int32_t>{5}));
}

TEST(Indexing, GatherClampsOutOfRange) {
  array a = arange(0, 5);
  EXPECT_EQ(values<int32_t>(take(a, array({9, -9}), 0)), (std::vector<int32_t>{4, 0}));
}

TEST(Indexing, GatherStridedInput) {
  array a = transpose(iota(6, {2, 3}));  // [[0,3],[1,4],[2,5]]
  array g = gather(a, {array({2, 0}), array({1, 0})}, {0, 1}, {1, 1});
  EXPECT_EQ(g.shape(), (Shape{2, 1, 1}));
  EXPECT_EQ(values<int32_t>(g), (std::vector<int32_t>{5, 0}));
}

TEST(Indexing, TakeAlongAxis) {
  array a = iota(6, {2, 3});
  std::vector<int32_t> idx = {2, 0, 1, 1};
  array i(idx.begin(), Shape{2, 2});
  EXPECT_EQ(values<int32_t>(take_along_axis(a, i, 1)), (std::vector<int32_t>{2, 0, 4, 4}));
}

TEST(Indexing, ScatterAddAccumulatesDuplicates) {
  array a = zeros({4}, float32);
  std::vector<int32_t> idx = {1, 1, 3, -1, 7};
  array i(idx.begin(), Shape{5});
  array upd = ones({5, 1}, float32);
  EXPECT_EQ(values<float>(scatter_add(a, {i}, upd, {0})), (std::vector<float>{0, 2, 0, 2}));
  EXPECT_EQ(values<float>(scatter(a, {i}, upd * 3.0f, {0})), (std::vector<float>{0, 3, 0, 3}));
  EXPECT_EQ(values<float>(scatter_max(full({4}, 2.0f), {i}, upd * 5.0f, {0})), (std::vector<float>{2, 5, 2, 5}));
  EXPECT_EQ(values<float>(scatter_prod(full({4}, 2.0f), {i}, upd * 3.0f, {0})), (std::vector<float>{2, 18, 2, 18}));
}

TEST(Indexing, ScatterRows) {
  array a = zeros({3, 2}, int32);
  array upd = reshape(arange(0, 4), {2, 1, 2});
  std::vector<int32_t> idx = {2, 0};
  array i(idx.begin(), Shape{2});
  EXPECT_EQ(values<int32_t>(scatter(a, {i}, upd, {0})), (std::vector<int32_t>{2, 3, 0, 0, 0, 1}));
}

TEST(Indexing, PutAlongAxis) {
  array a = zeros({2, 3}, float32);
  std::vector<int32_t> idx = {0, 2};
  array i(idx.begin(), Shape{2, 1});
  EXPECT_EQ(values<float>(put_along_axis(a, i, array(1.0f), 1)), (std::vector<float>{1, 0, 0, 0, 0, 1}));
}

TEST(Indexing, SliceUpdate) {
  array a = zeros({3, 4}, int32);
  array r = slice_update(a, array(7), {1, 0}, {3, 4}, {1, 2});
  EXPECT_EQ(values<int32_t>(r), (std::vector<int32_t>{0, 0, 0, 0, 7, 0, 7, 0, 7, 0, 7, 0}));
  // A negative step writes the update in reverse order.
  array b = slice_update(zeros({4}, int32), arange(1, 4), {3}, {0}, {-1});
  EXPECT_EQ(values<int32_t>(b), (std::vector<int32_t>{0, 3, 2, 1}));
  // The input is unchanged.
  EXPECT_EQ(values<int32_t>(a), std::vector<int32_t>(12, 0));
}

TEST(Indexing, Errors) {
  array a = zeros({2, 3});
  EXPECT_THROW(take(a, array({0.5f}), 0), std::invalid_argument);
  EXPECT_THROW(take(a, array({0}), 2), std::out_of_range);
  EXPECT_THROW(gather(a, {array({0})}, {0}, {3, 3}), std::invalid_argument);
  EXPECT_THROW(scatter(a, {array({0})}, zeros({1, 1}), {0}), std::invalid_argument);
  EXPECT_THROW(slice_update(a, zeros({2}), {0, 0}, {2, 3}), std::invalid_argument);
  EXPECT_THROW(take(zeros({0, 3}), array({0}), 0), std::invalid_argument);
}

TEST(Indexing, WideSlicesStayInBounds) {
  // Slices of two elements starting at the last index: clamped (gather) or skipped (scatter).
  array a = arange(0, 5);
  std::vector<int32_t> idx = {4, 1};
  array i(idx.begin(), Shape{2});
  EXPECT_EQ(values<int32_t>(gather(a, i, 0, {2})), (std::vector<int32_t>{3, 4, 1, 2}));
  array upd = full({2, 2}, 9);
  EXPECT_EQ(values<int32_t>(scatter(a, {i}, upd, {0})), (std::vector<int32_t>{0, 9, 9, 3, 4}));
}
