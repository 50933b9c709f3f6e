// eval_cpu of Scan (cumsum, cumprod, cummax, cummin, logcumsumexp).
//
// The input (already of the output dtype) is copied row-major into the output, which is then
// scanned in place. Seen as (outer, n, inner) around the axis, a scan over the last axis
// (inner == 1) walks each contiguous row; otherwise it walks the n slices of a block of
// `inner` contiguous lanes at once, so every pass reads memory sequentially.
//
// Accumulators: half types accumulate in float (rounded once per output element), signed
// integers add and multiply in their unsigned type so overflow wraps as in MLX, bool sums
// are logical or and products logical and. max/min propagate NaN, as NumPy's
// maximum.accumulate does.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Elements one task should cover before work is split across threads.
constexpr int64_t kScanGrain = 1 << 15;
// Lanes of one column block (a stripe of `inner` processed together).
constexpr int64_t kLaneBlock = 1024;

template <typename T>
constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

template <typename V>
inline bool nan_of(const V& v) {
  if constexpr (std::is_floating_point_v<V>) {
    return v != v;
  } else if constexpr (std::is_same_v<V, complex64_t>) {
    return v != v;
  } else {
    return false;
  }
}

template <typename V>
inline bool greater(const V& a, const V& b) {
  if constexpr (std::is_same_v<V, complex64_t>) {
    return a.real() > b.real() || (a.real() == b.real() && a.imag() > b.imag());
  } else {
    return a > b;
  }
}

// The accumulator type of each scan over element type T.
template <Scan::ScanType Op, typename T>
struct AccType {
  using type = std::conditional_t<is_half_v<T>, float, T>;
};
// Sums and products of signed integers run in the unsigned type of the same width (wrapping).
template <typename T, bool = std::is_integral_v<T> && !std::is_same_v<T, bool>>
struct WrapType {
  using type = std::conditional_t<is_half_v<T>, float, T>;
};
template <typename T>
struct WrapType<T, true> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
struct AccType<Scan::Sum, T> : WrapType<T> {};
template <typename T>
struct AccType<Scan::Prod, T> : AccType<Scan::Sum, T> {};

template <Scan::ScanType Op, typename V>
struct ScanOp;

template <typename V>
struct ScanOp<Scan::Sum, V> {
  static V init() { return V(0); }
  static V apply(V a, V b) {
    if constexpr (std::is_same_v<V, bool>) {
      return a || b;
    } else {
      return static_cast<V>(a + b);
    }
  }
};

template <typename V>
struct ScanOp<Scan::Prod, V> {
  static V init() { return V(1); }
  static V apply(V a, V b) {
    if constexpr (std::is_same_v<V, bool>) {
      return a && b;
    } else if constexpr (std::is_unsigned_v<V> && sizeof(V) < sizeof(unsigned)) {
      return static_cast<V>(static_cast<unsigned>(a) * static_cast<unsigned>(b));  // no int overflow
    } else {
      return static_cast<V>(a * b);
    }
  }
};

template <typename V>
struct ScanOp<Scan::Max, V> {
  static V init() {
    if constexpr (std::is_same_v<V, complex64_t>) {
      return V(-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity());
    } else if constexpr (std::numeric_limits<V>::has_infinity) {
      return -std::numeric_limits<V>::infinity();
    } else {
      return std::numeric_limits<V>::lowest();
    }
  }
  static V apply(V a, V b) {
    if (nan_of(a)) return a;
    if (nan_of(b)) return b;
    return greater(b, a) ? b : a;
  }
};

template <typename V>
struct ScanOp<Scan::Min, V> {
  static V init() {
    if constexpr (std::is_same_v<V, complex64_t>) {
      return V(std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity());
    } else if constexpr (std::numeric_limits<V>::has_infinity) {
      return std::numeric_limits<V>::infinity();
    } else {
      return std::numeric_limits<V>::max();
    }
  }
  static V apply(V a, V b) {
    if (nan_of(a)) return a;
    if (nan_of(b)) return b;
    return greater(a, b) ? b : a;
  }
};

template <typename V>
struct ScanOp<Scan::LogAddExp, V> {
  static V init() { return V(-std::numeric_limits<float>::infinity()); }
  static V apply(V a, V b) {
    if constexpr (std::is_same_v<V, complex64_t>) {
      if (std::isinf(a.real()) && a.real() < 0) return b;
      if (std::isinf(b.real()) && b.real() < 0) return a;
      V hi = a.real() >= b.real() ? a : b;
      V lo = a.real() >= b.real() ? b : a;
      return hi + std::log(V(1) + std::exp(lo - hi));
    } else {
      if (a != a || b != b) return a + b;
      if (a == b) return a + static_cast<V>(0.69314718055994530942);  // also right for +-inf
      V hi = std::max(a, b), lo = std::min(a, b);
      return hi + std::log1p(std::exp(lo - hi));
    }
  }
};

// Scans `n` slices of `w` lanes starting at `p` (slice j at p + j * stride), in place.
template <Scan::ScanType Op, typename T>
void scan_block(T* p, int64_t n, int64_t stride, int64_t w, bool reverse, bool inclusive, typename AccType<Op, T>::type* acc) {
  using V = typename AccType<Op, T>::type;
  using S = ScanOp<Op, V>;
  std::fill(acc, acc + w, S::init());
  for (int64_t k = 0; k < n; ++k) {
    T* row = p + (reverse ? n - 1 - k : k) * stride;
    if (inclusive) {
      for (int64_t l = 0; l < w; ++l) {
        acc[l] = S::apply(acc[l], static_cast<V>(row[l]));
        row[l] = static_cast<T>(acc[l]);
      }
    } else {
      for (int64_t l = 0; l < w; ++l) {
        V x = static_cast<V>(row[l]);
        row[l] = static_cast<T>(acc[l]);
        acc[l] = S::apply(acc[l], x);
      }
    }
  }
}

// A contiguous row scanned with a scalar accumulator.
template <Scan::ScanType Op, typename T>
void scan_row(T* p, int64_t n, bool reverse, bool inclusive) {
  using V = typename AccType<Op, T>::type;
  using S = ScanOp<Op, V>;
  V acc = S::init();
  if (inclusive) {
    for (int64_t k = 0; k < n; ++k) {
      T& x = p[reverse ? n - 1 - k : k];
      acc = S::apply(acc, static_cast<V>(x));
      x = static_cast<T>(acc);
    }
  } else {
    for (int64_t k = 0; k < n; ++k) {
      T& x = p[reverse ? n - 1 - k : k];
      V v = static_cast<V>(x);
      x = static_cast<T>(acc);
      acc = S::apply(acc, v);
    }
  }
}

template <Scan::ScanType Op, typename T>
void scan_inplace(T* data, int64_t outer, int64_t n, int64_t inner, bool reverse, bool inclusive) {
  if (inner == 1) {
    int64_t grain = std::max<int64_t>(1, kScanGrain / std::max<int64_t>(n, 1));
    cpu::parallel_for(outer, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) scan_row<Op, T>(data + o * n, n, reverse, inclusive);
    });
    return;
  }
  using V = typename AccType<Op, T>::type;
  int64_t blocks_per_outer = (inner + kLaneBlock - 1) / kLaneBlock;
  int64_t tasks = outer * blocks_per_outer;
  int64_t per_task = std::min(inner, kLaneBlock) * n;
  int64_t grain = std::max<int64_t>(1, kScanGrain / std::max<int64_t>(per_task, 1));
  cpu::parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
    std::unique_ptr<V[]> acc(new V[std::min(inner, kLaneBlock)]);  // not vector: vector<bool> has no data()
    for (int64_t t = begin; t < end; ++t) {
      int64_t o = t / blocks_per_outer, b = t % blocks_per_outer;
      int64_t l0 = b * kLaneBlock;
      int64_t w = std::min(kLaneBlock, inner - l0);
      scan_block<Op, T>(data + o * n * inner + l0, n, inner, w, reverse, inclusive, acc.get());
    }
  });
}

template <Scan::ScanType Op>
void run_scan(array& out, int axis, bool reverse, bool inclusive, const char* name) {
  int64_t n = out.shape(axis), outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= out.shape(d);
  for (int d = axis + 1; d < out.ndim(); ++d) inner *= out.shape(d);
  auto body = [&](auto tag) {
    using T = typename decltype(tag)::type;
    scan_inplace<Op, T>(out.data<T>(), outer, n, inner, reverse, inclusive);
  };
  if constexpr (Op == Scan::LogAddExp) {
    if (out.dtype() == complex64) {
      body(type_tag<complex64_t>{});
    } else {
      dispatch_float_types(out.dtype(), name, body);
    }
  } else {
    dispatch_all_types(out.dtype(), name, body);
  }
}

}  // namespace

void Scan::eval_cpu(const std::vector<array>& inputs, array& out) {
  cpu::copy_alloc(inputs[0], out);
  if (out.size() == 0) return;
  switch (type_) {
    case Sum: run_scan<Sum>(out, axis_, reverse_, inclusive_, name()); break;
    case Prod: run_scan<Prod>(out, axis_, reverse_, inclusive_, name()); break;
    case Max: run_scan<Max>(out, axis_, reverse_, inclusive_, name()); break;
    case Min: run_scan<Min>(out, axis_, reverse_, inclusive_, name()); break;
    case LogAddExp: run_scan<LogAddExp>(out, axis_, reverse_, inclusive_, name()); break;
  }
}

}  // namespace kiln
