// eval_cpu of FFT: 1-D transforms applied axis by axis, each over every row of that axis.
//
// Rows are gathered into a complex<double> scratch line, transformed there and scattered back,
// so float32 storage between axes is the only rounding beyond double arithmetic. Power-of-two
// lengths use an iterative radix-2 transform; other lengths use Bluestein's chirp-z identity
// jk = (j^2 + k^2 - (k - j)^2) / 2, which turns the DFT into a circular convolution computed with
// power-of-two transforms. Lengths whose prime factors are all small skip Bluestein: a
// recursive mixed-radix (4, 2, 3, 5, 7, 11, 13) decimation in time is several times cheaper.
// Twiddles and the chirp's spectrum are computed once per axis.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cd = std::complex<double>;

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// Radix-2 transform of a power-of-two length with its twiddles exp(-2 pi i j / n), j < n / 2.
struct Pow2Plan {
  int64_t n = 0;
  std::vector<cd> twiddles;
  std::vector<int64_t> rev;

  explicit Pow2Plan(int64_t n_) : n(n_), twiddles(n_ / 2), rev(n_) {
    for (int64_t j = 0; j < n / 2; ++j) {
      double t = -2.0 * M_PI * static_cast<double>(j) / static_cast<double>(n);
      twiddles[j] = cd(std::cos(t), std::sin(t));
    }
    int bits = 0;
    while ((int64_t{1} << bits) < n) ++bits;
    for (int64_t i = 0; i < n; ++i) {
      int64_t r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
  }

  void run(cd* x, bool inverse) const {
    for (int64_t i = 0; i < n; ++i) {
      if (i < rev[i]) std::swap(x[i], x[rev[i]]);
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
      int64_t half = len / 2, step = n / len;
      for (int64_t i = 0; i < n; i += len) {
        for (int64_t j = 0; j < half; ++j) {
          cd w = twiddles[j * step];
          if (inverse) w = std::conj(w);
          cd u = x[i + j], v = x[i + j + half] * w;
          x[i + j] = u + v;
          x[i + j + half] = u - v;
        }
      }
    }
  }
};

// Prime factors (4 taken first) of n if all are at most 13, else empty.
std::vector<int> small_factors(int64_t n) {
  std::vector<int> f;
  for (int p : {4, 2, 3, 5, 7, 11, 13}) {
    while (n % p == 0) {
      f.push_back(p);
      n /= p;
    }
  }
  if (n != 1) f.clear();
  return f;
}

// A 1-D DFT of any length n in one direction.
struct Plan {
  int64_t n;
  bool inverse;
  std::vector<int> factors;  // mixed-radix factors, when n is smooth and not a power of two
  std::vector<cd> roots;     // exp(sign * 2 pi i j / n), j < n (mixed radix)
  Pow2Plan inner;            // length n (power of two) or m >= 2n - 1 (Bluestein)
  std::vector<cd> chirp;     // exp(sign * pi i j^2 / n)
  std::vector<cd> kernel;    // spectrum of conj(chirp) wrapped circularly onto m points, over m

  Plan(int64_t n_, bool inverse_)
      : n(n_), inverse(inverse_), factors(is_pow2(n_) ? std::vector<int>{} : small_factors(n_)),
        inner(factors.empty() ? bluestein_size(n_) : 1) {
    if (is_pow2(n)) return;
    double sign = inverse ? 1.0 : -1.0;
    if (!factors.empty()) {
      roots.resize(n);
      for (int64_t j = 0; j < n; ++j) {
        double t = sign * 2.0 * M_PI * static_cast<double>(j) / static_cast<double>(n);
        roots[j] = cd(std::cos(t), std::sin(t));
      }
      return;
    }
    int64_t m = inner.n;
    chirp.resize(n);
    for (int64_t j = 0; j < n; ++j) {
      // j^2 mod 2n keeps the angle small, so large j lose no precision.
      int64_t q = (j * j) % (2 * n);
      double t = sign * M_PI * static_cast<double>(q) / static_cast<double>(n);
      chirp[j] = cd(std::cos(t), std::sin(t));
    }
    kernel.assign(m, cd(0, 0));
    kernel[0] = std::conj(chirp[0]);
    for (int64_t j = 1; j < n; ++j) kernel[j] = kernel[m - j] = std::conj(chirp[j]);
    inner.run(kernel.data(), false);
    for (auto& v : kernel) v /= static_cast<double>(m);
  }

  static int64_t bluestein_size(int64_t n) {
    if (is_pow2(n)) return n;
    int64_t m = 1;
    while (m < 2 * n - 1) m <<= 1;
    return m;
  }

  // Scratch of `scratch_size()` points.
  int64_t scratch_size() const { return is_pow2(n) ? 0 : factors.empty() ? inner.n : n; }

  // out[0:len] = DFT of the len points in[0], in[stride], ...: the DFTs of the p interleaved
  // subsequences (p the factor at `fi`), then len / p butterflies of radix p.
  void mixed(const cd* in, int64_t stride, cd* out, int64_t len, size_t fi) const {
    if (len == 1) {
      out[0] = in[0];
      return;
    }
    int p = factors[fi];
    int64_t m = len / p, step = n / len, root_p = n / p;
    for (int q = 0; q < p; ++q) mixed(in + q * stride, stride * p, out + q * m, m, fi + 1);
    cd t[13], r[13];
    for (int64_t k = 0; k < m; ++k) {
      for (int q = 0; q < p; ++q) t[q] = out[q * m + k] * roots[q * k * step];
      for (int j = 0; j < p; ++j) {
        cd acc = t[0];
        for (int q = 1; q < p; ++q) acc += t[q] * roots[((q * j) % p) * root_p];
        r[j] = acc;
      }
      for (int j = 0; j < p; ++j) out[j * m + k] = r[j];
    }
  }

  void run(cd* x, cd* scratch) const {
    if (is_pow2(n)) {
      inner.run(x, inverse);
      return;
    }
    if (!factors.empty()) {
      mixed(x, 1, scratch, n, 0);
      std::copy(scratch, scratch + n, x);
      return;
    }
    int64_t m = inner.n;
    for (int64_t j = 0; j < n; ++j) scratch[j] = x[j] * chirp[j];
    for (int64_t j = n; j < m; ++j) scratch[j] = cd(0, 0);
    inner.run(scratch, false);
    for (int64_t j = 0; j < m; ++j) scratch[j] *= kernel[j];
    inner.run(scratch, true);
    for (int64_t k = 0; k < n; ++k) x[k] = scratch[k] * chirp[k];
  }
};

// Rows along `axis` of a row-major array of `shape`: row r starts at
// (r / inner) * len * inner + r % inner and steps by inner.
struct Rows {
  int64_t count, len, inner;
  Rows(const Shape& shape, int axis) {
    len = shape[axis];
    inner = 1;
    for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
    int64_t total = 1;
    for (auto d : shape) total *= d;
    count = len == 0 ? 0 : total / len;
  }
  int64_t start(int64_t r) const { return (r / inner) * len * inner + r % inner; }
};

int64_t grain_for(int64_t n) { return std::max<int64_t>(1, kiln::cpu::kElementwiseGrain / std::max<int64_t>(n, 1) / 4); }

// In-place complex transform of `data` (row-major `shape`) along `axis`.
void transform_axis(complex64_t* data, const Shape& shape, int axis, bool inverse) {
  Rows rows(shape, axis);
  if (rows.count == 0 || rows.len <= 1) return;
  Plan plan(rows.len, inverse);
  cpu::parallel_for(rows.count, grain_for(rows.len), [&](int64_t b, int64_t e) {
    std::vector<cd> line(rows.len), scratch(plan.scratch_size());
    for (int64_t r = b; r < e; ++r) {
      complex64_t* p = data + rows.start(r);
      for (int64_t k = 0; k < rows.len; ++k) line[k] = cd(p[k * rows.inner].real(), p[k * rows.inner].imag());
      plan.run(line.data(), scratch.data());
      for (int64_t k = 0; k < rows.len; ++k) p[k * rows.inner] = complex64_t(line[k].real(), line[k].imag());
    }
  });
}

}  // namespace

void FFT::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  const Shape& in_shape = in.shape();
  const Shape& out_shape = out.shape();

  if (!real_) {
    cpu::copy_into(in, out);
    for (int ax : axes_) transform_axis(out.data<complex64_t>(), out_shape, ax, inverse_);
    return;
  }
  // A row-major scratch copy of the input (the inverse real path transforms it in place).
  array src(allocator::malloc(in.nbytes()), in.shape(), in.dtype());
  cpu::copy_into(in, src);

  int last = axes_.back();
  if (!inverse_) {
    // Real -> half spectrum along the last axis, then complex transforms along the others.
    Rows ri(in_shape, last), ro(out_shape, last);
    int64_t n = ri.len, h = ro.len;
    const float* x = src.data<float>();
    auto* o = out.data<complex64_t>();
    Plan plan(n, false);
    cpu::parallel_for(ri.count, grain_for(n), [&](int64_t b, int64_t e) {
      std::vector<cd> line(n), scratch(plan.scratch_size());
      for (int64_t r = b; r < e; ++r) {
        const float* p = x + ri.start(r);
        for (int64_t k = 0; k < n; ++k) line[k] = cd(p[k * ri.inner], 0);
        plan.run(line.data(), scratch.data());
        complex64_t* q = o + ro.start(r);
        for (int64_t k = 0; k < h; ++k) q[k * ro.inner] = complex64_t(line[k].real(), line[k].imag());
      }
    });
    for (size_t i = 0; i + 1 < axes_.size(); ++i) transform_axis(o, out_shape, axes_[i], false);
    return;
  }

  // Inverse real: complex inverse transforms along the other axes (in the row-major copy), then
  // the Hermitian extension of each last-axis row to n points, whose inverse is real.
  auto* c = src.data<complex64_t>();
  for (size_t i = 0; i + 1 < axes_.size(); ++i) transform_axis(c, in_shape, axes_[i], true);
  Rows ri(in_shape, last), ro(out_shape, last);
  int64_t h = ri.len, n = ro.len;
  float* o = out.data<float>();
  Plan plan(n, true);
  cpu::parallel_for(ri.count, grain_for(n), [&](int64_t b, int64_t e) {
    std::vector<cd> line(n), scratch(plan.scratch_size());
    for (int64_t r = b; r < e; ++r) {
      const complex64_t* p = c + ri.start(r);
      for (int64_t k = 0; k < n; ++k) {
        if (k < h && k <= n / 2) {
          line[k] = cd(p[k * ri.inner].real(), p[k * ri.inner].imag());
        } else {
          int64_t j = n - k;
          line[k] = j < h ? std::conj(cd(p[j * ri.inner].real(), p[j * ri.inner].imag())) : cd(0, 0);
        }
      }
      plan.run(line.data(), scratch.data());
      float* q = o + ro.start(r);
      for (int64_t k = 0; k < n; ++k) q[k * ro.inner] = static_cast<float>(line[k].real());
    }
  });
}

}  // namespace kiln
