// NumPy-style indexing: `a[...]` reading (ints, slices, None, Ellipsis, integer arrays and
// lists, mixed), `a[...] = v` assignment (also boolean masks) and `a.at[...].add(v)` updates.
#include <algorithm>

#include "utils.h"

namespace kiln::py {

namespace {

enum class IndexKind { integer, slice, newaxis, ellipsis, array, mask };

struct IndexItem {
  IndexKind kind;
  int64_t value = 0;  // for integer
  nb::handle obj;     // for slice
  array arr;          // for array / mask
};

IndexItem from_array(array a) {
  if (a.dtype() == bool_) return {IndexKind::mask, 0, {}, std::move(a)};
  if (!is_integral(a.dtype())) {
    throw std::invalid_argument("Arrays used as indices must be of integer (or boolean) type.");
  }
  return {IndexKind::array, 0, {}, std::move(a)};
}

IndexItem classify(nb::handle h) {
  PyObject* p = h.ptr();
  if (p == Py_None) return {IndexKind::newaxis};
  if (p == Py_Ellipsis) return {IndexKind::ellipsis};
  if (PySlice_Check(p)) return {IndexKind::slice, 0, h};
  if (PyBool_Check(p)) throw std::invalid_argument("Cannot index kiln array using the given type.");
  if (PyLong_Check(p)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(p, &overflow);
    if (overflow) throw std::out_of_range("[getitem] Index " + std::string(nb::str(h).c_str()) + " is out of bounds.");
    return {IndexKind::integer, v};
  }
  if (nb::isinstance<array>(h)) return from_array(*nb::inst_ptr<array>(h));
  if (PyList_Check(p)) {
    // An empty list selects nothing: int32 indices, as NumPy's intp.
    if (PyList_GET_SIZE(p) == 0) return from_array(array(allocator::malloc(0), Shape{0}, int32));
    return from_array(to_array(h));
  }
  if (PyObject_CheckBuffer(p) || nb::hasattr(h, "__dlpack__")) {
    // NumPy integer scalars have the buffer protocol too; they index like ints.
    if (PyIndex_Check(p)) {
      nb::object idx = nb::steal(PyNumber_Index(p));
      if (idx.is_valid()) return classify(idx);
      PyErr_Clear();
    }
    return from_array(to_array(h));
  }
  if (PyIndex_Check(p)) {
    nb::object idx = nb::steal(PyNumber_Index(p));
    if (!idx.is_valid()) throw nb::python_error();
    return classify(idx);
  }
  throw std::invalid_argument("Cannot index kiln array using the given type.");
}

// An index with Ellipsis expanded and None turned into a full slice over an inserted size-1
// axis: one item per axis of `expanded` (the input with those axes inserted).
struct ParsedIndex {
  std::vector<IndexItem> items;
  std::vector<int> new_axes;  // positions of the inserted axes
  bool has_array = false;
  bool has_mask = false;
  array expanded;
  nb::object full_slice;  // owns the slice object the inserted full-slice items refer to
};

ParsedIndex parse(const array& a, nb::handle index) {
  std::vector<IndexItem> raw;
  if (PyTuple_Check(index.ptr())) {
    for (nb::handle h : index) raw.push_back(classify(h));
  } else {
    raw.push_back(classify(index));
  }
  int nd = a.ndim(), n_real = 0, n_ellipsis = 0;
  ParsedIndex out;
  for (auto& it : raw) {
    n_real += it.kind == IndexKind::integer || it.kind == IndexKind::slice || it.kind == IndexKind::array;
    n_real += it.kind == IndexKind::mask ? std::max(it.arr.ndim(), 0) : 0;
    n_ellipsis += it.kind == IndexKind::ellipsis;
    out.has_array = out.has_array || it.kind == IndexKind::array;
    out.has_mask = out.has_mask || it.kind == IndexKind::mask;
  }
  if (n_ellipsis > 1) throw std::invalid_argument("An index can only have a single ellipsis (...)");
  if (n_real > nd) {
    throw std::out_of_range("Too many indices for array with " + std::to_string(nd) + " dimensions.");
  }
  out.full_slice = nb::steal(PySlice_New(nullptr, nullptr, nullptr));
  nb::handle full_slice = out.full_slice;
  for (auto& it : raw) {
    if (it.kind == IndexKind::ellipsis) {
      for (int k = 0; k < nd - n_real; ++k) out.items.push_back({IndexKind::slice, 0, full_slice});
    } else if (it.kind == IndexKind::newaxis) {
      out.new_axes.push_back(static_cast<int>(out.items.size()));
      out.items.push_back({IndexKind::slice, 0, full_slice});
    } else {
      out.items.push_back(it);
    }
  }
  int n_items = static_cast<int>(out.items.size());
  int want = nd + static_cast<int>(out.new_axes.size());
  for (int k = n_items; k < want; ++k) out.items.push_back({IndexKind::slice, 0, full_slice});
  out.expanded = out.new_axes.empty() ? a : expand_dims(a, out.new_axes);
  return out;
}

int64_t checked_int(int64_t v, int64_t n, int axis) {
  int64_t i = v < 0 ? v + n : v;
  if (i < 0 || i >= n) {
    throw std::out_of_range("index " + std::to_string(v) + " is out of bounds for axis " + std::to_string(axis) +
                            " with size " + std::to_string(n));
  }
  return i;
}

// Python slice bounds in kiln::slice's convention (negative means from the end, so "before 0"
// is written -n-1).
void slice_bounds(nb::handle sl, int64_t n, ShapeElem& start, ShapeElem& stop, ShapeElem& step) {
  Py_ssize_t b, e, s;
  if (PySlice_Unpack(sl.ptr(), &b, &e, &s) < 0) throw nb::python_error();
  PySlice_AdjustIndices(static_cast<Py_ssize_t>(n), &b, &e, s);
  if (b < 0) b = -n - 1;
  if (e < 0) e = -n - 1;
  start = static_cast<ShapeElem>(b);
  stop = static_cast<ShapeElem>(e);
  step = static_cast<ShapeElem>(s);
}

// The slice boxes of a parsed index on `x` (= parsed.expanded): start/stop/step per axis, with
// integer items as one-element slices.
void boxes(const ParsedIndex& pi, const array& x, Shape& start, Shape& stop, Shape& step) {
  int nd = x.ndim();
  start.assign(nd, 0);
  stop = x.shape();
  step.assign(nd, 1);
  for (int ax = 0; ax < nd; ++ax) {
    const auto& it = pi.items[ax];
    if (it.kind == IndexKind::slice) {
      slice_bounds(it.obj, x.shape(ax), start[ax], stop[ax], step[ax]);
    } else if (it.kind == IndexKind::integer) {
      int64_t i = checked_int(it.value, x.shape(ax), ax);
      start[ax] = static_cast<ShapeElem>(i);
      stop[ax] = static_cast<ShapeElem>(i + 1);
    }
  }
}

array read(const ParsedIndex& pi) {
  const array& x = pi.expanded;
  int nd = x.ndim();
  Shape start, stop, step;
  boxes(pi, x, start, stop, step);
  if (!pi.has_array) {
    std::vector<int> squeeze_axes;
    for (int ax = 0; ax < nd; ++ax) {
      if (pi.items[ax].kind == IndexKind::integer) squeeze_axes.push_back(ax);
    }
    array out = slice(x, std::move(start), std::move(stop), std::move(step));
    return squeeze_axes.empty() ? out : squeeze(out, squeeze_axes);
  }
  // Advanced indexing: integers become (already checked) 0-d index arrays, slices are applied
  // first as a view, then one gather takes all advanced axes.
  std::vector<int> adv_axes;
  std::vector<array> idx;
  for (int ax = 0; ax < nd; ++ax) {
    const auto& it = pi.items[ax];
    if (it.kind == IndexKind::integer) {
      adv_axes.push_back(ax);
      idx.push_back(array(static_cast<int32_t>(start[ax])));
      start[ax] = 0;
      stop[ax] = x.shape(ax);
    } else if (it.kind == IndexKind::array) {
      adv_axes.push_back(ax);
      idx.push_back(it.arr);
    }
  }
  array y = slice(x, std::move(start), std::move(stop), std::move(step));
  bool adjacent = adv_axes.back() - adv_axes.front() + 1 == static_cast<int>(adv_axes.size());
  if (adv_axes.size() == 1) return take(y, idx[0], adv_axes[0]);
  idx = broadcast_arrays(idx);
  int k = idx[0].ndim();
  Shape ss = y.shape();
  std::vector<int> sq;
  for (int ax : adv_axes) {
    ss[ax] = 1;
    sq.push_back(k + ax);
  }
  array g = squeeze(gather(y, idx, adv_axes, ss), sq);
  int first = adv_axes.front();
  if (!adjacent || first == 0 || k == 0) return g;
  // NumPy puts the index dimensions where the (adjacent) advanced indices were.
  std::vector<int> perm;
  for (int d = 0; d < first; ++d) perm.push_back(k + d);
  for (int d = 0; d < k; ++d) perm.push_back(d);
  for (int d = k + first; d < g.ndim(); ++d) perm.push_back(d);
  return transpose(g, perm);
}

array value_for(const array& a, nb::handle value) {
  array v;
  if (!to_array_like(value, a.dtype(), v)) v = to_array(value);
  return astype(v, a.dtype());
}

// `v` broadcast to `shape`, after dropping leading size-1 dimensions beyond its rank (NumPy
// accepts a[0] = ones((1, n))).
array broadcast_value(array v, const Shape& shape) {
  while (v.ndim() > static_cast<int>(shape.size()) && v.shape(0) == 1) v = squeeze(v, 0);
  return broadcast_to(v, shape);
}

// Flat positions in `a` of the elements a[index] selects, shaped like a[index].
array linear_positions(const array& a, nb::handle index) {
  array pos = a.size() < (size_t{1} << 31) ? arange(0, static_cast<int>(a.size()))
                                           : arange(0.0, static_cast<double>(a.size()), int64);
  ParsedIndex pi = parse(reshape(pos, a.shape()), index);
  if (pi.has_mask) throw std::invalid_argument("[ArrayAt] Boolean masks are not supported in indexed updates.");
  return read(pi);
}

array scatter_kind(const array& a, const std::vector<array>& ind, const array& upd, const std::vector<int>& axes,
                   int kind) {
  switch (kind) {
    case 0: return scatter(a, ind, upd, axes);
    case 1: return scatter_add(a, ind, upd, axes);
    case 2: return scatter_prod(a, ind, upd, axes);
    case 3: return scatter_max(a, ind, upd, axes);
    default: return scatter_min(a, ind, upd, axes);
  }
}

// When every non-advanced item is a full slice (and there is no None), one Scatter over the
// advanced axes does the update with whole-slice rows; returns false otherwise.
bool direct_scatter(const array& a, const ParsedIndex& pi, const array& v, int kind, array& out) {
  if (!pi.new_axes.empty() || pi.has_mask) return false;
  std::vector<int> axes;
  std::vector<array> idx;
  for (int ax = 0; ax < a.ndim(); ++ax) {
    const auto& it = pi.items[ax];
    if (it.kind == IndexKind::slice) {
      Py_ssize_t b, e, st;
      if (PySlice_Unpack(it.obj.ptr(), &b, &e, &st) < 0) throw nb::python_error();
      Py_ssize_t n = a.shape(ax);
      if (PySlice_AdjustIndices(n, &b, &e, st) != n || b != 0 || st != 1) return false;
    } else if (it.kind == IndexKind::integer) {
      axes.push_back(ax);
      idx.push_back(array(static_cast<int32_t>(checked_int(it.value, a.shape(ax), ax))));
    } else if (it.kind == IndexKind::array) {
      axes.push_back(ax);
      idx.push_back(it.arr);
    } else {
      return false;
    }
  }
  if (axes.empty()) return false;
  idx = broadcast_arrays(idx);
  int k = idx[0].ndim();
  bool adjacent = axes.back() - axes.front() + 1 == static_cast<int>(axes.size());
  int first = adjacent ? axes.front() : 0;
  // The shape a[index] has, with the index dimensions at `first`.
  Shape rest, result;
  for (int ax = 0; ax < a.ndim(); ++ax) {
    if (std::find(axes.begin(), axes.end(), ax) == axes.end()) rest.push_back(a.shape(ax));
  }
  result.assign(rest.begin(), rest.begin() + first);
  result.insert(result.end(), idx[0].shape().begin(), idx[0].shape().end());
  result.insert(result.end(), rest.begin() + first, rest.end());
  array upd = broadcast_value(v, result);
  if (first > 0 && k > 0) {
    std::vector<int> perm;
    for (int d = 0; d < k; ++d) perm.push_back(first + d);
    for (int d = 0; d < first; ++d) perm.push_back(d);
    for (int d = first + k; d < upd.ndim(); ++d) perm.push_back(d);
    upd = transpose(upd, perm);
  }
  std::vector<int> size1;
  for (int ax : axes) size1.push_back(k + ax);
  upd = expand_dims(upd, size1);
  out = scatter_kind(a, idx, upd, axes, kind);
  return true;
}

array scatter_update(const array& a, nb::handle index, nb::handle value, int kind) {
  array v = value_for(a, value);
  {
    ParsedIndex pi = parse(a, index);
    array out;
    if (direct_scatter(a, pi, v, kind, out)) return out;
    if (kind != 0 && !pi.has_array && !pi.has_mask) {
      // Basic indices select each element at most once: read the region, combine, write back.
      array region = read(pi);
      array u = broadcast_value(v, region.shape());
      array combined = kind == 1 ? add(region, u)
                       : kind == 2 ? multiply(region, u)
                       : kind == 3 ? maximum(region, u)
                                   : minimum(region, u);
      return setitem(a, index, nb::cast(astype(combined, a.dtype())));
    }
  }
  array pos = linear_positions(a, index);
  array upd = broadcast_value(v, pos.shape());
  int64_t n = static_cast<int64_t>(pos.size());
  array flat_pos = reshape(pos, {static_cast<ShapeElem>(n)});
  array flat_upd = reshape(upd, {static_cast<ShapeElem>(n), 1});
  array flat = flatten(a);
  return reshape(scatter_kind(flat, {flat_pos}, flat_upd, {0}, kind), a.shape());
}

// `x.at` and `x.at[idx]` (one class, as in MLX); the update methods need the index.
struct ArrayAtIndex {
  array a;
  nb::object index;  // invalid until indexed
  const ArrayAtIndex& checked() const {
    if (!index.is_valid()) throw std::invalid_argument("[ArrayAt] Index the indexer first: x.at[idx].add(y).");
    return *this;
  }
};

}  // namespace

array getitem(const array& a, nb::handle index) {
  ParsedIndex pi = parse(a, index);
  if (pi.has_mask) throw std::invalid_argument("boolean indices are not yet supported");
  array out = read(pi);
  return out;
}

array setitem(const array& a, nb::handle index, nb::handle value) {
  ParsedIndex pi = parse(a, index);
  if (pi.has_mask) {
    // a[mask] = v: the mask covers the leading axes; v broadcasts over the selected rows.
    if (pi.has_array || !pi.new_axes.empty()) {
      throw std::invalid_argument("[setitem] Boolean masks cannot be combined with other array indices or None.");
    }
    int pos = 0;
    array mask;
    for (size_t k = 0; k < pi.items.size(); ++k) {
      const auto& it = pi.items[k];
      if (it.kind == IndexKind::mask) {
        if (mask.valid()) throw std::invalid_argument("[setitem] Only one boolean mask is supported.");
        mask = it.arr;
        continue;
      }
      if (it.kind != IndexKind::slice || !nb::bool_(it.obj.equal(pi.full_slice))) {
        throw std::invalid_argument("[setitem] Boolean masks can only be combined with full slices.");
      }
      pos += mask.valid() ? 0 : 1;
    }
    for (int d = 0; d < mask.ndim(); ++d) {
      if (mask.shape(d) != a.shape(pos + d)) {
        throw std::out_of_range("boolean index did not match indexed array along axis " + std::to_string(pos + d) +
                                "; size of axis is " + std::to_string(a.shape(pos + d)) +
                                " but size of corresponding boolean axis is " + std::to_string(mask.shape(d)));
      }
    }
    Shape ms(a.ndim(), 1);
    for (int d = 0; d < mask.ndim(); ++d) ms[pos + d] = mask.shape(d);
    array v = value_for(a, value);
    int tail = a.ndim() - pos - mask.ndim();
    while (v.ndim() > tail + pos + 1 && v.shape(0) == 1) v = squeeze(v, 0);
    int count_axis = v.ndim() - tail - 1;
    if (count_axis >= 0 && v.shape(count_axis) != 1 && mask.ndim() > 0) {
      // NumPy's rule: v holds one entry per selected position, in order. The k-th true element
      // of the mask takes entry k: its index is the running count of trues (computed lazily).
      array m = reshape(astype(mask, int32), {static_cast<ShapeElem>(mask.size())});
      array order = reshape(cumsum(m, 0) - 1, mask.shape());
      v = take(v, maximum(order, array(0)), count_axis);
    } else if (count_axis >= 0) {
      // A size-1 count axis stands for all the mask's axes.
      v = squeeze(v, count_axis);
      std::vector<int> axes;
      for (int d = 0; d < mask.ndim(); ++d) axes.push_back(count_axis + d);
      if (!axes.empty()) v = expand_dims(v, axes);
    }
    return where(reshape(mask, ms), v, a);
  }
  if (!pi.has_array) {
    const array& x = pi.expanded;
    Shape start, stop, step;
    boxes(pi, x, start, stop, step);
    Shape region = slice(x, start, stop, step).shape();
    Shape result;
    for (int ax = 0; ax < x.ndim(); ++ax) {
      if (pi.items[ax].kind != IndexKind::integer) result.push_back(region[ax]);
    }
    array upd = broadcast_value(value_for(a, value), result);
    // Back to a's axes: drop the inserted axes (size 1) from the region.
    Shape a_start, a_stop, a_step, a_region;
    size_t next_new = 0;
    for (int ax = 0; ax < x.ndim(); ++ax) {
      if (next_new < pi.new_axes.size() && pi.new_axes[next_new] == ax) {
        ++next_new;
        continue;
      }
      a_start.push_back(start[ax]);
      a_stop.push_back(stop[ax]);
      a_step.push_back(step[ax]);
      a_region.push_back(region[ax]);
    }
    return slice_update(a, reshape(upd, a_region), a_start, a_stop, a_step);
  }
  return scatter_update(a, index, value, 0);
}

nb::object array_at(const array& a) { return nb::cast(ArrayAtIndex{a, nb::object()}); }

}  // namespace kiln::py

using namespace kiln;
using namespace kiln::py;

namespace {
array index_array(nb::handle h) {
  if (nb::isinstance<array>(h)) return nb::cast<array>(h);
  if (PyLong_Check(h.ptr())) return array(nb::cast<int64_t>(h) >= INT32_MIN && nb::cast<int64_t>(h) <= INT32_MAX
                                              ? array(nb::cast<int32_t>(h))
                                              : array(nb::cast<int64_t>(h)));
  return to_array(h);
}
}  // namespace

void init_indexing(nb::module_& m) {
  m.def(
      "take",
      [](const array& a, nb::handle indices, std::optional<int> axis, StreamOrDevice s) {
        array idx = index_array(indices);
        return axis ? take(a, idx, *axis, s) : take(a, idx, s);
      },
      "a"_a, "indices"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Takes elements along an axis (of the flattened array when ``axis`` is None).\n\nArgs:\n    a (array): "
      "Input.\n    indices (int or array): Integer indices; negative ones count from the end.\n    axis (int, "
      "optional): The axis.\n\nReturns:\n    array");
  m.def(
      "take_along_axis",
      [](const array& a, const array& indices, std::optional<int> axis, StreamOrDevice s) {
        return axis ? take_along_axis(a, indices, *axis, s) : take_along_axis(a, indices, s);
      },
      "a"_a, "indices"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Takes values at ``indices`` along ``axis``; indices broadcast with ``a`` on the other axes.\n\nArgs:\n    "
      "a (array): Input.\n    indices (array): Integer indices with ``a.ndim`` dimensions.\n    axis (int, "
      "optional): The axis (None: the flattened array).\n\nReturns:\n    array");
  m.def(
      "put_along_axis",
      [](const array& a, const array& indices, nb::handle values, std::optional<int> axis, StreamOrDevice s) {
        array v = value_for(a, values);
        return axis ? put_along_axis(a, indices, v, *axis, s) : put_along_axis(a, indices, v, s);
      },
      "a"_a, "indices"_a, "values"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "A copy of ``a`` with ``values`` put at ``indices`` along ``axis``.\n\nArgs:\n    a (array): Input.\n    "
      "indices (array): Integer indices with ``a.ndim`` dimensions.\n    values (array): Values, broadcast to the "
      "indices.\n    axis (int, optional): The axis (None: the flattened array).\n\nReturns:\n    array");
  m.def(
      "slice_update",
      [](const array& a, const array& update, const array& start_indices, const std::vector<int>& axes,
         StreamOrDevice s) { return dynamic_slice_update(a, update, start_indices, axes, s); },
      "a"_a, "update"_a, "start_indices"_a, "axes"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Update a sub-array of the input array.\n\nArgs:\n    a (array): The input array.\n    update (array): The "
      "update.\n    start_indices (array): Start of the region on each of ``axes``.\n    axes (tuple(int)): The "
      "axes.\n\nReturns:\n    array: The updated copy of ``a``.");
  nb::class_<ArrayAtIndex>(m, "ArrayAt", "An indexed update of an array: ``x.at[idx].add(y)``.")
      .def("__getitem__", [](const ArrayAtIndex& s, nb::handle index) { return ArrayAtIndex{s.a, nb::borrow(index)}; },
           "index"_a.none())
      .def(
          "add", [](const ArrayAtIndex& s, nb::handle v) { return scatter_update(s.checked().a, s.index, v, 1); },
          "value"_a, "``x`` with ``value`` added at the index; repeated positions accumulate.")
      .def(
          "subtract",
          [](const ArrayAtIndex& s, nb::handle v) {
            return scatter_update(s.checked().a, s.index, nb::cast(negative(value_for(s.checked().a, v))), 1);
          },
          "value"_a, "``x`` with ``value`` subtracted at the index; repeated positions accumulate.")
      .def(
          "multiply", [](const ArrayAtIndex& s, nb::handle v) { return scatter_update(s.checked().a, s.index, v, 2); },
          "value"_a, "``x`` multiplied by ``value`` at the index; repeated positions accumulate.")
      .def(
          "divide",
          [](const ArrayAtIndex& s, nb::handle v) {
            array d = value_for(s.checked().a, v);
            return scatter_update(s.checked().a, s.index, nb::cast(divide(ones_like(d), d)), 2);
          },
          "value"_a, "``x`` divided by ``value`` at the index; repeated positions accumulate.")
      .def(
          "maximum", [](const ArrayAtIndex& s, nb::handle v) { return scatter_update(s.checked().a, s.index, v, 3); },
          "value"_a, "``x`` with the maximum of it and ``value`` at the index.")
      .def(
          "minimum", [](const ArrayAtIndex& s, nb::handle v) { return scatter_update(s.checked().a, s.index, v, 4); },
          "value"_a, "``x`` with the minimum of it and ``value`` at the index.");
}

