// eval_cpu of the view primitives (they share the input buffer) and of Concatenate.
#include "kiln/backend/common/utils.h"
#include "kiln/backend/common/views.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/primitives.h"

namespace kiln {

void Reshape::eval_cpu(const std::vector<array>& inputs, array& out) {
  const auto& in = inputs[0];
  auto [ok, strides] = view_strides(in, out.shape());
  if (ok) {
    make_strided_view(in, out, strides, 0);
  } else {
    // Copy in the input's shape into a row-major buffer; that buffer read row-major is the reshape.
    out.set_data(allocator::malloc(out.nbytes()));
    array dst = cpu::make_view(out, in.shape(), row_major_strides(in.shape()), 0);
    cpu::copy_into(in, dst);
  }
}

void Transpose::eval_cpu(const std::vector<array>& inputs, array& out) { transpose_view(inputs[0], out, axes_); }
void Broadcast::eval_cpu(const std::vector<array>& inputs, array& out) { broadcast_view(inputs[0], out); }
void Slice::eval_cpu(const std::vector<array>& inputs, array& out) { slice_view(inputs[0], out, start_, steps_); }
void ExpandDims::eval_cpu(const std::vector<array>& inputs, array& out) { expand_dims_view(inputs[0], out, axes_); }
void Squeeze::eval_cpu(const std::vector<array>& inputs, array& out) { squeeze_view(inputs[0], out, axes_); }
void AsStrided::eval_cpu(const std::vector<array>& inputs, array& out) {
  make_strided_view(inputs[0], out, strides_, static_cast<int64_t>(offset_));
}

void Split::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  split_views(inputs[0], outputs, indices_, axis_);
}

void Concatenate::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(out.nbytes()));
  int64_t offset = 0;
  for (const auto& in : inputs) {
    if (in.size() > 0) {
      array dst = cpu::make_view(out, in.shape(), out.strides(), offset);
      cpu::copy_into(in, dst);
    }
    offset += static_cast<int64_t>(in.shape(axis_)) * out.strides()[axis_];
  }
}

}  // namespace kiln
