// eval_cpu of Reduce (all, any, sum, prod, min, max) and ArgReduce (argmin, argmax).
//
// Both work on any input layout. The dimensions are reordered by input stride (largest
// first) and merged where contiguous, so a reduction becomes one of:
//   row:     the innermost dimension is reduced: lanes run along contiguous runs;
//   column:  the innermost dimension is kept: lanes run across contiguous columns;
// and everything outside the innermost dimension is walked with strided iterators.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>
#include <type_traits>
#include <vector>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/half_blocks.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Input elements one task should at least process before splitting across threads pays.
constexpr int64_t kReduceGrain = 1 << 16;

template <typename T>
constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

template <typename X>
constexpr bool is_float_like_v = std::is_floating_point_v<X> || is_half_v<X>;

template <typename X>
inline bool is_nan(X v) {
  if constexpr (is_float_like_v<X>) {
    return v != v;
  } else {
    return false;
  }
}

// ---------------------------------------------------------------- SIMD vectors
//
// GCC/Clang vector extensions: one AVX2 register of V, with the usual operators (a
// comparison gives a lane mask usable in `mask ? a : b`). Scalar lane arrays do not
// vectorize reliably once comparisons are involved; these always do.

template <typename V>
struct VecOf {
  typedef V type __attribute__((vector_size(32)));
};
template <typename V>
using vec_t = typename VecOf<V>::type;

template <typename V>
constexpr int kVecLanes = 32 / sizeof(V);

// Only plain arithmetic types have vectors (not complex, not bool).
template <typename V>
constexpr bool has_vec_v = std::is_arithmetic_v<V> && !std::is_same_v<V, bool>;

template <typename V, typename S>
inline vec_t<V> vload(const S* p) {
  static_assert(sizeof(S) == sizeof(V));
  vec_t<V> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename V>
inline void vstore(V* p, vec_t<V> v) { std::memcpy(p, &v, sizeof(v)); }

template <typename V>
inline vec_t<V> vsplat(V x) {
  vec_t<V> v;
  for (int k = 0; k < kVecLanes<V>; ++k) v[k] = x;
  return v;
}

// ---------------------------------------------------------------- reduction kinds
//
// A kind says how one input type T is reduced: V is the type lanes compute in, W the type
// partial results (one per block of lanes, per thread) are combined in. float32 sums add
// lanes in float over short blocks and the blocks in double, which keeps 10M-element sums
// as accurate as NumPy's pairwise summation.

template <typename T>
using wide_sum_t = std::conditional_t<
    std::is_same_v<T, double>, double,
    std::conditional_t<is_float_like_v<T>, float,
                       std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>>>;

template <typename T>
struct SumKind {
  using V = std::conditional_t<std::is_same_v<T, complex64_t>, complex64_t, wide_sum_t<T>>;
  using W = std::conditional_t<std::is_same_v<V, float>, double, V>;
  template <typename S>
  static V load(S x) {
    if constexpr (std::is_same_v<V, complex64_t>) {
      return x;
    } else {
      return static_cast<V>(cast_to_v(x));
    }
  }
  template <typename S>
  static auto cast_to_v(S x) {
    if constexpr (is_half_v<S>) {
      return static_cast<float>(x);
    } else if constexpr (std::is_integral_v<S> && std::is_signed_v<S>) {
      return static_cast<std::make_unsigned_t<S>>(x);  // wraparound, like NumPy
    } else {
      return x;
    }
  }
  // Whether an S in memory is already a V bit for bit (so lanes can load it directly).
  template <typename S>
  static constexpr bool raw_load =
      sizeof(S) == sizeof(V) && !is_half_v<S> && std::is_integral_v<S> == std::is_integral_v<V>;
  static V init() { return V(0); }
  template <typename X>
  static X apply(X a, X b) { return a + b; }
  static T store(W w) { return cpu::cast_to<T>(w); }
};

template <typename T>
struct ProdKind : SumKind<T> {
  using typename SumKind<T>::V;
  static V init() { return V(1); }
  template <typename X>
  static X apply(X a, X b) { return a * b; }
};

template <typename T, bool IsMax>
struct MinMaxKind {
  using V = std::conditional_t<is_half_v<T>, float, T>;
  using W = V;
  template <typename S>
  static V load(S x) { return static_cast<V>(x); }
  template <typename S>
  static constexpr bool raw_load = std::is_same_v<S, V>;
  static V init() {
    if constexpr (std::is_floating_point_v<V>) {
      return IsMax ? -std::numeric_limits<V>::infinity() : std::numeric_limits<V>::infinity();
    } else {
      return IsMax ? std::numeric_limits<V>::lowest() : std::numeric_limits<V>::max();
    }
  }
  // NaN wins, as in NumPy: once an accumulator is NaN no comparison replaces it. X is V
  // or a vector of V (then the comparisons are lane masks).
  template <typename X>
  static X apply(X a, X b) {
    if constexpr (std::is_floating_point_v<V>) {
      return ((IsMax ? b > a : b < a) | (b != b)) ? b : a;
    } else {
      return (IsMax ? b > a : b < a) ? b : a;
    }
  }
  static T store(W w) { return static_cast<T>(w); }
};

template <typename T, bool IsAnd>
struct LogicalKind {
  using V = uint8_t;
  using W = uint8_t;
  template <typename S>
  static V load(S x) { return cpu::cast_to<bool>(x); }
  template <typename S>
  static constexpr bool raw_load = std::is_same_v<S, bool>;
  static V init() { return IsAnd ? 1 : 0; }
  template <typename X>
  static X apply(X a, X b) { return static_cast<X>(IsAnd ? (a & b) : (a | b)); }
  static T store(W w) { return cpu::cast_to<T>(static_cast<bool>(w)); }
};

// ---------------------------------------------------------------- layout plan

using Dim = ReduceDim;

// A reduction reordered for memory order: outer kept dims, outer reduced dims, and the
// innermost dim, which is reduced (row) or kept (column).
struct Plan {
  int64_t in_off = 0, out_off = 0;
  Shape kshape, rshape;
  Strides kis, kos, ris;
  bool row = true;
  int64_t inner_n = 1, inner_is = 1, inner_os = 0;
  int64_t n_kept() const { return shape_size(kshape); }
  int64_t n_red() const { return shape_size(rshape); }
};

// `drop_broadcast_reduced`: idempotent reductions (min, max, and, or) ignore reduced dims
// of stride 0, whose elements are all the same one.
Plan make_plan(const Shape& shape, const Strides& in_strides, const Strides& out_strides,
               const std::vector<bool>& reduced, bool drop_broadcast_reduced) {
  Plan p;
  auto merged = reduction_dims(shape, in_strides, out_strides, reduced, drop_broadcast_reduced, p.in_off, p.out_off);
  if (merged.empty()) merged.push_back(Dim{1, 1, 0, true});
  Dim inner = merged.back();
  merged.pop_back();
  p.row = inner.reduced;
  p.inner_n = inner.n;
  p.inner_is = inner.is;
  p.inner_os = inner.os;
  for (const Dim& d : merged) {
    if (d.reduced) {
      p.rshape.push_back(static_cast<ShapeElem>(d.n));
      p.ris.push_back(d.is);
    } else {
      p.kshape.push_back(static_cast<ShapeElem>(d.n));
      p.kis.push_back(d.is);
      p.kos.push_back(d.os);
    }
  }
  return p;
}

// ---------------------------------------------------------------- reduction engine

template <typename T, typename K>
struct Reducer {
  using V = typename K::V;
  using W = typename K::W;
  // Lanes: four AVX2 registers' worth, enough independent chains to hide add latency.
  static constexpr int kLanes = std::max<int>(8, 128 / static_cast<int>(sizeof(V)));
  // Elements a lane set takes in before its sum is folded into W (bounds float error).
  static constexpr int64_t kBlock = 32 * kLanes;
  // Columns one column task accumulates at once: an 8 KiB stripe of each row, so rows are
  // read as long contiguous runs.
  static constexpr int kCols = std::max<int>(32, 8192 / static_cast<int>(sizeof(V)));
  // Rows a column accumulator takes in before being folded into W (as short as the row
  // blocks' 32 per lane, so both layouts give float32 sums the same accuracy).
  static constexpr int64_t kColFlush = std::is_same_v<V, W> ? std::numeric_limits<int64_t>::max() : 32;

  template <typename S>
  static constexpr bool vectorized = has_vec_v<V> && K::template raw_load<S>;

  template <typename S>
  static W contiguous(const S* p, int64_t n) {
    W total = W(K::init());
    int64_t i = 0;
    if constexpr (vectorized<S>) {
      using X = vec_t<V>;
      constexpr int VL = kVecLanes<V>;
      constexpr int U = kLanes / VL;
      static_assert(U == 4);
      while (n - i >= kLanes) {
        X a0 = vsplat<V>(K::init()), a1 = a0, a2 = a0, a3 = a0;
        int64_t end = i + std::min<int64_t>(kBlock, (n - i) / kLanes * kLanes);
        for (; i < end; i += kLanes) {
          a0 = K::apply(a0, vload<V>(p + i));
          a1 = K::apply(a1, vload<V>(p + i + VL));
          a2 = K::apply(a2, vload<V>(p + i + 2 * VL));
          a3 = K::apply(a3, vload<V>(p + i + 3 * VL));
        }
        a0 = K::apply(K::apply(a0, a1), K::apply(a2, a3));
        V r = a0[0];
        for (int k = 1; k < VL; ++k) r = K::apply(r, static_cast<V>(a0[k]));
        total = K::apply(total, W(r));
      }
    } else {
      while (n - i >= kLanes) {
        V acc[kLanes];
        for (int k = 0; k < kLanes; ++k) acc[k] = K::init();
        int64_t end = i + std::min<int64_t>(kBlock, (n - i) / kLanes * kLanes);
        for (; i < end; i += kLanes) {
          for (int k = 0; k < kLanes; ++k) acc[k] = K::apply(acc[k], K::load(p[i + k]));
        }
        for (int w = kLanes / 2; w >= 1; w /= 2) {
          for (int k = 0; k < w; ++k) acc[k] = K::apply(acc[k], acc[k + w]);
        }
        total = K::apply(total, W(acc[0]));
      }
    }
    for (; i < n; ++i) total = K::apply(total, W(K::load(p[i])));
    return total;
  }

  // lanes[j] = apply(lanes[j], q[j]) for j < c (q contiguous).
  template <typename S>
  static void accumulate_row(V* lanes, const S* q, int64_t c) {
    int64_t j = 0;
    if constexpr (vectorized<S>) {
      constexpr int VL = kVecLanes<V>;
      for (; j + VL <= c; j += VL) vstore<V>(lanes + j, K::apply(vload<V>(lanes + j), vload<V>(q + j)));
    }
    for (; j < c; ++j) lanes[j] = K::apply(lanes[j], K::load(q[j]));
  }

  // The same for kRowGroup rows at once: the lanes are loaded and stored once per group,
  // which keeps column reductions as fast as streaming the input.
  static constexpr int kRowGroup = 8;
  static void accumulate_rows(V* lanes, const T* const* q, int64_t c) {
    constexpr int VL = kVecLanes<V>;
    int64_t j = 0;
    for (; j + VL <= c; j += VL) {
      auto v01 = K::apply(vload<V>(q[0] + j), vload<V>(q[1] + j));
      auto v23 = K::apply(vload<V>(q[2] + j), vload<V>(q[3] + j));
      auto v45 = K::apply(vload<V>(q[4] + j), vload<V>(q[5] + j));
      auto v67 = K::apply(vload<V>(q[6] + j), vload<V>(q[7] + j));
      auto v = K::apply(K::apply(v01, v23), K::apply(v45, v67));
      vstore<V>(lanes + j, K::apply(vload<V>(lanes + j), v));
    }
    for (; j < c; ++j) {
      for (int u = 0; u < kRowGroup; ++u) lanes[j] = K::apply(lanes[j], K::load(q[u][j]));
    }
  }

  // Reduces n elements p[0], p[s], ..., p[(n-1)s].
  static W run(const T* p, int64_t n, int64_t s) {
    if (s == 1) {
      if constexpr (is_half_v<T>) {
        float buf[kBlock];
        W total = W(K::init());
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t c = std::min<int64_t>(kBlock, n - i);
          cpu::to_float(p + i, buf, c);
          total = K::apply(total, contiguous(buf, c));
        }
        return total;
      } else {
        return contiguous(p, n);
      }
    }
    W total = W(K::init());
    for (int64_t i = 0; i < n; ++i) total = K::apply(total, W(K::load(p[i * s])));
    return total;
  }

  // Row plan: reduces the flattened reduced positions [b, e) (outer reduced dims x inner run)
  // of the output whose input base is `base`.
  static W row_range(const T* base, const Plan& pl, int64_t b, int64_t e) {
    W total = W(K::init());
    if (b >= e) return total;
    int64_t L = pl.inner_n;
    StridedIterator it(pl.rshape, pl.ris);
    it.seek(b / L);
    int64_t l = b % L;
    while (b < e) {
      int64_t c = std::min(L - l, e - b);
      total = K::apply(total, run(base + it.loc() + l * pl.inner_is, c, pl.inner_is));
      b += c;
      l = 0;
      it.step();
    }
    return total;
  }

  // Column plan: folds reduced positions [b, e) of `c` <= kCols columns (column stride cs)
  // into acc[0..c).
  static void col_range(const T* base, int64_t c, int64_t cs, const Plan& pl, int64_t b, int64_t e, W* acc) {
    alignas(32) V lanes[kCols];
    for (int64_t j = 0; j < c; ++j) lanes[j] = K::init();
    auto flush = [&] {
      for (int64_t j = 0; j < c; ++j) {
        acc[j] = K::apply(acc[j], W(lanes[j]));
        lanes[j] = K::init();
      }
    };
    StridedIterator it(pl.rshape, pl.ris);
    it.seek(b);
    int64_t since_flush = 0;
    int64_t r = b;
    if constexpr (vectorized<T>) {
      if (cs == 1) {
        const T* q[kRowGroup];
        for (; r + kRowGroup <= e; r += kRowGroup) {
          for (int u = 0; u < kRowGroup; ++u) {
            q[u] = base + it.loc();
            it.step();
          }
          accumulate_rows(lanes, q, c);
          since_flush += kRowGroup;
          if (since_flush >= kColFlush) {
            flush();
            since_flush = 0;
          }
        }
      }
    }
    [[maybe_unused]] alignas(32) float buf[is_half_v<T> ? kCols : 1];
    for (; r < e; ++r) {
      const T* q = base + it.loc();
      if (cs == 1) {
        if constexpr (is_half_v<T>) {
          cpu::to_float(q, buf, c);
          accumulate_row(lanes, buf, c);
        } else {
          accumulate_row(lanes, q, c);
        }
      } else {
        for (int64_t j = 0; j < c; ++j) lanes[j] = K::apply(lanes[j], K::load(q[j * cs]));
      }
      it.step();
      if (++since_flush >= kColFlush) {
        flush();
        since_flush = 0;
      }
    }
    flush();
  }

  static void reduce(const T* in, T* out, const Plan& pl) {
    if (pl.row) {
      reduce_rows(in, out, pl);
    } else {
      reduce_cols(in, out, pl);
    }
  }

  static void reduce_rows(const T* in, T* out, const Plan& pl) {
    int64_t n_out = pl.n_kept();
    int64_t n_red = pl.n_red() * pl.inner_n;
    int64_t work = n_out * n_red;
    int threads = cpu::num_threads();
    in += pl.in_off;
    out += pl.out_off;
    auto outputs = [&](int64_t b, int64_t e) {
      StridedIterator ki(pl.kshape, pl.kis), ko(pl.kshape, pl.kos);
      ki.seek(b);
      ko.seek(b);
      for (int64_t o = b; o < e; ++o) {
        out[ko.loc()] = K::store(row_range(in + ki.loc(), pl, 0, n_red));
        ki.step();
        ko.step();
      }
    };
    if (threads == 1 || work < 2 * kReduceGrain) {
      outputs(0, n_out);
    } else if (n_out >= threads) {
      cpu::parallel_for(n_out, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(n_red, 1)), outputs);
    } else {
      // Few outputs, long reductions: every thread takes a slice of each reduction.
      int64_t parts = std::min<int64_t>(threads, work / kReduceGrain);
      std::vector<W> partial(parts * n_out);
      cpu::parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
        for (int64_t part = pb; part < pe; ++part) {
          int64_t b = n_red * part / parts, e = n_red * (part + 1) / parts;
          for (int64_t o = 0; o < n_out; ++o) {
            partial[part * n_out + o] = row_range(in + elem_to_loc(o, pl.kshape, pl.kis), pl, b, e);
          }
        }
      });
      for (int64_t o = 0; o < n_out; ++o) {
        W acc = partial[o];
        for (int64_t part = 1; part < parts; ++part) acc = K::apply(acc, partial[part * n_out + o]);
        out[elem_to_loc(o, pl.kshape, pl.kos)] = K::store(acc);
      }
    }
  }

  static void reduce_cols(const T* in, T* out, const Plan& pl) {
    int64_t C = pl.inner_n, cs = pl.inner_is, cos = pl.inner_os;
    int64_t n_k = pl.n_kept(), n_red = pl.n_red();
    int64_t blocks = (C + kCols - 1) / kCols;
    int64_t items = n_k * blocks;
    int64_t work = n_k * C * n_red;
    int threads = cpu::num_threads();
    in += pl.in_off;
    out += pl.out_off;
    auto do_items = [&](int64_t b, int64_t e) {
      std::vector<W> acc_buf(kCols);
      W* acc = acc_buf.data();
      for (int64_t item = b; item < e; ++item) {
        int64_t k = item / blocks, j0 = (item % blocks) * kCols;
        int64_t c = std::min<int64_t>(kCols, C - j0);
        for (int64_t j = 0; j < c; ++j) acc[j] = W(K::init());
        col_range(in + elem_to_loc(k, pl.kshape, pl.kis) + j0 * cs, c, cs, pl, 0, n_red, acc);
        T* o = out + elem_to_loc(k, pl.kshape, pl.kos) + j0 * cos;
        for (int64_t j = 0; j < c; ++j) o[j * cos] = K::store(acc[j]);
      }
    };
    if (threads == 1 || work < 2 * kReduceGrain) {
      do_items(0, items);
    } else if (items >= threads) {
      int64_t per_item = std::min<int64_t>(C, kCols) * n_red;
      cpu::parallel_for(items, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(per_item, 1)), do_items);
    } else {
      // Few, tall columns: split the rows, then combine the per-slice column sums in order.
      int64_t parts = std::min<int64_t>(threads, work / kReduceGrain);
      int64_t n_out = n_k * C;
      std::vector<W> partial(parts * n_out, W(K::init()));
      cpu::parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
        for (int64_t part = pb; part < pe; ++part) {
          int64_t b = n_red * part / parts, e = n_red * (part + 1) / parts;
          for (int64_t item = 0; item < items; ++item) {
            int64_t k = item / blocks, j0 = (item % blocks) * kCols;
            int64_t c = std::min<int64_t>(kCols, C - j0);
            col_range(in + elem_to_loc(k, pl.kshape, pl.kis) + j0 * cs, c, cs, pl, b, e,
                      partial.data() + part * n_out + k * C + j0);
          }
        }
      });
      for (int64_t k = 0; k < n_k; ++k) {
        T* o = out + elem_to_loc(k, pl.kshape, pl.kos);
        for (int64_t j = 0; j < C; ++j) {
          W acc = partial[k * C + j];
          for (int64_t part = 1; part < parts; ++part) acc = K::apply(acc, partial[part * n_out + k * C + j]);
          o[j * cos] = K::store(acc);
        }
      }
    }
  }
};

template <typename T, typename K>
void reduce_typed(const array& in, array& out, const std::vector<bool>& reduced, bool idempotent) {
  Strides out_strides = row_major_strides(out.shape());
  bool empty = false;
  for (int i = 0; i < in.ndim(); ++i) empty |= reduced[i] && in.shape(i) == 0;
  T* o = out.data<T>();
  if (empty) {
    std::fill(o, o + out.size(), K::store(typename K::W(K::init())));
    return;
  }
  Plan pl = make_plan(in.shape(), in.strides(), out_strides, reduced, idempotent);
  Reducer<T, K>::reduce(in.data<T>(), o, pl);
}

// A complex64 sum is a float32 sum with a trailing kept dim of 2 (real, imaginary).
void complex_sum(const array& in, array& out, const std::vector<bool>& reduced) {
  Strides out_strides = row_major_strides(out.shape());
  Shape shape = in.shape();
  Strides is = in.strides();
  for (auto& s : is) s *= 2;
  for (auto& s : out_strides) s *= 2;
  shape.push_back(2);
  is.push_back(1);
  out_strides.push_back(1);
  std::vector<bool> red = reduced;
  red.push_back(false);
  float* o = reinterpret_cast<float*>(out.data<complex64_t>());
  for (int i = 0; i < in.ndim(); ++i) {
    if (reduced[i] && in.shape(i) == 0) {
      std::fill(o, o + 2 * out.size(), 0.0f);
      return;
    }
  }
  Plan pl = make_plan(shape, is, out_strides, red, false);
  Reducer<float, SumKind<float>>::reduce(reinterpret_cast<const float*>(in.data<complex64_t>()), o, pl);
}

void reduce_into(const array& in, array& out, Reduce::ReduceType type, const std::vector<int>& axes,
                 const char* name) {
  using enum Reduce::ReduceType;
  if (out.size() == 0) return;
  if (in.dtype() == bool_) {
    // On booleans, sum and max are "any", prod and min are "all" (NumPy's bool arithmetic).
    if (type == Sum || type == Max) type = Or;
    if (type == Prod || type == Min) type = And;
  }
  if (in.dtype() == complex64 && (type == Min || type == Max)) {
    std::ostringstream msg;
    msg << "[" << name << "] Not supported for complex64 inputs.";
    throw std::invalid_argument(msg.str());
  }
  std::vector<bool> reduced(in.ndim(), false);
  for (int a : axes) reduced.at(a) = true;
  dispatch_all_types(in.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      if (type == And) return reduce_typed<T, LogicalKind<T, true>>(in, out, reduced, true);
      return reduce_typed<T, LogicalKind<T, false>>(in, out, reduced, true);
    } else {
    switch (type) {
      case And: return reduce_typed<T, LogicalKind<T, true>>(in, out, reduced, true);
      case Or: return reduce_typed<T, LogicalKind<T, false>>(in, out, reduced, true);
      case Sum:
        if constexpr (std::is_same_v<T, complex64_t>) {
          return complex_sum(in, out, reduced);
        } else {
          return reduce_typed<T, SumKind<T>>(in, out, reduced, false);
        }
      case Prod: return reduce_typed<T, ProdKind<T>>(in, out, reduced, false);
      case Min:
      case Max:
        if constexpr (!std::is_same_v<T, complex64_t>) {
          if (type == Min) return reduce_typed<T, MinMaxKind<T, false>>(in, out, reduced, true);
          return reduce_typed<T, MinMaxKind<T, true>>(in, out, reduced, true);
        }
        return;
    }
    }
  });
}

}  // namespace

void Reduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (out.dtype() != in.dtype()) {
    // Not produced by ops.cpp; reduce in the input type, then convert.
    array tmp(allocator::malloc(out.size() * in.itemsize()), out.shape(), in.dtype());
    reduce_into(in, tmp, type_, axes_, name());
    cpu::copy_alloc(tmp, out);
    return;
  }
  out.set_data(allocator::malloc(out.nbytes()));
  reduce_into(in, out, type_, axes_, name());
}

// ---------------------------------------------------------------- ArgReduce

namespace {

// Strict order for argmin/argmax: the first occurrence of the extreme wins, and NaN is more
// extreme than anything (the first NaN wins), as in NumPy. Complex values compare
// lexicographically.
template <typename V, bool IsMax>
struct ArgOrder {
  static bool better(V a, V b) {  // a strictly beats b
    if constexpr (std::is_same_v<V, complex64_t>) {
      bool gt = a.real() > b.real() || (a.real() == b.real() && a.imag() > b.imag());
      bool lt = a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
      return IsMax ? gt : lt;
    } else if constexpr (std::is_floating_point_v<V>) {
      return (IsMax ? a > b : a < b) || (a != a && b == b);
    } else {
      return IsMax ? a > b : a < b;
    }
  }
};

template <typename T, bool IsMax>
struct ArgReducer {
  using V = std::conditional_t<is_half_v<T>, float, T>;
  using Order = ArgOrder<V, IsMax>;
  // Elements per block whose extreme is found with lanes before any index is looked for.
  static constexpr int64_t kBlock = 512;
  // Columns one column task follows at once (an 8 KiB stripe of each row).
  static constexpr int kCols = std::max<int>(8, 8192 / static_cast<int>(sizeof(V)));

  struct Best {
    V v;
    int64_t i;
  };

  // Best of a contiguous run starting at index `start`: find each block's extreme with
  // lanes, and only scan the blocks that beat the best so far.
  template <typename S>
  static void contiguous(const S* p, int64_t n, int64_t start, Best& best) {
    using Extreme = Reducer<V, MinMaxKind<V, IsMax>>;
    for (int64_t i = 0; i < n; i += kBlock) {
      int64_t c = std::min<int64_t>(kBlock, n - i);
      V m = Extreme::contiguous(p + i, c);
      if (Order::better(m, best.v)) {
        bool nan = is_nan(m);
        for (int64_t j = 0; j < c; ++j) {
          V v = static_cast<V>(p[i + j]);
          if (nan ? is_nan(v) : v == m) {
            best = Best{v, start + i + j};
            break;
          }
        }
        if (nan) return;
      }
    }
  }

  // Best of elements [b, e) of the run p[0], p[s], ...; best starts at element b.
  static Best run(const T* p, int64_t b, int64_t e, int64_t s) {
    Best best{static_cast<V>(p[b * s]), b};
    if (is_nan(best.v)) return best;
    ++b;
    if constexpr (!std::is_same_v<V, complex64_t>) {
      if (s == 1) {
        if constexpr (is_half_v<T>) {
          float buf[kBlock];
          for (int64_t i = b; i < e; i += kBlock) {
            int64_t c = std::min<int64_t>(kBlock, e - i);
            cpu::to_float(p + i, buf, c);
            contiguous(buf, c, i, best);
          }
        } else {
          contiguous(p + b, e - b, b, best);
        }
        return best;
      }
    }
    for (int64_t i = b; i < e; ++i) {
      V v = static_cast<V>(p[i * s]);
      if (Order::better(v, best.v)) best = Best{v, i};
    }
    return best;
  }

  // Indices of the best of `c` columns (stride cs) over n rows (stride rs).
  static void columns(const T* p, int64_t c, int64_t cs, int64_t n, int64_t rs, uint32_t* idx) {
    constexpr bool vec = has_vec_v<V> && !is_half_v<T> && (sizeof(V) == 4 || sizeof(V) == 8);
    if constexpr (vec) {
      if (cs == 1 && c % kVecLanes<V> == 0) {
        columns_vec(p, c, n, rs, idx);
        return;
      }
    }
    std::vector<V> best(c);
    std::vector<uint32_t> bi(c, 0);
    for (int64_t j = 0; j < c; ++j) best[j] = static_cast<V>(p[j * cs]);
    for (int64_t r = 1; r < n; ++r) {
      const T* q = p + r * rs;
      for (int64_t j = 0; j < c; ++j) {
        V v = static_cast<V>(q[j * cs]);
        bool up = Order::better(v, best[j]);
        best[j] = up ? v : best[j];
        bi[j] = up ? static_cast<uint32_t>(r) : bi[j];
      }
    }
    for (int64_t j = 0; j < c; ++j) idx[j] = bi[j];
  }

  // The same with vectors of V and of same-width indices.
  static void columns_vec(const T* p, int64_t c, int64_t n, int64_t rs, uint32_t* idx) {
    if constexpr (has_vec_v<V> && (sizeof(V) == 4 || sizeof(V) == 8)) {
      using I = std::conditional_t<sizeof(V) == 4, int32_t, int64_t>;
      using X = vec_t<V>;
      using XI = vec_t<I>;
      constexpr int VL = kVecLanes<V>;
      int64_t nv = c / VL;
      std::vector<X> best(nv);
      std::vector<XI> bi(nv, vsplat<I>(0));
      for (int64_t u = 0; u < nv; ++u) best[u] = vload<V>(p + u * VL);
      auto update = [](X& b, XI& bi, X v, XI r) {
        auto up = IsMax ? (v > b) : (v < b);
        if constexpr (std::is_floating_point_v<V>) up = up | ((v != v) & (b == b));
        b = up ? v : b;
        bi = up ? r : bi;
      };
      // Rows in groups of four: four input streams in flight, one load/store of the state.
      int64_t r = 1;
      for (; r + 4 <= n; r += 4) {
        const T* q0 = p + r * rs;
        const T* q1 = q0 + rs;
        const T* q2 = q1 + rs;
        const T* q3 = q2 + rs;
        XI r0 = vsplat<I>(static_cast<I>(r)), r1 = r0 + 1, r2 = r0 + 2, r3 = r0 + 3;
        for (int64_t u = 0; u < nv; ++u) {
          X b = best[u];
          XI i = bi[u];
          update(b, i, vload<V>(q0 + u * VL), r0);
          update(b, i, vload<V>(q1 + u * VL), r1);
          update(b, i, vload<V>(q2 + u * VL), r2);
          update(b, i, vload<V>(q3 + u * VL), r3);
          best[u] = b;
          bi[u] = i;
        }
      }
      for (; r < n; ++r) {
        const T* q = p + r * rs;
        XI rr = vsplat<I>(static_cast<I>(r));
        for (int64_t u = 0; u < nv; ++u) update(best[u], bi[u], vload<V>(q + u * VL), rr);
      }
      for (int64_t u = 0; u < nv; ++u) {
        for (int k = 0; k < VL; ++k) idx[u * VL + k] = static_cast<uint32_t>(bi[u][k]);
      }
    }
  }

  static void reduce(const array& in, array& out, int axis) {
    const T* src = in.data<T>();
    uint32_t* dst = out.data<uint32_t>();
    int64_t n = in.shape(axis), as = in.strides(axis);
    // Kept dims, ordered and merged like Reduce's plan.
    Shape shape = in.shape();
    shape[axis] = 1;
    std::vector<bool> reduced(in.ndim(), false);
    Plan pl = make_plan(shape, in.strides(), row_major_strides(out.shape()), reduced, false);
    // make_plan saw no reduced dims, so the inner dim is kept (or a dummy of size 1).
    src += pl.in_off;
    dst += pl.out_off;
    int threads = cpu::num_threads();
    int64_t n_out = out.size();
    if (pl.inner_is == 1 && as != 1 && pl.inner_n > 1) {
      // Lanes across contiguous columns.
      int64_t C = pl.inner_n, cos = pl.inner_os;
      int64_t blocks = (C + kCols - 1) / kCols;
      int64_t items = pl.n_kept() * blocks;
      auto do_items = [&](int64_t b, int64_t e) {
        uint32_t idx[kCols];
        for (int64_t item = b; item < e; ++item) {
          int64_t k = item / blocks, j0 = (item % blocks) * kCols;
          int64_t c = std::min<int64_t>(kCols, C - j0);
          columns(src + elem_to_loc(k, pl.kshape, pl.kis) + j0, c, 1, n, as, idx);
          uint32_t* o = dst + elem_to_loc(k, pl.kshape, pl.kos) + j0 * cos;
          for (int64_t j = 0; j < c; ++j) o[j * cos] = idx[j];
        }
      };
      int64_t per_item = std::min<int64_t>(C, kCols) * n;
      if (threads == 1 || n_out * n < 2 * kReduceGrain) {
        do_items(0, items);
      } else {
        cpu::parallel_for(items, std::max<int64_t>(1, kReduceGrain / per_item), do_items);
      }
      return;
    }
    // One output at a time; the inner kept dim joins the outer ones.
    Shape kshape = pl.kshape;
    Strides kis = pl.kis, kos = pl.kos;
    kshape.push_back(static_cast<ShapeElem>(pl.inner_n));
    kis.push_back(pl.inner_is);
    kos.push_back(pl.inner_os);
    auto outputs = [&](int64_t b, int64_t e) {
      StridedIterator ki(kshape, kis), ko(kshape, kos);
      ki.seek(b);
      ko.seek(b);
      for (int64_t o = b; o < e; ++o) {
        dst[ko.loc()] = static_cast<uint32_t>(run(src + ki.loc(), 0, n, as).i);
        ki.step();
        ko.step();
      }
    };
    int64_t work = n_out * n;
    if (threads == 1 || work < 2 * kReduceGrain) {
      outputs(0, n_out);
    } else if (n_out >= threads) {
      cpu::parallel_for(n_out, std::max<int64_t>(1, kReduceGrain / n), outputs);
    } else {
      // Few long rows: split each row, then keep the earliest best among the slices.
      int64_t parts = std::min<int64_t>(threads, work / kReduceGrain);
      std::vector<Best> partial(parts * n_out);
      cpu::parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
        for (int64_t part = pb; part < pe; ++part) {
          int64_t b = n * part / parts, e = n * (part + 1) / parts;
          for (int64_t o = 0; o < n_out; ++o) {
            partial[part * n_out + o] = run(src + elem_to_loc(o, kshape, kis), b, e, as);
          }
        }
      });
      for (int64_t o = 0; o < n_out; ++o) {
        Best best = partial[o];
        for (int64_t part = 1; part < parts; ++part) {
          if (Order::better(partial[part * n_out + o].v, best.v)) best = partial[part * n_out + o];
        }
        dst[elem_to_loc(o, kshape, kos)] = static_cast<uint32_t>(best.i);
      }
    }
  }
};

}  // namespace

void ArgReduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  if (in.shape(axis_) == 0) {
    std::ostringstream msg;
    msg << "[" << name() << "] Cannot reduce over an empty axis.";
    throw std::invalid_argument(msg.str());
  }
  dispatch_all_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (type_ == ArgMax) {
      ArgReducer<T, true>::reduce(in, out, axis_);
    } else {
      ArgReducer<T, false>::reduce(in, out, axis_);
    }
  });
}

}  // namespace kiln
