// Views: outputs that share their input's buffer with new shape/strides/offset. The logic is
// the same on every device, so each backend's eval of a view primitive calls these.
#pragma once

#include "kiln/array.h"

namespace kiln {

/** Makes `out` a view of `in` with the given strides and element offset (flags derived). */
void make_strided_view(const array& in, array& out, const Strides& strides, int64_t offset);
/** Broadcast view of `in` to out's shape. */
void broadcast_view(const array& in, array& out);
/** Transposed view: out axis i is in axis axes[i]. */
void transpose_view(const array& in, array& out, const std::vector<int>& axes);
/** Slice view with already-normalized starts and steps. */
void slice_view(const array& in, array& out, const Shape& start, const Shape& steps);
/** expand_dims view; `axes` are sorted positions in out. */
void expand_dims_view(const array& in, array& out, const std::vector<int>& axes);
/** squeeze view; `axes` are sorted positions in in. */
void squeeze_view(const array& in, array& out, const std::vector<int>& axes);
/** Split's outputs: views of `in` between the split points `indices` along `axis`. */
void split_views(const array& in, std::vector<array>& outputs, const std::vector<int>& indices, int axis);

}  // namespace kiln
