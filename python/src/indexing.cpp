// Basic indexing `a[...]`: integers, slices, None, Ellipsis and tuples of them, built from the
// view ops slice / squeeze / expand_dims.
#include "utils.h"

namespace kiln::py {

namespace {

enum class IndexKind { integer, slice, newaxis, ellipsis };

struct IndexItem {
  IndexKind kind;
  int64_t value = 0;  // for integer
  nb::handle obj;     // for slice
};

[[noreturn]] void array_index_not_implemented() {
  throw std::invalid_argument(
      "[getitem] Indexing with integer or boolean arrays (and lists) is not implemented yet.");
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
  if (nb::isinstance<array>(h)) {
    array& a = *nb::inst_ptr<array>(h);
    if (a.ndim() == 0 && is_integral(a.dtype())) {
      // A 0-d integer array selects like an int (the result is the same as a gather).
      nb::object v = to_scalar(a);
      return {IndexKind::integer, nb::cast<int64_t>(v)};
    }
    array_index_not_implemented();
  }
  if (PyList_Check(p) || PyObject_CheckBuffer(p) || nb::hasattr(h, "__dlpack__")) {
    // NumPy integer scalars have the buffer protocol too; they index like ints.
    if (PyIndex_Check(p) && !PyList_Check(p)) {
      nb::object idx = nb::steal(PyNumber_Index(p));
      if (idx.is_valid()) return classify(idx);
      PyErr_Clear();
    }
    array_index_not_implemented();
  }
  if (PyIndex_Check(p)) {
    nb::object idx = nb::steal(PyNumber_Index(p));
    if (!idx.is_valid()) throw nb::python_error();
    return classify(idx);
  }
  throw std::invalid_argument("Cannot index kiln array using the given type.");
}

}  // namespace

array getitem(const array& a, nb::handle index) {
  int nd = a.ndim();
  std::vector<IndexItem> items;
  if (PyTuple_Check(index.ptr())) {
    for (nb::handle h : index) items.push_back(classify(h));
  } else {
    items.push_back(classify(index));
  }

  int n_real = 0, n_ellipsis = 0;
  for (auto& it : items) {
    n_real += it.kind == IndexKind::integer || it.kind == IndexKind::slice;
    n_ellipsis += it.kind == IndexKind::ellipsis;
  }
  if (n_ellipsis > 1) throw std::invalid_argument("An index can only have a single ellipsis (...)");
  if (n_real > nd) {
    throw std::out_of_range("Too many indices for array with " + std::to_string(nd) + " dimensions.");
  }

  Shape start(nd, 0), stop(a.shape()), step(nd, 1);
  std::vector<int> squeeze_axes, new_axes;
  bool sliced = false;
  int axis = 0, out_pos = 0;
  for (auto& it : items) {
    switch (it.kind) {
      case IndexKind::newaxis:
        new_axes.push_back(out_pos++);
        break;
      case IndexKind::ellipsis: {
        int k = nd - n_real;
        axis += k;
        out_pos += k;
        break;
      }
      case IndexKind::integer: {
        int64_t n = a.shape()[axis];
        int64_t i = it.value < 0 ? it.value + n : it.value;
        if (i < 0 || i >= n) {
          throw std::out_of_range("index " + std::to_string(it.value) + " is out of bounds for axis " +
                                  std::to_string(axis) + " with size " + std::to_string(n));
        }
        start[axis] = static_cast<ShapeElem>(i);
        stop[axis] = static_cast<ShapeElem>(i + 1);
        sliced = sliced || n != 1;
        squeeze_axes.push_back(axis++);
        break;
      }
      case IndexKind::slice: {
        Py_ssize_t b, e, s;
        if (PySlice_Unpack(it.obj.ptr(), &b, &e, &s) < 0) throw nb::python_error();
        Py_ssize_t n = a.shape()[axis];
        PySlice_AdjustIndices(n, &b, &e, s);
        // kiln::slice reads negative bounds from the end; -1 here means "before index 0".
        if (b < 0) b = -n - 1;
        if (e < 0) e = -n - 1;
        start[axis] = static_cast<ShapeElem>(b);
        stop[axis] = static_cast<ShapeElem>(e);
        step[axis] = static_cast<ShapeElem>(s);
        sliced = sliced || b != 0 || e != n || s != 1;
        ++axis;
        ++out_pos;
        break;
      }
    }
  }

  array out = sliced ? slice(a, std::move(start), std::move(stop), std::move(step)) : a;
  if (!squeeze_axes.empty()) out = squeeze(out, squeeze_axes);
  if (!new_axes.empty()) out = expand_dims(out, new_axes);
  return out;
}

}  // namespace kiln::py
