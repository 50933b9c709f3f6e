// CPU kernels of the elementwise primitives (unary, binary, Select) and of AsType, Copy, Full
// and Arange: values against the standard library in double (or Python's integer rules written
// out here), on every layout the loop driver distinguishes, half types, NaN, and size 0.
#include <gtest/gtest.h>

#include "test_utils.h"

#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/primitives.h"

using namespace kiln;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using kiln::test::values;
using kiln::test::Vec;

template <typename T>
array make(const std::vector<double>& v, Shape shape, Dtype t) {
  std::vector<std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>> data(v.begin(), v.end());
  return array(data.begin(), std::move(shape), t);
}
array f32(const std::vector<double>& v, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int>(v.size())};
  return make<float>(v, shape, float32);
}
array f64(const std::vector<double>& v) { return make<double>(v, {static_cast<int>(v.size())}, float64); }

std::vector<double> random_values(int n, double lo, double hi, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = static_cast<float>(dist(gen));  // exactly representable as float
  return v;
}

// |got - ref| in units of the float32 spacing at ref (inf/NaN must match exactly).
double ulps32(float got, double ref) {
  if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) && std::isnan(got) ? 0 : 1e9;
  if (std::isinf(ref) || std::isinf(got)) return static_cast<float>(ref) == got ? 0 : 1e9;
  float r = static_cast<float>(ref);
  double spacing = std::nextafter(std::fabs(r), std::numeric_limits<float>::infinity()) - std::fabs(r);
  return std::fabs(static_cast<double>(got) - ref) / spacing;
}

void expect_close64(double got, double ref, double rtol = 1e-14) {
  if (std::isnan(ref)) {
    EXPECT_TRUE(std::isnan(got));
  } else if (std::isinf(ref)) {
    EXPECT_EQ(got, ref);
  } else {
    EXPECT_NEAR(got, ref, rtol * std::max(1.0, std::fabs(ref)));
  }
}

// ---------------------------------------------------------------- unary float math

using UnaryFn = array (*)(const array&, StreamOrDevice);
struct MathCase {
  const char* name;
  UnaryFn op;
  double (*ref)(double);
  double lo, hi;  // random inputs in [lo, hi]
  std::vector<double> specials;
};

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double rsqrt_ref(double x) { return 1.0 / std::sqrt(x); }
double erfinv_ref(double y) {
  // Bisection on erf: slow but independent of the kernel's method.
  if (std::isnan(y)) return y;
  if (y <= -1) return y == -1 ? -kInf : kNaN;
  if (y >= 1) return y == 1 ? kInf : kNaN;
  double lo = -6, hi = 6;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (std::erf(mid) < y ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<MathCase> math_cases() {
  const std::vector<double> edge = {0.0, -0.0, kInf, -kInf, kNaN, 1e-40, -1e-40, 1e-7};
  return {
      {"exp",
       exp,
       [](double x) { return std::exp(x); },
       -100,
       100,
       {88.7, 88.8, -103.9, -110, 0, kInf, -kInf, kNaN, 1e-40}},
      {"expm1",
       expm1,
       [](double x) { return std::expm1(x); },
       -30,
       90,
       {1e-9, -1e-9, 88.7, 89, -0.0, kInf, -kInf, kNaN}},
      {"log",
       log,
       [](double x) { return std::log(x); },
       1e-30,
       1e30,
       {0.0, -1.0, 1.0, 1e-45, 1e-40, kInf, kNaN, 3.4e38}},
      {"log2", log2, [](double x) { return std::log2(x); }, 1e-6, 1e6, {0.0, -2.0, 1.0, 1024.0, 1e-42, kInf, kNaN}},
      {"log10", log10, [](double x) { return std::log10(x); }, 1e-6, 1e6, {0.0, -2.0, 1.0, 1000.0, 1e-42, kInf, kNaN}},
      {"log1p",
       log1p,
       [](double x) { return std::log1p(x); },
       -0.999,
       100,
       {-1.0, -2.0, 1e-10, -1e-10, -0.0, kInf, kNaN}},
      {"sin",
       sin,
       [](double x) { return std::sin(x); },
       -50,
       50,
       {1e6, -3e5, 1e30, 262144.5, 0.0, -0.0, kInf, kNaN, 1e-40}},
      {"cos", cos, [](double x) { return std::cos(x); }, -50, 50, {1e6, -3e5, 1e30, 262144.5, 0.0, kInf, kNaN}},
      {"tan", tan, [](double x) { return std::tan(x); }, -1.5, 1.5, {0.0, kNaN}},
      {"arcsin", arcsin, [](double x) { return std::asin(x); }, -1, 1, {2.0, kNaN}},
      {"arccos", arccos, [](double x) { return std::acos(x); }, -1, 1, {2.0, kNaN}},
      {"arctan", arctan, [](double x) { return std::atan(x); }, -100, 100, {kInf, -kInf, kNaN}},
      {"sinh", sinh, [](double x) { return std::sinh(x); }, -20, 20, {100.0, kNaN}},
      {"cosh", cosh, [](double x) { return std::cosh(x); }, -20, 20, {100.0, kNaN}},
      {"tanh",
       tanh,
       [](double x) { return std::tanh(x); },
       -12,
       12,
       {1e-3, -1e-6, 0.55, 9.5, 20.0, kInf, -kInf, kNaN, -0.0, 1e-40}},
      {"arcsinh", arcsinh, [](double x) { return std::asinh(x); }, -100, 100, {kNaN}},
      {"arccosh", arccosh, [](double x) { return std::acosh(x); }, 1, 100, {0.5, kNaN}},
      {"arctanh", arctanh, [](double x) { return std::atanh(x); }, -0.99, 0.99, {1.0, -1.0, 2.0, kNaN}},
      {"sqrt", sqrt, [](double x) { return std::sqrt(x); }, 0, 1e6, {-1.0, 0.0, -0.0, kInf, kNaN, 1e-40}},
      {"rsqrt", rsqrt, rsqrt_ref, 1e-6, 1e6, {-1.0, 0.0, kInf, kNaN}},
      {"sigmoid", sigmoid, sigmoid_ref, -100, 100, {-95.0, -88.8, 30.0, kInf, -kInf, kNaN, 0.0}},
      {"erf",
       erf,
       [](double x) { return std::erf(x); },
       -5,
       5,
       {0.999, 1.0, 1.001, 3.9, 4.1, kInf, -kInf, kNaN, 1e-40}},
      {"erfinv", erfinv, erfinv_ref, -0.999, 0.999, {-1.0, 1.0, 1.5, 0.0, 0.5, kNaN}},
  };
}

TEST(Elementwise, UnaryFloat32AgainstStd) {
  for (const auto& c : math_cases()) {
    std::vector<double> xs = random_values(2053, c.lo, c.hi);  // odd size: vector tails too
    xs.insert(xs.end(), c.specials.begin(), c.specials.end());
    auto got = values<float>(c.op(f32(xs), {}));
    double worst = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      double e = ulps32(got[i], c.ref(static_cast<float>(xs[i])));
      if (e > worst) worst = e;
      EXPECT_LE(e, 3.0) << c.name << "(" << xs[i] << ") = " << got[i] << ", expected " << c.ref(xs[i]);
    }
  }
}

TEST(Elementwise, UnaryFloat64AgainstStd) {
  for (const auto& c : math_cases()) {
    std::vector<double> xs = random_values(257, c.lo, c.hi, 2);
    for (double s : c.specials) {
      if (std::fabs(s) > 1e-30 || s == 0) xs.push_back(s);  // float32-style subnormals skipped
    }
    auto got = values<double>(c.op(f64(xs), {}));
    for (size_t i = 0; i < xs.size(); ++i) {
      SCOPED_TRACE(std::string(c.name) + "(" + std::to_string(xs[i]) + ")");
      expect_close64(got[i], c.ref(xs[i]), std::string(c.name) == "erfinv" ? 1e-12 : 1e-14);
    }
  }
}

TEST(Elementwise, SignsOfZeroAndSaturation) {
  std::vector<UnaryFn> odd = {sin, tanh, expm1, erf, log1p, sqrt};
  for (auto fn : odd) EXPECT_TRUE(std::signbit(values<float>(fn(f32({-0.0}), {}))[0]));
  auto t = values<float>(tanh(f32({30.0, -30.0, 10.0}), {}));
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], -1.0f);
  EXPECT_EQ(t[2], 1.0f);
  auto e = values<float>(exp(f32({-103.0, 89.0, -88.0}), {}));
  EXPECT_GT(e[0], 0.0f);  // subnormal, not flushed
  EXPECT_EQ(e[1], std::numeric_limits<float>::infinity());
  EXPECT_FLOAT_EQ(e[2], std::exp(-88.0f));
}

TEST(Elementwise, Rounding) {
  std::vector<double> xs = {0.5, 1.5, 2.5, -0.5, -2.5, 3.7, -3.7, -0.2, 1e30, kNaN, kInf, 8388609.0};
  auto r = values<float>(round(f32(xs)));
  auto fl = values<float>(floor(f32(xs)));
  auto ce = values<float>(ceil(f32(xs)));
  auto r64 = values<double>(round(f64(xs)));
  for (size_t i = 0; i < xs.size(); ++i) {
    float x = static_cast<float>(xs[i]);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(r[i]) && std::isnan(fl[i]) && std::isnan(ce[i]));
      continue;
    }
    EXPECT_EQ(r[i], std::nearbyint(x)) << x;
    EXPECT_EQ(std::signbit(r[i]), std::signbit(std::nearbyint(x))) << x;
    EXPECT_EQ(fl[i], std::floor(x)) << x;
    EXPECT_EQ(ce[i], std::ceil(x)) << x;
    EXPECT_EQ(std::signbit(ce[i]), std::signbit(std::ceil(x))) << x;
    EXPECT_EQ(r64[i], std::nearbyint(xs[i])) << xs[i];
  }
  EXPECT_FLOAT_EQ(values<float>(round(f32({1.2345}), 2))[0], 1.23f);
}

TEST(Elementwise, HalfTypesComputeThroughFloat) {
  std::vector<double> xs = random_values(1000, -4, 4, 3);
  for (Dtype t : {float16, bfloat16}) {
    array a = astype(f32(xs), t);
    array b = astype(f32(random_values(1000, -4, 4, 4)), t);
    auto av = values<float>(astype(a, float32));
    auto bv = values<float>(astype(b, float32));
    auto round_to = [&](double v) {
      return t == float16 ? static_cast<float>(static_cast<float16_t>(static_cast<float>(v)))
                          : static_cast<float>(bfloat16_t(static_cast<float>(v)));
    };
    const float eps = t == float16 ? 1.0f / 1024 : 1.0f / 128;  // relative spacing of the type
    struct Case {
      array out;
      std::function<double(double, double)> ref;
    };
    std::vector<Case> cases = {
        {exp(a), [](double x, double) { return std::exp(x); }},
        {tanh(a), [](double x, double) { return std::tanh(x); }},
        {sin(a), [](double x, double) { return std::sin(x); }},
        {sqrt(abs(a)), [](double x, double) { return std::sqrt(std::fabs(x)); }},
        {a + b, [](double x, double y) { return x + y; }},
        {a * b, [](double x, double y) { return x * y; }},
        {maximum(a, b), [](double x, double y) { return std::max(x, y); }},
        {where(a > b, a, b), [](double x, double y) { return x > y ? x : y; }},
    };
    for (auto& c : cases) {
      ASSERT_EQ(c.out.dtype(), t);
      auto got = values<float>(astype(c.out, float32));
      for (size_t i = 0; i < xs.size(); ++i) {
        float want = round_to(c.ref(av[i], bv[i]));
        // The float32 result rounded once: equal, or one step of the half type away.
        EXPECT_LE(std::fabs(got[i] - want), std::fabs(want) * eps + 1e-7f)
            << dtype_name(t) << " at " << av[i] << ", " << bv[i];
      }
    }
    auto eq = values<bool>(equal(a, a));
    for (auto v : eq) EXPECT_TRUE(v);
  }
}

// ---------------------------------------------------------------- unary: other dtypes

TEST(Elementwise, UnaryIntegersAndBool) {
  std::vector<int32_t> v = {-7, 0, 5, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  array a(v.begin(), {5}, int32);
  auto ab = values<int32_t>(abs(a));
  auto ng = values<int32_t>(negative(a));
  auto sg = values<int32_t>(sign(a));
  auto sq = values<int32_t>(square(a));
  auto inv = values<int32_t>(bitwise_invert(a));
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u = static_cast<uint32_t>(v[i]);
    EXPECT_EQ(ab[i], v[i] < 0 ? static_cast<int32_t>(0u - u) : v[i]);
    EXPECT_EQ(ng[i], static_cast<int32_t>(0u - u));
    EXPECT_EQ(sg[i], (v[i] > 0) - (v[i] < 0));
    EXPECT_EQ(sq[i], static_cast<int32_t>(u * u));
    EXPECT_EQ(inv[i], ~v[i]);
  }
  array u8 = make<uint8_t>({0, 3, 255}, {3}, uint8);
  EXPECT_EQ(values<uint8_t>(negative(u8)), (std::vector<uint8_t>{0, 253, 1}));
  EXPECT_EQ(values<uint8_t>(sign(u8)), (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(values<uint8_t>(bitwise_invert(u8)), (std::vector<uint8_t>{255, 252, 0}));
  array i8 = make<int8_t>({-128, -3, 100}, {3}, int8);
  EXPECT_EQ(values<int8_t>(abs(i8)), (std::vector<int8_t>{-128, 3, 100}));
  EXPECT_EQ(values<int8_t>(square(i8)), (std::vector<int8_t>{0, 9, 16}));
  array b = make<bool>({1, 0}, {2}, bool_);
  EXPECT_EQ(values<bool>(logical_not(b)), (Vec<bool>{0, 1}));
  EXPECT_EQ(values<bool>(bitwise_invert(b)), (Vec<bool>{0, 1}));
  EXPECT_EQ(values<bool>(logical_not(f32({0.0, 2.0, kNaN}))), (Vec<bool>{1, 0, 0}));
  // Integer math goes through float32.
  auto e = values<float>(exp(make<int32_t>({0, 1, 2}, {3}, int32)));
  EXPECT_FLOAT_EQ(e[2], std::exp(2.0f));
}

TEST(Elementwise, Complex) {
  std::vector<complex64_t> v = {{1.0f, 2.0f}, {-3.0f, 0.5f}, {0.0f, 0.0f}, {0.25f, -4.0f}};
  array z(v.begin(), {4}, complex64);
  array w = z + array(complex64_t(1.0f, -1.0f));
  auto ab = values<float>(abs(z));
  auto re = values<float>(real(z));
  auto im = values<float>(imag(z));
  auto cj = values<complex64_t>(conjugate(z));
  auto ex = values<complex64_t>(exp(z));
  auto sq = values<complex64_t>(sqrt(z));
  auto lg = values<complex64_t>(log(w));
  auto th = values<complex64_t>(tanh(z));
  auto sg = values<complex64_t>(sign(z));
  auto mul = values<complex64_t>(z * w);
  auto div = values<complex64_t>(z / w);
  auto eq = values<bool>(equal(z, conjugate(z)));
  auto ls = values<bool>(less(z, w));
  for (size_t i = 0; i < v.size(); ++i) {
    std::complex<double> x(v[i].real(), v[i].imag()), y = x + std::complex<double>(1, -1);
    auto near = [](complex64_t g, std::complex<double> r) {
      EXPECT_NEAR(g.real(), r.real(), 1e-5 * (1 + std::abs(r)));
      EXPECT_NEAR(g.imag(), r.imag(), 1e-5 * (1 + std::abs(r)));
    };
    EXPECT_NEAR(ab[i], std::abs(x), 1e-6);
    EXPECT_EQ(re[i], v[i].real());
    EXPECT_EQ(im[i], v[i].imag());
    EXPECT_EQ(cj[i], std::conj(v[i]));
    near(ex[i], std::exp(x));
    near(sq[i], std::sqrt(x));
    near(lg[i], std::log(y));
    near(th[i], std::tanh(x));
    near(sg[i], std::abs(x) == 0 ? 0.0 : x / std::abs(x));
    near(mul[i], x * y);
    near(div[i], x / y);
    EXPECT_EQ(static_cast<bool>(eq[i]), v[i].imag() == 0);
    EXPECT_EQ(static_cast<bool>(ls[i]), x.real() < y.real() || (x.real() == y.real() && x.imag() < y.imag()));
  }
  EXPECT_EQ(abs(z).dtype(), float32);
  try {
    eval(erf(z));
    FAIL() << "erf of complex64 must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[Erf]", 0), 0u) << e.what();
  }
  EXPECT_THROW(eval(arctan2(z, z)), std::invalid_argument);
}

TEST(Elementwise, PrimitiveRejectsUnsupportedDtype) {
  // Built directly (ops.cpp would convert to float32 first): the kernel names itself.
  array i = make<int32_t>({1, 2}, {2}, int32);
  array bad({2}, int32, std::make_shared<Exp>(to_stream({})), {i});
  try {
    eval(bad);
    FAIL() << "Exp of int32 must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[Exp]", 0), 0u) << e.what();
  }
  array f = f32({1.0, 2.0});
  array bad2({2}, float32, std::make_shared<BitwiseAnd>(to_stream({})), {f, f});
  EXPECT_THROW(eval(bad2), std::invalid_argument);
}

// ---------------------------------------------------------------- binary

TEST(Elementwise, BinaryFloatAgainstStd) {
  std::vector<double> xs = random_values(1001, -20, 20, 5), ys = random_values(1001, -20, 20, 6);
  std::vector<double> sx = {kNaN, 1.0, kInf, -kInf, kInf, 0.0, -0.0, 2.0, 1e30};
  std::vector<double> sy = {1.0, kNaN, kInf, -kInf, -kInf, -0.0, 0.0, 0.0, 1e30};
  xs.insert(xs.end(), sx.begin(), sx.end());
  ys.insert(ys.end(), sy.begin(), sy.end());
  for (auto* v : {&xs, &ys}) {
    for (auto& x : *v) x = static_cast<float>(x);  // the float32 and float64 runs see the same values
  }
  struct Case {
    const char* name;
    array (*op)(const array&, const array&, StreamOrDevice);
    double (*ref)(double, double);
    double ulps;
  };
  std::vector<Case> cases = {
      {"add", add, [](double a, double b) { return a + b; }, 0.5},
      {"subtract", subtract, [](double a, double b) { return a - b; }, 0.5},
      {"multiply", multiply, [](double a, double b) { return a * b; }, 0.5},
      {"divide", divide, [](double a, double b) { return a / b; }, 0.5},
      {"maximum", maximum, [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b); },
       0},
      {"minimum", minimum, [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b); },
       0},
      {"power", power, [](double a, double b) { return std::pow(a, b); }, 1},
      {"arctan2", arctan2, [](double a, double b) { return std::atan2(a, b); }, 1},
      {"logaddexp", logaddexp,
       [](double a, double b) {
         if (a == b) return a + std::log(2.0);
         double m = std::max(a, b);
         return std::isnan(a) || std::isnan(b) ? kNaN : m + std::log1p(std::exp(-std::fabs(a - b)));
       },
       2},
  };
  for (const auto& c : cases) {
    auto got = values<float>(c.op(f32(xs), f32(ys), {}));
    auto got64 = values<double>(c.op(f64(xs), f64(ys), {}));
    for (size_t i = 0; i < xs.size(); ++i) {
      double r = c.ref(xs[i], ys[i]);
      EXPECT_LE(ulps32(got[i], r), c.ulps + 1e-9) << c.name << "(" << xs[i] << ", " << ys[i] << ") = " << got[i];
      SCOPED_TRACE(c.name);
      expect_close64(got64[i], r);
    }
  }
}

TEST(Elementwise, Comparisons) {
  std::vector<double> x = {1, 2, kNaN, -kInf, 3, kNaN}, y = {2, 2, 1, -kInf, kNaN, kNaN};
  auto check = [&](array (*op)(const array&, const array&, StreamOrDevice), bool (*ref)(double, double)) {
    for (Dtype t : {float32, float64, float16, bfloat16}) {
      auto got = values<bool>(op(astype(f64(x), t), astype(f64(y), t), {}));
      for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(static_cast<bool>(got[i]), ref(x[i], y[i])) << i;
    }
  };
  check(equal, [](double a, double b) { return a == b; });
  check(not_equal, [](double a, double b) { return a != b; });
  check(less, [](double a, double b) { return a < b; });
  check(less_equal, [](double a, double b) { return a <= b; });
  check(greater, [](double a, double b) { return a > b; });
  check(greater_equal, [](double a, double b) { return a >= b; });
  auto u = values<bool>(less(make<uint64_t>({1, 5}, {2}, uint64), make<uint64_t>({2, 5}, {2}, uint64)));
  EXPECT_EQ(u, (Vec<bool>{1, 0}));
  array p = make<bool>({1, 1, 0, 0}, {4}, bool_), q = make<bool>({1, 0, 1, 0}, {4}, bool_);
  EXPECT_EQ(values<bool>(logical_and(p, q)), (Vec<bool>{1, 0, 0, 0}));
  EXPECT_EQ(values<bool>(logical_or(p, q)), (Vec<bool>{1, 1, 1, 0}));
  EXPECT_EQ(values<bool>(add(p, q)), (Vec<bool>{1, 1, 1, 0}));
  EXPECT_EQ(values<bool>(multiply(p, q)), (Vec<bool>{1, 0, 0, 0}));
}

// Python's // and % on integers, written with floor division in wide arithmetic.
int64_t py_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

TEST(Elementwise, IntegerDivisionPythonSemantics) {
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  std::vector<int32_t> as = {-7, 7, -8, 0, 13, kMin, 5, kMin};
  std::vector<int32_t> bs = {2, -2, 3, -5, 0, 7, -1, -1};
  array a(as.begin(), {8}, int32), b(bs.begin(), {8}, int32);
  auto fd = values<int32_t>(floor_divide(a, b));
  auto rm = values<int32_t>(remainder(a, b));
  for (size_t i = 0; i < as.size(); ++i) {
    if (bs[i] == 0) {
      EXPECT_EQ(fd[i], 0);
      EXPECT_EQ(rm[i], 0);
      continue;
    }
    int64_t q = py_floordiv(as[i], bs[i]);
    EXPECT_EQ(fd[i], static_cast<int32_t>(static_cast<uint32_t>(q))) << as[i] << " // " << bs[i];
    EXPECT_EQ(rm[i], static_cast<int32_t>(as[i] - q * bs[i])) << as[i] << " % " << bs[i];
  }
  // int8 pairs, against the same rules.
  std::vector<int8_t> xa, xb;
  for (int x = -128; x < 128; x += 3) {
    for (int y : {-128, -127, -5, -3, -2, -1, 0, 1, 2, 3, 7, 127}) {
      xa.push_back(static_cast<int8_t>(x));
      xb.push_back(static_cast<int8_t>(y));
    }
  }
  Shape sh = {static_cast<int>(xa.size())};
  auto fd8 = values<int8_t>(floor_divide(array(xa.begin(), sh, int8), array(xb.begin(), sh, int8)));
  auto rm8 = values<int8_t>(remainder(array(xa.begin(), sh, int8), array(xb.begin(), sh, int8)));
  for (size_t i = 0; i < xa.size(); ++i) {
    int64_t q = xb[i] == 0 ? 0 : py_floordiv(xa[i], xb[i]);
    EXPECT_EQ(fd8[i], static_cast<int8_t>(q)) << int(xa[i]) << " // " << int(xb[i]);
    EXPECT_EQ(rm8[i], static_cast<int8_t>(xb[i] == 0 ? 0 : xa[i] - q * xb[i])) << int(xa[i]) << " % " << int(xb[i]);
  }
  auto u = values<uint32_t>(floor_divide(make<uint32_t>({7, 9}, {2}, uint32), make<uint32_t>({2, 0}, {2}, uint32)));
  EXPECT_EQ(u, (std::vector<uint32_t>{3, 0}));
}

TEST(Elementwise, FloatDivisionPythonSemantics) {
  // Values from CPython: 7.5 // -2, 7.5 % -2, -7.5 // 2, -7.5 % 2, 1 // 0.1, 1 % 0.1, 5 % inf, -5 % inf, 0 % -3.
  std::vector<double> a = {7.5, 7.5, -7.5, -7.5, 1.0, 1.0, 5.0, -5.0, 0.0, -1.0};
  std::vector<double> b = {-2.0, -2.0, 2.0, 2.0, 0.1, 0.1, kInf, kInf, -3.0, kInf};
  auto fd = values<double>(floor_divide(f64(a), f64(b)));
  auto rm = values<double>(remainder(f64(a), f64(b)));
  EXPECT_EQ(fd[0], -4.0);
  EXPECT_EQ(rm[1], -0.5);
  EXPECT_EQ(fd[2], -4.0);
  EXPECT_EQ(rm[3], 0.5);
  EXPECT_EQ(fd[4], 9.0);
  EXPECT_DOUBLE_EQ(rm[5], 0.09999999999999995);
  EXPECT_EQ(rm[6], 5.0);
  EXPECT_EQ(rm[7], kInf);
  EXPECT_EQ(rm[8], 0.0);
  EXPECT_TRUE(std::signbit(rm[8]));  // zero takes the divisor's sign
  EXPECT_EQ(fd[9], -1.0);
  auto f = values<float>(remainder(f32({-7.5, 5.0}), f32({2.0, 0.0})));
  EXPECT_EQ(f[0], 0.5f);
  EXPECT_TRUE(std::isnan(f[1]));
  auto q = values<float>(floor_divide(f32({1.0, -1.0, 0.0}), f32({0.0, 0.0, 0.0})));
  EXPECT_EQ(q[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(q[1], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(q[2]));
}

TEST(Elementwise, IntegerPowerAndShifts) {
  std::vector<int32_t> base = {2, 3, 2, 1, -1, -1, -2, 0, 7};
  std::vector<int32_t> exps = {10, 0, -1, -5, -3, -2, 3, 0, 11};
  auto p = values<int32_t>(power(array(base.begin(), {9}, int32), array(exps.begin(), {9}, int32)));
  std::vector<int32_t> want = {1024, 1, 0, 1, -1, 1, -8, 1, static_cast<int32_t>(1977326743)};
  EXPECT_EQ(p, want);
  auto p8 = values<int8_t>(power(make<int8_t>({2, 3}, {2}, int8), make<int8_t>({8, 5}, {2}, int8)));
  EXPECT_EQ(p8, (std::vector<int8_t>{0, static_cast<int8_t>(243)}));  // wraps
  auto pu = values<uint64_t>(power(make<uint64_t>({3}, {1}, uint64), make<uint64_t>({40}, {1}, uint64)));
  EXPECT_EQ(pu[0], 12157665459056928801ull);

  array a = make<int32_t>({1, 1, -16, -1, 5, 1}, {6}, int32);
  array s = make<int32_t>({3, 40, 2, 40, -1, 31}, {6}, int32);
  EXPECT_EQ(values<int32_t>(left_shift(a, s)),
            (std::vector<int32_t>{8, 0, -64, 0, 0, std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(values<int32_t>(right_shift(a, s)), (std::vector<int32_t>{0, 0, -4, -1, 0, 0}));
  array u = make<uint8_t>({0xF0, 0x0F}, {2}, uint8), v = make<uint8_t>({0x3C, 0xFF}, {2}, uint8);
  EXPECT_EQ(values<uint8_t>(bitwise_and(u, v)), (std::vector<uint8_t>{0x30, 0x0F}));
  EXPECT_EQ(values<uint8_t>(bitwise_or(u, v)), (std::vector<uint8_t>{0xFC, 0xFF}));
  EXPECT_EQ(values<uint8_t>(bitwise_xor(u, v)), (std::vector<uint8_t>{0xCC, 0xF0}));
  EXPECT_EQ(values<uint8_t>(left_shift(u, make<uint8_t>({4, 9}, {2}, uint8))), (std::vector<uint8_t>{0x00, 0x00}));
  auto wrap = values<int32_t>(add(make<int32_t>({std::numeric_limits<int32_t>::max()}, {1}, int32), array(1)));
  EXPECT_EQ(wrap[0], std::numeric_limits<int32_t>::min());
}

// ---------------------------------------------------------------- layouts

// a (op) b compared with the same op on the logical elements, for one pair of views.
void check_layout(const array& a, const array& b, const char* what) {
  SCOPED_TRACE(what);
  auto av = values<float>(a), bv = values<float>(b);
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  ASSERT_EQ(a.shape(), shape);
  ASSERT_EQ(b.shape(), shape);
  auto sum = values<float>(a + b);
  auto dif = values<float>(a - b);
  auto lt = values<bool>(a < b);
  auto ex = values<float>(exp(a));
  auto sel = values<float>(where(a < b, a, array(0.5f)));
  auto fd = values<float>(floor_divide(a, b));
  for (size_t i = 0; i < av.size(); ++i) {
    ASSERT_EQ(sum[i], av[i] + bv[i]) << i;
    ASSERT_EQ(dif[i], av[i] - bv[i]) << i;
    ASSERT_EQ(static_cast<bool>(lt[i]), av[i] < bv[i]) << i;
    ASSERT_LE(ulps32(ex[i], std::exp(static_cast<double>(av[i]))), 3) << i;
    ASSERT_EQ(sel[i], av[i] < bv[i] ? av[i] : 0.5f) << i;
    ASSERT_EQ(fd[i], std::floor(static_cast<double>(av[i]) / bv[i])) << i;
  }
  // Integer and half versions of the same layouts exercise gathers of other element sizes.
  auto ia = values<int32_t>(astype(a, int32)), ib = values<int32_t>(astype(b, int32));
  auto isum = values<int32_t>(astype(a, int32) * astype(b, int32));
  for (size_t i = 0; i < ia.size(); ++i) ASSERT_EQ(isum[i], ia[i] * ib[i]) << i;
  auto ha = values<float>(astype(astype(a, float16), float32)), hb = values<float>(astype(astype(b, float16), float32));
  auto hmax = values<float>(astype(maximum(astype(a, float16), astype(b, float16)), float32));
  for (size_t i = 0; i < ha.size(); ++i) ASSERT_EQ(hmax[i], std::max(ha[i], hb[i])) << i;
}

TEST(Elementwise, Layouts) {
  for (int rows : {7, 300}) {  // 300 x 517 is large enough to run on several threads
    int cols = rows == 7 ? 5 : 517;
    array a = f32(random_values(rows * cols, -3, 3, 7), {rows, cols});
    array b = f32(random_values(rows * cols, 1, 3, 8), {rows, cols});
    array at = f32(random_values(rows * cols, -3, 3, 9), {cols, rows});
    array bt = f32(random_values(rows * cols, 1, 3, 10), {cols, rows});
    check_layout(a, b, "contiguous");
    check_layout(a, broadcast_to(array(1.5f), a.shape()), "array and scalar");
    check_layout(broadcast_to(array(-2.5f), a.shape()), b, "scalar and array");
    check_layout(transpose(at), transpose(bt), "both transposed alike");
    check_layout(transpose(at), b, "transposed and row-major");
    check_layout(slice(a, {rows - 1, cols - 1}, {-rows - 1, -cols - 1}, {-1, -1}), b, "reversed");
    check_layout(slice(a, {0, 0}, {rows, cols - 1}, {1, 2}), slice(b, {0, 1}, {rows, cols}, {1, 2}), "step 2");
    array row = f32(random_values(cols, 1, 2, 11), {1, cols});
    array col = f32(random_values(rows, 1, 2, 12), {rows, 1});
    check_layout(a, broadcast_to(row, a.shape()), "broadcast row");
    check_layout(broadcast_to(col, a.shape()), a, "broadcast column");
    check_layout(broadcast_to(row, a.shape()), broadcast_to(col, a.shape()), "row and column");
  }
  // 3-d: permuted axes against a broadcast middle axis.
  array x = f32(random_values(4 * 5 * 6, -2, 2, 13), {4, 5, 6});
  array y = f32(random_values(6 * 1 * 4, 1, 2, 14), {6, 1, 4});
  check_layout(transpose(x, {2, 1, 0}), broadcast_to(y, {6, 5, 4}), "3-d permuted and broadcast");
}

TEST(Elementwise, OutputKeepsSharedDenseLayout) {
  array a = f32(random_values(12, -1, 1, 15), {3, 4});
  array b = f32(random_values(12, -1, 1, 16), {3, 4});
  array c = transpose(a) * transpose(b);
  eval(c);
  EXPECT_EQ(c.strides(), (Strides{1, 4}));  // written in one linear pass, transposed like the inputs
  auto cv = values<float>(c), av = values<float>(transpose(a)), bv = values<float>(transpose(b));
  for (size_t i = 0; i < cv.size(); ++i) EXPECT_EQ(cv[i], av[i] * bv[i]);
}

TEST(Elementwise, DonatesTemporaryBuffers) {
  const int n = 1 << 20;
  array a = f32(random_values(n, -1, 1, 17));
  array b = f32(random_values(n, -1, 1, 18));
  eval(a, b);
  size_t base = get_active_memory();
  reset_peak_memory();
  array c = exp(sigmoid(a + b));
  eval(c);
  // a + b's buffer is reused by sigmoid, then by exp: one output buffer in all.
  EXPECT_LT(get_peak_memory() - base, static_cast<size_t>(n) * 4 * 3 / 2);
  auto av = values<float>(a), bv = values<float>(b), cv = values<float>(c);
  for (int i = 0; i < n; i += 997) {
    double s = static_cast<double>(av[i] + bv[i]);
    EXPECT_LE(ulps32(cv[i], std::exp(1.0 / (1.0 + std::exp(-s)))), 4) << i;
  }
  // An input someone still holds is never written.
  array d = exp(a);
  eval(d);
  EXPECT_EQ(values<float>(a)[5], av[5]);
}

// ---------------------------------------------------------------- Select, AsType, Copy, Full, Arange

TEST(Elementwise, Select) {
  array cond = make<bool>({1, 0, 1}, {3, 1}, bool_);
  array x = make<int64_t>({10, 20, 30, 40}, {1, 4}, int64);
  auto got = values<int64_t>(where(cond, x, array(int64_t(-1))));
  std::vector<int64_t> want = {10, 20, 30, 40, -1, -1, -1, -1, 10, 20, 30, 40};
  EXPECT_EQ(got, want);
  auto c = values<complex64_t>(where(array(false), array(complex64_t(1, 2)), array(complex64_t(3, 4))));
  EXPECT_EQ(c[0], complex64_t(3, 4));
  auto f = values<float>(where(f32({1, 0, kNaN}) != 0.0f, f32({1, 2, 3}), f32({4, 5, 6})));
  EXPECT_EQ(f, (std::vector<float>{1, 5, 3}));
}

TEST(Elementwise, AsTypeCopyFull) {
  array a = f32({-1.7, 0.0, 2.5, 300.0, kNaN}, {5});
  EXPECT_EQ(values<int32_t>(astype(f32({-1.7, 2.5, 300.0}), int32)), (std::vector<int32_t>{-1, 2, 300}));
  EXPECT_EQ(values<bool>(astype(a, bool_)), (Vec<bool>{1, 0, 1, 1, 1}));
  auto h = values<float16_t>(astype(f32({1.0 / 3.0, 65504.0, 1e6}), float16));
  EXPECT_EQ(static_cast<float>(h[0]), static_cast<float>(static_cast<float16_t>(1.0f / 3.0f)));
  EXPECT_EQ(static_cast<float>(h[1]), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(h[2])));
  std::vector<complex64_t> zv = {{1.5f, 2.0f}};
  EXPECT_EQ(values<float>(astype(array(zv.begin(), {1}, complex64), float32))[0], 1.5f);
  array m = f32(random_values(6, -1, 1, 19), {2, 3});
  array mt = astype(transpose(m), float64);
  auto mv = values<float>(transpose(m));
  auto mtv = values<double>(mt);
  for (size_t i = 0; i < mv.size(); ++i) EXPECT_EQ(mtv[i], mv[i]);

  array cp = copy(transpose(m));
  eval(cp);
  EXPECT_TRUE(cp.flags().row_contiguous);
  EXPECT_EQ(values<float>(cp), mv);

  EXPECT_EQ(values<int64_t>(zeros({2, 2}, int64)), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(values<float>(full({2, 3}, 5.0f)), std::vector<float>(6, 5.0f));
  auto fr = values<float>(full({2, 2}, f32({1, 2})));
  EXPECT_EQ(fr, (std::vector<float>{1, 2, 1, 2}));
}

TEST(Elementwise, Arange) {
  EXPECT_EQ(values<int32_t>(arange(0, 10, 3)), (std::vector<int32_t>{0, 3, 6, 9}));
  EXPECT_EQ(values<int32_t>(arange(10, 0, -3)), (std::vector<int32_t>{10, 7, 4, 1}));
  EXPECT_EQ(values<float>(arange(0.5, 2.0, 0.5)), (std::vector<float>{0.5f, 1.0f, 1.5f}));
  auto h = values<float16_t>(arange(0.0, 4.0, 1.5, float16));
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(static_cast<float>(h[2]), 3.0f);
  auto big = values<int64_t>(arange(0.0, 100000.0, 1.0, int64));
  for (int64_t i = 0; i < 100000; i += 777) EXPECT_EQ(big[i], i);
  EXPECT_EQ(values<uint8_t>(arange(0.0, 4.0, 1.0, uint8)), (std::vector<uint8_t>{0, 1, 2, 3}));
}

TEST(Elementwise, SizeZero) {
  array e = zeros({0, 3});
  for (auto r : {exp(e), e + e, sqrt(e), where(e > 0.0f, e, e), astype(e, int32), copy(e), abs(e), e * array(2.0f)}) {
    eval(r);
    EXPECT_EQ(r.size(), 0u);
    EXPECT_EQ(r.shape(), (Shape{0, 3}));
  }
  array ar = arange(0.0, 0.0, 1.0);
  eval(ar);
  EXPECT_EQ(ar.size(), 0u);
  array s = slice(arange(0.0, 4.0, 1.0), {3}, {1});
  array t = exp(s) + s;
  eval(t);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
