// Helpers shared by the binding files: argument types, the StreamOrDevice caster, and the
// conversions between Python values and kiln arrays.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kiln/kiln.h"

namespace nb = nanobind;
using namespace nb::literals;

// `stream=` arguments: None, a Stream, a Device or a DeviceType (mx.cpu), as in MLX. A dedicated
// caster (instead of nanobind's variant caster) keeps the common `None` case to one compare.
namespace nanobind::detail {
template <>
struct type_caster<kiln::StreamOrDevice> {
  NB_TYPE_CASTER(kiln::StreamOrDevice, const_name("Stream | Device | DeviceType | None"))

  bool from_python(handle src, uint32_t flags, cleanup_list* cleanup) noexcept;
  static handle from_cpp(const kiln::StreamOrDevice&, rv_policy, cleanup_list*) noexcept {
    return none().release();
  }
};
}  // namespace nanobind::detail

namespace kiln::py {
/** An argument that may be a Python scalar or an array (converted by the function, with weak
 *  typing); only a distinct type so signatures and stubs say so. */
struct ScalarOrArray {
  nb::handle h;
};

/** Marks Python values that convert implicitly to an array argument: scalars and objects with
 *  the buffer protocol or __dlpack__ (NumPy arrays). Lists are not converted, as in MLX. */
struct ImplicitArraySource {};
}  // namespace kiln::py

namespace nanobind::detail {
template <>
struct type_caster<kiln::py::ScalarOrArray> {
  NB_TYPE_CASTER(kiln::py::ScalarOrArray, const_name("scalar | array"))
  bool from_python(handle src, uint32_t, cleanup_list*) noexcept {
    value.h = src;
    return true;
  }
  static handle from_cpp(const kiln::py::ScalarOrArray& v, rv_policy, cleanup_list*) noexcept {
    return v.h.inc_ref();
  }
};
template <>
struct type_caster<kiln::py::ImplicitArraySource> {
  NB_TYPE_CASTER(kiln::py::ImplicitArraySource, const_name("scalar | ArrayLike"))
  bool from_python(handle src, uint32_t flags, cleanup_list* cleanup) noexcept;
  static handle from_cpp(const kiln::py::ImplicitArraySource&, rv_policy, cleanup_list*) noexcept {
    return none().release();
  }
};
}  // namespace nanobind::detail

namespace kiln::py {

/** An `axis=` argument: one axis or several. */
using IntOrVec = std::variant<int, std::vector<int>>;
/** A `shape=` argument that may be a single int. */
using IntOrShape = std::variant<int, Shape>;

inline Shape to_shape(const IntOrShape& s) {
  if (auto* i = std::get_if<int>(&s)) return Shape{*i};
  return std::get<Shape>(s);
}
inline std::vector<int> to_axes(const IntOrVec& a) {
  if (auto* i = std::get_if<int>(&a)) return {*i};
  return std::get<std::vector<int>>(a);
}

/** A shape as a Python tuple of ints. */
inline nb::tuple shape_tuple(const Shape& shape) {
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(shape.size()));
  if (!t) throw nb::python_error();
  for (size_t i = 0; i < shape.size(); ++i) PyTuple_SET_ITEM(t, i, PyLong_FromLong(shape[i]));
  return nb::steal<nb::tuple>(t);
}

// ---- Python value -> array (convert.cpp) ----

/** Converts a Python scalar, nested list/tuple, buffer/DLPack object or array to an array.
 *  With `dtype`, the values are converted to it. Raises ValueError for unsupported input. */
array to_array(nb::handle v, std::optional<Dtype> dtype = std::nullopt);

/** Converts `v` for use next to an operand of dtype `other`: Python scalars are weakly typed
 *  (they take `other`'s dtype when their kind allows), array-likes take `other`'s dtype, arrays
 *  pass through. Returns false (leaving `out` alone) if `v` is of an unsupported type. */
bool to_array_like(nb::handle v, Dtype other, array& out);

/** Both operands of a binary function, scalars weakly typed against the array operand. */
std::pair<array, array> to_arrays(nb::handle a, nb::handle b);
inline std::pair<array, array> to_arrays(ScalarOrArray a, ScalarOrArray b) { return to_arrays(a.h, b.h); }

/** True for objects with the buffer protocol or `__dlpack__`, and DLPack capsules. */
bool has_buffer_or_dlpack(nb::handle h);

/** True for Python bool/int/float/complex (not arrays). */
bool is_python_scalar(nb::handle v);

// ---- array -> Python (convert.cpp) ----

/** The array's only element as a Python scalar; ValueError unless size is 1. */
nb::object to_scalar(array a);
/** Nested Python lists of the array's elements (a scalar for 0-d arrays). */
nb::object tolist(array a);
/** MLX's printing of an array, e.g. `array([1, 2], dtype=int32)`. */
std::string format_array(array a);
/** Digits after the decimal point when printing floats (fixed notation); -1: the default format.
 *  Set by set_printoptions / printoptions (misc.cpp). */
extern int print_precision;

/** Evaluates `a`, releasing the GIL while kernels run. Pass a local handle, never one stored in
 *  a Python object: another thread may rebind that object (`x += 1`) while the GIL is released. */
void eval_array(array& a);

/** A new evaluated row-major array holding `a`'s elements converted to `dtype`. */
array contiguous_copy(array a, Dtype dtype);

/** A DLPack capsule ("dltensor") sharing `a`'s evaluated data. */
nb::object to_dlpack_capsule(array a);

/** The array as a NumPy array: a view of evaluated data (bfloat16 becomes a float32 copy). */
nb::object to_numpy(array a);

// ---- indexing (indexing.cpp) ----
array getitem(const array& a, nb::handle index);
/** The array `a[index] = value` leaves (a new array; the binding rebinds self to it). */
array setitem(const array& a, nb::handle index, nb::handle value);
/** The `x.at` indexer object. */
nb::object array_at(const array& a);

}  // namespace kiln::py

// Binding entry points, one per file.
void init_dtype(nb::module_& m);
void init_device(nb::module_& m);
void init_stream(nb::module_& m);
void init_array(nb::module_& m);
void init_ops(nb::module_& m);
void init_transforms(nb::module_& m);
void init_memory(nb::module_& m);
void init_indexing(nb::module_& m);
