// eval_cpu of FFT: 1-D transforms applied axis by axis, each over every row of that axis.
//
// Arithmetic is in complex<float>, as numpy.fft does for complex64, with twiddles computed in
// double: errors stay ~1e-7 relative to the largest output (Bluestein included).
// Rows are processed in blocks of B: a block is gathered interleaved (element t of row q at
// q + B t), so that the columns of a 2-D array are read as contiguous runs of B values and the
// innermost butterfly loop runs over the B rows. Blocks run in parallel on the thread pool.
//
// A plan (cached per length and direction) is an iterative self-sorting (Stockham) mixed-radix
// transform: stages of radix 4, 2 and odd primes, each with its twiddles precomputed. Lengths
// with a prime factor above kMaxRadix use Bluestein's chirp-z identity
// jk = (j^2 + k^2 - (k - j)^2) / 2, a circular convolution done with power-of-two plans.
// Real transforms of even length n run a complex transform of n / 2 points on the even/odd
// samples packed as real/imaginary parts, split apart afterwards.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using real_t = float;  // arithmetic precision (twiddles are computed in double)
using cd = std::complex<real_t>;

// Product without std::complex's NaN recovery (which blocks vectorisation).
inline cd mul(cd a, cd b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline cd mul_conj(cd a, cd b) {  // a * conj(b)
  return {a.real() * b.real() + a.imag() * b.imag(), a.imag() * b.real() - a.real() * b.imag()};
}
// exp(sign * 2 pi i num / den), with num reduced mod den first.
cd root(int64_t num, int64_t den, double sign) {
  double t = sign * 2.0 * M_PI * static_cast<double>(num % den) / static_cast<double>(den);
  return {static_cast<real_t>(std::cos(t)), static_cast<real_t>(std::sin(t))};
}

constexpr int kMaxRadix = 31;

// One Stockham stage over a current length L = p m: for j < m and every interleaved sequence
// q < s, the p points x[q + s (j + k m)] give y[q + s (p j + r)] = (DFT_p of them)[r] w_L^(j r).
struct Stage {
  int p;
  int64_t m, s;              // s: stride in sequences of the plan (times the block size at run time)
  std::vector<cd> tw;        // tw[j (p - 1) + r - 1] = w_L^(j r)
  std::vector<real_t> c, sn; // cos(2 pi t / p), sign * sin(2 pi t / p): odd-radix butterflies
};

template <int P>
void odd_stage(const Stage& st, const cd* __restrict x, cd* __restrict y, int64_t s, int p_rt) {
  constexpr int kMax = P ? P : kMaxRadix;
  const int p = P ? P : p_rt, h = (p - 1) / 2;
  const int64_t m = st.m;
  const real_t* c = st.c.data();
  const real_t* sn = st.sn.data();
  for (int64_t j = 0; j < m; ++j) {
    const cd* w = st.tw.data() + j * (p - 1);
    for (int64_t q = 0; q < s; ++q) {
      cd a0 = x[q + s * j], sum[kMax / 2 + 1], dif[kMax / 2 + 1];
      cd b0 = a0;
      for (int k = 1; k <= h; ++k) {
        cd u = x[q + s * (j + k * m)], v = x[q + s * (j + (p - k) * m)];
        sum[k] = u + v;
        dif[k] = u - v;
        b0 += sum[k];
      }
      cd* out = y + q + s * p * j;
      out[0] = b0;
      for (int r = 1; r <= h; ++r) {
        real_t re_r = a0.real(), re_i = a0.imag(), im_r = 0, im_i = 0;
        for (int k = 1; k <= h; ++k) {
          int t = (r * k) % p;
          re_r += sum[k].real() * c[t];
          re_i += sum[k].imag() * c[t];
          im_r += dif[k].real() * sn[t];
          im_i += dif[k].imag() * sn[t];
        }
        // b_r = re + i im, b_(p-r) = re - i im
        out[s * r] = mul(cd(re_r - im_i, re_i + im_r), w[r - 1]);
        out[s * (p - r)] = mul(cd(re_r + im_i, re_i - im_r), w[p - r - 1]);
      }
    }
  }
}

void radix2_stage(const Stage& st, const cd* __restrict x, cd* __restrict y, int64_t s) {
  const int64_t m = st.m;
  for (int64_t j = 0; j < m; ++j) {
    cd w = st.tw[j];
    for (int64_t q = 0; q < s; ++q) {
      cd a = x[q + s * j], b = x[q + s * (j + m)];
      y[q + s * 2 * j] = a + b;
      y[q + s * (2 * j + 1)] = mul(a - b, w);
    }
  }
}

void radix4_stage(const Stage& st, const cd* __restrict x, cd* __restrict y, int64_t s, bool inverse) {
  const int64_t m = st.m;
  const real_t g = inverse ? 1 : -1;  // w_4 = g i
  for (int64_t j = 0; j < m; ++j) {
    const cd* w = st.tw.data() + 3 * j;
    for (int64_t q = 0; q < s; ++q) {
      cd a0 = x[q + s * j], a1 = x[q + s * (j + m)], a2 = x[q + s * (j + 2 * m)], a3 = x[q + s * (j + 3 * m)];
      cd s02 = a0 + a2, d02 = a0 - a2, s13 = a1 + a3, d13 = a1 - a3;
      cd rd13(-g * d13.imag(), g * d13.real());  // g i (a1 - a3)
      cd* out = y + q + s * 4 * j;
      out[0] = s02 + s13;
      out[s] = mul(d02 + rd13, w[0]);
      out[2 * s] = mul(s02 - s13, w[1]);
      out[3 * s] = mul(d02 - rd13, w[2]);
    }
  }
}

inline cd times_i(cd z) { return {-z.imag(), z.real()}; }

// Radix 3 and 5 written out (no temporary arrays, which the generic odd radix spills).
// With u = w_p (the sign folded into sn), b_r = a0 + sum_k s_k cos(2 pi r k / p) + i d_k sn_rk.
void radix3_stage(const Stage& st, const cd* __restrict x, cd* __restrict y, int64_t s) {
  const int64_t m = st.m;
  const real_t c1 = st.c[1], s1 = st.sn[1];
  for (int64_t j = 0; j < m; ++j) {
    const cd* w = st.tw.data() + 2 * j;
    for (int64_t q = 0; q < s; ++q) {
      cd a0 = x[q + s * j], a1 = x[q + s * (j + m)], a2 = x[q + s * (j + 2 * m)];
      cd t = a1 + a2, re = a0 + c1 * t, im = times_i(s1 * (a1 - a2));
      cd* out = y + q + s * 3 * j;
      out[0] = a0 + t;
      out[s] = mul(re + im, w[0]);
      out[2 * s] = mul(re - im, w[1]);
    }
  }
}

void radix5_stage(const Stage& st, const cd* __restrict x, cd* __restrict y, int64_t s) {
  const int64_t m = st.m;
  const real_t c1 = st.c[1], c2 = st.c[2], s1 = st.sn[1], s2 = st.sn[2];
  for (int64_t j = 0; j < m; ++j) {
    const cd* w = st.tw.data() + 4 * j;
    for (int64_t q = 0; q < s; ++q) {
      cd a0 = x[q + s * j], a1 = x[q + s * (j + m)], a2 = x[q + s * (j + 2 * m)], a3 = x[q + s * (j + 3 * m)],
         a4 = x[q + s * (j + 4 * m)];
      cd s14 = a1 + a4, d14 = a1 - a4, s23 = a2 + a3, d23 = a2 - a3;
      cd re1 = a0 + c1 * s14 + c2 * s23, im1 = times_i(s1 * d14 + s2 * d23);
      cd re2 = a0 + c2 * s14 + c1 * s23, im2 = times_i(s2 * d14 - s1 * d23);
      cd* out = y + q + s * 5 * j;
      out[0] = a0 + s14 + s23;
      out[s] = mul(re1 + im1, w[0]);
      out[2 * s] = mul(re2 + im2, w[1]);
      out[3 * s] = mul(re2 - im2, w[2]);
      out[4 * s] = mul(re1 - im1, w[3]);
    }
  }
}

struct Plan;
std::shared_ptr<const Plan> get_plan(int64_t n, bool inverse);

// A 1-D DFT of length n in one direction, over blocks of B interleaved sequences.
struct Plan {
  int64_t n;
  bool inverse;
  std::vector<Stage> stages;
  // Bluestein (when `inner` is set): chirp exp(sign pi i j^2 / n) and the spectrum of its
  // conjugate wrapped circularly onto m points, over m.
  std::shared_ptr<const Plan> inner;
  std::vector<cd> chirp, kernel;

  Plan(int64_t n_, bool inverse_) : n(n_), inverse(inverse_) {
    double sign = inverse ? 1.0 : -1.0;
    std::vector<int> f;
    int64_t r = n;
    while (r % 4 == 0) f.push_back(4), r /= 4;
    while (r % 2 == 0) f.push_back(2), r /= 2;
    for (int p = 3; p <= kMaxRadix && r > 1; p += 2)
      while (r % p == 0) f.push_back(p), r /= p;
    if (r == 1) {
      int64_t len = n, s = 1;
      for (int p : f) {
        Stage st{p, len / p, s, {}, {}, {}};
        st.tw.resize(st.m * (p - 1));
        for (int64_t j = 0; j < st.m; ++j)
          for (int k = 1; k < p; ++k) st.tw[j * (p - 1) + k - 1] = root(j * k, len, sign);
        for (int t = 0; t < p && p % 2 == 1; ++t) {
          st.c.push_back(root(t, p, 1).real());
          st.sn.push_back(root(t, p, sign).imag());
        }
        stages.push_back(std::move(st));
        len /= p;
        s *= p;
      }
      return;
    }
    int64_t m = 2 * n - 1;  // the next length of factors 2, 3, 5 only
    auto smooth = [](int64_t v) {
      for (int p : {2, 3, 5}) while (v % p == 0) v /= p;
      return v == 1;
    };
    while (!smooth(m)) ++m;
    inner = get_plan(m, false);
    chirp.resize(n);
    for (int64_t j = 0; j < n; ++j) chirp[j] = root((j * j) % (2 * n), 2 * n, sign);  // j^2 mod 2n: exact angle
    kernel.assign(m, cd(0, 0));
    kernel[0] = std::conj(chirp[0]);
    for (int64_t j = 1; j < n; ++j) kernel[j] = kernel[m - j] = std::conj(chirp[j]);
    std::vector<cd> work(m);
    if (inner->run(kernel.data(), work.data(), 1) != kernel.data()) kernel = work;
    for (auto& v : kernel) v /= static_cast<real_t>(m);
  }

  // Scratch points run() needs for a block of B sequences.
  int64_t scratch_size(int64_t B) const { return inner ? 2 * inner->n * B : n * B; }

  // Transforms the B sequences interleaved in x (element t of sequence q at x[q + B t]);
  // returns where the result is: x or scratch.
  cd* run(cd* x, cd* scratch, int64_t B) const {
    if (inner) {
      bluestein(x, scratch, B);
      return x;
    }
    cd *src = x, *dst = scratch;
    for (const Stage& st : stages) {
      int64_t s = st.s * B;
      switch (st.p) {
        case 2: radix2_stage(st, src, dst, s); break;
        case 4: radix4_stage(st, src, dst, s, inverse); break;
        case 3: radix3_stage(st, src, dst, s); break;
        case 5: radix5_stage(st, src, dst, s); break;
        case 7: odd_stage<7>(st, src, dst, s, 7); break;
        default: odd_stage<0>(st, src, dst, s, st.p);
      }
      std::swap(src, dst);
    }
    return src;
  }

  void bluestein(cd* x, cd* scratch, int64_t B) const {
    int64_t m = inner->n;
    cd *a = scratch, *work = scratch + m * B;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t q = 0; q < B; ++q) a[q + B * t] = mul(x[q + B * t], chirp[t]);
    std::fill(a + n * B, a + m * B, cd(0, 0));
    cd* f = inner->run(a, work, B);
    cd* g = f == a ? work : a;
    // The inverse transform of the product as conj(DFT(conj(.))).
    for (int64_t t = 0; t < m; ++t)
      for (int64_t q = 0; q < B; ++q) g[q + B * t] = std::conj(mul(f[q + B * t], kernel[t]));
    f = inner->run(g, f, B);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t q = 0; q < B; ++q) x[q + B * t] = mul_conj(chirp[t], f[q + B * t]);
  }
};

std::shared_ptr<const Plan> get_plan(int64_t n, bool inverse) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, bool>, std::shared_ptr<const Plan>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find({n, inverse});
    if (it != cache.end()) return it->second;
  }
  auto plan = std::make_shared<const Plan>(n, inverse);  // built unlocked: Bluestein fetches its inner plan
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() > 64) cache.clear();
  return cache.emplace(std::make_pair(n, inverse), plan).first->second;
}

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

// Calls f(r0, B, line, scratch) over blocks of B <= block consecutive rows, in parallel, with
// line_pts points a row in `line` and `plan`'s scratch. Blocks shrink to one row for long
// transforms, so that the working set stays in cache.
template <typename F>
void for_blocks(int64_t rows, int64_t line_pts, const Plan& plan, F f) {
  int64_t block = std::clamp<int64_t>((1 << 16) / plan.scratch_size(1), 1, 8);
  int64_t blocks = (rows + block - 1) / block;
  int64_t grain = std::max<int64_t>(1, (1 << 14) / (line_pts * block));
  cpu::parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
    std::vector<cd> line(line_pts * block), scratch(plan.scratch_size(block));
    for (int64_t i = b; i < e; ++i) {
      int64_t r0 = i * block;
      f(r0, std::min(block, rows - r0), line.data(), scratch.data());
    }
  });
}

// In-place complex transform of `data` (row-major `shape`) along `axis`, times `scale`.
void transform_axis(complex64_t* data, const Shape& shape, int axis, bool inverse, real_t scale = 1) {
  Rows rows(shape, axis);
  if (rows.count == 0) return;
  if (rows.len <= 1) {
    if (scale != 1) {
      int64_t total = rows.count * rows.len;
      for (int64_t i = 0; i < total; ++i) data[i] = complex64_t(scale * cd(data[i]));
    }
    return;
  }
  int64_t n = rows.len, inner = rows.inner;
  auto plan = get_plan(n, inverse);
  for_blocks(rows.count, n, *plan, [&](int64_t r0, int64_t B, cd* line, cd* scratch) {
    for (int64_t q = 0; q < B; ++q) {
      const complex64_t* p = data + rows.start(r0 + q);
      for (int64_t t = 0; t < n; ++t) line[q + B * t] = cd(p[t * inner]);
    }
    line = plan->run(line, scratch, B);
    for (int64_t q = 0; q < B; ++q) {
      complex64_t* p = data + rows.start(r0 + q);
      if (scale == 1) {
        for (int64_t t = 0; t < n; ++t) p[t * inner] = complex64_t(line[q + B * t]);
      } else {
        for (int64_t t = 0; t < n; ++t) p[t * inner] = complex64_t(scale * line[q + B * t]);
      }
    }
  });
}

// w_n^k = exp(-2 pi i k / n), k <= n / 2: the twiddles that split/join the even and odd samples
// of a real row of even length n packed as n / 2 complex points.
std::vector<cd> half_twiddles(int64_t n) {
  std::vector<cd> w(n / 2 + 1);
  for (int64_t k = 0; k <= n / 2; ++k) w[k] = root(k, n, -1);
  return w;
}

}  // namespace

void FFT::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  const Shape& in_shape = in.shape();
  const Shape& out_shape = out.shape();

  const real_t scale = static_cast<real_t>(scale_);
  if (!real_) {
    cpu::copy_into(in, out);
    for (size_t i = 0; i < axes_.size(); ++i) {
      transform_axis(out.data<complex64_t>(), out_shape, axes_[i], inverse_, i + 1 == axes_.size() ? scale : 1);
    }
    return;
  }
  // The input if row-major, else a row-major copy; always a copy where the inverse real path
  // transforms other axes in place.
  bool reuse = in.flags().row_contiguous && in.data_size() == in.size() && !(inverse_ && axes_.size() > 1);
  array src = reuse ? in : array(allocator::malloc(in.nbytes()), in.shape(), in.dtype());
  if (!reuse) cpu::copy_into(in, src);

  int last = axes_.back();
  if (!inverse_) {
    // Real -> half spectrum along the last axis, then complex transforms along the others.
    Rows ri(in_shape, last), ro(out_shape, last);
    int64_t n = ri.len, h = ro.len, is = ri.inner, os = ro.inner;
    const float* x = src.data<float>();
    auto* o = out.data<complex64_t>();
    bool even = n % 2 == 0;
    auto plan = get_plan(even ? n / 2 : n, false);
    auto w = half_twiddles(n);
    for_blocks(ri.count, n, *plan, [&](int64_t r0, int64_t B, cd* line, cd* scratch) {
      for (int64_t q = 0; q < B; ++q) {
        const float* p = x + ri.start(r0 + q);
        if (even) {
          for (int64_t t = 0; t < n / 2; ++t) line[q + B * t] = cd(p[2 * t * is], p[(2 * t + 1) * is]);
        } else {
          for (int64_t t = 0; t < n; ++t) line[q + B * t] = cd(p[t * is], 0);
        }
      }
      line = plan->run(line, scratch, B);
      for (int64_t q = 0; q < B; ++q) {
        complex64_t* p = o + ro.start(r0 + q);
        if (!even) {
          for (int64_t k = 0; k < h; ++k) p[k * os] = complex64_t(scale * line[q + B * k]);
          continue;
        }
        // Z = E + i O (E, O the spectra of the even and odd samples); X[k] = E[k] + w^k O[k].
        int64_t hn = n / 2;
        const real_t half = real_t(0.5) * scale;
        for (int64_t k = 0; k < h; ++k) {
          cd z = line[q + B * (k == hn ? 0 : k)], zc = std::conj(line[q + B * (k == 0 ? 0 : hn - k)]);
          cd e = half * (z + zc), od = half * (z - zc);
          p[k * os] = complex64_t(e + mul(w[k], cd(od.imag(), -od.real())));
        }
      }
    });
    for (size_t i = 0; i + 1 < axes_.size(); ++i) transform_axis(o, out_shape, axes_[i], false);
    return;
  }

  // Inverse real: complex inverse transforms along the other axes (in the row-major copy), then
  // each last-axis row of the half spectrum gives n real points.
  auto* c = src.data<complex64_t>();
  for (size_t i = 0; i + 1 < axes_.size(); ++i) transform_axis(c, in_shape, axes_[i], true);
  Rows ri(in_shape, last), ro(out_shape, last);
  int64_t h = ri.len, n = ro.len, is = ri.inner, os = ro.inner;
  float* o = out.data<float>();
  bool even = n % 2 == 0;
  auto plan = get_plan(even ? n / 2 : n, true);
  auto w = half_twiddles(n);
  // X[k] of a row, zero past the half spectrum given.
  auto X = [&](const complex64_t* p, int64_t k) { return k < h ? cd(p[k * is]) : cd(0, 0); };
  for_blocks(ri.count, n, *plan, [&](int64_t r0, int64_t B, cd* line, cd* scratch) {
    for (int64_t q = 0; q < B; ++q) {
      const complex64_t* p = c + ri.start(r0 + q);
      if (even) {
        // Z[k] = (X[k] + conj X[n/2 - k]) + i w^-k (X[k] - conj X[n/2 - k]), the imaginary
        // parts of X[0] and X[n/2] ignored; the inverse of Z interleaves the even/odd outputs.
        int64_t hn = n / 2;
        cd x0(X(p, 0).real(), 0), xh(X(p, hn).real(), 0);
        for (int64_t k = 0; k < hn; ++k) {
          cd a = k == 0 ? x0 : X(p, k), b = std::conj(k == 0 ? xh : X(p, hn - k));
          cd d = mul_conj(a - b, w[k]);
          line[q + B * k] = (a + b) + cd(-d.imag(), d.real());
        }
      } else {
        for (int64_t k = 0; k < n; ++k)
          line[q + B * k] = k <= n / 2 ? X(p, k) : std::conj(X(p, n - k));
      }
    }
    line = plan->run(line, scratch, B);
    for (int64_t q = 0; q < B; ++q) {
      float* p = o + ro.start(r0 + q);
      if (even) {
        for (int64_t t = 0; t < n / 2; ++t) {
          p[2 * t * os] = static_cast<float>(scale * line[q + B * t].real());
          p[(2 * t + 1) * os] = static_cast<float>(scale * line[q + B * t].imag());
        }
      } else {
        for (int64_t t = 0; t < n; ++t) p[t * os] = static_cast<float>(scale * line[q + B * t].real());
      }
    }
  });
}

}  // namespace kiln
