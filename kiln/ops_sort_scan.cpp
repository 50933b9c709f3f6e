// Sorting, partitioning and cumulative (scan) operations.
#include <sstream>
#include <string>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::str;
using detail::normalize_axis;


// A valid kth in [-n, n) made non-negative.
int check_kth(int kth, int axis, const array& a, const char* op) {
  int n = a.shape(axis);
  if (kth < -n || kth >= n) {
    throw std::invalid_argument(
        str("[", op, "] Received invalid kth ", kth, " along axis ", axis, " for array with shape ", a.shape(), "."));
  }
  return kth < 0 ? kth + n : kth;
}

template <typename P>
array along_axis(const array& a, int axis, Dtype out_dtype, const char* op, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), op);
  return array(a.shape(), out_dtype, std::make_shared<P>(to_stream(s), ax), {a});
}

template <typename P>
array partition_impl(const array& a, int kth, int axis, Dtype out_dtype, const char* op, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), op);
  int k = check_kth(kth, ax, a, op);
  return array(a.shape(), out_dtype, std::make_shared<P>(to_stream(s), k, ax), {a});
}

array flat(const array& a, StreamOrDevice s) { return reshape(a, {static_cast<ShapeElem>(a.size())}, s); }

array scan(const array& a, int axis, bool reverse, bool inclusive, Scan::ScanType type, Dtype out_dtype,
           const char* op, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), op);
  Stream st = to_stream(s);
  return array(a.shape(), out_dtype, std::make_shared<Scan>(st, type, ax, reverse, inclusive),
               {astype(a, out_dtype, st)});
}

// MLX's cumsum dtype: only bool widens (to int32); small integers keep their type.
Dtype cumsum_dtype(Dtype t) { return t == bool_ ? int32 : t; }
Dtype logcumsumexp_dtype(Dtype t) { return is_inexact(t) ? t : float32; }

}  // namespace

array sort(const array& a, int axis, StreamOrDevice s) { return along_axis<Sort>(a, axis, a.dtype(), "sort", s); }
array sort(const array& a, StreamOrDevice s) { return sort(flat(a, s), 0, s); }
array argsort(const array& a, int axis, StreamOrDevice s) {
  return along_axis<ArgSort>(a, axis, uint32, "argsort", s);
}
array argsort(const array& a, StreamOrDevice s) { return argsort(flat(a, s), 0, s); }

array partition(const array& a, int kth, int axis, StreamOrDevice s) {
  return partition_impl<Partition>(a, kth, axis, a.dtype(), "partition", s);
}
array partition(const array& a, int kth, StreamOrDevice s) { return partition(flat(a, s), kth, 0, s); }
array argpartition(const array& a, int kth, int axis, StreamOrDevice s) {
  return partition_impl<ArgPartition>(a, kth, axis, uint32, "argpartition", s);
}
array argpartition(const array& a, int kth, StreamOrDevice s) { return argpartition(flat(a, s), kth, 0, s); }

array topk(const array& a, int k, int axis, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), "topk");
  int n = a.shape(ax);
  if (k < 0 || k > n) {
    throw std::invalid_argument(
        str("[topk] Received invalid k=", k, " along axis ", axis, " for array with shape ", a.shape(), "."));
  }
  Stream st = to_stream(s);
  Shape start(a.ndim(), 0);
  Shape stop = a.shape();
  start[ax] = n - k;
  // The k largest are the tail of a partition around element n - k.
  array p = k == 0 ? a : partition(a, n - k, ax, st);
  return slice(p, start, stop, st);
}
array topk(const array& a, int k, StreamOrDevice s) { return topk(flat(a, s), k, 0, s); }

array cumsum(const array& a, int axis, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan(a, axis, reverse, inclusive, Scan::Sum, cumsum_dtype(a.dtype()), "cumsum", s);
}
array cumsum(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return cumsum(flat(a, s), 0, reverse, inclusive, s);
}
array cumprod(const array& a, int axis, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan(a, axis, reverse, inclusive, Scan::Prod, a.dtype(), "cumprod", s);
}
array cumprod(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return cumprod(flat(a, s), 0, reverse, inclusive, s);
}
array cummax(const array& a, int axis, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan(a, axis, reverse, inclusive, Scan::Max, a.dtype(), "cummax", s);
}
array cummax(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return cummax(flat(a, s), 0, reverse, inclusive, s);
}
array cummin(const array& a, int axis, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan(a, axis, reverse, inclusive, Scan::Min, a.dtype(), "cummin", s);
}
array cummin(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return cummin(flat(a, s), 0, reverse, inclusive, s);
}
array logcumsumexp(const array& a, int axis, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan(a, axis, reverse, inclusive, Scan::LogAddExp, logcumsumexp_dtype(a.dtype()), "logcumsumexp", s);
}
array logcumsumexp(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return logcumsumexp(flat(a, s), 0, reverse, inclusive, s);
}

}  // namespace kiln
