// CPU kernels of Reduce, ArgReduce, Softmax, LogSumExp and Matmul, against plain-loop
// references computed here in double (or wrapping 64-bit integers), on every dtype and on
// contiguous, transposed, reversed, strided and broadcast inputs.
#include <gtest/gtest.h>

#include "test_utils.h"

#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/primitives.h"

using namespace kiln;

namespace {

// ---------------------------------------------------------------- helpers

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

using kiln::test::values;
using kiln::test::Vec;

template <typename T>
double to_d(T v) {
  if constexpr (std::is_same_v<T, complex64_t>) {
    return v.real();
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return static_cast<float>(v);
  } else {
    return static_cast<double>(v);
  }
}

std::mt19937& rng() {
  static std::mt19937 g(1234);
  return g;
}

// Random values of type T: floats in [lo, hi), integers in [lo, hi].
template <typename T>
Vec<T> random_values(int64_t n, double lo, double hi) {
  Vec<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_same_v<T, bool>) {
      x = std::uniform_int_distribution<int>(0, 1)(rng()) != 0;
    } else if constexpr (std::is_integral_v<T>) {
      x = static_cast<T>(std::uniform_int_distribution<int64_t>(static_cast<int64_t>(lo), static_cast<int64_t>(hi))(rng()));
    } else if constexpr (std::is_same_v<T, complex64_t>) {
      std::uniform_real_distribution<float> u(lo, hi);
      x = complex64_t(u(rng()), u(rng()));
    } else {
      x = static_cast<T>(std::uniform_real_distribution<float>(static_cast<float>(lo), static_cast<float>(hi))(rng()));
    }
  }
  return v;
}

enum class Layout { contiguous, transposed, reversed, strided, broadcast };
const Layout kLayouts[] = {Layout::contiguous, Layout::transposed, Layout::reversed, Layout::strided, Layout::broadcast};

std::string layout_name(Layout l) {
  switch (l) {
    case Layout::contiguous: return "contiguous";
    case Layout::transposed: return "transposed";
    case Layout::reversed: return "reversed";
    case Layout::strided: return "strided";
    case Layout::broadcast: return "broadcast";
  }
  return "?";
}

// An array of logical `shape` with the given memory layout, filled from `gen(n)`.
template <typename T, typename Gen>
array make_input(const Shape& shape, Layout layout, Gen gen) {
  int nd = static_cast<int>(shape.size());
  switch (layout) {
    case Layout::contiguous: {
      auto v = gen(numel(shape));
      return array(v.begin(), shape, TypeToDtype<T>::value);
    }
    case Layout::transposed: {
      Shape rev(shape.rbegin(), shape.rend());
      auto v = gen(numel(rev));
      array base(v.begin(), rev, TypeToDtype<T>::value);
      return transpose(base);
    }
    case Layout::reversed: {
      auto v = gen(numel(shape));
      array base(v.begin(), shape, TypeToDtype<T>::value);
      Shape start(nd, -1), stop(nd), steps(nd, -1);
      for (int i = 0; i < nd; ++i) stop[i] = -shape[i] - 1;
      return slice(base, start, stop, steps);
    }
    case Layout::strided: {
      Shape big = shape;
      for (auto& d : big) d = 2 * d + 1;
      auto v = gen(numel(big));
      array base(v.begin(), big, TypeToDtype<T>::value);
      Shape start(nd, 1), stop = big, steps(nd, 2);
      return slice(base, start, stop, steps);
    }
    case Layout::broadcast: {
      // Broadcast along every other dimension (size-1 source dims).
      Shape small = shape;
      for (int i = 0; i < nd; i += 2) small[i] = 1;
      auto v = gen(numel(small));
      array base(v.begin(), small, TypeToDtype<T>::value);
      return broadcast_to(base, shape);
    }
  }
  return array();
}

array reduce_node(const array& x, Reduce::ReduceType type, std::vector<int> axes) {
  Shape s = x.shape();
  for (int a : axes) s[a] = 1;
  return array(s, x.dtype(), std::make_shared<Reduce>(to_stream({}), type, axes), {x});
}

// Index of the output element (reduced dims kept as 1) that input element `i` goes to.
int64_t out_index(int64_t i, const Shape& shape, const std::vector<bool>& red) {
  int64_t o = 0, mul = 1;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    int64_t c = i % shape[d];
    i /= shape[d];
    if (!red[d]) {
      o += c * mul;
      mul *= shape[d];
    }
  }
  return o;
}

std::string describe(const Shape& shape, const std::vector<int>& axes, Layout l, Dtype t) {
  std::ostringstream os;
  os << dtype_name(t) << " shape " << shape << " axes {";
  for (int a : axes) os << a << ",";
  os << "} " << layout_name(l);
  return os.str();
}

// ---------------------------------------------------------------- Reduce

// Floating and integer reductions against a double (float) or wrapping uint64 (int) reference.
template <typename T>
void check_reduce(Reduce::ReduceType type, const Shape& shape, const std::vector<int>& axes, Layout layout) {
  double lo = -3, hi = 3;
  if constexpr (std::is_unsigned_v<T>) lo = 0;
  if (type == Reduce::Prod) {
    if constexpr (std::is_integral_v<T>) {
      lo = -2;
      hi = 2;
    } else {
      lo = 0.6;
      hi = 1.5;
    }
  }
  int64_t red_size = 1;
  for (int a : axes) red_size *= shape[a];
  // Long float products leave the range of every type.
  if (type == Reduce::Prod && !std::is_integral_v<T> && red_size > 2000) return;
  array x = make_input<T>(shape, layout, [&](int64_t n) { return random_values<T>(n, lo, hi); });
  auto in = values<T>(x);
  array y = reduce_node(x, type, axes);
  auto got = values<T>(y);
  std::vector<bool> red(shape.size(), false);
  int64_t n_red = 1;
  for (int a : axes) {
    red[a] = true;
    n_red *= shape[a];
  }
  int64_t n_out = y.size();
  ASSERT_EQ(static_cast<int64_t>(got.size()), n_out);
  std::string what = describe(shape, axes, layout, x.dtype()) + " type " + std::to_string(type);
  if constexpr (std::is_integral_v<T>) {
    std::vector<uint64_t> acc(n_out, type == Reduce::Prod ? 1 : 0);
    std::vector<T> ext(n_out, type == Reduce::Min ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest());
    for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
      int64_t o = out_index(i, shape, red);
      uint64_t v = static_cast<uint64_t>(static_cast<int64_t>(in[i]));
      if (type == Reduce::Sum) acc[o] += v;
      if (type == Reduce::Prod) acc[o] *= v;
      if (type == Reduce::Min) ext[o] = std::min(ext[o], in[i]);
      if (type == Reduce::Max) ext[o] = std::max(ext[o], in[i]);
    }
    for (int64_t o = 0; o < n_out; ++o) {
      T want = (type == Reduce::Sum || type == Reduce::Prod) ? static_cast<T>(acc[o]) : ext[o];
      ASSERT_EQ(got[o], want) << what << " at " << o;
    }
  } else {
    std::vector<double> acc(n_out, type == Reduce::Prod ? 1.0 : 0.0), mag(n_out, 0.0);
    if (type == Reduce::Min) std::fill(acc.begin(), acc.end(), INFINITY);
    if (type == Reduce::Max) std::fill(acc.begin(), acc.end(), -INFINITY);
    for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
      int64_t o = out_index(i, shape, red);
      double v = to_d(in[i]);
      if (type == Reduce::Sum) acc[o] += v;
      if (type == Reduce::Prod) acc[o] *= v;
      if (type == Reduce::Min) acc[o] = std::min(acc[o], v);
      if (type == Reduce::Max) acc[o] = std::max(acc[o], v);
      mag[o] += std::abs(v);
    }
    double eps = std::is_same_v<T, double> ? 1e-13 : std::is_same_v<T, float> ? 4e-6 : std::is_same_v<T, float16_t> ? 2e-3 : 1e-2;
    for (int64_t o = 0; o < n_out; ++o) {
      double g = to_d(got[o]);
      if (std::isinf(to_d(static_cast<T>(acc[o])))) {
        ASSERT_EQ(g, to_d(static_cast<T>(acc[o]))) << what << " at " << o << " (out of range)";
      } else if (type == Reduce::Min || type == Reduce::Max) {
        ASSERT_EQ(g, acc[o]) << what << " at " << o;
      } else if (type == Reduce::Sum) {
        ASSERT_NEAR(g, acc[o], eps * (mag[o] + 1)) << what << " at " << o;
      } else {
        ASSERT_NEAR(g, acc[o], (4 + n_red) * eps * std::abs(acc[o]) + 1e-30) << what << " at " << o;
      }
    }
  }
}

struct AxesCase {
  Shape shape;
  std::vector<int> axes;
};

// All axes, leading, trailing, middle, several non-adjacent; small and large (threaded).
std::vector<AxesCase> axes_cases() {
  return {
      {{7}, {0}},
      {{5, 6, 7}, {0, 1, 2}},
      {{5, 6, 7}, {0}},
      {{5, 6, 7}, {0, 1}},
      {{5, 6, 7}, {2}},
      {{5, 6, 7}, {1, 2}},
      {{5, 6, 7}, {1}},
      {{4, 3, 5, 6}, {0, 2}},
      {{4, 3, 5, 6}, {1, 3}},
      {{3, 1, 40}, {1}},
      {{70, 33}, {0}},
      {{33, 70}, {1}},
      {{300, 700}, {1}},   // threaded row reduce
      {{700, 300}, {0}},   // threaded column reduce
      {{3, 90000}, {1}},   // few long rows: split reductions
      {{90000, 3}, {0}},   // few tall columns: split reductions
      {{200000}, {0}},
      {{64, 50, 40}, {0, 2}},
  };
}

template <typename T>
void check_all_reduce(std::initializer_list<Reduce::ReduceType> types) {
  for (auto type : types) {
    for (auto& c : axes_cases()) {
      for (Layout l : kLayouts) check_reduce<T>(type, c.shape, c.axes, l);
    }
  }
}

}  // namespace

TEST(Reduce, Float32) { check_all_reduce<float>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max}); }
TEST(Reduce, Float64) { check_all_reduce<double>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max}); }
TEST(Reduce, Float16) { check_all_reduce<float16_t>({Reduce::Sum, Reduce::Min, Reduce::Max}); }
TEST(Reduce, BFloat16) { check_all_reduce<bfloat16_t>({Reduce::Sum, Reduce::Min, Reduce::Max}); }
TEST(Reduce, Int32) { check_all_reduce<int32_t>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max}); }
TEST(Reduce, UInt32) { check_all_reduce<uint32_t>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max}); }
TEST(Reduce, Int64) { check_all_reduce<int64_t>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max}); }
TEST(Reduce, SmallInts) {
  check_all_reduce<int8_t>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max});
  check_all_reduce<uint16_t>({Reduce::Sum, Reduce::Prod, Reduce::Min, Reduce::Max});
}

TEST(Reduce, IntegerWraparound) {
  array x({2147483647, 1, 2147483647}, int32);
  EXPECT_EQ(sum(x).item<int32_t>(), static_cast<int32_t>(2147483647u + 1u + 2147483647u));
  array u({4000000000u, 4000000000u}, uint32);
  EXPECT_EQ(prod(u).item<uint32_t>(), static_cast<uint32_t>(4000000000ull * 4000000000ull));
}

TEST(Reduce, Bool) {
  for (auto& c : axes_cases()) {
    for (Layout l : kLayouts) {
      array x = make_input<bool>(c.shape, l, [&](int64_t n) {
        // Mostly true, so "all" is sometimes true too.
        std::vector<char> v(n);
        for (int64_t i = 0; i < n; ++i) v[i] = std::uniform_int_distribution<int>(0, 30)(rng()) != 0;
        return v;
      });
      auto in = values<bool>(x);
      std::vector<bool> red(c.shape.size(), false);
      for (int a : c.axes) red[a] = true;
      for (auto type : {Reduce::And, Reduce::Or, Reduce::Sum, Reduce::Max, Reduce::Min, Reduce::Prod}) {
        bool is_and = type == Reduce::And || type == Reduce::Min || type == Reduce::Prod;
        auto got = values<bool>(reduce_node(x, type, c.axes));
        std::vector<bool> want(got.size(), is_and);
        for (size_t i = 0; i < in.size(); ++i) {
          int64_t o = out_index(i, c.shape, red);
          want[o] = is_and ? (want[o] && in[i]) : (want[o] || in[i]);
        }
        for (size_t o = 0; o < got.size(); ++o) {
          ASSERT_EQ(got[o], want[o]) << describe(c.shape, c.axes, l, bool_) << " type " << type << " at " << o;
        }
      }
    }
  }
  // Through the ops.
  array b({true, true, false, true}, bool_);
  EXPECT_FALSE(all(b).item<bool>());
  EXPECT_TRUE(any(b).item<bool>());
}

TEST(Reduce, LogicalOnNonBool) {
  array x({0.0f, 2.0f, 3.0f, -1.0f}, float32);
  x = reshape(x, {2, 2});
  auto a = values<float>(reduce_node(x, Reduce::And, {1}));
  EXPECT_EQ(a, (std::vector<float>{0.0f, 1.0f}));
  auto o = values<float>(reduce_node(x, Reduce::Or, {0}));
  EXPECT_EQ(o, (std::vector<float>{1.0f, 1.0f}));
}

TEST(Reduce, Complex64) {
  for (auto& c : axes_cases()) {
    if (numel(c.shape) > 100000) continue;
    for (Layout l : kLayouts) {
      for (auto type : {Reduce::Sum, Reduce::Prod}) {
        double lo = type == Reduce::Prod ? 0.7 : -2, hi = type == Reduce::Prod ? 1.1 : 2;
        array x = make_input<complex64_t>(c.shape, l, [&](int64_t n) { return random_values<complex64_t>(n, lo, hi); });
        auto in = values<complex64_t>(x);
        auto got = values<complex64_t>(reduce_node(x, type, c.axes));
        std::vector<bool> red(c.shape.size(), false);
        for (int a : c.axes) red[a] = true;
        std::vector<std::complex<double>> want(got.size(), type == Reduce::Prod ? 1.0 : 0.0);
        for (size_t i = 0; i < in.size(); ++i) {
          int64_t o = out_index(i, c.shape, red);
          std::complex<double> v(in[i].real(), in[i].imag());
          want[o] = type == Reduce::Sum ? want[o] + v : want[o] * v;
        }
        for (size_t o = 0; o < got.size(); ++o) {
          double tol = 1e-4 * (std::abs(want[o]) + 1);
          ASSERT_NEAR(got[o].real(), want[o].real(), tol) << describe(c.shape, c.axes, l, complex64) << " type " << type;
          ASSERT_NEAR(got[o].imag(), want[o].imag(), tol) << describe(c.shape, c.axes, l, complex64) << " type " << type;
        }
      }
    }
  }
  array z({complex64_t(1, 2), complex64_t(3, 4)}, complex64);
  try {
    eval(reduce_node(z, Reduce::Max, {0}));
    FAIL() << "max of complex64 must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[Max]", 0), 0u) << e.what();
  }
}

TEST(Reduce, EmptyAxes) {
  array x(static_cast<const float*>(nullptr), {3, 0, 2}, float32);
  auto s = values<float>(sum(x, 1));
  EXPECT_EQ(s, std::vector<float>(6, 0.0f));
  auto p = values<float>(prod(x, 1));
  EXPECT_EQ(p, std::vector<float>(6, 1.0f));
  array b(static_cast<const bool*>(nullptr), {2, 0}, bool_);
  EXPECT_EQ(values<bool>(all(b, 1)), std::vector<char>(2, 1));
  EXPECT_EQ(values<bool>(any(b, 1)), std::vector<char>(2, 0));
  array i(static_cast<const int32_t*>(nullptr), {0}, int32);
  EXPECT_EQ(sum(i).item<int32_t>(), 0);
  EXPECT_EQ(prod(i).item<int32_t>(), 1);
  // Empty output: nothing to compute.
  EXPECT_EQ(sum(x, 0).size(), 0u);
  EXPECT_THROW(max(x, 1), std::invalid_argument);
}

TEST(Reduce, SizeOneAxesAndScalars) {
  array x({1.0f, 2.0f, 3.0f}, float32);
  x = reshape(x, {3, 1});
  EXPECT_EQ(values<float>(sum(x, 1)), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values<float>(max(reshape(x, {1, 3}), 0)), (std::vector<float>{1, 2, 3}));
  array s(5.0f);
  EXPECT_EQ(values<float>(reduce_node(reshape(s, {1}), Reduce::Sum, {0})), std::vector<float>{5.0f});
}

TEST(Reduce, NaNPropagatesThroughMinMax) {
  for (int64_t n : {5, 100, 5000, 300000}) {
    for (int64_t pos : {int64_t(0), n / 2, n - 1}) {
      std::vector<float> v(n, 1.0f);
      v[pos] = NAN;
      array x(v.begin(), {static_cast<ShapeElem>(n)}, float32);
      EXPECT_TRUE(std::isnan(max(x).item<float>())) << n << " " << pos;
      EXPECT_TRUE(std::isnan(min(x).item<float>())) << n << " " << pos;
      // Columns: NaN only in one of them.
      array c = reshape(x, {static_cast<ShapeElem>(n), 1});
      c = broadcast_to(c, {static_cast<ShapeElem>(n), 3});
      auto m = values<float>(max(c, 0));
      for (float f : m) EXPECT_TRUE(std::isnan(f));
    }
  }
  std::vector<bfloat16_t> h(1000, bfloat16_t(1.0f));
  h[999] = bfloat16_t(NAN);
  EXPECT_TRUE(std::isnan(static_cast<float>(max(array(h.begin(), {1000}, bfloat16)).item<float>())));
  // Infinities are ordinary values.
  array inf({1.0f, -INFINITY, INFINITY}, float32);
  EXPECT_EQ(max(inf).item<float>(), INFINITY);
  EXPECT_EQ(min(inf).item<float>(), -INFINITY);
}

TEST(Reduce, Float32SumAccuracy) {
  // 10M values whose exact sum is known: float32 accumulation in one chain would be off by ~1%.
  int64_t n = 10'000'000;
  std::vector<float> v(n);
  double exact = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = 0.1f + static_cast<float>(i % 1000) * 1e-4f;
    exact += static_cast<double>(v[i]);
  }
  array x(v.begin(), {static_cast<ShapeElem>(n)}, float32);
  float got = sum(x).item<float>();
  EXPECT_NEAR(got, exact, 1e-6 * exact);
  // Same data as a tall column reduce and a wide row reduce.
  auto cols = values<float>(sum(reshape(x, {static_cast<ShapeElem>(n / 4), 4}), 0));
  double col_exact[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) col_exact[i % 4] += v[i];
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(cols[j], col_exact[j], 1e-6 * col_exact[j]);
}

// ---------------------------------------------------------------- ArgReduce

namespace {

template <typename T>
void check_argreduce(const Shape& shape, int axis, Layout layout, bool is_max, double lo, double hi) {
  array x = make_input<T>(shape, layout, [&](int64_t n) { return random_values<T>(n, lo, hi); });
  auto in = values<T>(x);
  array y = is_max ? argmax(x, axis, true) : argmin(x, axis, true);
  auto got = values<uint32_t>(y);
  // Reference: walk each output's axis in order; strict comparison keeps the first.
  int64_t n = shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  int64_t outer = numel(shape) / (n * inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      int64_t best = 0;
      double bv = to_d(in[o * n * inner + j]);
      for (int64_t k = 1; k < n && !std::isnan(bv); ++k) {
        double v = to_d(in[(o * n + k) * inner + j]);
        if (std::isnan(v) || (is_max ? v > bv : v < bv)) {
          best = k;
          bv = v;
        }
      }
      ASSERT_EQ(got[o * inner + j], best) << describe(shape, {axis}, layout, x.dtype()) << (is_max ? " argmax" : " argmin")
                                          << " at " << o << "," << j;
    }
  }
}

template <typename T>
void check_all_argreduce(double lo, double hi) {
  std::vector<std::pair<Shape, int>> cases = {
      {{9}, 0}, {{5, 6, 7}, 0}, {{5, 6, 7}, 1}, {{5, 6, 7}, 2}, {{40, 300}, 1}, {{300, 40}, 0},
      {{2, 100000}, 1}, {{100000, 3}, 0}, {{3, 1, 70}, 1}, {{1000, 200}, 1}, {{200, 1000}, 0},
  };
  for (auto& [shape, axis] : cases) {
    for (Layout l : kLayouts) {
      check_argreduce<T>(shape, axis, l, true, lo, hi);
      check_argreduce<T>(shape, axis, l, false, lo, hi);
    }
  }
}

}  // namespace

// Few distinct values, so ties are everywhere.
TEST(ArgReduce, Float32Ties) { check_all_argreduce<float>(-2, 2); }
TEST(ArgReduce, Float32) { check_all_argreduce<float>(-1000, 1000); }
TEST(ArgReduce, Float64) { check_all_argreduce<double>(-3, 3); }
TEST(ArgReduce, HalfTypes) {
  check_all_argreduce<float16_t>(-3, 3);
  check_all_argreduce<bfloat16_t>(-3, 3);
}
TEST(ArgReduce, Integers) {
  check_all_argreduce<int32_t>(-5, 5);
  check_all_argreduce<uint8_t>(0, 7);
  check_all_argreduce<int64_t>(-100000, 100000);
  check_all_argreduce<bool>(0, 1);
}

TEST(ArgReduce, NaNIsTheExtremeFirstOneWins) {
  for (int64_t n : {7, 300, 5000, 300000}) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 97);
    int64_t first = n / 3, second = 2 * n / 3;
    v[first] = NAN;
    v[second] = NAN;
    array x(v.begin(), {static_cast<ShapeElem>(n)}, float32);
    EXPECT_EQ(argmax(x).item<uint32_t>(), first) << n;
    EXPECT_EQ(argmin(x).item<uint32_t>(), first) << n;
    array col = reshape(x, {static_cast<ShapeElem>(n), 1});
    col = broadcast_to(col, {static_cast<ShapeElem>(n), 20});
    for (auto i : values<uint32_t>(argmax(col, 0))) EXPECT_EQ(i, first);
    for (auto i : values<uint32_t>(argmin(col, 0))) EXPECT_EQ(i, first);
  }
  array x({NAN, 1.0f, NAN}, float32);
  EXPECT_EQ(argmax(x).item<uint32_t>(), 0u);
  array ties({3.0f, 1.0f, 3.0f, 1.0f}, float32);
  EXPECT_EQ(argmax(ties).item<uint32_t>(), 0u);
  EXPECT_EQ(argmin(ties).item<uint32_t>(), 1u);
  array inf({-INFINITY, -INFINITY, 2.0f}, float32);
  EXPECT_EQ(argmin(inf).item<uint32_t>(), 0u);
}

TEST(ArgReduce, Complex64Lexicographic) {
  array z({complex64_t(1, 5), complex64_t(2, -1), complex64_t(2, 3), complex64_t(2, 3), complex64_t(-4, 9)}, complex64);
  EXPECT_EQ(argmax(z).item<uint32_t>(), 2u);
  EXPECT_EQ(argmin(z).item<uint32_t>(), 4u);
}

TEST(ArgReduce, EmptyAxisThrows) {
  array x(static_cast<const float*>(nullptr), {3, 0}, float32);
  EXPECT_THROW(argmax(x, 1), std::invalid_argument);
  EXPECT_EQ(argmax(x, 0).size(), 0u);
  eval(argmax(x, 0));
}

// ---------------------------------------------------------------- Softmax and LogSumExp

namespace {

// Row-wise references in double over the last axis of logical row-major values.
std::vector<double> ref_softmax(const std::vector<double>& x, int64_t n) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, x[r * n + i]);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[r * n + i] - m);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = std::exp(x[r * n + i] - m) / s;
  }
  return y;
}

std::vector<double> ref_logsumexp(const std::vector<double>& x, int64_t n) {
  std::vector<double> y(x.size() / n);
  for (size_t r = 0; r < y.size(); ++r) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, x[r * n + i]);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[r * n + i] - m);
    y[r] = m + std::log(s);
  }
  return y;
}

template <typename T>
void check_softmax_family(double tol) {
  std::vector<Shape> shapes = {{1}, {7}, {3, 33}, {4, 1000}, {2, 3, 100}, {5000}, {300, 257}};
  for (auto& shape : shapes) {
    for (Layout l : kLayouts) {
      for (double offset : {0.0, 1000.0, -3000.0}) {
        if (!std::is_same_v<T, double> && !std::is_same_v<T, float> && offset != 0.0) continue;  // beyond half range
        array x = make_input<T>(shape, l, [&](int64_t n) { return random_values<T>(n, offset - 8, offset + 8); });
        auto in = values<T>(x);
        std::vector<double> xd(in.size());
        for (size_t i = 0; i < in.size(); ++i) xd[i] = to_d(in[i]);
        int64_t n = shape.back();
        std::string what = describe(shape, {-1}, l, x.dtype()) + " offset " + std::to_string(offset);
        auto sm = values<T>(softmax(x, -1));
        auto want = ref_softmax(xd, n);
        for (size_t i = 0; i < sm.size(); ++i) ASSERT_NEAR(to_d(sm[i]), want[i], tol * (want[i] + 1e-3)) << what << " at " << i;
        auto lse = values<T>(logsumexp(x, -1));
        auto lwant = ref_logsumexp(xd, n);
        ASSERT_EQ(lse.size(), lwant.size());
        for (size_t i = 0; i < lse.size(); ++i) {
          ASSERT_NEAR(to_d(lse[i]), lwant[i], tol * (std::abs(lwant[i]) + 1)) << what << " at " << i;
        }
      }
    }
  }
}

}  // namespace

TEST(Softmax, Float32) { check_softmax_family<float>(2e-6); }
TEST(Softmax, Float64) { check_softmax_family<double>(1e-12); }
TEST(Softmax, HalfTypes) {
  check_softmax_family<float16_t>(2e-3);
  check_softmax_family<bfloat16_t>(1e-2);
}

TEST(Softmax, InfinitiesAndOtherAxes) {
  float inf = INFINITY;
  array x({1.0f, -inf, 3.0f, -inf}, float32);
  auto y = values<float>(softmax(x, -1));
  double e = std::exp(-2.0);
  EXPECT_NEAR(y[0], e / (1 + e), 1e-7);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[2], 1 / (1 + e), 1e-7);
  EXPECT_EQ(y[3], 0.0f);
  // A row of -inf has no defined softmax: NaN, as in MLX.
  for (float v : values<float>(softmax(array({-inf, -inf}, float32), -1))) EXPECT_TRUE(std::isnan(v));
  // Softmax over the first axis of a (3, 4) array goes through a transpose.
  std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  array m(v.begin(), {3, 4}, float32);
  auto s0 = values<float>(softmax(m, 0));
  for (int j = 0; j < 4; ++j) {
    double d = std::exp(v[j]) + std::exp(v[4 + j]) + std::exp(v[8 + j]);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(s0[i * 4 + j], std::exp(v[i * 4 + j]) / d, 1e-6);
  }
}

TEST(LogSumExp, Infinities) {
  float inf = INFINITY;
  EXPECT_EQ(logsumexp(array({-inf, -inf, -inf}, float32)).item<float>(), -inf);
  EXPECT_EQ(logsumexp(array({1.0f, inf, 2.0f}, float32)).item<float>(), inf);
  EXPECT_TRUE(std::isnan(logsumexp(array({1.0f, NAN, inf}, float32)).item<float>()));
  EXPECT_NEAR(logsumexp(array({-inf, 0.0f, -inf}, float32)).item<float>(), 0.0f, 1e-7);
  EXPECT_NEAR(logsumexp(array({1e30f, 1e30f}, float32)).item<float>(), 1e30f, 1e24f);
  // Empty rows: log(0) = -inf.
  array empty(static_cast<const float*>(nullptr), {3, 0}, float32);
  for (float v : values<float>(logsumexp(empty, 1))) EXPECT_EQ(v, -inf);
  // Several axes (moved last and merged by the op).
  std::vector<double> v = {0.5, -1, 2, 7, 3, 3, -2, 0};
  array x(v.begin(), {2, 2, 2}, float64);
  auto got = values<double>(logsumexp(x, std::vector<int>{0, 2}));
  for (int j = 0; j < 2; ++j) {
    double s = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 2; ++k) s += std::exp(v[i * 4 + j * 2 + k]);
    EXPECT_NEAR(got[j], std::log(s), 1e-12);
  }
}

// ---------------------------------------------------------------- Matmul

namespace {

// Checks matmul(a, b) against a reference over the logical values, with NumPy's rules
// (1-D operands promoted, batch dims broadcast).
template <typename T>
void check_matmul(const array& a, const array& b, double tol, const std::string& what) {
  auto av = values<T>(a);
  auto bv = values<T>(b);
  array c = matmul(a, b);
  auto cv = values<T>(c);
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  size_t nd = std::max(as.size(), bs.size());
  while (as.size() < nd) as.insert(as.begin(), 1);
  while (bs.size() < nd) bs.insert(bs.begin(), 1);
  int64_t M = as[nd - 2], K = as[nd - 1], N = bs[nd - 1];
  Shape batch(nd - 2);
  for (size_t d = 0; d + 2 < nd; ++d) batch[d] = std::max(as[d], bs[d]);
  int64_t nbatch = numel(batch);
  ASSERT_EQ(static_cast<int64_t>(cv.size()), nbatch * M * N) << what;
  for (int64_t bt = 0; bt < nbatch; ++bt) {
    // Offsets of this batch element in a and b (broadcast dims repeat).
    int64_t rem = bt, aoff = 0, boff = 0, amul = M * K, bmul = K * N;
    for (int d = static_cast<int>(nd) - 3; d >= 0; --d) {
      int64_t idx = rem % batch[d];
      rem /= batch[d];
      if (as[d] != 1) aoff += idx * amul;
      if (bs[d] != 1) boff += idx * bmul;
      amul *= as[d];
      bmul *= bs[d];
    }
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        auto got = cv[(bt * M + i) * N + j];
        if constexpr (std::is_integral_v<T>) {
          uint64_t acc = 0;
          for (int64_t k = 0; k < K; ++k) {
            if constexpr (std::is_same_v<T, bool>) {
              acc |= (av[aoff + i * K + k] && bv[boff + k * N + j]) ? 1 : 0;
            } else {
              acc += static_cast<uint64_t>(static_cast<int64_t>(av[aoff + i * K + k])) *
                     static_cast<uint64_t>(static_cast<int64_t>(bv[boff + k * N + j]));
            }
          }
          ASSERT_EQ(got, static_cast<std::decay_t<decltype(got)>>(acc)) << what << " at " << bt << "," << i << "," << j;
        } else if constexpr (std::is_same_v<T, complex64_t>) {
          std::complex<double> acc = 0;
          double mag = 0;
          for (int64_t k = 0; k < K; ++k) {
            std::complex<double> x(av[aoff + i * K + k]), y(bv[boff + k * N + j]);
            acc += x * y;
            mag += std::abs(x) * std::abs(y);
          }
          ASSERT_NEAR(got.real(), acc.real(), tol * (mag + 1e-6)) << what;
          ASSERT_NEAR(got.imag(), acc.imag(), tol * (mag + 1e-6)) << what;
        } else {
          double acc = 0, mag = 0;
          for (int64_t k = 0; k < K; ++k) {
            double x = to_d(av[aoff + i * K + k]), y = to_d(bv[boff + k * N + j]);
            acc += x * y;
            mag += std::abs(x * y);
          }
          // Plus float16's subnormal spacing, for results near zero.
          double sub = std::is_same_v<T, float16_t> ? 6e-8 : 0.0;
          ASSERT_NEAR(to_d(got), acc, tol * (mag + 1e-6) + sub) << what << " at " << bt << "," << i << "," << j;
        }
      }
    }
  }
}

template <typename T>
array rand_array(const Shape& shape, double lo, double hi) {
  auto v = random_values<T>(numel(shape), lo, hi);
  return array(v.begin(), shape, TypeToDtype<T>::value);
}

// The same matmuls in every layout kiln must handle without help from the op.
template <typename T>
void check_matmul_layouts(double tol, double lo, double hi) {
  struct MNK {
    int M, N, K;
  };
  std::vector<MNK> sizes = {{1, 1, 1}, {3, 4, 5}, {17, 9, 33}, {64, 64, 64}, {100, 50, 1}, {1, 1, 300}, {130, 129, 257}};
  for (auto [M, N, K] : sizes) {
    std::string sz = dtype_name(TypeToDtype<T>::value) + " M" + std::to_string(M) + " N" + std::to_string(N) + " K" + std::to_string(K);
    array a = rand_array<T>({M, K}, lo, hi), b = rand_array<T>({K, N}, lo, hi);
    array at = transpose(rand_array<T>({K, M}, lo, hi)), bt = transpose(rand_array<T>({N, K}, lo, hi));
    check_matmul<T>(a, b, tol, sz + " plain");
    check_matmul<T>(at, b, tol, sz + " a.T");
    check_matmul<T>(a, bt, tol, sz + " b.T");
    check_matmul<T>(at, bt, tol, sz + " a.T b.T");
    // Strided (every other row and column): copied before the GEMM.
    array as = slice(rand_array<T>({2 * M, 2 * K}, lo, hi), {0, 1}, {2 * M, 2 * K}, {2, 2});
    array bs = slice(rand_array<T>({2 * K, 2 * N}, lo, hi), {1, 0}, {2 * K, 2 * N}, {2, 2});
    check_matmul<T>(as, bs, tol, sz + " strided");
    // Reversed rows (negative stride), and a strided matrix broadcast over a batch.
    array ar = slice(a, {-1, 0}, {-M - 1, K}, {-1, 1});
    check_matmul<T>(ar, b, tol, sz + " reversed rows");
    check_matmul<T>(broadcast_to(as, {3, M, K}), bs, tol, sz + " broadcast batch of strided");
    // Row-sliced (leading dim larger than the row): no copy needed.
    array al = slice(rand_array<T>({M, K + 3}, lo, hi), {0, 2}, {M, K + 2}), bl = slice(rand_array<T>({K, N + 5}, lo, hi), {0, 0}, {K, N});
    check_matmul<T>(al, bl, tol, sz + " leading dims");
    // A broadcast matrix (zero strides inside the matrix).
    array ab = broadcast_to(rand_array<T>({1, K}, lo, hi), {M, K});
    check_matmul<T>(ab, b, tol, sz + " broadcast rows");
  }
  // Batches.
  array a3 = rand_array<T>({4, 5, 6}, lo, hi), b3 = rand_array<T>({4, 6, 7}, lo, hi), b2 = rand_array<T>({6, 7}, lo, hi);
  check_matmul<T>(a3, b3, tol, "batch");
  check_matmul<T>(a3, b2, tol, "batch @ matrix (folded)");
  check_matmul<T>(rand_array<T>({5, 6}, lo, hi), b3, tol, "matrix @ batch");
  check_matmul<T>(rand_array<T>({3, 1, 5, 6}, lo, hi), rand_array<T>({1, 2, 6, 7}, lo, hi), tol, "broadcast batch dims");
  check_matmul<T>(rand_array<T>({2, 3, 1, 6}, lo, hi), rand_array<T>({6, 7}, lo, hi), tol, "rows from batch (folded)");
  check_matmul<T>(transpose(rand_array<T>({4, 6, 5}, lo, hi), {0, 2, 1}), b3, tol, "batch of transposed");
  check_matmul<T>(transpose(rand_array<T>({5, 4, 6}, lo, hi), {1, 0, 2}), b2, tol, "batch not foldable");
  check_matmul<T>(a3, transpose(rand_array<T>({7, 6}, lo, hi)), tol, "batch @ transposed matrix (folded)");
  check_matmul<T>(rand_array<T>({40, 8, 8}, lo, hi), rand_array<T>({40, 8, 8}, lo, hi), tol, "many small");
  // Vectors (the op promotes and squeezes).
  check_matmul<T>(rand_array<T>({6}, lo, hi), b2, tol, "vector @ matrix");
  check_matmul<T>(b2, rand_array<T>({7}, lo, hi), tol, "matrix @ vector");
  check_matmul<T>(rand_array<T>({9}, lo, hi), rand_array<T>({9}, lo, hi), tol, "vector @ vector");
}

}  // namespace

TEST(Matmul, Float32) { check_matmul_layouts<float>(1e-6, -1, 1); }
TEST(Matmul, Float64) { check_matmul_layouts<double>(1e-14, -1, 1); }
TEST(Matmul, Complex64) { check_matmul_layouts<complex64_t>(1e-6, -1, 1); }
TEST(Matmul, Float16) { check_matmul_layouts<float16_t>(2e-3, -1, 1); }
TEST(Matmul, BFloat16) { check_matmul_layouts<bfloat16_t>(1e-2, -1, 1); }
TEST(Matmul, Int32) { check_matmul_layouts<int32_t>(0, -1000, 1000); }
TEST(Matmul, Int8Wraps) { check_matmul_layouts<int8_t>(0, -100, 100); }
TEST(Matmul, UInt8Wraps) { check_matmul_layouts<uint8_t>(0, 0, 255); }
TEST(Matmul, Int64) { check_matmul_layouts<int64_t>(0, -1000000, 1000000); }
TEST(Matmul, UInt32) { check_matmul_layouts<uint32_t>(0, 0, 4000000000.0); }
TEST(Matmul, Bool) { check_matmul_layouts<bool>(0, 0, 1); }

TEST(Matmul, EmptyDims) {
  array a(static_cast<const float*>(nullptr), {3, 0}, float32), b(static_cast<const float*>(nullptr), {0, 4}, float32);
  auto c = values<float>(matmul(a, b));
  EXPECT_EQ(c, std::vector<float>(12, 0.0f));
  array ai(static_cast<const int32_t*>(nullptr), {2, 3, 0}, int32), bi(static_cast<const int32_t*>(nullptr), {0, 2}, int32);
  EXPECT_EQ(values<int32_t>(matmul(ai, bi)), std::vector<int32_t>(12, 0));
  array e(static_cast<const float*>(nullptr), {0, 5}, float32);
  EXPECT_EQ(values<float>(matmul(e, rand_array<float>({5, 4}, -1, 1))).size(), 0u);
  EXPECT_EQ(values<float>(matmul(rand_array<float>({4, 5}, -1, 1), transpose(e))).size(), 0u);
  array h(static_cast<const float16_t*>(nullptr), {2, 0}, float16);
  EXPECT_EQ(values<float16_t>(matmul(h, transpose(h))).size(), 4u);
}

TEST(Matmul, IntegerExactness) {
  // Beyond float's 24-bit mantissa: must not go through floating point.
  array a({16777217, 3}, int32), b({16777217, 5}, int32);
  EXPECT_EQ(matmul(a, b).item<int32_t>(), static_cast<int32_t>(16777217ull * 16777217ull + 15ull));
  array c({int64_t(1) << 40, int64_t(7)}, int64), d({(int64_t(1) << 20) + 1, int64_t(3)}, int64);
  EXPECT_EQ(matmul(c, d).item<int64_t>(), (int64_t(1) << 60) + (int64_t(1) << 40) + 21);
}

TEST(Matmul, LargeHalf) {
  // Exercise the panel path and the folded batch in half precision.
  check_matmul<bfloat16_t>(rand_array<bfloat16_t>({3, 100, 64}, -1, 1), rand_array<bfloat16_t>({64, 80}, -1, 1), 1e-2, "bf16 folded");
  check_matmul<float16_t>(transpose(rand_array<float16_t>({300, 200}, -1, 1)), rand_array<float16_t>({300, 150}, -1, 1), 2e-3, "f16 a.T");
}
