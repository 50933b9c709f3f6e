// eval_cpu of Sort, ArgSort, Partition and ArgPartition.
//
// Each row along the axis (any input layout, read through its strides) is gathered into a
// contiguous per-thread buffer, sorted or partitioned there with the standard algorithms,
// and written to the row-major output. Rows are spread over the thread pool.
//
// Long rows of real values use a radix sort instead (see below).
//
// Order: NaN sorts last (as in NumPy); complex values compare by real part, then imaginary
// part. NaNs are moved to the end of the buffer first, so the sorts themselves use a plain
// `<` on the remaining values. The index variants break ties by index, which makes ArgSort
// stable.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Elements one task should hold before rows are split across threads.
constexpr int64_t kSortGrain = 1 << 15;

template <typename T>
constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// The type rows are sorted in: half types widen to float (exactly), the rest stay.
template <typename T>
using sort_key_t = std::conditional_t<is_half_v<T>, float, T>;

template <typename K>
inline bool key_is_nan(const K& v) {
  if constexpr (std::is_floating_point_v<K>) {
    return v != v;
  } else {
    return false;
  }
}

template <typename K>
inline bool key_less(const K& a, const K& b) {
  if constexpr (std::is_same_v<K, complex64_t>) {
    return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
  } else {
    return a < b;
  }
}

template <typename K>
struct Item {
  K v;
  uint32_t i;
};

// Row geometry: the input row r (row-major over the non-axis dims) starts at
// elem_to_loc(r, shape_wo, strides_wo) with stride `in_stride`; the output row starts at
// (r / inner) * n * inner + r % inner with stride `inner`.
struct Rows {
  Shape shape_wo;
  Strides strides_wo;
  int64_t in_stride;
  int64_t n;
  int64_t inner;
  int64_t count;

  Rows(const array& in, int axis) {
    n = in.shape(axis);
    in_stride = in.strides(axis);
    inner = 1;
    for (int d = 0; d < in.ndim(); ++d) {
      if (d == axis) continue;
      shape_wo.push_back(in.shape(d));
      strides_wo.push_back(in.strides(d));
      if (d > axis) inner *= in.shape(d);
    }
    count = n == 0 ? 0 : static_cast<int64_t>(in.size()) / n;
  }
  int64_t in_base(int64_t r) const { return elem_to_loc(r, shape_wo, strides_wo); }
  int64_t out_base(int64_t r) const { return (r / inner) * n * inner + r % inner; }
};

// Calls f(row_index, scratch) for every row, in parallel; `scratch` is a per-task buffer of
// n items of type B.
template <typename B, typename F>
void for_rows(const Rows& rows, F&& f) {
  if (rows.count == 0) return;
  int64_t grain = std::max<int64_t>(1, kSortGrain / std::max<int64_t>(rows.n, 1));
  cpu::parallel_for(rows.count, grain, [&](int64_t begin, int64_t end) {
    std::unique_ptr<B[]> buf(new B[rows.n]);  // not vector: vector<bool> has no data()
    for (int64_t r = begin; r < end; ++r) f(r, buf.get());
  });
}

// ---------------------------------------------------------------- radix sort
//
// Long rows of integers, bools and real floats sort with an LSD radix sort on unsigned keys
// whose order is the values' order: several times faster than comparison sorting, and
// stable, which is what ArgSort needs. Floats map to keys by flipping (negative: all bits,
// positive: the sign bit); every NaN maps to the largest key, so NaNs go last in their
// original order. For indices -0.0 maps to +0.0's key (they compare equal, so a stable sort
// must keep their order); for values it keeps its own key so it comes back bit-exact.

template <typename T, typename = void>
struct RadixKey {
  static constexpr bool ok = false;
};

template <typename T>
struct RadixKey<T, std::enable_if_t<std::is_integral_v<T>>> {
  static constexpr bool ok = true;
  using U = std::make_unsigned_t<std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>>;
  static constexpr U flip = std::is_signed_v<T> ? U(U(1) << (8 * sizeof(U) - 1)) : U(0);
  static U to_key(T v, bool) { return static_cast<U>(static_cast<U>(v) ^ flip); }
  static T from_key(U k) { return static_cast<T>(static_cast<U>(k ^ flip)); }
};

template <typename T, typename Bits, Bits ExpMask>
struct FloatRadixKey {
  static constexpr bool ok = true;
  using U = Bits;
  static constexpr U sign = U(U(1) << (8 * sizeof(U) - 1));
  static U to_key(T v, bool canonical_zero) {
    U b;
    std::memcpy(&b, &v, sizeof(U));
    U mag = static_cast<U>(b & U(~sign));
    if (mag > ExpMask) return U(~U(0));  // NaN
    if (canonical_zero && mag == 0) b = 0;
    return (b & sign) ? U(~b) : U(b | sign);
  }
  static T from_key(U k) {
    U b = (k & sign) ? U(k & U(~sign)) : U(~k);
    T v;
    std::memcpy(&v, &b, sizeof(U));
    return v;
  }
};

template <>
struct RadixKey<float16_t> : FloatRadixKey<float16_t, uint16_t, 0x7c00> {};
template <>
struct RadixKey<bfloat16_t> : FloatRadixKey<bfloat16_t, uint16_t, 0x7f80> {};
template <>
struct RadixKey<float> : FloatRadixKey<float, uint32_t, 0x7f800000u> {};
template <>
struct RadixKey<double> : FloatRadixKey<double, uint64_t, 0x7ff0000000000000ull> {};

// Rows at least this long use the radix sort.
constexpr int64_t kRadixMinRow = 128;

// Stable LSD radix sort of keys `k` (and, if given, the indices `idx` moved with them), one
// byte per pass; passes where every key has the same byte are skipped. `kt`/`it` are scratch
// of the same length. The result is left in `k`/`idx`.
template <typename U>
void radix_sort(U* k, U* kt, uint32_t* idx, uint32_t* it, int64_t n) {
  constexpr int P = sizeof(U);
  int64_t hist[P][256] = {};
  for (int64_t i = 0; i < n; ++i) {
    U v = k[i];
    for (int p = 0; p < P; ++p) hist[p][(v >> (8 * p)) & 0xff]++;
  }
  U *ks = k, *kd = kt;
  uint32_t *is = idx, *id = it;
  for (int p = 0; p < P; ++p) {
    int64_t* h = hist[p];
    if (h[(ks[0] >> (8 * p)) & 0xff] == n) continue;  // one bucket: nothing moves
    int64_t off = 0;
    for (int d = 0; d < 256; ++d) {
      int64_t c = h[d];
      h[d] = off;
      off += c;
    }
    if (is) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t pos = h[(ks[i] >> (8 * p)) & 0xff]++;
        kd[pos] = ks[i];
        id[pos] = is[i];
      }
      std::swap(is, id);
    } else {
      for (int64_t i = 0; i < n; ++i) kd[h[(ks[i] >> (8 * p)) & 0xff]++] = ks[i];
    }
    std::swap(ks, kd);
  }
  if (ks != k) {
    std::memcpy(k, ks, n * sizeof(U));
    if (is) std::memcpy(idx, is, n * sizeof(uint32_t));
  }
}

// Sorts the values (or, with `indices`, the stable sorting indices) of every row by radix.
template <typename T, bool Indices, typename Out>
void radix_rows(const array& in, array& out, int axis) {
  using R = RadixKey<T>;
  using U = typename R::U;
  Rows rows(in, axis);
  if (rows.count == 0) return;
  const T* src = in.data<T>();
  Out* dst = out.data<Out>();
  int64_t n = rows.n;
  int64_t grain = std::max<int64_t>(1, kSortGrain / n);
  cpu::parallel_for(rows.count, grain, [&](int64_t begin, int64_t end) {
    std::unique_ptr<U[]> keys(new U[2 * n]);
    std::unique_ptr<uint32_t[]> idx(Indices ? new uint32_t[2 * n] : nullptr);
    for (int64_t r = begin; r < end; ++r) {
      const T* x = src + rows.in_base(r);
      for (int64_t j = 0; j < n; ++j) keys[j] = R::to_key(x[j * rows.in_stride], Indices);
      if constexpr (Indices) {
        for (int64_t j = 0; j < n; ++j) idx[j] = static_cast<uint32_t>(j);
      }
      radix_sort<U>(keys.get(), keys.get() + n, idx.get(), Indices ? idx.get() + n : nullptr, n);
      Out* y = dst + rows.out_base(r);
      for (int64_t j = 0; j < n; ++j) {
        if constexpr (Indices) {
          y[j * rows.inner] = idx[j];
        } else {
          y[j * rows.inner] = R::from_key(keys[j]);
        }
      }
    }
  });
}

// ---------------------------------------------------------------- comparison sorts

// Sorts (kth < 0) or partitions around kth the values of `in` along `axis` into `out`.
template <typename T>
void sort_values(const array& in, array& out, int axis, int64_t kth) {
  if constexpr (RadixKey<T>::ok) {
    if (kth < 0 && in.ndim() > 0 && in.shape(axis) >= kRadixMinRow) return radix_rows<T, false, T>(in, out, axis);
  }
  using K = sort_key_t<T>;
  Rows rows(in, axis);
  const T* src = in.data<T>();
  T* dst = out.data<T>();
  for_rows<K>(rows, [&](int64_t r, K* buf) {
    const T* x = src + rows.in_base(r);
    for (int64_t j = 0; j < rows.n; ++j) buf[j] = static_cast<K>(x[j * rows.in_stride]);
    K* mid = buf + rows.n;
    if constexpr (std::is_floating_point_v<K>) {
      mid = std::partition(buf, buf + rows.n, [](K v) { return v == v; });
    }
    auto less = [](const K& a, const K& b) { return key_less(a, b); };
    if (kth < 0) {
      std::sort(buf, mid, less);
    } else if (buf + kth < mid) {
      std::nth_element(buf, buf + kth, mid, less);
    }
    T* y = dst + rows.out_base(r);
    for (int64_t j = 0; j < rows.n; ++j) y[j * rows.inner] = static_cast<T>(buf[j]);
  });
}

// Indices that sort (kth < 0, stable) or partition around kth the values of `in` along `axis`.
template <typename T>
void sort_indices(const array& in, array& out, int axis, int64_t kth) {
  if constexpr (RadixKey<T>::ok) {
    if (kth < 0 && in.ndim() > 0 && in.shape(axis) >= kRadixMinRow) {
      return radix_rows<T, true, uint32_t>(in, out, axis);
    }
  }
  using K = sort_key_t<T>;
  using I = Item<K>;
  Rows rows(in, axis);
  const T* src = in.data<T>();
  uint32_t* dst = out.data<uint32_t>();
  for_rows<I>(rows, [&](int64_t r, I* buf) {
    const T* x = src + rows.in_base(r);
    for (int64_t j = 0; j < rows.n; ++j) buf[j] = I{static_cast<K>(x[j * rows.in_stride]), static_cast<uint32_t>(j)};
    I* mid = buf + rows.n;
    if constexpr (std::is_floating_point_v<K>) {
      // Stable, so the NaNs keep their original order at the end.
      mid = std::stable_partition(buf, buf + rows.n, [](const I& v) { return v.v == v.v; });
    }
    auto less = [](const I& a, const I& b) {
      if (key_less(a.v, b.v)) return true;
      if (key_less(b.v, a.v)) return false;
      return a.i < b.i;
    };
    if (kth < 0) {
      std::sort(buf, mid, less);
    } else if (buf + kth < mid) {
      std::nth_element(buf, buf + kth, mid, less);
    }
    uint32_t* y = dst + rows.out_base(r);
    for (int64_t j = 0; j < rows.n; ++j) y[j * rows.inner] = buf[j].i;
  });
}

}  // namespace

void Sort::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  dispatch_all_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_values<T>(in, out, axis_, -1);
  });
}

void ArgSort::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  dispatch_all_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_indices<T>(in, out, axis_, -1);
  });
}

void Partition::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  dispatch_all_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_values<T>(in, out, axis_, kth_);
  });
}

void ArgPartition::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.set_data(allocator::malloc(out.nbytes()));
  dispatch_all_types(in.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_indices<T>(in, out, axis_, kth_);
  });
}

}  // namespace kiln
