// eval_gpu of the primitives that have CUDA kernels: views (shared buffers, as on the CPU),
// copies and conversions, fills, elementwise ops. Matmul is in matmul.cpp; reductions,
// softmax/logsumexp and scans in primitives_reduce.cpp; every other primitive's eval_gpu is a
// stub from backend/common/gpu_stubs.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <sstream>
#include <stdexcept>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/common/views.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cuda::Layout;

bool is_scalar(const array& a) { return a.data_size() == 1; }

// The launch layout of out (operand 0) and `ins`: linear when every input is a broadcast
// element or dense with out's strides, otherwise the collapsed strided walk.
Layout make_layout(const char* name, const array& out, const std::vector<const array*>& ins) {
  Layout l;
  l.size = static_cast<int64_t>(out.size());
  bool linear = out.flags().contiguous;
  for (auto* in : ins) linear &= is_scalar(*in) || (in->flags().contiguous && in->strides() == out.strides());
  if (linear) {
    l.contiguous = true;
    l.ndim = 1;
    l.shape[0] = l.size;
    for (size_t k = 0; k < ins.size(); ++k) l.scalar[k + 1] = is_scalar(*ins[k]) && l.size > 1;
    return l;
  }
  std::vector<Strides> strides{out.strides()};
  for (auto* in : ins) strides.push_back(in->strides());
  auto [shape, cs] = collapse_contiguous_dims(out.shape(), strides);
  if (shape.size() > static_cast<size_t>(cuda::kMaxDims)) {
    std::ostringstream msg;
    msg << "[" << name << "] Layouts with more than " << cuda::kMaxDims
        << " non-mergeable dimensions are not supported on the GPU yet (shape " << out.shape() << ").";
    throw std::invalid_argument(msg.str());
  }
  l.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = shape[d];
    for (size_t k = 0; k < cs.size(); ++k) l.strides[k][d] = cs[k][d];
  }
  return l;
}

// Gives an elementwise output its buffer: the layout of its dense inputs when they all share
// one (a transposed operand stays transposed), else row-major.
void alloc_like_inputs(array& out, const std::vector<array>& inputs, cudaStream_t s) {
  const array* model = nullptr;
  bool same = true;
  for (auto& in : inputs) {
    if (is_scalar(in) && out.size() > 1) continue;
    if (!in.flags().contiguous || in.data_size() != out.size()) {
      same = false;
      break;
    }
    if (model == nullptr) {
      model = &in;
    } else if (model->strides() != in.strides()) {
      same = false;
      break;
    }
  }
  if (same && model != nullptr && !model->flags().row_contiguous) {
    cuda::alloc_device(out, s, out.size(), model->strides(), model->flags());
  } else {
    cuda::alloc_device(out, s);
  }
}

// Per-op overhead: a broadcast element whose host copy is current (the Python scalar of
// `x + 1`, a 0-d array made on the host) goes into the kernel's parameters (cuda::ScalarArg)
// instead of being uploaded into a device buffer of its own. Returns its bytes in `bits`, and
// in `on_device` whether a device copy exists too (then passing its pointer costs nothing).
bool host_scalar(const array& a, uint64_t& bits, bool& on_device) {
  if (a.data_size() != 1 || a.itemsize() > sizeof(uint64_t)) return false;
  const array::Data* d = a.data_shared().get();
  if (d == nullptr || d->buffer.ptr == nullptr) return false;
  uint8_t v = d->valid.load(std::memory_order_acquire);
  if (!(v & array::Data::kHost)) return false;
  bits = 0;
  std::memcpy(&bits, static_cast<const char*>(d->buffer.ptr) + a.offset(), a.itemsize());
  on_device = (v & array::Data::kDevice) != 0;
  return true;
}

// The input (among `candidates`, in order of preference) best passed by value: one that
// would need an upload beats one with a device copy already. -1 if none qualifies.
int pick_scalar(const std::vector<array>& inputs, std::initializer_list<int> candidates, uint64_t& bits) {
  int best = -1;
  bool best_on_device = true;
  for (int i : candidates) {
    uint64_t b = 0;
    bool dev = false;
    if (host_scalar(inputs[i], b, dev) && (best < 0 || (best_on_device && !dev))) {
      best = i;
      best_on_device = dev;
      bits = b;
    }
  }
  return best;
}

void unary_gpu(cuda::UnaryOp op, const char* name, const std::vector<array>& inputs, array& out, cudaStream_t s) {
  const array& in = inputs[0];
  alloc_like_inputs(out, inputs, s);
  if (out.size() == 0) return;
  Layout l = make_layout(name, out, {&in});
  cuda::unary(op, name, in.dtype(), out.dtype(), cuda::device_in(in, s), cuda::device_out(out), l, s);
}

void binary_gpu(cuda::BinaryOp op, const char* name, const std::vector<array>& inputs, array& out, cudaStream_t s) {
  const array& a = inputs[0];
  const array& b = inputs[1];
  if (a.dtype() != b.dtype()) throw_unsupported_dtype(name, b.dtype());
  alloc_like_inputs(out, inputs, s);
  if (out.size() == 0) return;
  uint64_t bits = 0;
  if (int si = pick_scalar(inputs, {1, 0}, bits); si >= 0) {
    const array& other = inputs[1 - si];
    Layout l = make_layout(name, out, {&other});
    const void* p = cuda::device_in(other, s);
    cuda::binary(op, name, a.dtype(), out.dtype(), si == 0 ? nullptr : p, si == 1 ? nullptr : p, cuda::device_out(out),
                 l, s, {si, bits});
    return;
  }
  Layout l = make_layout(name, out, {&a, &b});
  cuda::binary(op, name, a.dtype(), out.dtype(), cuda::device_in(a, s), cuda::device_in(b, s), cuda::device_out(out),
               l, s);
}

}  // namespace

void cuda::copy_gpu(const char* name, const array& in, array& out, cudaStream_t s) {
  if (out.size() == 0) return;
  Layout l = make_layout(name, out, {&in});
  cuda::copy(name, in.dtype(), out.dtype(), cuda::device_in(in, s), cuda::device_out(out), l, s);
}

using cuda::copy_gpu;

// ---- elementwise

#define KILN_CUDA_UNARY_EVAL(Name)                                           \
  void Name::eval_gpu(const std::vector<array>& inputs, array& out) {        \
    unary_gpu(cuda::UnaryOp::Name, name(), inputs, out, cuda::stream_of(stream())); \
  }
KILN_CUDA_UNARY_OPS(KILN_CUDA_UNARY_EVAL)
#undef KILN_CUDA_UNARY_EVAL

#define KILN_CUDA_BINARY_EVAL(Name)                                           \
  void Name::eval_gpu(const std::vector<array>& inputs, array& out) {         \
    binary_gpu(cuda::BinaryOp::Name, name(), inputs, out, cuda::stream_of(stream())); \
  }
KILN_CUDA_BINARY_OPS(KILN_CUDA_BINARY_EVAL)
#undef KILN_CUDA_BINARY_EVAL

void Select::eval_gpu(const std::vector<array>& inputs, array& out) {
  if (inputs[0].dtype() != bool_) throw_unsupported_dtype(name(), inputs[0].dtype());
  if (inputs[1].dtype() != out.dtype() || inputs[2].dtype() != out.dtype()) {
    throw_unsupported_dtype(name(), inputs[1].dtype() != out.dtype() ? inputs[1].dtype() : inputs[2].dtype());
  }
  cudaStream_t s = cuda::stream_of(stream());
  alloc_like_inputs(out, inputs, s);
  if (out.size() == 0) return;
  uint64_t bits = 0;
  if (int si = pick_scalar(inputs, {2, 1}, bits); si >= 0) {
    const array& other = inputs[3 - si];
    Layout l = make_layout(name(), out, {&inputs[0], &other});
    const void* p = cuda::device_in(other, s);
    cuda::select(name(), out.dtype(), cuda::device_in(inputs[0], s), si == 1 ? nullptr : p, si == 2 ? nullptr : p,
                 cuda::device_out(out), l, s, {si, bits});
    return;
  }
  Layout l = make_layout(name(), out, {&inputs[0], &inputs[1], &inputs[2]});
  cuda::select(name(), out.dtype(), cuda::device_in(inputs[0], s), cuda::device_in(inputs[1], s),
               cuda::device_in(inputs[2], s), cuda::device_out(out), l, s);
}

// ---- copies, conversions, fills

void AsType::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  // A dense input keeps its layout (a transposed array converts in one linear pass).
  if (in.flags().contiguous && in.data_size() == in.size() && !in.flags().row_contiguous) {
    cuda::alloc_device(out, s, in.data_size(), in.strides(), in.flags());
  } else {
    cuda::alloc_device(out, s);
  }
  copy_gpu(name(), in, out, s);
}

void Copy::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  copy_gpu(name(), in, out, s);
}

void Full::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  uint64_t bits = 0;
  bool on_device = false;
  if (inputs[0].dtype() == out.dtype() && host_scalar(inputs[0], bits, on_device)) {
    // zeros/ones/full of a host value: a fill kernel with the value in its parameters.
    if (out.size() > 0) cuda::fill(name(), out.dtype(), bits, cuda::device_out(out), static_cast<int64_t>(out.size()), s);
    return;
  }
  copy_gpu(name(), inputs[0], out, s);
}

void Arange::eval_gpu(const std::vector<array>&, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  bool exact = start_ == std::trunc(start_) && step_ == std::trunc(step_);
  cuda::arange(name(), out.dtype(), start_, step_, exact, cuda::device_out(out), static_cast<int64_t>(out.size()), s);
}

void Concatenate::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  int64_t offset = 0;
  for (const auto& in : inputs) {
    if (in.size() > 0) {
      // Write through a view of the output's part for this input.
      array dst = array::placeholder(in.shape(), out.dtype());
      dst.copy_shared_buffer(out, out.strides(), layout_flags(in.shape(), out.strides()), in.size(), offset);
      copy_gpu(name(), in, dst, s);
    }
    offset += static_cast<int64_t>(in.shape(axis_)) * out.strides()[axis_];
  }
}

// ---- views: the same buffer sharing as on the CPU (backend/common/views.h)

void Reshape::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  auto [ok, strides] = view_strides(in, out.shape());
  if (ok) {
    make_strided_view(in, out, strides, 0);
    return;
  }
  // Copy in the input's shape into a row-major buffer; read row-major, that buffer is the reshape.
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array dst = array::placeholder(in.shape(), out.dtype());
  Strides rm = row_major_strides(in.shape());
  dst.copy_shared_buffer(out, rm, layout_flags(in.shape(), rm), in.size(), 0);
  copy_gpu(name(), in, dst, s);
}

void Transpose::eval_gpu(const std::vector<array>& inputs, array& out) { transpose_view(inputs[0], out, axes_); }
void Broadcast::eval_gpu(const std::vector<array>& inputs, array& out) { broadcast_view(inputs[0], out); }
void Slice::eval_gpu(const std::vector<array>& inputs, array& out) { slice_view(inputs[0], out, start_, steps_); }
void ExpandDims::eval_gpu(const std::vector<array>& inputs, array& out) { expand_dims_view(inputs[0], out, axes_); }
void Squeeze::eval_gpu(const std::vector<array>& inputs, array& out) { squeeze_view(inputs[0], out, axes_); }
void AsStrided::eval_gpu(const std::vector<array>& inputs, array& out) {
  make_strided_view(inputs[0], out, strides_, static_cast<int64_t>(offset_));
}
void Identity::eval_gpu(const std::vector<array>& inputs, array& out) { out.copy_shared_buffer(inputs[0]); }
void StopGradient::eval_gpu(const std::vector<array>& inputs, array& out) { out.copy_shared_buffer(inputs[0]); }
void CustomTransforms::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i].copy_shared_buffer(inputs[num_inputs_ + i]);
}
void View::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.itemsize() == out.itemsize()) {
    out.copy_shared_buffer(in);  // strides count elements, which keep their size
    return;
  }
  if (in.flags().row_contiguous) {
    make_strided_view(in, out, row_major_strides(out.shape()), 0);
    return;
  }
  // Other element sizes reinterpret row-major bytes: copy into a row-major buffer first.
  cudaStream_t s = cuda::stream_of(stream());
  array tmp = array::placeholder(in.shape(), in.dtype());
  cuda::alloc_device(tmp, s);
  copy_gpu(name(), in, tmp, s);
  make_strided_view(tmp, out, row_major_strides(out.shape()), 0);
}
void Depends::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i].copy_shared_buffer(inputs[i]);
}
void Split::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  split_views(inputs[0], outputs, indices_, axis_);
}

}  // namespace kiln

// The families above (and in matmul.cpp, primitives_reduce.cpp) have kernels; the rest are stubs.
#define KILN_GPU_HAS_ELEMENTWISE
#define KILN_GPU_HAS_COPY
#define KILN_GPU_HAS_VIEWS
#define KILN_GPU_HAS_MATMUL
#define KILN_GPU_HAS_REDUCE
#define KILN_GPU_HAS_SOFTMAX
#define KILN_GPU_HAS_SCAN
#define KILN_GPU_HAS_INDEXING  // primitives_index.cpp
#define KILN_GPU_HAS_SORT
#define KILN_GPU_HAS_RANDOM
#define KILN_GPU_HAS_FFT  // fft.cpp
#define KILN_GPU_HAS_HADAMARD
#define KILN_GPU_HAS_FP8
#define KILN_GPU_HAS_LINALG  // linalg.cpp
#define KILN_GPU_HAS_CONV  // conv.cpp
#define KILN_GPU_HAS_COMPILED  // compiled.cpp
#define KILN_GPU_HAS_QUANTIZED  // primitives_quantized.cpp
#define KILN_GPU_HAS_GATHER_MM  // gather_mm.cpp
#include "kiln/backend/common/gpu_stubs.h"
