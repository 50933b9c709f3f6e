#include "kiln/backend/common/views.h"

#include <algorithm>

#include "kiln/backend/common/utils.h"
#include "kiln/primitives.h"

namespace kiln {

void make_strided_view(const array& in, array& out, const Strides& strides, int64_t offset) {
  auto flags = layout_flags(out.shape(), strides);
  size_t data_size = flags.contiguous ? out.size() : spanned_size(out.shape(), strides);
  out.copy_shared_buffer(in, strides, flags, data_size, offset);
}

void broadcast_view(const array& in, array& out) {
  const Shape& shape = out.shape();
  Strides strides(shape.size(), 0);
  int diff = out.ndim() - in.ndim();
  for (int i = in.ndim() - 1; i >= 0; --i) {
    strides[i + diff] = (in.shape(i) == 1 && shape[i + diff] != 1) ? 0 : in.strides()[i];
  }
  make_strided_view(in, out, strides, 0);
}

void transpose_view(const array& in, array& out, const std::vector<int>& axes) {
  Strides strides(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) strides[i] = in.strides()[axes[i]];
  make_strided_view(in, out, strides, 0);
}

void slice_view(const array& in, array& out, const Shape& start, const Shape& steps) {
  if (out.size() == 0) {
    out.set_data(allocator::Buffer(nullptr), [](allocator::Buffer) {});
    return;
  }
  int64_t offset = 0;
  Strides strides(in.ndim());
  for (int i = 0; i < in.ndim(); ++i) {
    offset += static_cast<int64_t>(start[i]) * in.strides()[i];
    strides[i] = in.strides()[i] * steps[i];
  }
  make_strided_view(in, out, strides, offset);
}

void expand_dims_view(const array& in, array& out, const std::vector<int>& axes) {
  Strides strides = in.strides();
  // The stride of a size-1 axis is never used to step; 1 keeps NumPy views tidy.
  for (int ax : axes) strides.insert(strides.begin() + ax, 1);
  make_strided_view(in, out, strides, 0);
}

void squeeze_view(const array& in, array& out, const std::vector<int>& axes) {
  Strides strides;
  for (int i = 0; i < in.ndim(); ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i)) strides.push_back(in.strides()[i]);
  }
  make_strided_view(in, out, strides, 0);
}

std::pair<bool, Strides> Reshape::view_strides(const array& in, const Shape& shape) {
  if (in.flags().row_contiguous || in.size() == 0) return {true, row_major_strides(shape)};
  // Match groups of old dimensions to groups of new ones with equal element counts; a group
  // can be re-strided without a copy when its old dimensions are contiguous with each other.
  Shape old_shape;
  Strides old_strides;
  for (int i = 0; i < in.ndim(); ++i) {
    if (in.shape(i) != 1) {
      old_shape.push_back(in.shape(i));
      old_strides.push_back(in.strides()[i]);
    }
  }
  Strides new_strides(shape.size(), 1);
  size_t oi = 0, ni = 0;
  size_t on = old_shape.size(), nn = shape.size();
  while (oi < on && ni < nn) {
    int64_t np = shape[ni], op = old_shape[oi];
    size_t oj = oi + 1, nj = ni + 1;
    while (np != op) {
      if (np < op) {
        np *= shape[nj++];
      } else {
        op *= old_shape[oj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k) {
      if (old_strides[k] != old_strides[k + 1] * old_shape[k + 1]) return {false, {}};
    }
    new_strides[nj - 1] = old_strides[oj - 1];
    for (size_t k = nj - 1; k > ni; --k) new_strides[k - 1] = new_strides[k] * shape[k];
    oi = oj;
    ni = nj;
  }
  // Trailing size-1 dims of the new shape.
  for (size_t k = ni; k < nn; ++k) new_strides[k] = 1;
  return {true, new_strides};
}

void split_views(const array& in, std::vector<array>& outputs, const std::vector<int>& indices, int axis) {
  int prev = 0;
  for (size_t k = 0; k < outputs.size(); ++k) {
    int end = k < indices.size() ? indices[k] : in.shape(axis);
    if (outputs[k].size() == 0) {
      outputs[k].set_data(allocator::Buffer(nullptr), [](allocator::Buffer) {});
    } else {
      make_strided_view(in, outputs[k], in.strides(), static_cast<int64_t>(prev) * in.strides()[axis]);
    }
    prev = std::max(prev, end);
  }
}

}  // namespace kiln
