// Bindings of the composed ops (tri/tril/triu, windows, meshgrid, nan_to_num, flip, roll, repeat,
// tile, pad, unflatten, unstack, diagonal, diag, trace, diff, contiguous, tensordot, inner, outer,
// vecdot, kron, addmm, einsum, einsum_path) and the dtype helpers finfo and iinfo.
#include <cfloat>
#include <cmath>
#include <limits>
#include <sstream>

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_misc(nb::module_& m);

namespace {

using AxisArg = std::optional<IntOrVec>;

// `pad_width` as per-axis (low, high): an int, (int,), (low, high), or one pair per axis.
std::vector<std::pair<int, int>> pad_widths(nb::handle pw, int ndim) {
  auto bad = [] { return std::invalid_argument("[pad] pad_width must be an int, (int,), (low, high) or a list of pairs."); };
  std::vector<std::pair<int, int>> out;
  if (nb::isinstance<nb::int_>(pw)) {
    int w = nb::cast<int>(pw);
    return std::vector<std::pair<int, int>>(ndim, {w, w});
  }
  if (!nb::isinstance<nb::sequence>(pw)) throw bad();
  auto seq = nb::cast<nb::sequence>(pw);
  size_t n = nb::len(seq);
  if (n == 0) throw bad();
  bool all_ints = true;
  for (size_t i = 0; i < n; ++i) all_ints = all_ints && nb::isinstance<nb::int_>(seq[i]);
  if (all_ints) {
    if (n == 1) return std::vector<std::pair<int, int>>(ndim, {nb::cast<int>(seq[0]), nb::cast<int>(seq[0])});
    if (n == 2) return std::vector<std::pair<int, int>>(ndim, {nb::cast<int>(seq[0]), nb::cast<int>(seq[1])});
    throw bad();
  }
  for (size_t i = 0; i < n; ++i) {
    nb::handle item = seq[i];
    if (nb::isinstance<nb::int_>(item)) {
      int w = nb::cast<int>(item);
      out.push_back({w, w});
      continue;
    }
    auto p = nb::cast<std::vector<int>>(item);
    if (p.size() == 1) {
      out.push_back({p[0], p[0]});
    } else if (p.size() == 2) {
      out.push_back({p[0], p[1]});
    } else {
      throw bad();
    }
  }
  if (out.size() == 1) return std::vector<std::pair<int, int>>(ndim, out[0]);
  if (static_cast<int>(out.size()) != ndim) {
    std::ostringstream os;
    os << "[pad] Got " << out.size() << " padding pairs for an array with " << ndim << " dimensions.";
    throw std::invalid_argument(os.str());
  }
  return out;
}

nb::tuple as_tuple(const std::vector<array>& v) {
  nb::list l;
  for (auto& a : v) l.append(nb::cast(a));
  return nb::tuple(l);
}

// One `isdtype` kind: a dtype, or a kind name from the array API standard.
bool dtype_is_kind(Dtype t, nb::handle kind) {
  if (nb::isinstance<Dtype>(kind)) return t == nb::cast<Dtype>(kind);
  if (!nb::isinstance<nb::str>(kind)) throw std::invalid_argument("[isdtype] kind must be a Dtype, a str or a tuple.");
  std::string k = nb::cast<std::string>(kind);
  if (k == "bool") return t == bool_;
  if (k == "signed integer") return issubdtype(t, Dtype::Category::signedinteger);
  if (k == "unsigned integer") return issubdtype(t, Dtype::Category::unsignedinteger);
  if (k == "integral") return issubdtype(t, Dtype::Category::integer);
  if (k == "real floating") return issubdtype(t, Dtype::Category::floating);
  if (k == "complex floating") return issubdtype(t, Dtype::Category::complexfloating);
  if (k == "numeric") return t != bool_;
  throw std::invalid_argument("[isdtype] Unknown data type kind: '" + k + "'.");
}

std::vector<array> operand_list(const nb::args& args) {
  std::vector<array> ops;
  for (nb::handle h : args) ops.push_back(to_array(h));
  return ops;
}

// `with mx.printoptions(precision=3):` sets the precision and restores the previous one on exit.
struct PrintOptionsContext {
  int precision, saved = -1;
};

struct FInfo {
  Dtype dtype;
  double min, max, eps, smallest_normal;
  int bits;
};

struct IInfo {
  Dtype dtype;
  nb::object min, max;
};

FInfo make_finfo(Dtype t) {
  if (t == float16) return {t, -65504.0, 65504.0, std::ldexp(1.0, -10), std::ldexp(1.0, -14), 16};
  if (t == bfloat16) {
    double big = std::ldexp(255.0 / 128.0, 127);
    return {t, -big, big, std::ldexp(1.0, -7), std::ldexp(1.0, -126), 16};
  }
  if (t == float32 || t == complex64) {
    return {t, -double(FLT_MAX), double(FLT_MAX), double(FLT_EPSILON), double(FLT_MIN), t == complex64 ? 64 : 32};
  }
  if (t == float64) return {t, -DBL_MAX, DBL_MAX, DBL_EPSILON, DBL_MIN, 64};
  std::ostringstream os;
  os << "[finfo] dtype " << t << " is not inexact.";
  throw std::invalid_argument(os.str());
}

template <typename T>
IInfo int_info(Dtype t) {
  return {t, nb::int_(std::numeric_limits<T>::min()), nb::int_(std::numeric_limits<T>::max())};
}

IInfo make_iinfo(Dtype t) {
  if (t == int8) return int_info<int8_t>(t);
  if (t == int16) return int_info<int16_t>(t);
  if (t == int32) return int_info<int32_t>(t);
  if (t == int64) return int_info<int64_t>(t);
  if (t == uint8) return int_info<uint8_t>(t);
  if (t == uint16) return int_info<uint16_t>(t);
  if (t == uint32) return int_info<uint32_t>(t);
  if (t == uint64) return int_info<uint64_t>(t);
  std::ostringstream os;
  os << "[iinfo] Only integer types are supported but " << t << " was provided.";
  throw std::invalid_argument(os.str());
}

}  // namespace

void init_misc(nb::module_& m) {
  m.def(
      "tri",
      [](int n, std::optional<int> mm, int k, std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::tri(n, mm.value_or(n), k, dtype.value_or(float32), s);
      },
      "n"_a, "m"_a = nb::none(), "k"_a = 0, "dtype"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "An (n, m) array with ones at and below the k-th diagonal and zeros elsewhere.\n\nArgs:\n    n (int): "
      "Rows.\n    m (int, optional): Columns (n when None).\n    k (int): Diagonal offset.\n    dtype (Dtype, "
      "optional): Result dtype (float32).\n\nReturns:\n    array");
  m.def(
      "tril", [](const array& x, int k, StreamOrDevice s) { return kiln::tril(x, k, s); }, "x"_a, "k"_a = 0,
      nb::kw_only(), "stream"_a = nb::none(),
      "Zeros the elements above the k-th diagonal of the last two axes.\n\nArgs:\n    x (array): Input "
      "(at least 2-D).\n    k (int): Diagonal offset.\n\nReturns:\n    array");
  m.def(
      "triu", [](const array& x, int k, StreamOrDevice s) { return kiln::triu(x, k, s); }, "x"_a, "k"_a = 0,
      nb::kw_only(), "stream"_a = nb::none(),
      "Zeros the elements below the k-th diagonal of the last two axes.\n\nArgs:\n    x (array): Input "
      "(at least 2-D).\n    k (int): Diagonal offset.\n\nReturns:\n    array");
#define KILN_WINDOW(name, desc)                                                                  \
  m.def(                                                                                        \
      #name, [](int M, StreamOrDevice s) { return kiln::name(M, s); }, "M"_a, nb::kw_only(),   \
      "stream"_a = nb::none(),                                                                  \
      desc " window of ``M`` points (float32).\n\nArgs:\n    M (int): Number of points.\n\n"     \
           "Returns:\n    array");
  KILN_WINDOW(bartlett, "The Bartlett (triangular)")
  KILN_WINDOW(hanning, "The Hann")
  KILN_WINDOW(hamming, "The Hamming")
  KILN_WINDOW(blackman, "The Blackman")
#undef KILN_WINDOW
  m.def(
      "meshgrid",
      [](nb::args arrays, bool sparse, std::string indexing, StreamOrDevice s) {
        return as_tuple(kiln::meshgrid(operand_list(arrays), sparse, indexing, s));
      },
      "arrays"_a, "sparse"_a = false, "indexing"_a = "xy", "stream"_a = nb::none(),
      nb::sig("def meshgrid(*arrays: array, sparse: bool = False, indexing: str = 'xy', stream: "
              "Stream | Device | None = None) -> tuple[array, ...]"),
      "Coordinate grids from 1-D coordinate arrays.\n\nArgs:\n    *arrays (array): Coordinates (flattened).\n"
      "    sparse (bool): Return broadcastable arrays instead of full grids.\n    indexing (str): ``'xy'`` "
      "(Cartesian) or ``'ij'`` (matrix).\n\nReturns:\n    tuple[array, ...]");
  m.def(
      "nan_to_num",
      [](ScalarOrArray a, float nan, std::optional<float> posinf, std::optional<float> neginf, StreamOrDevice s) {
        return kiln::nan_to_num(to_array(a.h), nan, posinf, neginf, s);
      },
      "a"_a, "nan"_a = 0.0f, "posinf"_a = nb::none(), "neginf"_a = nb::none(), nb::kw_only(),
      "stream"_a = nb::none(),
      "Replaces NaN and infinities with finite numbers.\n\nArgs:\n    a (array): Input.\n    nan (float): "
      "Value for NaN.\n    posinf (float, optional): Value for +inf (the dtype's max when None).\n    neginf "
      "(float, optional): Value for -inf (the dtype's min when None).\n\nReturns:\n    array");
  m.def(
      "flip",
      [](const array& a, AxisArg axis, StreamOrDevice s) {
        return axis ? kiln::flip(a, to_axes(*axis), s) : kiln::flip(a, s);
      },
      "a"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Reverses the order of elements along axes.\n\nArgs:\n    a (array): Input.\n    axis (int | "
      "Sequence[int], optional): Axes to flip (all when None).\n\nReturns:\n    array");
  m.def(
      "roll",
      [](const array& a, IntOrShape shift, AxisArg axis, StreamOrDevice s) {
        if (!axis) {
          if (auto* i = std::get_if<int>(&shift)) return kiln::roll(a, *i, s);
          // Several shifts without axes add up on the flattened array, as in MLX.
          int total = 0;
          for (auto v : std::get<Shape>(shift)) total += v;
          return kiln::roll(a, total, s);
        }
        std::vector<int> axes = to_axes(*axis);
        Shape sh = to_shape(shift);
        if (sh.size() == 1 && axes.size() > 1) sh = Shape(axes.size(), sh[0]);
        if (axes.size() == 1 && sh.size() > 1) axes = std::vector<int>(sh.size(), axes[0]);
        return kiln::roll(a, sh, axes, s);
      },
      "a"_a, "shift"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Shifts elements cyclically along axes.\n\nArgs:\n    a (array): Input.\n    shift (int | tuple[int]): "
      "Shift per axis.\n    axis (int | tuple[int], optional): Axes (the flattened array when None).\n\n"
      "Returns:\n    array");
  m.def(
      "repeat",
      [](const array& a, int repeats, std::optional<int> axis, StreamOrDevice s) {
        return axis ? kiln::repeat(a, repeats, *axis, s) : kiln::repeat(a, repeats, s);
      },
      "array"_a, "repeats"_a, "axis"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Repeats each element along an axis.\n\nArgs:\n    array (array): Input.\n    repeats (int): Copies "
      "of each element.\n    axis (int, optional): Axis (the flattened array when None).\n\nReturns:\n    array");
  m.def(
      "tile", [](const array& a, IntOrShape reps, StreamOrDevice s) { return kiln::tile(a, to_shape(reps), s); },
      "a"_a, "reps"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Repeats the whole array along each axis.\n\nArgs:\n    a (array): Input.\n    reps (int | "
      "Sequence[int]): Repetitions per axis.\n\nReturns:\n    array");
  m.def(
      "pad",
      [](const array& a, nb::handle pad_width, std::string mode, ScalarOrArray constant_values, StreamOrDevice s) {
        auto widths = pad_widths(pad_width, a.ndim());
        std::vector<int> axes;
        Shape lo, hi;
        for (size_t i = 0; i < widths.size(); ++i) {
          axes.push_back(static_cast<int>(i));
          lo.push_back(widths[i].first);
          hi.push_back(widths[i].second);
        }
        array v;
        if (!to_array_like(constant_values.h, a.dtype(), v)) v = to_array(constant_values.h);
        return kiln::pad(a, axes, lo, hi, v, mode, s);
      },
      "a"_a, "pad_width"_a, "mode"_a = "constant", "constant_values"_a = 0, nb::kw_only(), "stream"_a = nb::none(),
      nb::sig("def pad(a: array, pad_width: int | tuple[int] | tuple[int, int] | list[tuple[int, int]], mode: "
              "str = 'constant', constant_values: scalar | array = 0, *, stream: Stream | Device | None = "
              "None) -> array"),
      "Pads an array.\n\nArgs:\n    a (array): Input.\n    pad_width: Padding before and after each axis: an "
      "int, ``(w,)``, ``(low, high)`` for every axis, or one pair per axis.\n    mode (str): ``'constant'``, "
      "``'edge'``, ``'reflect'`` or ``'symmetric'``.\n    constant_values (scalar | array): The fill value "
      "for ``'constant'``.\n\nReturns:\n    array");
  m.def(
      "unflatten",
      [](const array& a, int axis, Shape shape, StreamOrDevice s) { return kiln::unflatten(a, axis, shape, s); },
      "a"_a, "axis"_a, "shape"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Splits one axis into several.\n\nArgs:\n    a (array): Input.\n    axis (int): Axis to split.\n    "
      "shape (Sequence[int]): The new axes' sizes (one may be -1).\n\nReturns:\n    array");
  m.def(
      "unstack", [](const array& x, int axis, StreamOrDevice s) { return as_tuple(kiln::unstack(x, axis, s)); }, "x"_a,
      nb::kw_only(), "axis"_a = 0, "stream"_a = nb::none(),
      "Splits an array into its slices along an axis.\n\nArgs:\n    x (array): Input.\n    axis (int): Axis."
      "\n\nReturns:\n    tuple[array, ...]");
  m.def(
      "diagonal",
      [](const array& a, int offset, int axis1, int axis2, StreamOrDevice s) {
        return kiln::diagonal(a, offset, axis1, axis2, s);
      },
      "a"_a, "offset"_a = 0, "axis1"_a = 0, "axis2"_a = 1, "stream"_a = nb::none(),
      "The diagonal of the (axis1, axis2) planes, as the last axis.\n\nArgs:\n    a (array): Input (at least "
      "2-D).\n    offset (int): Diagonal offset.\n    axis1 (int): First axis.\n    axis2 (int): Second axis.\n\n"
      "Returns:\n    array");
  m.def(
      "diag", [](const array& a, int k, StreamOrDevice s) { return kiln::diag(a, k, s); }, "a"_a,
      "k"_a = 0, nb::kw_only(), "stream"_a = nb::none(),
      "A 2-D array's k-th diagonal, or a square array with a 1-D input on its k-th diagonal.\n\nArgs:\n    a "
      "(array): 1-D or 2-D input.\n    k (int): Diagonal offset.\n\nReturns:\n    array");
  m.def(
      "trace",
      [](const array& a, int offset, int axis1, int axis2, std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::trace(a, offset, axis1, axis2, dtype, s);
      },
      "a"_a, "offset"_a = 0, "axis1"_a = 0, "axis2"_a = 1, "dtype"_a = nb::none(), nb::kw_only(),
      "stream"_a = nb::none(),
      "Sum along a diagonal.\n\nArgs:\n    a (array): Input (at least 2-D).\n    offset (int): Diagonal offset."
      "\n    axis1 (int): First axis.\n    axis2 (int): Second axis.\n    dtype (Dtype, optional): Result "
      "dtype.\n\nReturns:\n    array");
  m.def(
      "diff", [](const array& a, int n, int axis, StreamOrDevice s) { return kiln::diff(a, n, axis, s); }, "a"_a,
      "n"_a = 1, "axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),
      "The n-th discrete difference along an axis (``!=`` for booleans).\n\nArgs:\n    a (array): Input.\n    "
      "n (int): Order.\n    axis (int): Axis.\n\nReturns:\n    array");
  m.def(
      "contiguous",
      [](const array& a, bool allow_col_major, StreamOrDevice s) { return kiln::contiguous(a, allow_col_major, s); },
      "a"_a, "allow_col_major"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "A row-major copy of the array.\n\nArgs:\n    a (array): Input.\n    allow_col_major (bool): Accepted "
      "for MLX compatibility.\n\nReturns:\n    array");
  m.def(
      "tensordot",
      [](const array& a, const array& b, nb::handle axes, StreamOrDevice s) {
        if (nb::isinstance<nb::int_>(axes)) return kiln::tensordot(a, b, nb::cast<int>(axes), s);
        auto pair = nb::cast<std::vector<nb::object>>(axes);
        if (pair.size() != 2) {
          throw std::invalid_argument("[tensordot] axes must be an int or a pair of axis sequences.");
        }
        auto side = [](nb::handle h) {
          if (nb::isinstance<nb::int_>(h)) return std::vector<int>{nb::cast<int>(h)};
          return nb::cast<std::vector<int>>(h);
        };
        return kiln::tensordot(a, b, side(pair[0]), side(pair[1]), s);
      },
      "a"_a, "b"_a, "axes"_a = 2, nb::kw_only(), "stream"_a = nb::none(),
      nb::sig("def tensordot(a: array, b: array, /, axes: int | list[Sequence[int]] = 2, *, stream: Stream | "
              "Device | None = None) -> array"),
      "Sum of products over paired axes.\n\nArgs:\n    a (array): First input.\n    b (array): Second input.\n"
      "    axes (int | list[Sequence[int]]): The last ``axes`` axes of ``a`` with the first of ``b``, or the "
      "axes of each.\n\nReturns:\n    array");
  m.def(
      "inner", [](const array& a, const array& b, StreamOrDevice s) { return kiln::inner(a, b, s); }, "a"_a,
      "b"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Inner product over the last axes.\n\nArgs:\n    a (array): First input.\n    b (array): Second input.\n\n"
      "Returns:\n    array");
  m.def(
      "outer", [](const array& a, const array& b, StreamOrDevice s) { return kiln::outer(a, b, s); }, "a"_a,
      "b"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Outer product of the flattened inputs.\n\nArgs:\n    a (array): First input.\n    b (array): Second "
      "input.\n\nReturns:\n    array");
  m.def(
      "vecdot",
      [](const array& a, const array& b, int axis, StreamOrDevice s) { return kiln::vecdot(a, b, axis, s); },
      "a"_a, "b"_a, nb::kw_only(), "axis"_a = -1, "stream"_a = nb::none(),
      "Dot product along an axis (``a`` conjugated), broadcasting the other axes.\n\nArgs:\n    a (array): "
      "First input.\n    b (array): Second input.\n    axis (int): Axis.\n\nReturns:\n    array");
  m.def(
      "kron", [](const array& a, const array& b, StreamOrDevice s) { return kiln::kron(a, b, s); }, "a"_a, "b"_a,
      nb::kw_only(), "stream"_a = nb::none(),
      "Kronecker product.\n\nArgs:\n    a (array): First input.\n    b (array): Second input.\n\nReturns:\n"
      "    array");
  m.def(
      "addmm",
      [](const array& c, const array& a, const array& b, float alpha, float beta, StreamOrDevice s) {
        return kiln::addmm(c, a, b, alpha, beta, s);
      },
      "c"_a, "a"_a, "b"_a, "alpha"_a = 1.0f, "beta"_a = 1.0f, nb::kw_only(),
      "stream"_a = nb::none(),
      "``alpha * (a @ b) + beta * c``.\n\nArgs:\n    c (array): Addend.\n    a (array): First factor.\n    b "
      "(array): Second factor.\n    alpha (float): Scale of the product.\n    beta (float): Scale of ``c``.\n\n"
      "Returns:\n    array");
  m.def(
      "einsum",
      [](const std::string& subscripts, nb::args operands, StreamOrDevice s) {
        return kiln::einsum(subscripts, operand_list(operands), s);
      },
      "subscripts"_a, "operands"_a, nb::kw_only(), "stream"_a = nb::none(),
      nb::sig("def einsum(subscripts: str, *operands: array, stream: Stream | Device | None = None) -> array"),
      "Einstein summation; pairs are contracted greedily, smallest intermediate first.\n\nArgs:\n    "
      "subscripts (str): e.g. ``'ij,jk->ik'`` (``...`` allowed).\n    *operands (array): Inputs.\n\n"
      "Returns:\n    array");
  m.def(
      "einsum_path",
      [](const std::string& subscripts, nb::args operands) {
        auto [path, desc] = kiln::einsum_path(subscripts, operand_list(operands));
        nb::list p;
        for (auto& step : path) p.append(nb::make_tuple(step[0], step[1]));
        return nb::make_tuple(p, desc);
      },
      "subscripts"_a, "operands"_a,
      nb::sig("def einsum_path(subscripts: str, *operands: array) -> tuple[list[tuple[int, int]], str]"),
      "The pairwise contraction order ``einsum`` uses.\n\nArgs:\n    subscripts (str): Subscripts.\n    "
      "*operands (array): Inputs.\n\nReturns:\n    tuple[list[tuple[int, int]], str]: The path (indices into "
      "the operand list, the result appended at its end) and a description.");

  m.def(
      "isdtype",
      [](Dtype dtype, nb::handle kind) {
        if (nb::isinstance<nb::tuple>(kind)) {
          for (nb::handle k : nb::cast<nb::tuple>(kind)) {
            if (dtype_is_kind(dtype, k)) return true;
          }
          return false;
        }
        return dtype_is_kind(dtype, kind);
      },
      "dtype"_a, "kind"_a,
      nb::sig("def isdtype(dtype: Dtype, kind: Dtype | str | tuple[Dtype | str, ...]) -> bool"),
      "Whether a dtype belongs to any of the given kinds.\n\nArgs:\n    dtype (Dtype): The dtype.\n    kind "
      "(Dtype | str | tuple): A dtype, a kind name (``'bool'``, ``'signed integer'``, ``'unsigned "
      "integer'``, ``'integral'``, ``'real floating'``, ``'complex floating'``, ``'numeric'``) or a tuple of "
      "them.\n\nReturns:\n    bool");
  m.def(
      "can_cast",
      [](nb::handle from, Dtype to) {
        Dtype t = nb::isinstance<array>(from) ? nb::cast<array>(from).dtype() : nb::cast<Dtype>(from);
        return promote_types(t, to) == to;
      },
      "from_"_a, "to"_a, nb::sig("def can_cast(from_: array | Dtype, to: Dtype) -> bool"),
      "Whether ``from_`` casts to ``to`` under promotion: promoting the two gives ``to``.\n\nArgs:\n    "
      "from_ (array | Dtype): Source array or dtype.\n    to (Dtype): Destination dtype.\n\nReturns:\n    bool");

  m.def(
      "set_printoptions", [](int precision) { print_precision = precision; },
      "precision"_a = -1,
      "Sets the number of digits after the decimal point when printing floats.\n\nArgs:\n    precision "
      "(int): Digits (fixed notation); -1 restores the default format.");
  nb::class_<PrintOptionsContext>(m, "_PrintOptionsContext")
      .def("__enter__",
           [](PrintOptionsContext& c) {
             c.saved = print_precision;
             print_precision = c.precision;
             return &c;
           }, nb::rv_policy::reference)
      .def("__exit__", [](PrintOptionsContext& c, nb::args) { print_precision = c.saved; });
  m.def(
      "printoptions", [](int precision) { return PrintOptionsContext{precision}; }, "precision"_a = -1,
      "Context manager that sets the print precision and restores the previous one on exit.\n\nArgs:\n    "
      "precision (int): Digits after the decimal point; -1 for the default format.\n\nReturns:\n    A "
      "context manager.");

  nb::class_<FInfo>(m, "finfo", "Machine limits of an inexact dtype.")
      .def("__init__", [](FInfo* self, Dtype t) { new (self) FInfo(make_finfo(t)); }, "dtype"_a)
      .def_ro("min", &FInfo::min)
      .def_ro("max", &FInfo::max)
      .def_ro("eps", &FInfo::eps)
      .def_ro("smallest_normal", &FInfo::smallest_normal)
      .def_ro("bits", &FInfo::bits)
      .def_ro("dtype", &FInfo::dtype)
      .def("__repr__", [](const FInfo& f) {
        std::ostringstream os;
        os << "finfo(min=" << nb::cast<std::string>(nb::str(nb::float_(f.min)))
           << ", max=" << nb::cast<std::string>(nb::str(nb::float_(f.max))) << ", dtype=" << f.dtype << ")";
        return os.str();
      });
  nb::class_<IInfo>(m, "iinfo", "Machine limits of an integer dtype.")
      .def("__init__", [](IInfo* self, Dtype t) { new (self) IInfo(make_iinfo(t)); }, "dtype"_a)
      .def_ro("min", &IInfo::min)
      .def_ro("max", &IInfo::max)
      .def_ro("dtype", &IInfo::dtype)
      .def("__repr__", [](const IInfo& f) {
        std::ostringstream os;
        os << "iinfo(min=" << nb::cast<std::string>(nb::str(f.min)) << ", max=" << nb::cast<std::string>(nb::str(f.max))
           << ", dtype=" << f.dtype << ")";
        return os.str();
      });
  m.def(
      "count_nonzero",
      [](const array& a, const std::optional<IntOrVec>& axis, bool keepdims, StreamOrDevice s) {
        return axis ? kiln::count_nonzero(a, to_axes(*axis), keepdims, s) : kiln::count_nonzero(a, keepdims, s);
      },
      "a"_a, nb::kw_only(), "axis"_a = nb::none(), "keepdims"_a = false, "stream"_a = nb::none(),
      "Count the non-zero elements over the given axes (all by default).\n\nArgs:\n    a (array): Input.\n    "
      "axis (int or list(int), optional): Axes to count over.\n    keepdims (bool): Keep reduced axes as size 1."
      "\n\nReturns:\n    array: int32 counts.");
  m.def(
      "trunc", [](const array& a, StreamOrDevice s) { return kiln::trunc(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(),
      "Round toward zero.\n\nArgs:\n    a (array): Input.\n\nReturns:\n    array");
  m.def(
      "median",
      [](const array& a, const std::optional<IntOrVec>& axis, bool keepdims, StreamOrDevice s) {
        return axis ? kiln::median(a, to_axes(*axis), keepdims, s) : kiln::median(a, keepdims, s);
      },
      "a"_a, "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "Median over the given axes (all by default); integer inputs give float32.\n\nArgs:\n    a (array): "
      "Input.\n    axis (int or list(int), optional): Axes to reduce.\n    keepdims (bool): Keep reduced axes "
      "as size 1.\n\nReturns:\n    array");
  m.def(
      "searchsorted",
      [](const array& seq, const array& values, const std::string& side, StreamOrDevice s) {
        if (side != "left" && side != "right") {
          throw std::invalid_argument("[searchsorted] side must be 'left' or 'right', got '" + side + "'.");
        }
        return kiln::searchsorted(seq, values, side == "right", s);
      },
      "sorted_sequence"_a, "values"_a, "side"_a = "left", nb::kw_only(), "stream"_a = nb::none(),
      "Indices at which ``values`` would be inserted into the sorted 1-D ``sorted_sequence``.\n\nArgs:\n    "
      "sorted_sequence (array): 1-D sorted input.\n    values (array): Values to place.\n    side (str): "
      "``'left'`` (before equal elements) or ``'right'``.\n\nReturns:\n    array: uint32 indices.");
  m.def(
      "minmax",
      [](const array& a, const std::optional<IntOrVec>& axis, bool keepdims, StreamOrDevice s) {
        if (!axis) return nb::make_tuple(kiln::min(a, keepdims, s), kiln::max(a, keepdims, s));
        auto ax = to_axes(*axis);
        return nb::make_tuple(kiln::min(a, ax, keepdims, s), kiln::max(a, ax, keepdims, s));
      },
      "a"_a, "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "The minimum and the maximum over the given axes (all by default).\n\nArgs:\n    a (array): Input.\n    "
      "axis (int or list(int), optional): Axes to reduce.\n    keepdims (bool): Keep reduced axes as size 1."
      "\n\nReturns:\n    tuple(array, array)");
  // MLX's aliases: uninitialized memory is never handed out, so empty is zeros.
  m.attr("empty") = m.attr("zeros");
  m.attr("empty_like") = m.attr("zeros_like");
  m.attr("cumulative_sum") = m.attr("cumsum");
  m.attr("cumulative_prod") = m.attr("cumprod");
  m.attr("matrix_norm") = m.attr("linalg").attr("norm");
}
