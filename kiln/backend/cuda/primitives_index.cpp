// eval_gpu of the indexing (Gather, Scatter, SliceUpdate), sort (Sort, ArgSort, Partition,
// ArgPartition) and random (RandomBits) primitives; kernels in indexing.cu, sort.cu, random.cu.
#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/indexing.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

[[noreturn]] void too_many_dims(const char* name, const Shape& shape) {
  std::ostringstream msg;
  msg << "[" << name << "] Layouts with more than " << cuda::kMaxDims
      << " non-mergeable dimensions are not supported on the GPU yet (shape " << shape << ").";
  throw std::invalid_argument(msg.str());
}

// Gives `out` a row-major device copy of `in`, taking `in`'s buffer when nothing else holds it
// (as the CPU's copy_or_donate): a KV-cache update then writes in place.
void copy_or_donate(const char* name, const array& in, array& out, cudaStream_t s) {
  if (in.is_donatable() && in.flags().row_contiguous && in.data_size() == in.size() && in.size() > 0) {
    cuda::device_in(in, s);  // the device copy is current and `s` is ordered after its writer
    array::Data* d = in.data_shared().get();
    {
      std::lock_guard<std::mutex> lk(d->mtx);
      gpu::DeviceBuffer* b = d->device;
      if (b->stream != s) {
        // `s` writes it now: later readers wait for `s`; the free still joins the old writer.
        if (std::find(b->readers.begin(), b->readers.end(), b->stream) == b->readers.end()) {
          b->readers.push_back(b->stream);
        }
        b->readers.erase(std::remove(b->readers.begin(), b->readers.end(), s), b->readers.end());
        b->stream = s;
      }
      d->valid.store(array::Data::kDevice, std::memory_order_release);  // the host copy goes stale
    }
    out.copy_shared_buffer(in);
    return;
  }
  cuda::alloc_device(out, s);
  cuda::copy_gpu(name, in, out, s);
}

// A row-major device version of `a` (itself when it already is one).
array row_major_gpu(const char* name, const array& a, cudaStream_t s) {
  if (a.flags().row_contiguous && a.data_size() == a.size()) return a;
  array tmp = array::placeholder(a.shape(), a.dtype());
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, a, tmp, s);
  return tmp;
}

// The launch layout of the index arrays and the slice (strides of the array sliced: `strides`).
cuda::IndexLayout index_layout(const char* name, const std::vector<array>& indices, const Shape& index_shape,
                               const std::vector<int>& axes, const Shape& shape, const Strides& strides,
                               const Shape& slice_shape, cudaStream_t s) {
  cuda::IndexLayout l;
  if (indices.size() > static_cast<size_t>(cuda::kMaxIndexArrays)) {
    throw std::invalid_argument(std::string("[") + name + "] More than " + std::to_string(cuda::kMaxIndexArrays) +
                                " index arrays are not supported on the GPU yet.");
  }
  l.count = static_cast<int>(indices.size());
  l.n = 1;
  for (auto d : index_shape) l.n *= d;
  if (!indices.empty()) {
    std::vector<Strides> st;
    for (auto& idx : indices) st.push_back(idx.strides());
    auto [cshape, cstrides] = collapse_contiguous_dims(index_shape, st);
    if (cshape.size() > static_cast<size_t>(cuda::kMaxDims)) too_many_dims(name, index_shape);
    l.ndim = static_cast<int>(cshape.size());
    for (int d = 0; d < l.ndim; ++d) l.shape[d] = cshape[d];
    for (int k = 0; k < l.count; ++k) {
      const array& idx = indices[k];
      auto& a = l.a[k];
      a.ptr = cuda::device_in(idx, s);
      a.dtype = static_cast<int>(idx.dtype().val);
      a.size = shape[axes[k]];
      a.stride = strides[axes[k]];
      a.limit = shape[axes[k]] - slice_shape[axes[k]] + 1;
      for (int d = 0; d < l.ndim; ++d) a.strides[d] = cstrides[k][d];
    }
  }
  auto [sshape, sstrides] = collapse_contiguous_dims(slice_shape, {strides});
  if (sshape.size() > static_cast<size_t>(cuda::kMaxDims)) too_many_dims(name, slice_shape);
  l.slice_ndim = static_cast<int>(sshape.size());
  l.slice_n = 1;
  for (int d = 0; d < l.slice_ndim; ++d) {
    l.slice_shape[d] = sshape[d];
    l.slice_strides[d] = sstrides[0][d];
    l.slice_n *= sshape[d];
  }
  return l;
}

cuda::SortLayout sort_layout(const char* name, const array& in, int axis) {
  cuda::SortLayout l;
  l.n = in.ndim() ? in.shape(axis) : 1;
  l.in_stride = in.ndim() ? in.strides(axis) : 0;
  Shape shape_wo;
  Strides strides_wo;
  for (int d = 0; d < in.ndim(); ++d) {
    if (d == axis) continue;
    shape_wo.push_back(in.shape(d));
    strides_wo.push_back(in.strides(d));
    if (d > axis) l.inner *= in.shape(d);
  }
  l.rows = l.n == 0 ? 0 : static_cast<int64_t>(in.size()) / l.n;
  auto [cshape, cstrides] = collapse_contiguous_dims(shape_wo, {strides_wo});
  if (cshape.size() > static_cast<size_t>(cuda::kMaxDims)) too_many_dims(name, in.shape());
  l.ndim = static_cast<int>(cshape.size());
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = cshape[d];
    l.strides[d] = cstrides[0][d];
  }
  return l;
}

void sort_gpu(const char* name, const array& in, array& out, int axis, bool indices, cudaStream_t s) {
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  cuda::SortLayout l = sort_layout(name, in, axis);
  cuda::sort(name, in.dtype(), indices, cuda::device_in(in, s), cuda::device_out(out), l, s);
}

}  // namespace

// ---- indexing

void Gather::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const array& a = inputs[0];
  std::vector<array> indices(inputs.begin() + 1, inputs.end());
  Shape index_shape(out.shape().begin(), out.shape().end() - a.ndim());
  cuda::IndexLayout l = index_layout(name(), indices, index_shape, axes_, a.shape(), a.strides(), slice_sizes_, s);
  cuda::gather(name(), a.itemsize(), cuda::device_in(a, s), cuda::device_out(out), l, s);
}

void Scatter::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  const array& a = inputs[0];
  copy_or_donate(name(), a, out, s);  // row-major: every offset below is >= 0
  const array& u = inputs.back();
  if (out.size() == 0 || u.size() == 0) return;
  array upd = row_major_gpu(name(), u, s);
  std::vector<array> indices(inputs.begin() + 1, inputs.end() - 1);
  int index_nd = upd.ndim() - a.ndim();
  Shape index_shape(upd.shape().begin(), upd.shape().begin() + index_nd);
  Shape slice_shape(upd.shape().begin() + index_nd, upd.shape().end());
  cuda::IndexLayout l = index_layout(name(), indices, index_shape, axes_, out.shape(), out.strides(), slice_shape, s);
  gpu::DeviceBuffer* winner = nullptr;
  if (reduce_ == None && l.n > 1) {
    size_t word = l.n < int64_t(UINT32_MAX) ? 4 : 8;
    winner = cuda::device_malloc(out.size() * word, s);
  }
  try {
    cuda::scatter(name(), out.dtype(), static_cast<int>(reduce_), cuda::device_out(out), cuda::device_in(upd, s), l,
                  winner ? winner->ptr : nullptr, static_cast<int64_t>(out.size()), s);
  } catch (...) {
    if (winner) gpu::release(winner);
    throw;
  }
  if (winner) gpu::release(winner);  // stream-ordered: freed after the kernels on `s`
}

void SliceUpdate::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  copy_or_donate(name(), inputs[0], out, s);
  const array& upd = inputs[1];
  if (upd.size() == 0) return;
  auto [strides, offset] = slice_region(out, start_, strides_);
  array dst = array::placeholder(upd.shape(), out.dtype());
  dst.copy_shared_buffer(out, strides, layout_flags(upd.shape(), strides), upd.size(), offset);
  cuda::copy_gpu(name(), upd, dst, s);
}

// ---- sorting. Partitions are full sorts: a sorted row satisfies the partition contract, and
// the radix sort costs little more than a selection would. Elements other than kth may then be
// ordered differently from the CPU's nth_element, which leaves them in an unspecified order.

void Sort::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_gpu(name(), inputs[0], out, axis_, false, cuda::stream_of(stream()));
}
void ArgSort::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_gpu(name(), inputs[0], out, axis_, true, cuda::stream_of(stream()));
}
void Partition::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_gpu(name(), inputs[0], out, axis_, false, cuda::stream_of(stream()));
}
void ArgPartition::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_gpu(name(), inputs[0], out, axis_, true, cuda::stream_of(stream()));
}

// ---- random

void RandomBits::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const array& key = inputs[0];
  cuda::random_bits(name(), width_, cuda::device_in(key, s), key.ndim() ? key.strides(0) : 0, cuda::device_out(out),
                    static_cast<int64_t>(out.size()), s);
}

}  // namespace kiln
