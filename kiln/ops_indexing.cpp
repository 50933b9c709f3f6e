// Indexing ops: gather/take/take_along_axis, the scatter family, put_along_axis and
// slice_update; plus the backend-independent parts of Gather, Scatter and SliceUpdate.
#include <algorithm>
#include <numeric>
#include <sstream>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::str;
using detail::normalize_axis;


// Checks that the index arrays are integers, one per axis, and broadcasts them together.
std::vector<array> prepare_indices(const array& a, const std::vector<array>& indices, std::vector<int>& axes,
                                   const char* op, Stream st) {
  if (indices.size() != axes.size()) {
    throw std::invalid_argument(str("[", op, "] Got ", indices.size(), " index arrays for ", axes.size(), " axes."));
  }
  for (auto& ax : axes) ax = normalize_axis(ax, a.ndim(), op);
  std::vector<int> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw std::invalid_argument(str("[", op, "] Repeated axes."));
  }
  for (const auto& idx : indices) {
    if (!is_integral(idx.dtype())) {
      throw std::invalid_argument(str("[", op, "] Got indices with invalid dtype ", idx.dtype(),
                                      ". Indices must be integral."));
    }
  }
  return indices.empty() ? indices : broadcast_arrays(indices, st);
}

// Index arrays over every axis of an array of `shape` for the *_along_axis ops: `indices` on
// `axis`, aranges on the others, all broadcast to the result shape.
std::vector<array> along_axis_indices(const Shape& shape, const array& indices, int axis, Shape& out_shape,
                                      const char* op, Stream st) {
  int nd = static_cast<int>(shape.size());
  if (indices.ndim() != nd) {
    throw std::invalid_argument(
        str("[", op, "] Indices of dimension ", indices.ndim(), " does not match array of dimension ", nd, "."));
  }
  if (!is_integral(indices.dtype())) {
    throw std::invalid_argument(str("[", op, "] Got indices with invalid dtype ", indices.dtype(),
                                    ". Indices must be integral."));
  }
  Shape other = shape;
  other[axis] = 1;
  out_shape = broadcast_shapes(other, indices.shape());
  std::vector<array> idx;
  for (int d = 0; d < nd; ++d) {
    if (d == axis) {
      idx.push_back(broadcast_to(indices, out_shape, st));
    } else {
      Shape s(nd, 1);
      s[d] = shape[d];
      idx.push_back(broadcast_to(reshape(arange(0, shape[d], st), s, st), out_shape, st));
    }
  }
  return idx;
}

array scatter_op(const array& a, const std::vector<array>& indices, const array& updates, std::vector<int> axes,
                 Scatter::ReduceType r, const char* op, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto idx = prepare_indices(a, indices, axes, op, st);
  Shape ishape = idx.empty() ? Shape{} : idx[0].shape();
  int want = static_cast<int>(ishape.size()) + a.ndim();
  if (updates.ndim() != want) {
    throw std::invalid_argument(str("[", op, "] Updates with ", updates.ndim(), " dimensions do not match the ",
                                    want, " dimensions of indices.shape + array.shape."));
  }
  Shape ushape = ishape;
  for (int d = 0; d < a.ndim(); ++d) {
    int u = updates.shape(static_cast<int>(ishape.size()) + d);
    if (u > a.shape(d)) {
      throw std::invalid_argument(str("[", op, "] Updates of shape ", updates.shape(),
                                      " are larger than the array of shape ", a.shape(), "."));
    }
    ushape.push_back(u);
  }
  array upd = broadcast_to(astype(updates, a.dtype(), st), ushape, st);
  std::vector<array> inputs = {a};
  inputs.insert(inputs.end(), idx.begin(), idx.end());
  inputs.push_back(upd);
  return array(a.shape(), a.dtype(), std::make_shared<Scatter>(st, r, std::move(axes)), std::move(inputs));
}

}  // namespace

// ---------------------------------------------------------------- primitives

bool Gather::is_equivalent(const Primitive& other) const {
  auto o = dynamic_cast<const Gather*>(&other);
  return o && o->axes_ == axes_ && o->slice_sizes_ == slice_sizes_;
}
std::vector<Shape> Gather::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs.size() > 1 ? inputs[1].shape() : Shape{};
  s.insert(s.end(), slice_sizes_.begin(), slice_sizes_.end());
  return {s};
}

const char* Scatter::name() const {
  switch (reduce_) {
    case None: return "Scatter";
    case Sum: return "ScatterSum";
    case Prod: return "ScatterProd";
    case Max: return "ScatterMax";
    case Min: return "ScatterMin";
  }
  return "Scatter";
}
bool Scatter::is_equivalent(const Primitive& other) const {
  auto o = dynamic_cast<const Scatter*>(&other);
  return o && o->reduce_ == reduce_ && o->axes_ == axes_;
}

bool SliceUpdate::is_equivalent(const Primitive& other) const {
  auto o = dynamic_cast<const SliceUpdate*>(&other);
  return o && o->start_ == start_ && o->stop_ == stop_ && o->strides_ == strides_;
}

// ---------------------------------------------------------------- gather / take

array gather(const array& a, const std::vector<array>& indices, const std::vector<int>& axes_in,
             const Shape& slice_sizes, StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<int> axes = axes_in;
  auto idx = prepare_indices(a, indices, axes, "gather", st);
  if (static_cast<int>(slice_sizes.size()) != a.ndim()) {
    throw std::invalid_argument(str("[gather] Got slice_sizes ", slice_sizes, " for array with ", a.ndim(),
                                    " dimensions."));
  }
  for (int d = 0; d < a.ndim(); ++d) {
    if (slice_sizes[d] < 0 || slice_sizes[d] > a.shape(d)) {
      throw std::invalid_argument(str("[gather] Slice sizes ", slice_sizes,
                                      " must be in [0, shape] for array of shape ",
                                      a.shape(), "."));
    }
  }
  Shape out_shape = idx.empty() ? Shape{} : idx[0].shape();
  int64_t n_idx = shape_size(out_shape);
  for (int ax : axes) {
    if (a.shape(ax) == 0 && n_idx > 0) {
      throw std::invalid_argument(
          str("[gather] Cannot index axis ", ax, " of size 0 in array of shape ", a.shape(), "."));
    }
  }
  out_shape.insert(out_shape.end(), slice_sizes.begin(), slice_sizes.end());
  std::vector<array> inputs = {a};
  inputs.insert(inputs.end(), idx.begin(), idx.end());
  return array(std::move(out_shape), a.dtype(), std::make_shared<Gather>(st, std::move(axes), slice_sizes),
               std::move(inputs));
}
array gather(const array& a, const array& indices, int axis, const Shape& slice_sizes, StreamOrDevice s) {
  return gather(a, std::vector<array>{indices}, std::vector<int>{axis}, slice_sizes, s);
}

array take(const array& a, const array& indices, int axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  int ax = normalize_axis(axis, a.ndim(), "take");
  if (a.shape(ax) == 0) {
    if (indices.size() > 0) {
      throw std::invalid_argument(
          str("[take] Cannot take from axis ", ax, " of size 0 (array shape ", a.shape(), ")."));
    }
    Shape out(a.shape().begin(), a.shape().begin() + ax);
    out.insert(out.end(), indices.shape().begin(), indices.shape().end());
    out.insert(out.end(), a.shape().begin() + ax + 1, a.shape().end());
    return zeros(out, a.dtype(), st);
  }
  Shape ss = a.shape();
  ss[ax] = 1;
  array g = gather(a, indices, ax, ss, st);
  int k = indices.ndim();
  g = squeeze(g, k + ax, st);
  if (ax == 0 || k == 0) return g;
  // Move the index dimensions to where `axis` was.
  std::vector<int> perm;
  for (int d = 0; d < ax; ++d) perm.push_back(k + d);
  for (int d = 0; d < k; ++d) perm.push_back(d);
  for (int d = k + ax; d < g.ndim(); ++d) perm.push_back(d);
  return transpose(g, perm, st);
}
array take(const array& a, const array& indices, StreamOrDevice s) {
  return take(flatten(a, s), indices, 0, s);
}
array take(const array& a, int index, int axis, StreamOrDevice s) { return take(a, array(index), axis, s); }
array take(const array& a, int index, StreamOrDevice s) { return take(a, array(index), s); }

array take_along_axis(const array& a, const array& indices, int axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  int ax = normalize_axis(axis, a.ndim(), "take_along_axis");
  Shape out_shape;
  auto idx = along_axis_indices(a.shape(), indices, ax, out_shape, "take_along_axis", st);
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  array g = gather(a, idx, axes, Shape(a.ndim(), 1), st);
  return reshape(g, out_shape, st);
}
array take_along_axis(const array& a, const array& indices, StreamOrDevice s) {
  return take_along_axis(flatten(a, s), indices, 0, s);
}

// ---------------------------------------------------------------- scatter

array scatter(const array& a, const std::vector<array>& indices, const array& updates, const std::vector<int>& axes,
              StreamOrDevice s) {
  return scatter_op(a, indices, updates, axes, Scatter::None, "scatter", s);
}
array scatter_add(const array& a, const std::vector<array>& indices, const array& updates,
                  const std::vector<int>& axes, StreamOrDevice s) {
  return scatter_op(a, indices, updates, axes, Scatter::Sum, "scatter_add", s);
}
array scatter_prod(const array& a, const std::vector<array>& indices, const array& updates,
                   const std::vector<int>& axes, StreamOrDevice s) {
  return scatter_op(a, indices, updates, axes, Scatter::Prod, "scatter_prod", s);
}
array scatter_max(const array& a, const std::vector<array>& indices, const array& updates,
                  const std::vector<int>& axes, StreamOrDevice s) {
  return scatter_op(a, indices, updates, axes, Scatter::Max, "scatter_max", s);
}
array scatter_min(const array& a, const std::vector<array>& indices, const array& updates,
                  const std::vector<int>& axes, StreamOrDevice s) {
  return scatter_op(a, indices, updates, axes, Scatter::Min, "scatter_min", s);
}

array put_along_axis(const array& a, const array& indices, const array& values, int axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  int ax = normalize_axis(axis, a.ndim(), "put_along_axis");
  Shape ishape;
  auto idx = along_axis_indices(a.shape(), indices, ax, ishape, "put_along_axis", st);
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  Shape ushape = ishape;
  ushape.insert(ushape.end(), a.ndim(), 1);
  array upd = reshape(broadcast_to(astype(values, a.dtype(), st), ishape, st), ushape, st);
  return scatter_op(a, idx, upd, axes, Scatter::None, "put_along_axis", st);
}
array put_along_axis(const array& a, const array& indices, const array& values, StreamOrDevice s) {
  return reshape(put_along_axis(flatten(a, s), indices, values, 0, s), a.shape(), s);
}

// ---------------------------------------------------------------- slice_update

array slice_update(const array& a, const array& update, Shape start, Shape stop, Shape strides, StreamOrDevice s) {
  Stream st = to_stream(s);
  int nd = a.ndim();
  if (static_cast<int>(start.size()) != nd || static_cast<int>(stop.size()) != nd ||
      static_cast<int>(strides.size()) != nd) {
    throw std::invalid_argument(
        str("[slice_update] Invalid number of indices or strides for array with ", nd, " dimensions."));
  }
  // Normalize as Python's slice.indices() does; a negative step becomes a positive one over the
  // same elements, with the update reversed along that axis.
  Shape region(nd), flip_start(nd), flip_stop(nd), flip_step(nd, 1);
  bool flip = false;
  for (int i = 0; i < nd; ++i) {
    int64_t n = a.shape(i), stp = strides[i];
    if (stp == 0) throw std::invalid_argument("[slice_update] Slice step cannot be zero.");
    int64_t b = start[i], e = stop[i], count;
    if (b < 0) b += n;
    if (e < 0) e += n;
    if (stp > 0) {
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      count = e > b ? (e - b + stp - 1) / stp : 0;
    } else {
      b = std::clamp<int64_t>(b, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      count = b > e ? (b - e - stp - 1) / (-stp) : 0;
    }
    region[i] = static_cast<ShapeElem>(count);
    flip_start[i] = 0;
    flip_stop[i] = static_cast<ShapeElem>(count);
    if (stp < 0 && count > 0) {
      b = b + (count - 1) * stp;
      stp = -stp;
      flip = true;
      flip_start[i] = static_cast<ShapeElem>(count - 1);
      flip_stop[i] = static_cast<ShapeElem>(-count - 1);
      flip_step[i] = -1;
    }
    start[i] = static_cast<ShapeElem>(count > 0 ? b : 0);
    strides[i] = static_cast<ShapeElem>(stp > 0 ? stp : 1);
    stop[i] = static_cast<ShapeElem>(count > 0 ? b + (count - 1) * stp + 1 : 0);
  }
  array upd = broadcast_to(astype(update, a.dtype(), st), region, st);
  if (shape_size(region) == 0) return a;
  if (flip) upd = slice(upd, flip_start, flip_stop, flip_step, st);
  return array(a.shape(), a.dtype(),
               std::make_shared<SliceUpdate>(st, std::move(start), std::move(stop), std::move(strides)), {a, upd});
}
array slice_update(const array& a, const array& update, Shape start, Shape stop, StreamOrDevice s) {
  Shape strides(a.ndim(), 1);
  return slice_update(a, update, std::move(start), std::move(stop), std::move(strides), s);
}

}  // namespace kiln
