// eval_cpu of Softmax and LogSumExp: both work row by row over the last axis, subtracting the
// row's maximum before exponentiating so large inputs cannot overflow. float16/bfloat16 rows
// are computed in float32 (the `precise` behaviour, always).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/half_blocks.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Elements of work per task before rows are split across threads.
constexpr int64_t kRowGrain = 1 << 14;

typedef float vfloat __attribute__((vector_size(32)));
typedef int32_t vint __attribute__((vector_size(32)));
constexpr int kVL = 8;

inline vfloat vload(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void vstore(float* p, vfloat v) { std::memcpy(p, &v, sizeof(v)); }
inline vfloat vsplat(float x) { return vfloat{x, x, x, x, x, x, x, x}; }

// exp(x) for x <= 0 or NaN, the only arguments here (x minus the row maximum). Range
// reduction x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r (about 1 ulp),
// and 2^n built in the exponent bits. Results below FLT_MIN flush to zero.
inline vfloat exp_nonpositive(vfloat x) {
  const vfloat lo = vsplat(-87.336544f);  // ln(FLT_MIN)
  vfloat xc = x < lo ? lo : x;
  const vfloat magic = vsplat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  vfloat n = (xc * 1.44269504f + magic) - magic;
  vfloat r = xc - n * 0.693359375f;  // ln2 split in two so n * ln2_hi is exact
  r = r + n * 2.12194440e-4f;
  vfloat p = vsplat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vfloat y = p * (r * r) + r + 1.0f;
  vint bits = (__builtin_convertvector(n, vint) + 127) << 23;
  vfloat scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  y = y * scale;
  return x < lo ? vsplat(0.0f) : y;
}

inline float exp_nonpositive(float x) { return std::exp(x); }
inline double exp_nonpositive(double x) { return std::exp(x); }

// Maximum of a row; NaN if any element is NaN.
template <typename V>
V row_max(const V* x, int64_t n) {
  V m = -std::numeric_limits<V>::infinity();
  int64_t i = 0;
  if constexpr (std::is_same_v<V, float>) {
    if (n >= 4 * kVL) {
      vfloat a0 = vsplat(m), a1 = a0, a2 = a0, a3 = a0;
      auto up = [](vfloat a, vfloat v) { return ((v > a) | (v != v)) ? v : a; };
      for (; i + 4 * kVL <= n; i += 4 * kVL) {
        a0 = up(a0, vload(x + i));
        a1 = up(a1, vload(x + i + kVL));
        a2 = up(a2, vload(x + i + 2 * kVL));
        a3 = up(a3, vload(x + i + 3 * kVL));
      }
      a0 = up(up(a0, a1), up(a2, a3));
      for (int k = 0; k < kVL; ++k) m = (a0[k] > m || a0[k] != a0[k]) ? a0[k] : m;
    }
  }
  for (; i < n; ++i) m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
  return m;
}

// Sum of exp(x[i] - m); also stores the terms in y when y is not null. Lanes are added in
// float over short blocks and the blocks in double, so long rows keep their accuracy.
template <typename V>
double sum_exp(const V* x, V m, V* y, int64_t n) {
  double total = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<V, float>) {
    vfloat vm = vsplat(m);
    while (i + 2 * kVL <= n) {
      vfloat s0 = vsplat(0.0f), s1 = s0;
      int64_t end = std::min<int64_t>(n, i + 1024) - 2 * kVL;
      for (; i <= end; i += 2 * kVL) {
        vfloat e0 = exp_nonpositive(vload(x + i) - vm);
        vfloat e1 = exp_nonpositive(vload(x + i + kVL) - vm);
        if (y) {
          vstore(y + i, e0);
          vstore(y + i + kVL, e1);
        }
        s0 += e0;
        s1 += e1;
      }
      s0 += s1;
      float blk = 0;
      for (int k = 0; k < kVL; ++k) blk += s0[k];
      total += blk;
    }
  }
  for (; i < n; ++i) {
    V e = exp_nonpositive(x[i] - m);
    if (y) y[i] = e;
    total += e;
  }
  return total;
}

template <typename V>
void softmax_row(const V* x, V* y, int64_t n) {
  V m = row_max(x, n);
  // An all -inf row gives NaN (0/0), as in MLX and NumPy-based implementations.
  V inv = static_cast<V>(1.0 / sum_exp(x, m, y, n));
  int64_t i = 0;
  if constexpr (std::is_same_v<V, float>) {
    vfloat vi = vsplat(inv);
    for (; i + kVL <= n; i += kVL) vstore(y + i, vload(y + i) * vi);
  }
  for (; i < n; ++i) y[i] *= inv;
}

template <typename V>
V logsumexp_row(const V* x, int64_t n) {
  V m = row_max(x, n);
  // NaN stays NaN; a +inf element makes the result +inf; an all -inf (or empty) row is -inf.
  if (std::isnan(m) || std::isinf(m)) return m;
  return static_cast<V>(m + std::log(sum_exp<V>(x, m, nullptr, n)));
}

// Calls f(x, row) for every row of the last axis of `in`, where x points to the row's n
// values as V: the input itself when it is already contiguous V, else a converted copy.
// When the last axis is strided but consecutive rows are adjacent in memory (softmax over a
// non-last axis arrives transposed), rows are gathered kTile at a time, reading whole cache
// lines instead of one element from each.
template <typename T, typename F>
void for_each_row(const array& in, F&& f) {
  using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
  constexpr int64_t kTile = 16;
  int64_t n = in.ndim() == 0 ? 1 : in.shape(-1);
  int64_t rows = n == 0 ? 0 : static_cast<int64_t>(in.size()) / n;
  int64_t s = in.ndim() == 0 ? 1 : in.strides(-1);
  Shape outer(in.shape().begin(), in.shape().end() - (in.ndim() > 0 ? 1 : 0));
  Strides outer_strides(in.strides().begin(), in.strides().end() - (in.ndim() > 0 ? 1 : 0));
  bool tiled = s != 1 && !outer.empty() && outer_strides.back() == 1 && outer.back() > 1;
  int64_t run = tiled ? outer.back() : 1;  // rows adjacent in memory, in a run
  const T* src = in.data<T>();
  cpu::parallel_for(rows, std::max<int64_t>(1, kRowGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    std::vector<V> buf;
    for (int64_t r = b; r < e;) {
      const T* p = src + elem_to_loc(r, outer, outer_strides);
      if constexpr (std::is_same_v<T, V>) {
        if (s == 1) {
          f(p, r);
          ++r;
          continue;
        }
      }
      int64_t g = tiled ? std::min({kTile, e - r, run - r % run}) : 1;
      // Padded row pitch: rows a power of two apart would all map to the same cache sets.
      int64_t pitch = g > 1 ? n + 16 : n;
      buf.resize(g * pitch);
      if (g > 1) {
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t k = 0; k < g; ++k) buf[k * pitch + i] = static_cast<V>(p[i * s + k]);
        }
      } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
        if (s == 1) {
          cpu::to_float(p, buf.data(), n);
        } else {
          for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<float>(p[i * s]);
        }
      } else {
        for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<V>(p[i * s]);
      }
      for (int64_t k = 0; k < g; ++k) f(static_cast<const V*>(buf.data() + k * pitch), r + k);
      r += g;
    }
  });
}

}  // namespace

void Softmax::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  dispatch_float_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
    int64_t n = in.ndim() == 0 ? 1 : in.shape(-1);
    T* dst = out.data<T>();
    for_each_row<T>(in, [&](const V* x, int64_t r) {
      T* y = dst + r * n;
      if constexpr (std::is_same_v<T, V>) {
        softmax_row(x, y, n);
      } else {
        // x is this thread's float copy of the row: compute in place, then narrow.
        V* xy = const_cast<V*>(x);
        softmax_row(x, xy, n);
        cpu::from_float(xy, y, n);
      }
    });
  });
}

void LogSumExp::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  dispatch_float_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
    T* dst = out.data<T>();
    if (in.ndim() > 0 && in.shape(-1) == 0) {
      std::fill(dst, dst + out.size(), static_cast<T>(-std::numeric_limits<float>::infinity()));
      return;
    }
    int64_t n = in.ndim() == 0 ? 1 : in.shape(-1);
    for_each_row<T>(in, [&](const V* x, int64_t r) { dst[r] = static_cast<T>(logsumexp_row(x, n)); });
  });
}

}  // namespace kiln
