// Assorted mlx.core ops: unique (composed from argsort/cumsum/scatter), view, depends, dynamic
// slices (composed from gather/scatter) and the e4m3 float8 conversions.
#include <algorithm>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::normalize_axis;
using detail::str;

// Checks the start indices and axes of a dynamic slice (normalizing the axes in place).
void check_dynamic(const array& a, const array& start, std::vector<int>& axes, const char* op) {
  if (!is_integral(start.dtype())) {
    throw std::invalid_argument(str("[", op, "] Start indices must be integers, got type ", start.dtype(), "."));
  }
  if (start.ndim() > 1) {
    throw std::invalid_argument(str("[", op, "] array of starting indices must be zero or one dimensional but has ",
                                    "dimension ", start.ndim(), "."));
  }
  if (start.size() != axes.size()) {
    throw std::invalid_argument(str("[", op, "] Number of starting indices ", start.size(),
                                    " does not match number of axes ", axes.size(), "."));
  }
  for (auto& ax : axes) ax = normalize_axis(ax, a.ndim(), op);
  std::vector<int> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw std::invalid_argument(str("[", op, "] Repeat axes not allowed."));
  }
}

// One 0-d start per axis: negative starts count from the end, then every start is clamped so
// the region [start, start + region) lies inside the array. MLX leaves out-of-range starts
// undefined (its CPU kernel reads out of bounds); clamping is JAX's dynamic_slice rule.
std::vector<array> clamped_starts(const array& a, const array& start, const std::vector<int>& axes,
                                  const Shape& region, Stream st) {
  array idx = astype(reshape(start, {static_cast<ShapeElem>(axes.size())}, st), int64, st);
  std::vector<array> out;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t dim = a.shape(axes[k]);
    array v = take(idx, static_cast<int>(k), 0, st);
    v = where(less(v, array(int64_t{0}), st), add(v, array(dim), st), v, st);
    v = minimum(maximum(v, array(int64_t{0}), st), array(dim - region[axes[k]]), st);
    out.push_back(v);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- primitives

bool View::is_equivalent(const Primitive& other) const {
  return typeid(other) == typeid(*this) && static_cast<const View&>(other).dtype_ == dtype_;
}

// ---------------------------------------------------------------- unique

std::vector<array> unique(const array& a, int size, std::optional<array> fill_value, StreamOrDevice s) {
  if (size < 0) throw std::invalid_argument(str("[unique] Received negative size ", size, "."));
  if (fill_value && fill_value->size() != 1) {
    throw std::invalid_argument(str("[unique] Fill value must have one element, but got shape ",
                                    fill_value->shape(), "."));
  }
  Stream st = to_stream(s);
  auto n = static_cast<ShapeElem>(a.size());
  if (n == 0) {
    if (size > 0 && !fill_value) {
      throw std::invalid_argument("[unique] A fill value is required for an empty input with a non-zero size.");
    }
    array values = size > 0 ? full({size}, astype(reshape(*fill_value, {}, st), a.dtype(), st), st)
                            : zeros({0}, a.dtype(), st);
    return {values, zeros({size}, uint32, st), zeros(a.shape(), uint32, st), zeros({size}, int32, st)};
  }
  array flat = reshape(a, {n}, st);
  array perm = argsort(flat, 0, st);  // stable: the first of equal elements is the first occurrence
  array sorted = take(flat, perm, 0, st);
  // A group of equal elements starts where an element differs from its predecessor (NaN never
  // equals anything, so each NaN is its own group, as in MLX).
  array is_new = concatenate({array({true}),
                              not_equal(slice(sorted, {1}, {n}, st), slice(sorted, {0}, {n - 1}, st), st)},
                             0, st);
  array group = subtract(cumsum(astype(is_new, int32, st), 0, false, true, st), array(1), st);
  // Groups past `size` and all but the first element of each group write to a spare slot
  // `size`, dropped at the end.
  array slot = minimum(group, array(size), st);
  array first_slot = where(is_new, slot, array(size), st);
  auto pad_scatter = [&](const array& base, const array& at, const array& upd) {
    return slice(scatter(base, {at}, reshape(upd, {n, 1}, st), {0}, st), {0}, {size}, st);
  };
  array fill = fill_value ? astype(reshape(*fill_value, {}, st), a.dtype(), st) : take(sorted, 0, 0, st);
  array values = pad_scatter(full({size + 1}, fill, st), first_slot, sorted);
  array index = pad_scatter(full({size + 1}, take(perm, 0, 0, st), st), first_slot, perm);
  array counts = slice(scatter_add(zeros({size + 1}, int32, st), {slot}, ones({n, 1}, int32, st), {0}, st), {0},
                       {size}, st);
  // Elements of dropped groups point at the last kept entry.
  array inv_sorted = astype(minimum(group, array(std::max(size - 1, 0)), st), uint32, st);
  array inverse = scatter(zeros({n}, uint32, st), {perm}, reshape(inv_sorted, {n, 1}, st), {0}, st);
  return {values, index, reshape(inverse, a.shape(), st), counts};
}

// ---------------------------------------------------------------- view

array view(const array& a, Dtype dtype, StreamOrDevice s) {
  if (a.dtype() == dtype) return a;
  auto ib = static_cast<int64_t>(a.itemsize()), ob = static_cast<int64_t>(size_of(dtype));
  Shape shape = a.shape();
  if (ib != ob) {
    if (a.ndim() == 0) {
      throw std::invalid_argument("[view] Changing the type of a scalar is only allowed for types with the same size.");
    }
    int64_t bytes = shape.back() * ib;
    if (bytes % ob != 0) {
      throw std::invalid_argument(
          "[view] When viewing as a larger dtype, the size in bytes of the last axis must be a multiple of the "
          "requested type size.");
    }
    shape.back() = static_cast<ShapeElem>(bytes / ob);
  }
  return array(std::move(shape), dtype, std::make_shared<View>(to_stream(s), dtype), {a});
}

// ---------------------------------------------------------------- depends

std::vector<array> depends(const std::vector<array>& inputs, const std::vector<array>& dependencies) {
  if (inputs.empty()) return {};
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (const auto& x : inputs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  std::vector<array> all = inputs;
  all.insert(all.end(), dependencies.begin(), dependencies.end());
  return array::make_arrays(std::move(shapes), dtypes, std::make_shared<Depends>(to_stream({}), static_cast<int>(inputs.size())), all);
}

// ---------------------------------------------------------------- dynamic slices

array dynamic_slice(const array& a, const array& start, std::vector<int> axes, Shape slice_size, StreamOrDevice s) {
  check_dynamic(a, start, axes, "slice");
  if (static_cast<int>(slice_size.size()) != a.ndim()) {
    throw std::invalid_argument(str("[slice] Invalid slice size for array with ", a.ndim(), " dimensions."));
  }
  for (int d = 0; d < a.ndim(); ++d) {
    if (slice_size[d] < 0 || slice_size[d] > a.shape(d)) {
      throw std::invalid_argument(str("[slice] Invalid slice size ", slice_size, " for array with shape ",
                                      a.shape(), "."));
    }
  }
  Stream st = to_stream(s);
  if (shape_size(slice_size) == 0) return zeros(slice_size, a.dtype(), st);
  return gather(a, clamped_starts(a, start, axes, slice_size, st), axes, slice_size, st);
}

array dynamic_slice_update(const array& a, const array& update, const array& start, std::vector<int> axes,
                           StreamOrDevice s) {
  check_dynamic(a, start, axes, "slice_update");
  if (update.ndim() > a.ndim()) {
    throw std::invalid_argument(str("[slice_update] Update of shape ", update.shape(),
                                    " has more dimensions than the array of shape ", a.shape(), "."));
  }
  // The updated region has the update's shape; axes the update lacks (leading ones) span the
  // whole array, except the sliced axes, where they have size 1 (MLX's rule).
  int lead = a.ndim() - update.ndim();
  Shape region(a.ndim());
  for (int d = 0; d < a.ndim(); ++d) {
    bool sliced = std::find(axes.begin(), axes.end(), d) != axes.end();
    region[d] = d >= lead ? update.shape(d - lead) : (sliced ? 1 : a.shape(d));
    if (region[d] > a.shape(d)) {
      throw std::invalid_argument(str("[slice_update] Update of shape ", update.shape(),
                                      " does not fit in the array of shape ", a.shape(), "."));
    }
  }
  Stream st = to_stream(s);
  Shape ushape(lead, 1);
  ushape.insert(ushape.end(), update.shape().begin(), update.shape().end());
  array upd = broadcast_to(reshape(update, ushape, st), region, st);
  if (shape_size(region) == 0) return a;
  if (axes.empty()) return slice_update(a, upd, Shape(a.ndim(), 0), region, st);
  return scatter(a, clamped_starts(a, start, axes, region, st), upd, axes, st);
}

// ---------------------------------------------------------------- float8

array to_fp8(const array& x, StreamOrDevice s) {
  if (!issubdtype(x.dtype(), Dtype::Category::floating)) {
    throw std::invalid_argument(str("[to_fp8] Only real floating types are supported but x.dtype() == ", x.dtype(),
                                    "."));
  }
  return array(x.shape(), uint8, std::make_shared<ToFP8>(to_stream(s)), {x});
}

array from_fp8(const array& x, Dtype dtype, StreamOrDevice s) {
  if (x.dtype() != uint8) {
    throw std::invalid_argument(str("[from_fp8] Input must have type uint8 but x.dtype() == ", x.dtype(), "."));
  }
  if (!issubdtype(dtype, Dtype::Category::floating)) {
    throw std::invalid_argument(str("[from_fp8] Only real floating types are supported but dtype == ", dtype, "."));
  }
  return array(x.shape(), dtype, std::make_shared<FromFP8>(to_stream(s), dtype), {x});
}

}  // namespace kiln
