// Bindings of kiln/ops.h with MLX's Python names, keywords and defaults.
#include <cmath>
#include <numbers>

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

using OptAxes = std::optional<IntOrVec>;

Dtype arange_dtype(std::initializer_list<nb::handle> vals, std::optional<Dtype> dtype) {
  if (dtype) return *dtype;
  for (nb::handle h : vals) {
    if (h.is_valid() && PyFloat_Check(h.ptr())) return float32;
  }
  return int32;
}

double as_double(nb::handle h, const char* what) {
  if (!PyLong_Check(h.ptr()) && !PyFloat_Check(h.ptr()) && !PyIndex_Check(h.ptr())) {
    throw nb::type_error((std::string("[arange] ") + what + " must be an int or a float.").c_str());
  }
  double v = PyFloat_AsDouble(h.ptr());
  if (v == -1.0 && PyErr_Occurred()) throw nb::python_error();
  return v;
}

array concat_impl(std::vector<array> arrays, std::optional<int> axis, StreamOrDevice s) {
  if (axis) return kiln::concatenate(std::move(arrays), *axis, s);
  return kiln::concatenate(std::move(arrays), s);
}

array transpose_impl(const array& a, const std::optional<std::vector<int>>& axes, StreamOrDevice s) {
  return axes ? kiln::transpose(a, *axes, s) : kiln::transpose(a, s);
}

array atleast(const array& a, int n, StreamOrDevice s) {
  if (a.ndim() >= n) return a;
  Shape shape = a.shape();
  if (n == 1) return reshape(a, {1}, s);
  if (n == 2) return reshape(a, a.ndim() == 0 ? Shape{1, 1} : Shape{1, shape[0]}, s);
  // n == 3: (1, 1, 1), (1, n, 1), (a, b, 1) as NumPy.
  if (a.ndim() == 0) return reshape(a, {1, 1, 1}, s);
  if (a.ndim() == 1) return reshape(a, {1, shape[0], 1}, s);
  return reshape(a, {shape[0], shape[1], 1}, s);
}

nb::object atleast_nd(nb::args arys, StreamOrDevice s, int n) {
  if (arys.size() == 1) return nb::cast(atleast(to_array(arys[0]), n, s));
  nb::list out;
  for (nb::handle h : arys) out.append(nb::cast(atleast(to_array(h), n, s)));
  return std::move(out);
}

array isclose_impl(const array& a, const array& b, double rtol, double atol, bool equal_nan, StreamOrDevice s) {
  // |a - b| <= atol + rtol * |b|, with equal infinities close and NaNs equal on request.
  array diff = abs(subtract(a, b, s), s);
  array tol = add(scalar_like(atol, true, diff), multiply(scalar_like(rtol, true, diff), abs(b, s), s), s);
  array out = less_equal(diff, tol, s);
  out = logical_or(out, equal(a, b, s), s);
  if (equal_nan) out = logical_or(out, logical_and(isnan(a, s), isnan(b, s), s), s);
  return out;
}

}  // namespace

#define KILN_ARGS_DOC "\n\nArgs:\n    a (array): Input array.\n\nReturns:\n    array"
#define KILN_BINARY_DOC \
  "\n\nScalars are weakly typed: they take the array operand's dtype when they fit its kind.\n\n" \
  "Args:\n    a (array | scalar): First operand.\n    b (array | scalar): Second operand.\n\nReturns:\n    array"
#define KILN_REDUCE_DOC                                                                                   \
  "\n\nArgs:\n    a (array): Input array.\n    axis (int | Sequence[int], optional): Axes to reduce; all " \
  "when None.\n    keepdims (bool): Keep reduced axes as size-1 dimensions.\n\nReturns:\n    array"

void init_ops(nb::module_& m) {
  // ------------------------------------------------------------------ constants
  m.attr("pi") = std::numbers::pi;
  m.attr("e") = std::numbers::e;
  m.attr("euler_gamma") = std::numbers::egamma;
  m.attr("inf") = std::numeric_limits<double>::infinity();
  m.attr("nan") = std::numeric_limits<double>::quiet_NaN();
  m.attr("newaxis") = nb::none();

  // ------------------------------------------------------------------ creation
  m.def(
      "asarray", [](nb::handle a, std::optional<Dtype> dtype) { return to_array(a, dtype); }, "a"_a,
      "dtype"_a = nb::none(), "Converts ``a`` to an array (see :class:`array`).");
  m.def(
      "arange",
      [](nb::handle start, nb::handle stop, nb::handle step, std::optional<Dtype> dtype, StreamOrDevice s) {
        if (start.is_none() && stop.is_none()) {
          throw nb::type_error("arange() missing required argument 'stop'");
        }
        Dtype t = arange_dtype({start, stop, step}, dtype);
        double b = 0.0, e, st = 1.0;
        if (stop.is_none()) {
          e = as_double(start, "stop");
        } else {
          b = start.is_none() ? 0.0 : as_double(start, "start");
          e = as_double(stop, "stop");
        }
        if (!step.is_none()) st = as_double(step, "step");
        return kiln::arange(b, e, st, t, s);
      },
      "start"_a = nb::none(), "stop"_a = nb::none(), "step"_a = nb::none(), "dtype"_a = nb::none(), nb::kw_only(),
      "stream"_a = nb::none(),
      nb::sig("def arange(start: int | float | None = None, stop: int | float | None = None, "
              "step: int | float | None = None, dtype: Dtype | None = None, *, "
              "stream: Stream | Device | None = None) -> array"),
      "Values from ``start`` toward ``stop`` (exclusive) by ``step``; ``arange(stop)`` starts at 0.\n\n"
      "Args:\n    start (int | float): Start (0 when only one bound is given).\n    stop (int | float): "
      "End, exclusive.\n    step (int | float, optional): Increment, 1 by default.\n    dtype (Dtype, "
      "optional): int32 if all bounds are ints, else float32.\n\nReturns:\n    array");
  m.def(
      "linspace",
      [](double start, double stop, int num, bool endpoint, Dtype dtype, StreamOrDevice s) {
        if (!endpoint && num > 0) stop = start + (stop - start) * (num - 1) / num;
        return kiln::linspace(start, stop, num, dtype, s);
      },
      "start"_a, "stop"_a, "num"_a = 50, "endpoint"_a = true, "dtype"_a = float32, "stream"_a = nb::none(),
      "``num`` evenly spaced values from ``start`` to ``stop``.\n\nArgs:\n    start (scalar): First value.\n"
      "    stop (scalar): Last value (included if ``endpoint``).\n    num (int): Number of values.\n"
      "    endpoint (bool): Whether ``stop`` is included.\n    dtype (Dtype): Output type.\n\nReturns:\n    array");
  m.def(
      "full",
      [](const IntOrShape& shape, ScalarOrArray vals, std::optional<Dtype> dtype, StreamOrDevice s) {
        array v = to_array(vals.h);
        return dtype ? kiln::full(to_shape(shape), v, *dtype, s) : kiln::full(to_shape(shape), v, s);
      },
      "shape"_a, "vals"_a, "dtype"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "An array of ``shape`` filled with ``vals`` (broadcast).\n\nArgs:\n    shape (int | Sequence[int]): "
      "Output shape.\n    vals (scalar | array): Fill values.\n    dtype (Dtype, optional): Output type; "
      "that of ``vals`` by default.\n\nReturns:\n    array");
  m.def(
      "zeros", [](const IntOrShape& shape, Dtype dtype, StreamOrDevice s) { return kiln::zeros(to_shape(shape), dtype, s); },
      "shape"_a, "dtype"_a = float32, nb::kw_only(), "stream"_a = nb::none(),
      "An array of zeros.\n\nArgs:\n    shape (int | Sequence[int]): Output shape.\n    dtype (Dtype): "
      "Output type.\n\nReturns:\n    array");
  m.def(
      "ones", [](const IntOrShape& shape, Dtype dtype, StreamOrDevice s) { return kiln::ones(to_shape(shape), dtype, s); },
      "shape"_a, "dtype"_a = float32, nb::kw_only(), "stream"_a = nb::none(),
      "An array of ones.\n\nArgs:\n    shape (int | Sequence[int]): Output shape.\n    dtype (Dtype): "
      "Output type.\n\nReturns:\n    array");
  m.def(
      "zeros_like",
      [](const array& a, std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::zeros(a.shape(), dtype.value_or(a.dtype()), s);
      },
      "a"_a, "dtype"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Zeros with the shape (and, by default, dtype) of ``a``." KILN_ARGS_DOC);
  m.def(
      "ones_like",
      [](const array& a, std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::ones(a.shape(), dtype.value_or(a.dtype()), s);
      },
      "a"_a, "dtype"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Ones with the shape (and, by default, dtype) of ``a``." KILN_ARGS_DOC);
  m.def(
      "full_like",
      [](const array& a, ScalarOrArray vals, std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::full(a.shape(), to_array(vals.h), dtype.value_or(a.dtype()), s);
      },
      "a"_a, "vals"_a, "dtype"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "``vals`` broadcast to the shape of ``a``, with ``a``'s dtype unless ``dtype`` is given.");
  m.def(
      "eye",
      [](int n, std::optional<int> mm, int k, Dtype dtype, StreamOrDevice s) {
        return kiln::eye(n, mm.value_or(n), k, dtype, s);
      },
      "n"_a, "m"_a = nb::none(), "k"_a = 0, "dtype"_a = float32, nb::kw_only(), "stream"_a = nb::none(),
      "An ``n`` x ``m`` matrix with ones on diagonal ``k``.\n\nArgs:\n    n (int): Rows.\n    m (int, "
      "optional): Columns, ``n`` by default.\n    k (int): Diagonal index.\n    dtype (Dtype): Output "
      "type.\n\nReturns:\n    array");
  m.def(
      "identity", [](int n, Dtype dtype, StreamOrDevice s) { return kiln::identity(n, dtype, s); }, "n"_a,
      "dtype"_a = float32, nb::kw_only(), "stream"_a = nb::none(),
      "The ``n`` x ``n`` identity matrix.\n\nArgs:\n    n (int): Size.\n    dtype (Dtype): Output "
      "type.\n\nReturns:\n    array");

  // ------------------------------------------------------------------ conversion
  m.def(
      "astype", [](const array& a, Dtype t, StreamOrDevice s) { return kiln::astype(a, t, s); }, "a"_a, "dtype"_a,
      nb::kw_only(), "stream"_a = nb::none(),
      "``a`` converted to ``dtype``.\n\nArgs:\n    a (array): Input.\n    dtype (Dtype): Element type.\n\n"
      "Returns:\n    array");
  m.def(
      "as_strided",
      [](const array& a, std::optional<Shape> shape, std::optional<Strides> strides, size_t offset,
         StreamOrDevice s) {
        Shape sh = shape.value_or(a.shape());
        Strides st = strides ? *strides : row_major_strides(sh);
        return kiln::as_strided(a, sh, st, offset, s);
      },
      "a"_a, "shape"_a = nb::none(), "strides"_a = nb::none(), "offset"_a = 0, nb::kw_only(),
      "stream"_a = nb::none(),
      "A view of ``a``'s (row-major) data with the given shape, strides (in elements) and offset. "
      "No bounds checks are made.");

  // ------------------------------------------------------------------ shape
  m.def(
      "reshape", [](const array& a, const IntOrShape& shape, StreamOrDevice s) { return kiln::reshape(a, to_shape(shape), s); },
      "a"_a, "shape"_a, nb::kw_only(), "stream"_a = nb::none(),
      "``a`` with a new shape of the same size; one dimension may be -1.\n\nArgs:\n    a (array): Input.\n"
      "    shape (Sequence[int]): New shape.\n\nReturns:\n    array");
  m.def(
      "flatten",
      [](const array& a, int start_axis, int end_axis, StreamOrDevice s) {
        return kiln::flatten(a, start_axis, end_axis, s);
      },
      "a"_a, "start_axis"_a = 0, "end_axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),
      "Merges axes ``start_axis`` through ``end_axis`` into one.\n\nArgs:\n    a (array): Input.\n"
      "    start_axis (int): First axis.\n    end_axis (int): Last axis (inclusive).\n\nReturns:\n    array");
  m.def(
      "squeeze",
      [](const array& a, const OptAxes& axis, StreamOrDevice s) {
        return axis ? kiln::squeeze(a, to_axes(*axis), s) : kiln::squeeze(a, s);
      },
      "a"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Removes size-1 axes (all of them when ``axis`` is None).\n\nArgs:\n    a (array): Input.\n    axis "
      "(int | Sequence[int], optional): Axes to remove.\n\nReturns:\n    array");
  m.def(
      "expand_dims",
      [](const array& a, const IntOrVec& axis, StreamOrDevice s) { return kiln::expand_dims(a, to_axes(axis), s); },
      "a"_a, "axis"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Inserts size-1 axes at the positions ``axis`` of the result.\n\nArgs:\n    a (array): Input.\n    "
      "axis (int | Sequence[int]): New axes.\n\nReturns:\n    array");
  m.def(
      "split",
      [](const array& a, const IntOrShape& ios, int axis, StreamOrDevice s) {
        if (auto* n = std::get_if<int>(&ios)) return kiln::split(a, *n, axis, s);
        return kiln::split(a, std::get<Shape>(ios), axis, s);
      },
      "a"_a, "indices_or_sections"_a, "axis"_a = 0, nb::kw_only(), "stream"_a = nb::none(),
      "Splits ``a`` along ``axis`` into equal sections, or before each index.\n\nArgs:\n    a (array): "
      "Input.\n    indices_or_sections (int | Sequence[int]): Number of sections or split indices.\n    "
      "axis (int): Axis to split.\n\nReturns:\n    list[array]");
  const char* concat_doc =
      "Joins arrays along an existing axis (flattened first when ``axis`` is None).\n\nArgs:\n    arrays "
      "(list[array]): Inputs.\n    axis (int, optional): Axis.\n\nReturns:\n    array";
  m.def("concatenate", &concat_impl, "arrays"_a, "axis"_a = 0, nb::kw_only(), "stream"_a = nb::none(), concat_doc);
  m.def("concat", &concat_impl, "arrays"_a, "axis"_a = 0, nb::kw_only(), "stream"_a = nb::none(), concat_doc);
  m.def(
      "stack",
      [](const std::vector<array>& arrays, int axis, StreamOrDevice s) { return kiln::stack(arrays, axis, s); },
      "arrays"_a, "axis"_a = 0, nb::kw_only(), "stream"_a = nb::none(),
      "Joins arrays of one shape along a new axis.\n\nArgs:\n    arrays (list[array]): Inputs.\n    axis "
      "(int): Position of the new axis.\n\nReturns:\n    array");
  const char* transpose_doc =
      "Permutes the axes of ``a`` (reverses them when ``axes`` is None).\n\nArgs:\n    a (array): Input.\n"
      "    axes (Sequence[int], optional): The permutation.\n\nReturns:\n    array";
  m.def("transpose", &transpose_impl, "a"_a, "axes"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
        transpose_doc);
  m.def("permute_dims", &transpose_impl, "a"_a, "axes"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
        transpose_doc);
  m.def(
      "swapaxes", [](const array& a, int a1, int a2, StreamOrDevice s) { return kiln::swapaxes(a, a1, a2, s); },
      "a"_a, "axis1"_a, "axis2"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Swaps two axes.\n\nArgs:\n    a (array): Input.\n    axis1 (int): First axis.\n    axis2 (int): "
      "Second axis.\n\nReturns:\n    array");
  m.def(
      "moveaxis", [](const array& a, int src, int dst, StreamOrDevice s) { return kiln::moveaxis(a, src, dst, s); },
      "a"_a, "source"_a, "destination"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Moves axis ``source`` to position ``destination``.\n\nArgs:\n    a (array): Input.\n    source "
      "(int): Axis to move.\n    destination (int): Its new position.\n\nReturns:\n    array");
  m.def(
      "matrix_transpose",
      [](const array& a, StreamOrDevice s) {
        if (a.ndim() < 2) {
          throw std::invalid_argument("[matrix_transpose] Input array must have at least 2 dimensions.");
        }
        return kiln::swapaxes(a, -1, -2, s);
      },
      "a"_a, nb::kw_only(), "stream"_a = nb::none(), "Swaps the last two axes." KILN_ARGS_DOC);
  m.def(
      "broadcast_to",
      [](ScalarOrArray a, const IntOrShape& shape, StreamOrDevice s) { return kiln::broadcast_to(to_array(a.h), to_shape(shape), s); },
      "a"_a, "shape"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Broadcasts ``a`` to ``shape``.\n\nArgs:\n    a (array | scalar): Input.\n    shape (Sequence[int]): "
      "Target shape.\n\nReturns:\n    array");
  m.def(
      "broadcast_arrays",
      [](nb::args arrays, StreamOrDevice s) {
        std::vector<array> v;
        for (nb::handle h : arrays) v.push_back(to_array(h));
        return kiln::broadcast_arrays(v, s);
      },
      "arrays"_a, "stream"_a = nb::none(),
      nb::sig("def broadcast_arrays(*arrays: array, stream: Stream | Device | None = None) -> list[array]"),
      "Broadcasts the inputs to their common shape.\n\nArgs:\n    *arrays (array): Inputs.\n\n"
      "Returns:\n    list[array]");
  m.def(
      "broadcast_shapes",
      [](nb::args shapes) {
        if (shapes.size() == 0) throw std::invalid_argument("[broadcast_shapes] No input shapes.");
        std::vector<Shape> v;
        for (nb::handle h : shapes) v.push_back(nb::cast<Shape>(h));
        Shape out = kiln::broadcast_shapes(v);
        return shape_tuple(out);
      },
      nb::sig("def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]"),
      "The shape the given shapes broadcast to; ValueError if they don't.");
  m.def(
      "atleast_1d", [](nb::args arys, StreamOrDevice s) { return atleast_nd(arys, s, 1); }, "arys"_a,
      "stream"_a = nb::none(), "Views of the inputs with at least one dimension.");
  m.def(
      "atleast_2d", [](nb::args arys, StreamOrDevice s) { return atleast_nd(arys, s, 2); }, "arys"_a,
      "stream"_a = nb::none(), "Views of the inputs with at least two dimensions.");
  m.def(
      "atleast_3d", [](nb::args arys, StreamOrDevice s) { return atleast_nd(arys, s, 3); }, "arys"_a,
      "stream"_a = nb::none(), "Views of the inputs with at least three dimensions.");

  // ------------------------------------------------------------------ unary
#define KILN_UNARY(name, fn, desc)                                                                           \
  m.def(#name, [](const array& a, StreamOrDevice s) { return kiln::fn(a, s); }, "a"_a, nb::kw_only(),        \
        "stream"_a = nb::none(), desc KILN_ARGS_DOC);
  KILN_UNARY(abs, abs, "Element-wise absolute value.")
  KILN_UNARY(negative, negative, "Element-wise negation.")
  KILN_UNARY(sign, sign, "Element-wise sign (-1, 0 or 1).")
  KILN_UNARY(logical_not, logical_not, "Element-wise logical not.")
  KILN_UNARY(bitwise_invert, bitwise_invert, "Element-wise bitwise inversion (``~a``).")
  KILN_UNARY(reciprocal, reciprocal, "Element-wise reciprocal ``1 / a``.")
  KILN_UNARY(square, square, "Element-wise square.")
  KILN_UNARY(sqrt, sqrt, "Element-wise square root.")
  KILN_UNARY(rsqrt, rsqrt, "Element-wise reciprocal square root.")
  KILN_UNARY(exp, exp, "Element-wise exponential.")
  KILN_UNARY(expm1, expm1, "Element-wise ``exp(a) - 1``, accurate near 0.")
  KILN_UNARY(log, log, "Element-wise natural logarithm.")
  KILN_UNARY(log2, log2, "Element-wise base-2 logarithm.")
  KILN_UNARY(log10, log10, "Element-wise base-10 logarithm.")
  KILN_UNARY(log1p, log1p, "Element-wise ``log(1 + a)``, accurate near 0.")
  KILN_UNARY(sin, sin, "Element-wise sine.")
  KILN_UNARY(cos, cos, "Element-wise cosine.")
  KILN_UNARY(tan, tan, "Element-wise tangent.")
  KILN_UNARY(arcsin, arcsin, "Element-wise inverse sine.")
  KILN_UNARY(asin, arcsin, "Element-wise inverse sine.")
  KILN_UNARY(arccos, arccos, "Element-wise inverse cosine.")
  KILN_UNARY(acos, arccos, "Element-wise inverse cosine.")
  KILN_UNARY(arctan, arctan, "Element-wise inverse tangent.")
  KILN_UNARY(atan, arctan, "Element-wise inverse tangent.")
  KILN_UNARY(sinh, sinh, "Element-wise hyperbolic sine.")
  KILN_UNARY(cosh, cosh, "Element-wise hyperbolic cosine.")
  KILN_UNARY(tanh, tanh, "Element-wise hyperbolic tangent.")
  KILN_UNARY(arcsinh, arcsinh, "Element-wise inverse hyperbolic sine.")
  KILN_UNARY(asinh, arcsinh, "Element-wise inverse hyperbolic sine.")
  KILN_UNARY(arccosh, arccosh, "Element-wise inverse hyperbolic cosine.")
  KILN_UNARY(acosh, arccosh, "Element-wise inverse hyperbolic cosine.")
  KILN_UNARY(arctanh, arctanh, "Element-wise inverse hyperbolic tangent.")
  KILN_UNARY(atanh, arctanh, "Element-wise inverse hyperbolic tangent.")
  KILN_UNARY(floor, floor, "Element-wise floor.")
  KILN_UNARY(ceil, ceil, "Element-wise ceiling.")
  KILN_UNARY(sigmoid, sigmoid, "Element-wise logistic sigmoid ``1 / (1 + exp(-a))``.")
  KILN_UNARY(erf, erf, "Element-wise error function.")
  KILN_UNARY(erfinv, erfinv, "Element-wise inverse error function.")
  KILN_UNARY(conjugate, conjugate, "Element-wise complex conjugate.")
  KILN_UNARY(conj, conjugate, "Element-wise complex conjugate.")
  KILN_UNARY(real, real, "The real part of ``a``.")
  KILN_UNARY(imag, imag, "The imaginary part of ``a``.")
  KILN_UNARY(isnan, isnan, "Element-wise test for NaN.")
  KILN_UNARY(isinf, isinf, "Element-wise test for positive or negative infinity.")
  KILN_UNARY(isfinite, isfinite, "Element-wise test for finite values.")
  KILN_UNARY(isposinf, isposinf, "Element-wise test for positive infinity.")
  KILN_UNARY(isneginf, isneginf, "Element-wise test for negative infinity.")
  KILN_UNARY(stop_gradient, stop_gradient, "``a`` unchanged, with no gradient flowing through it.")
#undef KILN_UNARY
  m.def(
      "positive", [](const array& a, StreamOrDevice) { return a; }, "a"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Element-wise ``+a`` (the input itself)." KILN_ARGS_DOC);
  m.def(
      "round", [](const array& a, int decimals, StreamOrDevice s) { return kiln::round(a, decimals, s); }, "a"_a,
      "decimals"_a = 0, "stream"_a = nb::none(),
      "Rounds half to even, to ``decimals`` decimal places.\n\nArgs:\n    a (array): Input.\n    decimals "
      "(int): Number of decimals.\n\nReturns:\n    array");
  m.def(
      "degrees",
      [](const array& a, StreamOrDevice s) {
        array x = is_inexact(a.dtype()) ? a : astype(a, float32, s);
        return multiply(x, scalar_like(180.0 / std::numbers::pi, true, x), s);
      },
      "a"_a, nb::kw_only(), "stream"_a = nb::none(), "Converts angles from radians to degrees." KILN_ARGS_DOC);
  m.def(
      "radians",
      [](const array& a, StreamOrDevice s) {
        array x = is_inexact(a.dtype()) ? a : astype(a, float32, s);
        return multiply(x, scalar_like(std::numbers::pi / 180.0, true, x), s);
      },
      "a"_a, nb::kw_only(), "stream"_a = nb::none(), "Converts angles from degrees to radians." KILN_ARGS_DOC);

  // ------------------------------------------------------------------ binary
#define KILN_BINARY(name, fn, desc)                                                                           \
  m.def(                                                                                                      \
      #name,                                                                                                  \
      [](ScalarOrArray a, ScalarOrArray b, StreamOrDevice s) {                                                      \
        auto [x, y] = to_arrays(a, b);                                                                        \
        return kiln::fn(x, y, s);                                                                             \
      },                                                                                                      \
      "a"_a, "b"_a, "stream"_a = nb::none(), desc KILN_BINARY_DOC);
  KILN_BINARY(add, add, "Element-wise addition.")
  KILN_BINARY(subtract, subtract, "Element-wise subtraction.")
  KILN_BINARY(multiply, multiply, "Element-wise multiplication.")
  KILN_BINARY(divide, divide, "Element-wise true division (integers give float32).")
  KILN_BINARY(floor_divide, floor_divide, "Element-wise floor division.")
  KILN_BINARY(remainder, remainder, "Element-wise remainder with the sign of the divisor.")
  KILN_BINARY(power, power, "Element-wise power ``a ** b``.")
  KILN_BINARY(pow, power, "Element-wise power ``a ** b``.")
  KILN_BINARY(maximum, maximum, "Element-wise maximum.")
  KILN_BINARY(minimum, minimum, "Element-wise minimum.")
  KILN_BINARY(equal, equal, "Element-wise ``a == b``.")
  KILN_BINARY(not_equal, not_equal, "Element-wise ``a != b``.")
  KILN_BINARY(less, less, "Element-wise ``a < b``.")
  KILN_BINARY(less_equal, less_equal, "Element-wise ``a <= b``.")
  KILN_BINARY(greater, greater, "Element-wise ``a > b``.")
  KILN_BINARY(greater_equal, greater_equal, "Element-wise ``a >= b``.")
  KILN_BINARY(logical_and, logical_and, "Element-wise logical and.")
  KILN_BINARY(logical_or, logical_or, "Element-wise logical or.")
  KILN_BINARY(logaddexp, logaddexp, "Element-wise ``log(exp(a) + exp(b))``, computed stably.")
  KILN_BINARY(arctan2, arctan2, "Element-wise ``arctan(a / b)`` using the signs of both for the quadrant.")
  KILN_BINARY(atan2, arctan2, "Element-wise ``arctan(a / b)`` using the signs of both for the quadrant.")
  KILN_BINARY(bitwise_and, bitwise_and, "Element-wise bitwise and.")
  KILN_BINARY(bitwise_or, bitwise_or, "Element-wise bitwise or.")
  KILN_BINARY(bitwise_xor, bitwise_xor, "Element-wise bitwise xor.")
  KILN_BINARY(left_shift, left_shift, "Element-wise ``a << b``.")
  KILN_BINARY(bitwise_left_shift, left_shift, "Element-wise ``a << b``.")
  KILN_BINARY(right_shift, right_shift, "Element-wise ``a >> b``.")
  KILN_BINARY(bitwise_right_shift, right_shift, "Element-wise ``a >> b``.")
#undef KILN_BINARY
  m.def(
      "logical_xor",
      [](ScalarOrArray a, ScalarOrArray b, StreamOrDevice s) {
        auto [x, y] = to_arrays(a, b);
        return not_equal(astype(x, bool_, s), astype(y, bool_, s), s);
      },
      "a"_a, "b"_a, "stream"_a = nb::none(), "Element-wise logical xor." KILN_BINARY_DOC);
  m.def(
      "divmod",
      [](ScalarOrArray a, ScalarOrArray b, StreamOrDevice s) {
        auto [x, y] = to_arrays(a, b);
        return std::vector<array>{floor_divide(x, y, s), remainder(x, y, s)};
      },
      "a"_a, "b"_a, "stream"_a = nb::none(),
      "Element-wise ``(a // b, a % b)``.\n\nArgs:\n    a (array | scalar)\n    b (array | scalar)\n\n"
      "Returns:\n    list[array]");
  m.def(
      "where",
      [](ScalarOrArray condition, ScalarOrArray x, ScalarOrArray y, StreamOrDevice s) {
        auto [xa, ya] = to_arrays(x, y);
        return kiln::where(to_array(condition.h), xa, ya, s);
      },
      "condition"_a, "x"_a, "y"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Chooses from ``x`` where ``condition`` is true, else from ``y`` (all broadcast).\n\nArgs:\n    "
      "condition (array | scalar)\n    x (array | scalar)\n    y (array | scalar)\n\nReturns:\n    array");
  m.def(
      "clip",
      [](const array& a, nb::handle a_min, nb::handle a_max, StreamOrDevice s) {
        if (a_min.is_none() && a_max.is_none()) {
          throw std::invalid_argument("[clip] At most one of a_min and a_max may be None.");
        }
        array out = a;
        array bound;
        if (!a_min.is_none()) {
          if (!to_array_like(a_min, a.dtype(), bound)) bound = to_array(a_min);
          out = maximum(out, bound, s);
        }
        if (!a_max.is_none()) {
          if (!to_array_like(a_max, a.dtype(), bound)) bound = to_array(a_max);
          out = minimum(out, bound, s);
        }
        return out;
      },
      "a"_a, "a_min"_a.none(), "a_max"_a.none(), nb::kw_only(), "stream"_a = nb::none(),
      "Limits values to [``a_min``, ``a_max``] (either may be None).");

  // ------------------------------------------------------------------ comparisons of whole arrays
  m.def(
      "array_equal",
      [](ScalarOrArray a, ScalarOrArray b, bool equal_nan, StreamOrDevice s) {
        auto [x, y] = to_arrays(a, b);
        if (x.shape() != y.shape()) return array(false);
        array eq = equal(x, y, s);
        if (equal_nan) eq = logical_or(eq, logical_and(isnan(x, s), isnan(y, s), s), s);
        return all(eq, false, s);
      },
      "a"_a, "b"_a, "equal_nan"_a = false, "stream"_a = nb::none(),
      "Whether two arrays have the same shape and elements (dtypes may differ).\n\nArgs:\n    a (array)\n"
      "    b (array)\n    equal_nan (bool): Count NaNs as equal.\n\nReturns:\n    array: A scalar bool.");
  m.def(
      "isclose",
      [](const array& a, const array& b, double rtol, double atol, bool equal_nan, StreamOrDevice s) {
        return isclose_impl(a, b, rtol, atol, equal_nan, s);
      },
      "a"_a, "b"_a, "rtol"_a = 1e-5, "atol"_a = 1e-8, nb::kw_only(), "equal_nan"_a = false,
      "stream"_a = nb::none(), "Element-wise ``|a - b| <= atol + rtol * |b|``.");
  m.def(
      "allclose",
      [](const array& a, const array& b, double rtol, double atol, bool equal_nan, StreamOrDevice s) {
        return all(isclose_impl(a, b, rtol, atol, equal_nan, s), false, s);
      },
      "a"_a, "b"_a, "rtol"_a = 1e-5, "atol"_a = 1e-8, nb::kw_only(), "equal_nan"_a = false,
      "stream"_a = nb::none(), "Whether all elements satisfy ``|a - b| <= atol + rtol * |b|``.");

  // ------------------------------------------------------------------ reductions
#define KILN_REDUCE(name, desc)                                                                               \
  m.def(                                                                                                      \
      #name,                                                                                                  \
      [](const array& a, const OptAxes& axis, bool keepdims, StreamOrDevice s) {                              \
        return axis ? kiln::name(a, to_axes(*axis), keepdims, s) : kiln::name(a, keepdims, s);                \
      },                                                                                                      \
      "a"_a, "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(),            \
      desc KILN_REDUCE_DOC);
  KILN_REDUCE(all, "Logical and over the given axes.")
  KILN_REDUCE(any, "Logical or over the given axes.")
  KILN_REDUCE(sum, "Sum over the given axes.")
  KILN_REDUCE(prod, "Product over the given axes.")
  KILN_REDUCE(max, "Maximum over the given axes.")
  KILN_REDUCE(min, "Minimum over the given axes.")
  KILN_REDUCE(mean, "Mean over the given axes.")
  KILN_REDUCE(logsumexp, "``log(sum(exp(a)))`` over the given axes, computed stably.")
#undef KILN_REDUCE
#define KILN_VAR(name, desc)                                                                                  \
  m.def(                                                                                                      \
      #name,                                                                                                  \
      [](const array& a, const OptAxes& axis, bool keepdims, int ddof, StreamOrDevice s) {                    \
        return axis ? kiln::name(a, to_axes(*axis), keepdims, ddof, s) : kiln::name(a, keepdims, ddof, s);    \
      },                                                                                                      \
      "a"_a, "axis"_a = nb::none(), "keepdims"_a = false, "ddof"_a = 0, nb::kw_only(), "stream"_a = nb::none(), \
      desc KILN_REDUCE_DOC);
  KILN_VAR(var, "Variance over the given axes; the divisor is ``N - ddof``.")
  KILN_VAR(std, "Standard deviation over the given axes; the divisor is ``N - ddof``.")
#undef KILN_VAR
#define KILN_ARGREDUCE(name, desc)                                                                            \
  m.def(                                                                                                      \
      #name,                                                                                                  \
      [](const array& a, std::optional<int> axis, bool keepdims, StreamOrDevice s) {                          \
        return axis ? kiln::name(a, *axis, keepdims, s) : kiln::name(a, keepdims, s);                         \
      },                                                                                                      \
      "a"_a, "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(),            \
      desc "\n\nArgs:\n    a (array): Input.\n    axis (int, optional): Axis; the flattened array when "      \
           "None.\n    keepdims (bool): Keep the reduced axis.\n\nReturns:\n    array: uint32 indices.");
  KILN_ARGREDUCE(argmax, "Indices of the maxima along an axis.")
  KILN_ARGREDUCE(argmin, "Indices of the minima along an axis.")
#undef KILN_ARGREDUCE
  m.def(
      "softmax",
      [](const array& a, const OptAxes& axis, bool precise, StreamOrDevice s) {
        return axis ? kiln::softmax(a, to_axes(*axis), precise, s) : kiln::softmax(a, precise, s);
      },
      "a"_a, "axis"_a = nb::none(), nb::kw_only(), "precise"_a = false, "stream"_a = nb::none(),
      "``exp(a) / sum(exp(a))`` over the given axes, computed stably.\n\nArgs:\n    a (array): Input.\n"
      "    axis (int | Sequence[int], optional): Axes; all when None.\n    precise (bool): Accumulate "
      "half-precision inputs in float32.\n\nReturns:\n    array");

  // ------------------------------------------------------------------ linear algebra
  m.def(
      "matmul", [](const array& a, const array& b, StreamOrDevice s) { return kiln::matmul(a, b, s); }, "a"_a, "b"_a,
      nb::kw_only(), "stream"_a = nb::none(),
      "Matrix product with NumPy's rules for 1-D operands and batch broadcasting.\n\nArgs:\n    a (array)\n"
      "    b (array)\n\nReturns:\n    array");
}
