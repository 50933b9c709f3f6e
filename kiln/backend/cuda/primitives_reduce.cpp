// eval_gpu of the reduction-like primitives: Reduce and ArgReduce (reduce.cu, arg_reduce.cu),
// Softmax and LogSumExp (softmax.cu), Scan (scan.cu). The layout work (dims reordered by
// input stride, merged, reversed dims turned around) happens here; the kernels take raw
// pointers and a ReduceLayout.
#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using Dim = ReduceDim;

[[noreturn]] void too_many_dims(const char* name, const Shape& shape) {
  std::ostringstream msg;
  msg << "[" << name << "] Reductions with more than " << cuda::kMaxDims
      << " non-mergeable kept or reduced dimensions are not supported on the GPU yet (shape " << shape << ").";
  throw std::invalid_argument(msg.str());
}

// The reduction of `shape` (input strides `is`, output strides `os`) over the `reduced` dims,
// in memory order: dims sorted by input stride (largest first) and merged where contiguous.
// The innermost dim becomes the reduced run when it is reduced, else the last kept dim.
// `drop_broadcast`: idempotent reductions ignore reduced dims of stride 0. Reversed dims are
// walked forwards: in_off/out_off receive the element offsets of the new origin.
cuda::ReduceLayout make_reduce_layout(const char* name, const Shape& shape, const Strides& is, const Strides& os,
                                      const std::vector<bool>& reduced, bool drop_broadcast, int64_t& in_off,
                                      int64_t& out_off) {
  bool empty = std::any_of(shape.begin(), shape.end(), [](auto n) { return n == 0; });
  auto merged = reduction_dims(shape, is, os, reduced, drop_broadcast && !empty, in_off, out_off);
  cuda::ReduceLayout l;
  if (!merged.empty() && merged.back().reduced) {
    l.inner_n = merged.back().n;
    l.inner_is = merged.back().is;
    merged.pop_back();
  }
  for (const Dim& d : merged) {
    if (d.reduced) {
      if (l.nr == cuda::kMaxDims) too_many_dims(name, shape);
      l.rshape[l.nr] = d.n;
      l.ris[l.nr++] = d.is;
      l.n_red *= d.n;
    } else {
      if (l.nk == cuda::kMaxDims) too_many_dims(name, shape);
      l.kshape[l.nk] = d.n;
      l.kis[l.nk] = d.is;
      l.kos[l.nk++] = d.os;
      l.n_out *= d.n;
    }
  }
  l.n_red *= l.inner_n;
  if (empty) l.n_red = 0;
  return l;
}

// `in` itself when it is row-major, else a row-major device copy.
array row_major_gpu(const char* name, const array& in, cudaStream_t s) {
  if (in.flags().row_contiguous) return in;
  array tmp = array::placeholder(in.shape(), in.dtype());
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, in, tmp, s);
  return tmp;
}

void reduce_into(const char* name, Reduce::ReduceType type, const std::vector<int>& axes, const array& in,
                 array& out, cudaStream_t s) {
  using enum Reduce::ReduceType;
  cuda::ReduceOp op = type == And    ? cuda::ReduceOp::And
                      : type == Or   ? cuda::ReduceOp::Or
                      : type == Sum  ? cuda::ReduceOp::Sum
                      : type == Prod ? cuda::ReduceOp::Prod
                      : type == Min  ? cuda::ReduceOp::Min
                                     : cuda::ReduceOp::Max;
  std::vector<bool> reduced(in.ndim(), false);
  for (int a : axes) reduced.at(a) = true;
  Shape shape = in.shape();
  Strides is = in.strides();
  Strides os = row_major_strides(out.shape());
  Dtype t = in.dtype();
  if (t == complex64 && type == Sum) {
    // A complex64 sum is a float32 sum with a trailing kept dim of 2 (real, imaginary).
    for (auto& v : is) v *= 2;
    for (auto& v : os) v *= 2;
    shape.push_back(2);
    is.push_back(1);
    os.push_back(1);
    reduced.push_back(false);
    t = float32;
  }
  bool idempotent = type != Sum && type != Prod;
  int64_t in_off, out_off;
  cuda::ReduceLayout l = make_reduce_layout(name, shape, is, os, reduced, idempotent, in_off, out_off);
  const char* src = static_cast<const char*>(cuda::device_in(in, s)) + in_off * size_of(t);
  char* dst = static_cast<char*>(cuda::device_out(out)) + out_off * size_of(t);
  cuda::reduce(op, name, t, src, dst, l, s);
}

}  // namespace

void Reduce::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  if (in.dtype() == complex64 && (type_ == Min || type_ == Max)) {
    std::ostringstream msg;
    msg << "[" << name() << "] Not supported for complex64 inputs.";
    throw std::invalid_argument(msg.str());
  }
  if (out.dtype() != in.dtype()) {
    // Not produced by ops.cpp; reduce in the input type, then convert (as the CPU does).
    array tmp = array::placeholder(out.shape(), in.dtype());
    cuda::alloc_device(tmp, s);
    reduce_into(name(), type_, axes_, in, tmp, s);
    cuda::copy_gpu(name(), tmp, out, s);
    return;
  }
  reduce_into(name(), type_, axes_, in, out, s);
}

void ArgReduce::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  if (in.shape(axis_) == 0) {
    std::ostringstream msg;
    msg << "[" << name() << "] Cannot reduce over an empty axis.";
    throw std::invalid_argument(msg.str());
  }
  // The kept dims in memory order; the axis (not reversed: indices count from its start) is
  // the innermost run.
  Shape shape = in.shape();
  shape[axis_] = 1;
  int64_t in_off, out_off;
  cuda::ReduceLayout l = make_reduce_layout(name(), shape, in.strides(), row_major_strides(out.shape()),
                                            std::vector<bool>(in.ndim(), false), false, in_off, out_off);
  l.inner_n = in.shape(axis_);
  l.inner_is = in.strides(axis_);
  l.n_red = l.inner_n;
  const char* src = static_cast<const char*>(cuda::device_in(in, s)) + in_off * in.itemsize();
  uint32_t* dst = static_cast<uint32_t*>(cuda::device_out(out)) + out_off;
  cuda::arg_reduce(type_ == ArgMax, name(), in.dtype(), src, dst, l, s);
}

void Softmax::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array in = row_major_gpu(name(), inputs[0], s);
  int64_t n = in.ndim() == 0 ? 1 : in.shape(-1);
  int64_t rows = static_cast<int64_t>(in.size()) / n;
  cuda::softmax(name(), in.dtype(), cuda::device_in(in, s), cuda::device_out(out), rows, n, s);
}

void LogSumExp::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array in = row_major_gpu(name(), inputs[0], s);
  int64_t n = in.ndim() == 0 ? 1 : in.shape(-1);
  int64_t rows = static_cast<int64_t>(out.size());
  cuda::logsumexp(name(), in.dtype(), n == 0 ? nullptr : cuda::device_in(in, s), cuda::device_out(out), rows, n, s);
}

void Scan::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const void* src;
  if (in.flags().row_contiguous && in.dtype() == out.dtype()) {
    src = cuda::device_in(in, s);
  } else {
    cuda::copy_gpu(name(), in, out, s);  // then scanned in place
    src = cuda::device_out(out);
  }
  int64_t n = out.shape(axis_), outer = 1, inner = 1;
  for (int d = 0; d < axis_; ++d) outer *= out.shape(d);
  for (int d = axis_ + 1; d < out.ndim(); ++d) inner *= out.shape(d);
  cuda::ScanOp op = type_ == Sum    ? cuda::ScanOp::Sum
                    : type_ == Prod ? cuda::ScanOp::Prod
                    : type_ == Max  ? cuda::ScanOp::Max
                    : type_ == Min  ? cuda::ScanOp::Min
                                    : cuda::ScanOp::LogAddExp;
  cuda::scan(op, name(), out.dtype(), src, cuda::device_out(out), outer, n, inner, reverse_, inclusive_, s);
}

}  // namespace kiln
