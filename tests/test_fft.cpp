// kiln::fft from C++: transforms with values known by hand, and the overloads a caller uses.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <stdexcept>
#include <vector>

#include "kiln/fft.h"
#include "kiln/kiln.h"

using namespace kiln;

namespace {

std::vector<complex64_t> cvalues(array x) {
  x = copy(astype(x, complex64));
  eval(x);
  return std::vector<complex64_t>(x.data<complex64_t>(), x.data<complex64_t>() + x.size());
}

void expect_cnear(const std::vector<complex64_t>& got, const std::vector<complex64_t>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(std::abs(got[i] - want[i]), tol) << "at " << i;
}

}  // namespace

TEST(FFT, SmallKnownValues) {
  // DFT of (1, 2, 3): 6, -1.5 + i sqrt(3)/2, -1.5 - i sqrt(3)/2 (a Bluestein length).
  array a({1.0f, 2.0f, 3.0f});
  float h = std::sqrt(3.0f) / 2;
  expect_cnear(cvalues(fft::fft(a)), {{6, 0}, {-1.5f, h}, {-1.5f, -h}});
  expect_cnear(cvalues(fft::rfft(a)), {{6, 0}, {-1.5f, h}});
  // DFT of (1, 0, 0, 0, 0, 0, 0, 0) padded from (1): all ones (a power-of-two length).
  expect_cnear(cvalues(fft::fft(array({1.0f}), 8, 0)), std::vector<complex64_t>(8, {1, 0}));
  // ifft undoes fft; irfft undoes rfft.
  expect_cnear(cvalues(fft::ifft(fft::fft(a))), {{1, 0}, {2, 0}, {3, 0}});
  array back = fft::irfft(fft::rfft(a), 3, -1);
  EXPECT_EQ(back.dtype(), float32);
  expect_cnear(cvalues(back), {{1, 0}, {2, 0}, {3, 0}});
}

TEST(FFT, MultiAxisAndShift) {
  array a = reshape(arange(6.0, float32), {2, 3});
  // Sum of all elements at frequency (0, 0); fft2 equals fftn over both axes.
  auto f = cvalues(fft::fft2(a));
  EXPECT_LT(std::abs(f[0] - complex64_t(15, 0)), 1e-5f);
  expect_cnear(f, cvalues(fft::fftn(a)));
  expect_cnear(cvalues(fft::irfftn(fft::rfftn(a), {2, 3}, {0, 1})), cvalues(a));
  expect_cnear(cvalues(fft::fftshift(array({0.0f, 1.0f, 2.0f, 3.0f, 4.0f}))), {{3, 0}, {4, 0}, {0, 0}, {1, 0}, {2, 0}});
  expect_cnear(cvalues(fft::ifftshift(fft::fftshift(a))), cvalues(a));
}

TEST(FFT, Errors) {
  array a = zeros({3, 4});
  EXPECT_THROW(fft::fft(a, 0, -1), std::invalid_argument);
  EXPECT_THROW(fft::fft(a, 2), std::out_of_range);
  EXPECT_THROW(fft::fftn(a, std::vector<int>{0, 0}), std::invalid_argument);
  EXPECT_THROW(fft::fftn(a, Shape{4}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(fft::irfft(zeros({1})), std::invalid_argument);
}
