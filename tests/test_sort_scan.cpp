// Sort, ArgSort, Partition, ArgPartition and Scan through the C++ ops, against values worked
// out by hand or with std::stable_sort (the thorough sweeps are in python/tests/test_sort_scan.py).
#include <gtest/gtest.h>

#include "test_utils.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

using kiln::test::values;

}  // namespace

TEST(SortScan, SortNanLastBothPaths) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int n : {6, 600}) {  // comparison sort and radix sort
    std::vector<float> v(n);
    for (int i = 0; i < n; ++i) v[i] = (i % 3 == 0) ? nan : static_cast<float>((i * 7) % 11) - 5.0f;
    array a(v.begin(), {n});
    auto got = values<float>(sort(a));
    int nans = static_cast<int>(std::count_if(v.begin(), v.end(), [](float x) { return x != x; }));
    std::vector<float> finite;
    for (float x : v)
      if (x == x) finite.push_back(x);
    std::sort(finite.begin(), finite.end());
    for (int i = 0; i < n - nans; ++i) EXPECT_EQ(got[i], finite[i]) << n << " " << i;
    for (int i = n - nans; i < n; ++i) EXPECT_TRUE(std::isnan(got[i])) << n << " " << i;
  }
}

TEST(SortScan, ArgSortIsStable) {
  std::mt19937 rng(0);
  for (int n : {9, 1000}) {
    std::vector<int32_t> v(n);
    for (auto& x : v) x = static_cast<int32_t>(rng() % 5) - 2;
    std::vector<uint32_t> want(n);
    std::iota(want.begin(), want.end(), 0u);
    std::stable_sort(want.begin(), want.end(), [&](uint32_t i, uint32_t j) { return v[i] < v[j]; });
    array a(v.begin(), {n});
    EXPECT_EQ(values<uint32_t>(argsort(a)), want);
  }
}

TEST(SortScan, SortAlongAxisOfTransposedInput) {
  array m = transpose(reshape(array({5, 1, 4, 2, 6, 0}, int32), {2, 3}));  // shape (3, 2)
  EXPECT_EQ(values<int32_t>(sort(m, 0)), (std::vector<int32_t>{1, 0, 4, 2, 5, 6}));
  EXPECT_EQ(values<uint32_t>(argsort(m, 0)), (std::vector<uint32_t>{1, 2, 2, 0, 0, 1}));
}

TEST(SortScan, PartitionAndTopk) {
  array a({5, 1, 4, 2, 3, 9, 0}, int32);
  auto p = values<int32_t>(partition(a, 2));
  EXPECT_EQ(p[2], 2);
  for (int i = 0; i < 2; ++i) EXPECT_LE(p[i], 2);
  for (int i = 3; i < 7; ++i) EXPECT_GE(p[i], 2);
  auto t = values<int32_t>(topk(a, 3));
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<int32_t>{4, 5, 9}));
  EXPECT_EQ(topk(a, 0).size(), 0u);
  EXPECT_THROW(partition(a, 7), std::invalid_argument);
  EXPECT_THROW(argpartition(a, -8), std::invalid_argument);
  EXPECT_THROW(topk(a, 8), std::invalid_argument);
  EXPECT_THROW(sort(a, 1), std::out_of_range);
}

TEST(SortScan, ScanFlags) {
  array a({1.0f, 2.0f, 3.0f, 4.0f});
  EXPECT_EQ(values<float>(cumsum(a, 0)), (std::vector<float>{1, 3, 6, 10}));
  EXPECT_EQ(values<float>(cumsum(a, 0, true)), (std::vector<float>{10, 9, 7, 4}));
  EXPECT_EQ(values<float>(cumsum(a, 0, false, false)), (std::vector<float>{0, 1, 3, 6}));
  EXPECT_EQ(values<float>(cumprod(a, 0, true, false)), (std::vector<float>{24, 12, 4, 1}));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(values<float>(cummax(a, 0, true, false)), (std::vector<float>{4, 4, 4, -inf}));
  EXPECT_EQ(values<float>(cummin(a, 0, false, false)), (std::vector<float>{inf, 1, 1, 1}));
  auto l = values<float>(logcumsumexp(a, 0));
  EXPECT_NEAR(l[3], std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0)), 1e-5);
  EXPECT_EQ(cumsum(array({true, false}, bool_)).dtype(), int32);
  EXPECT_EQ(cumsum(array({1, 2}, int8)).dtype(), int8);
  EXPECT_EQ(logcumsumexp(array({1, 2}, int32)).dtype(), float32);
  EXPECT_THROW(cumsum(a, 1), std::out_of_range);
}

TEST(SortScan, ScanAlongColumns) {
  // (2, 3) scanned along axis 0 walks contiguous lanes; check it against the row result of the transpose.
  array m = reshape(array({1, 2, 3, 4, 5, 6}, int64), {2, 3});
  EXPECT_EQ(values<int64_t>(cumsum(m, 0)), (std::vector<int64_t>{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(values<int64_t>(cumsum(transpose(m), 1)), (std::vector<int64_t>{1, 5, 2, 7, 3, 9}));
}
