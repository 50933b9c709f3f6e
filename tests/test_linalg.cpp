// kiln::linalg from C++: small matrices with known factors and inverses, computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/linalg.h"

using namespace kiln;

namespace {

std::vector<double> values(array x) {
  x = astype(copy(x), float64);
  eval(x);
  return std::vector<double>(x.data<double>(), x.data<double>() + x.size());
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace

TEST(Linalg, InverseOfTwoByTwo) {
  std::vector<float> v = {4, 7, 2, 6};  // det 10
  array a(v.begin(), {2, 2});
  expect_near(values(linalg::inv(a)), {0.6, -0.7, -0.2, 0.4}, 1e-6);
  std::vector<double> w = {4, 7, 2, 6};
  array b(w.begin(), {2, 2}, float64);
  array ib = linalg::inv(b);
  EXPECT_EQ(ib.dtype(), float64);
  expect_near(values(ib), {0.6, -0.7, -0.2, 0.4}, 1e-14);
  expect_near(values(linalg::det(b)), {10.0}, 1e-12);
}

TEST(Linalg, CholeskyKnownFactor) {
  // A = L L^T with L = [[2, 0], [1, 3]].
  std::vector<float> v = {4, 2, 2, 10};
  array a(v.begin(), {2, 2});
  expect_near(values(linalg::cholesky(a)), {2, 0, 1, 3}, 1e-6);
  expect_near(values(linalg::cholesky(a, true)), {2, 1, 0, 3}, 1e-6);
}

TEST(Linalg, QrReconstructs) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  array a(v.begin(), {3, 2});
  auto qr = linalg::qr(a);
  EXPECT_EQ(qr[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(qr[1].shape(), (Shape{2, 2}));
  expect_near(values(matmul(qr[0], qr[1])), {1, 2, 3, 4, 5, 6}, 1e-5);
}

TEST(Linalg, Errors) {
  array v = ones({3});
  EXPECT_THROW(linalg::inv(v), std::invalid_argument);
  EXPECT_THROW(linalg::inv(ones({2, 3})), std::invalid_argument);
  EXPECT_THROW(linalg::inv(ones({2, 2}, int32)), std::invalid_argument);
  EXPECT_THROW(eval(linalg::inv(zeros({2, 2}))), std::runtime_error);
  EXPECT_THROW(eval(linalg::cholesky(negative(eye(2)))), std::runtime_error);
}
