// unique, view, depends, dynamic slices, float8 and thread-local streams through the C++ API,
// against values worked out by hand (the sweeps are in python/tests/test_api_misc.py).
#include <gtest/gtest.h>

#include "test_utils.h"

#include <cmath>
#include <thread>
#include <vector>

#include "kiln/kiln.h"

using namespace kiln;
using kiln::test::values;

TEST(ApiMisc, UniquePadsAndTruncates) {
  array a({2, 1, 2, 3, 1});
  auto r = unique(a, 4, array(0));
  EXPECT_EQ(values<int32_t>(r[0]), (std::vector<int32_t>{1, 2, 3, 0}));
  EXPECT_EQ(values<uint32_t>(r[1]), (std::vector<uint32_t>{1, 0, 3, 1}));
  EXPECT_EQ(values<uint32_t>(r[2]), (std::vector<uint32_t>{1, 0, 1, 2, 0}));
  EXPECT_EQ(values<int32_t>(r[3]), (std::vector<int32_t>{2, 2, 1, 0}));
  r = unique(a, 2);  // keeps the 2 smallest; 3's inverse is clamped to the last entry
  EXPECT_EQ(values<int32_t>(r[0]), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(values<uint32_t>(r[2]), (std::vector<uint32_t>{1, 0, 1, 1, 0}));
  EXPECT_THROW(unique(a, -1), std::invalid_argument);
}

TEST(ApiMisc, ViewReinterpretsBytes) {
  array a(std::vector<uint8_t>{1, 0, 2, 0, 3, 0, 4, 1}.begin(), {2, 4}, uint8);
  array v = view(a, uint16);
  EXPECT_EQ(v.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<uint16_t>(v), (std::vector<uint16_t>{1, 2, 3, 260}));
  EXPECT_EQ(values<uint8_t>(view(transpose(v), uint8)), (std::vector<uint8_t>{1, 0, 3, 0, 2, 0, 4, 1}));
  EXPECT_EQ(view(v, uint8).shape(), (Shape{2, 4}));
  EXPECT_THROW(view(array(1.0f), uint8), std::invalid_argument);
  EXPECT_THROW(view(a, uint64), std::invalid_argument);
}

TEST(ApiMisc, DependsSharesBuffers) {
  array x = array({1.0f, 2.0f}) + 1.0f;
  array d = arange(4) * 2;
  auto y = depends({x}, {d});
  eval(y[0]);
  EXPECT_TRUE(d.is_evaluated());
  EXPECT_EQ(y[0].data<float>(), x.data<float>());
}

TEST(ApiMisc, DynamicSliceClampsStarts) {
  array a = reshape(arange(20), {4, 5});
  EXPECT_EQ(values<int32_t>(dynamic_slice(a, array({1, 2}), {0, 1}, {2, 2})), (std::vector<int32_t>{7, 8, 12, 13}));
  EXPECT_EQ(values<int32_t>(dynamic_slice(a, array(9), {0}, {1, 2})), (std::vector<int32_t>{15, 16}));
  EXPECT_EQ(values<int32_t>(dynamic_slice(a, array(-1), {1}, {1, 2})), (std::vector<int32_t>{3, 4}));
  array u = dynamic_slice_update(zeros({2, 3}, int32), array({7, 8}), array(1), {0});
  EXPECT_EQ(values<int32_t>(u), (std::vector<int32_t>{0, 0, 0, 7, 8, 0}));
  EXPECT_THROW(dynamic_slice(a, array(1.0f), {0}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(dynamic_slice(a, array(1), {2}, {1, 2}), std::out_of_range);
}

TEST(ApiMisc, Fp8RoundTrip) {
  array x({0.0f, 1.0f, 1.0625f, 1.1875f, -3.3f, 448.0f, 1000.0f, NAN, 0.0009765625f});
  EXPECT_EQ(values<uint8_t>(to_fp8(x)), (std::vector<uint8_t>{0, 56, 56, 58, 197, 126, 126, 126, 0}));
  auto back = values<float>(from_fp8(to_fp8(x), float32));
  EXPECT_EQ(back[3], 1.25f);
  EXPECT_EQ(back[4], -3.25f);
  EXPECT_TRUE(std::isnan(values<float>(from_fp8(array(std::vector<uint8_t>{0x7f}.begin(), {1}, uint8), float32))[0]));
  EXPECT_THROW(to_fp8(array({1, 2})), std::invalid_argument);
}

TEST(ApiMisc, ThreadLocalStreams) {
  auto t = new_thread_local_stream(Device(Device::cpu));
  Stream mine = t.get();
  EXPECT_EQ(t.get(), mine);
  int other = -1;
  std::thread th([&] { other = t.get().index; });
  th.join();
  EXPECT_NE(other, mine.index);
  clear_streams();
  EXPECT_NE(t.get(), mine);
  EXPECT_EQ(values<int32_t>(add(array(1), array(2), t.get()))[0], 3);
}
