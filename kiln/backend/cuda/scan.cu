// Scan kernels (cumsum, cumprod, cummax, cummin, logcumsumexp) of a row-major array seen as
// (outer, n, inner) around the scanned axis, forwards or reversed, inclusive or exclusive.
//
// inner == 1 (the last axis): a block per row scans it in chunks of kThreads * kItems
// elements: coalesced loads into shared memory, a sequential scan of kItems per thread, a
// block-wide scan of the thread totals, and the carry from the previous chunk.
// inner > 1: one thread per (outer, lane) walks the axis in order; consecutive threads take
// consecutive lanes, so every step is one coalesced row.
//
// Accumulators follow the CPU: half types in float, integer sums and products wrap (the
// kernels dispatch on the element size), bool sum/prod are or/and, max/min propagate NaN.
#include <cmath>
#include <limits>
#include <string>

#include "kiln/backend/cuda/device/complex.cuh"
#include "kiln/backend/cuda/device/reduce.cuh"

namespace kiln::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kItems = 8;

template <typename T>
struct SumS {
  using V = compute_t<T>;
  __device__ static V init() { return V(0); }
  __device__ static V apply(V a, V b) { return static_cast<V>(a + b); }
};

template <typename T>
struct ProdS {
  using V = compute_t<T>;
  __device__ static V init() { return V(1); }
  __device__ static V apply(V a, V b) {
    if constexpr (is_int_v<V> && sizeof(V) < sizeof(unsigned)) {
      return static_cast<V>(static_cast<unsigned>(a) * static_cast<unsigned>(b));
    } else {
      return static_cast<V>(a * b);
    }
  }
};

template <typename T, bool IsMax>
struct MinMaxS {
  using V = compute_t<T>;
  __device__ static V init() {
    if constexpr (std::is_floating_point_v<V>) {
      return IsMax ? -std::numeric_limits<V>::infinity() : std::numeric_limits<V>::infinity();
    } else {
      return IsMax ? std::numeric_limits<V>::lowest() : std::numeric_limits<V>::max();
    }
  }
  __device__ static V apply(V a, V b) {
    if constexpr (std::is_floating_point_v<V>) {
      if (a != a) return a;
      if (b != b) return b;
    }
    return (IsMax ? b > a : b < a) ? b : a;
  }
};

template <typename T>
struct LogAddExpS {
  using V = compute_t<T>;
  __device__ static V init() { return -std::numeric_limits<V>::infinity(); }
  __device__ static V apply(V a, V b) {
    if (a != a || b != b) return a + b;
    if (a == b) return a + static_cast<V>(0.69314718055994530942);  // also right for +-inf
    V hi = a > b ? a : b, lo = a > b ? b : a;
    if constexpr (std::is_same_v<V, float>) {
      return hi + log1pf(expf(lo - hi));
    } else {
      return hi + log1p(exp(lo - hi));
    }
  }
};

// complex64 scans with the CPU's definitions: sum and product (products in double, rounded once),
// max/min in lexicographic order with NaN (either part) sticking, logaddexp by the larger real part.
struct CSumS {
  using V = complex64_d;
  __device__ static V init() { return {0.0f, 0.0f}; }
  __device__ static V apply(V a, V b) { return a + b; }
};
struct CProdS {
  using V = complex64_d;
  __device__ static V init() { return {1.0f, 0.0f}; }
  __device__ static V apply(V a, V b) { return a * b; }
};
template <bool IsMax>
struct CMinMaxS {
  using V = complex64_d;
  __device__ static V init() {
    float inf = std::numeric_limits<float>::infinity();
    return IsMax ? V{-inf, -inf} : V{inf, inf};
  }
  __device__ static V apply(V a, V b) {
    if (c_isnan(a)) return a;
    if (c_isnan(b)) return b;
    return (IsMax ? c_less(a, b) : c_less(b, a)) ? b : a;
  }
};
struct CLogAddExpS {
  using V = complex64_d;
  __device__ static V init() { return {-std::numeric_limits<float>::infinity(), 0.0f}; }
  __device__ static V apply(V a, V b) {
    if (isinf(a.re) && a.re < 0) return b;
    if (isinf(b.re) && b.re < 0) return a;
    V hi = a.re >= b.re ? a : b, lo = a.re >= b.re ? b : a;
    return hi + c_log(V{1.0f, 0.0f} + c_exp(lo - hi));
  }
};

template <typename Op, typename T>
__global__ void __launch_bounds__(kThreads)
    scan_rows(const T* in, T* out, int64_t n, bool reverse, bool inclusive) {
  using V = typename Op::V;
  constexpr int kChunk = kThreads * kItems;
  // Padded so the sequential per-thread pass (kItems consecutive values) avoids bank conflicts.
  __shared__ V buf[kChunk + kChunk / 32];
  __shared__ V warp_tot[kThreads / 32];
  __shared__ V carry_s;
  auto at = [](int i) { return i + i / 32; };
  const T* x = in + static_cast<int64_t>(blockIdx.x) * n;
  T* y = out + static_cast<int64_t>(blockIdx.x) * n;
  int t = threadIdx.x, lane = t % 32, w = t / 32;
  V carry = Op::init();
  for (int64_t base = 0; base < n; base += kChunk) {
    int64_t len = n - base < kChunk ? n - base : kChunk;
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      int i = j * kThreads + t;
      int64_t k = base + i;
      buf[at(i)] = i < len ? cast_to<V>(x[reverse ? n - 1 - k : k]) : Op::init();
    }
    __syncthreads();
    V tot = Op::init();
#pragma unroll
    for (int j = 0; j < kItems; ++j) tot = Op::apply(tot, buf[at(t * kItems + j)]);
    // Inclusive scan of the thread totals within the warp, then across warps.
    V inc = tot;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
      V o = kernels::shfl_up(inc, d);
      if (lane >= d) inc = Op::apply(o, inc);
    }
    if (lane == 31) warp_tot[w] = inc;
    __syncthreads();
    V prefix = carry;
    for (int k = 0; k < w; ++k) prefix = Op::apply(prefix, warp_tot[k]);
    V ex = kernels::shfl_up(inc, 1);
    if (lane > 0) prefix = Op::apply(prefix, ex);
    if (t == kThreads - 1) carry_s = Op::apply(prefix, tot);
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      V v = buf[at(t * kItems + j)];
      if (inclusive) {
        prefix = Op::apply(prefix, v);
        buf[at(t * kItems + j)] = prefix;
      } else {
        buf[at(t * kItems + j)] = prefix;
        prefix = Op::apply(prefix, v);
      }
    }
    __syncthreads();
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      int i = j * kThreads + t;
      int64_t k = base + i;
      if (i < len) y[reverse ? n - 1 - k : k] = cast_to<T>(buf[at(i)]);
    }
    carry = carry_s;
    __syncthreads();
  }
}

template <typename Op, typename T>
__global__ void __launch_bounds__(kThreads)
    scan_lanes(const T* in, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse, bool inclusive) {
  using V = typename Op::V;
  int64_t g = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (g >= outer * inner) return;
  int64_t o = g / inner, l = g - o * inner;
  int64_t off = o * n * inner + l;
  V acc = Op::init();
  auto step = [&](int64_t i, V v) {
    if (inclusive) {
      acc = Op::apply(acc, v);
      out[i] = cast_to<T>(acc);
    } else {
      out[i] = cast_to<T>(acc);
      acc = Op::apply(acc, v);
    }
  };
  // Rows k..k+3 loaded before any is written: four loads in flight (each element is still
  // read before it is written, so in == out works).
  int64_t step_i = reverse ? -inner : inner;
  int64_t i0 = off + (reverse ? (n - 1) * inner : 0);
  int64_t k = 0;
  for (; k + 4 <= n; k += 4, i0 += 4 * step_i) {
    V v0 = cast_to<V>(in[i0]), v1 = cast_to<V>(in[i0 + step_i]), v2 = cast_to<V>(in[i0 + 2 * step_i]),
      v3 = cast_to<V>(in[i0 + 3 * step_i]);
    step(i0, v0);
    step(i0 + step_i, v1);
    step(i0 + 2 * step_i, v2);
    step(i0 + 3 * step_i, v3);
  }
  for (; k < n; ++k, i0 += step_i) step(i0, cast_to<V>(in[i0]));
}

template <typename Op, typename T>
void run_scan(const char* name, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, bool reverse,
              bool inclusive, cudaStream_t s) {
  auto* i = static_cast<const T*>(in);
  auto* o = static_cast<T*>(out);
  if (inner == 1) {
    scan_rows<Op, T><<<static_cast<unsigned>(outer), kThreads, 0, s>>>(i, o, n, reverse, inclusive);
  } else {
    auto blocks = static_cast<unsigned>((outer * inner + kThreads - 1) / kThreads);
    scan_lanes<Op, T><<<blocks, kThreads, 0, s>>>(i, o, outer, n, inner, reverse, inclusive);
  }
  check_launch(name);
}

}  // namespace

void scan(ScanOp op, const char* name, Dtype t, const void* in, void* out, int64_t outer, int64_t n, int64_t inner,
          bool reverse, bool inclusive, cudaStream_t s) {
  if (outer == 0 || n == 0 || inner == 0) return;
  auto args = [&](auto f) { f(name, in, out, outer, n, inner, reverse, inclusive, s); };
  if (t == complex64) {
    switch (op) {
      case ScanOp::Sum: return args(run_scan<CSumS, complex64_d>);
      case ScanOp::Prod: return args(run_scan<CProdS, complex64_d>);
      case ScanOp::Max: return args(run_scan<CMinMaxS<true>, complex64_d>);
      case ScanOp::Min: return args(run_scan<CMinMaxS<false>, complex64_d>);
      case ScanOp::LogAddExp: return args(run_scan<CLogAddExpS, complex64_d>);
    }
  }
  if (t == bool_) {
    // Booleans as bytes: sum is or (max), prod is and (min).
    bool max = op == ScanOp::Sum || op == ScanOp::Max;
    if (op == ScanOp::LogAddExp) throw_unsupported_dtype(name, t);
    return max ? args(run_scan<MinMaxS<uint8_t, true>, uint8_t>) : args(run_scan<MinMaxS<uint8_t, false>, uint8_t>);
  }
  bool is_float = t == float16 || t == bfloat16 || t == float32 || t == float64;
  if (op == ScanOp::LogAddExp && !is_float) throw_unsupported_dtype(name, t);
  if ((op == ScanOp::Sum || op == ScanOp::Prod) && !is_float) {
    // Wrapping integer arithmetic only depends on the element size.
    auto by_size = [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (op == ScanOp::Sum) return args(run_scan<SumS<T>, T>);
      return args(run_scan<ProdS<T>, T>);
    };
    switch (size_of(t)) {
      case 1: return by_size(tag<uint8_t>{});
      case 2: return by_size(tag<uint16_t>{});
      case 4: return by_size(tag<uint32_t>{});
      case 8: return by_size(tag<uint64_t>{});
    }
    throw_unsupported_dtype(name, t);
  }
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, complex64_d>) {
      throw_unsupported_dtype(name, t);
    } else if constexpr (!std::is_floating_point_v<compute_t<T>>) {
      if (op == ScanOp::Max) return args(run_scan<MinMaxS<T, true>, T>);
      return args(run_scan<MinMaxS<T, false>, T>);
    } else {
      switch (op) {
        case ScanOp::Sum: return args(run_scan<SumS<T>, T>);
        case ScanOp::Prod: return args(run_scan<ProdS<T>, T>);
        case ScanOp::Max: return args(run_scan<MinMaxS<T, true>, T>);
        case ScanOp::Min: return args(run_scan<MinMaxS<T, false>, T>);
        case ScanOp::LogAddExp: return args(run_scan<LogAddExpS<T>, T>);
      }
    }
  });
}

}  // namespace kiln::cuda
