#include "kiln/ops.h"
#include "kiln/ops_utils.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::str;
using detail::normalize_axis;


// Sorted, unique, non-negative axes; throws on out-of-range or repeated axes.
std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim, const char* op) {
  std::vector<int> out;
  for (int ax : axes) out.push_back(normalize_axis(ax, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    throw std::invalid_argument(str("[", op, "] Received duplicate axes."));
  }
  return out;
}

std::vector<int> all_axes(const array& a) {
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

Dtype at_least_float(Dtype t) { return is_inexact(t) ? t : float32; }

template <typename P, typename... Params>
array make_unary(const array& a, Dtype out_dtype, Stream st, Params&&... params) {
  return array(a.shape(), out_dtype, std::make_shared<P>(st, std::forward<Params>(params)...), {a});
}

// Unary math on floats: integer inputs become float32 first, as in MLX.
template <typename P>
array float_unary(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  return make_unary<P>(astype(a, t, st), t, st);
}

// Promotes to a common dtype and broadcasts both operands to a common shape.
std::pair<array, array> prepare_binary(const array& a, const array& b, Dtype dtype, Stream st) {
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  return {broadcast_to(astype(a, dtype, st), shape, st), broadcast_to(astype(b, dtype, st), shape, st)};
}

template <typename P>
array binary(const array& a, const array& b, Dtype in_dtype, Dtype out_dtype, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto [x, y] = prepare_binary(a, b, in_dtype, st);
  Shape shape = x.shape();
  return array(std::move(shape), out_dtype, std::make_shared<P>(st), {x, y});
}

template <typename P>
array same_type_binary(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  return binary<P>(a, b, t, t, s);
}

template <typename P>
array compare(const array& a, const array& b, StreamOrDevice s) {
  return binary<P>(a, b, promote_types(a.dtype(), b.dtype()), bool_, s);
}

template <typename P>
array bitwise(const array& a, const array& b, const char* op, StreamOrDevice s) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (is_inexact(t)) {
    throw std::invalid_argument(str("[", op, "] Bitwise operations require integer or boolean inputs, got ", t, "."));
  }
  return binary<P>(a, b, t, t, s);
}

}  // namespace

// ---------------------------------------------------------------- creation

array arange(double start, double stop, double step, Dtype dtype, StreamOrDevice s) {
  if (dtype == bool_) throw std::invalid_argument("[arange] Cannot use bool as dtype.");
  if (step == 0) throw std::invalid_argument("[arange] Cannot compute length with step 0.");
  if (std::isnan(start) || std::isnan(stop) || std::isnan(step) || std::isinf(start) || std::isinf(stop)) {
    throw std::invalid_argument("[arange] Cannot compute length with nan or infinite bounds.");
  }
  double real_size = std::ceil((stop - start) / step);
  if (real_size > std::numeric_limits<int32_t>::max()) {
    throw std::invalid_argument(str("[arange] Maximum size exceeded: ", real_size, " elements."));
  }
  int size = std::max(static_cast<int>(real_size), 0);
  return array({size}, dtype, std::make_shared<Arange>(to_stream(s), start, stop, step), {});
}
array arange(double start, double stop, double step, StreamOrDevice s) {
  return arange(start, stop, step, float32, s);
}
array arange(double start, double stop, Dtype dtype, StreamOrDevice s) { return arange(start, stop, 1.0, dtype, s); }
array arange(double start, double stop, StreamOrDevice s) { return arange(start, stop, 1.0, float32, s); }
array arange(double stop, Dtype dtype, StreamOrDevice s) { return arange(0.0, stop, 1.0, dtype, s); }
array arange(double stop, StreamOrDevice s) { return arange(0.0, stop, 1.0, float32, s); }
array arange(int start, int stop, int step, StreamOrDevice s) {
  return arange(static_cast<double>(start), static_cast<double>(stop), static_cast<double>(step), int32, s);
}
array arange(int start, int stop, StreamOrDevice s) { return arange(start, stop, 1, s); }
array arange(int stop, StreamOrDevice s) { return arange(0, stop, 1, s); }

array linspace(double start, double stop, int num, Dtype dtype, StreamOrDevice s) {
  if (num < 0) throw std::invalid_argument(str("[linspace] Number of samples, ", num, ", must be non-negative."));
  if (num == 1) return astype(array({static_cast<float>(start)}), dtype, s);
  Stream st = to_stream(s);
  // Computed in float64 so the end points are exact in every output dtype.
  double delta = num > 1 ? (stop - start) / (num - 1) : 0.0;
  array t = arange(0.0, static_cast<double>(num), 1.0, float64, st);
  array out = add(multiply(t, array(delta, float64), st), array(start, float64), st);
  return astype(out, dtype, st);
}

array full(Shape shape, array vals, Dtype dtype, StreamOrDevice s) {
  Stream st = to_stream(s);
  for (auto d : shape) {
    if (d < 0) throw std::invalid_argument(str("[full] Negative dimensions not allowed, got shape ", shape, "."));
  }
  array v = broadcast_to(astype(std::move(vals), dtype, st), shape, st);
  return array(std::move(shape), dtype, std::make_shared<Full>(st), {v});
}
array full(Shape shape, array vals, StreamOrDevice s) {
  Dtype t = vals.dtype();
  return full(std::move(shape), std::move(vals), t, s);
}
array zeros(const Shape& shape, Dtype dtype, StreamOrDevice s) { return full(shape, array(0, dtype), dtype, s); }
array zeros_like(const array& a, StreamOrDevice s) { return zeros(a.shape(), a.dtype(), s); }
array ones(const Shape& shape, Dtype dtype, StreamOrDevice s) { return full(shape, array(1, dtype), dtype, s); }
array ones_like(const array& a, StreamOrDevice s) { return ones(a.shape(), a.dtype(), s); }
array full_like(const array& a, array vals, StreamOrDevice s) { return full(a.shape(), std::move(vals), a.dtype(), s); }

array eye(int n, int m, int k, Dtype dtype, StreamOrDevice s) {
  if (n < 0 || m < 0) throw std::invalid_argument(str("[eye] N and M must be non-negative, got ", n, " and ", m, "."));
  Stream st = to_stream(s);
  array rows = reshape(arange(0, n, st), {n, 1}, st);
  array cols = reshape(arange(-k, m - k, st), {1, m}, st);
  return astype(equal(rows, cols, st), dtype, st);
}
array eye(int n, Dtype dtype, StreamOrDevice s) { return eye(n, n, 0, dtype, s); }
array identity(int n, Dtype dtype, StreamOrDevice s) { return eye(n, n, 0, dtype, s); }

// ---------------------------------------------------------------- conversion

array astype(array a, Dtype dtype, StreamOrDevice s) {
  if (a.dtype() == dtype) return a;
  Stream st = to_stream(s);
  Shape shape = a.shape();
  return array(std::move(shape), dtype, std::make_shared<AsType>(st, dtype), {std::move(a)});
}

array copy(array a, StreamOrDevice s) {
  Stream st = to_stream(s);
  Shape shape = a.shape();
  Dtype t = a.dtype();
  return array(std::move(shape), t, std::make_shared<Copy>(st), {std::move(a)});
}

array as_strided(array a, Shape shape, Strides strides, size_t offset, StreamOrDevice s) {
  if (shape.size() != strides.size()) {
    throw std::invalid_argument(str("[as_strided] Shape ", shape, " and strides ", strides, " must have the same length."));
  }
  Stream st = to_stream(s);
  Dtype t = a.dtype();
  Shape out_shape = shape;
  return array(std::move(out_shape), t, std::make_shared<AsStrided>(st, std::move(shape), std::move(strides), offset),
               {std::move(a)});
}

// ---------------------------------------------------------------- shape

array reshape(const array& a, Shape shape, StreamOrDevice s) {
  int infer = -1;
  int64_t size = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("[reshape] Reshape can only infer one dimension.");
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw std::invalid_argument(str("[reshape] Invalid dimension ", shape[i], " in shape ", shape, "."));
    } else {
      size *= shape[i];
    }
  }
  if (infer >= 0) {
    if (size == 0 || static_cast<int64_t>(a.size()) % size != 0) {
      throw std::invalid_argument(str("[reshape] Cannot infer the shape of an array of size ", a.size(),
                                      " into shape ", shape, "."));
    }
    shape[infer] = static_cast<ShapeElem>(a.size() / size);
    size *= shape[infer];
  }
  if (size != static_cast<int64_t>(a.size())) {
    throw std::invalid_argument(str("[reshape] Cannot reshape array of size ", a.size(), " into shape ", shape, "."));
  }
  if (shape == a.shape()) return a;
  Stream st = to_stream(s);
  Shape out = shape;
  return array(std::move(out), a.dtype(), std::make_shared<Reshape>(st, std::move(shape)), {a});
}

array flatten(const array& a, int start_axis, int end_axis, StreamOrDevice s) {
  int nd = a.ndim();
  if (nd == 0) return reshape(a, {1}, s);
  int start = normalize_axis(start_axis, nd, "flatten");
  int end = normalize_axis(end_axis, nd, "flatten");
  if (start > end) {
    throw std::invalid_argument(str("[flatten] start_axis ", start_axis, " must come before end_axis ", end_axis, "."));
  }
  Shape shape(a.shape().begin(), a.shape().begin() + start);
  int64_t n = 1;
  for (int i = start; i <= end; ++i) n *= a.shape(i);
  shape.push_back(static_cast<ShapeElem>(n));
  shape.insert(shape.end(), a.shape().begin() + end + 1, a.shape().end());
  return reshape(a, std::move(shape), s);
}
array flatten(const array& a, StreamOrDevice s) { return flatten(a, 0, -1, s); }

array squeeze(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "squeeze");
  for (int i : ax) {
    if (a.shape(i) != 1) {
      throw std::invalid_argument(str("[squeeze] Cannot squeeze axis ", i, " with size ", a.shape(i), " which is not 1."));
    }
  }
  if (ax.empty()) return a;
  Shape shape;
  for (int i = 0; i < a.ndim(); ++i) {
    if (!std::binary_search(ax.begin(), ax.end(), i)) shape.push_back(a.shape(i));
  }
  return array(std::move(shape), a.dtype(), std::make_shared<Squeeze>(to_stream(s), std::move(ax)), {a});
}
array squeeze(const array& a, int axis, StreamOrDevice s) { return squeeze(a, std::vector<int>{axis}, s); }
array squeeze(const array& a, StreamOrDevice s) {
  std::vector<int> axes;
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) == 1) axes.push_back(i);
  }
  return squeeze(a, axes, s);
}

array expand_dims(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  int out_ndim = a.ndim() + static_cast<int>(axes.size());
  auto ax = normalize_axes(axes, out_ndim, "expand_dims");
  if (ax.empty()) return a;
  Shape shape;
  size_t k = 0, j = 0;
  for (int i = 0; i < out_ndim; ++i) {
    if (k < ax.size() && ax[k] == i) {
      shape.push_back(1);
      ++k;
    } else {
      shape.push_back(a.shape()[j++]);
    }
  }
  return array(std::move(shape), a.dtype(), std::make_shared<ExpandDims>(to_stream(s), std::move(ax)), {a});
}
array expand_dims(const array& a, int axis, StreamOrDevice s) { return expand_dims(a, std::vector<int>{axis}, s); }

array slice(const array& a, Shape start, Shape stop, Shape strides, StreamOrDevice s) {
  int nd = a.ndim();
  if (static_cast<int>(start.size()) != nd || static_cast<int>(stop.size()) != nd ||
      static_cast<int>(strides.size()) != nd) {
    throw std::invalid_argument(str("[slice] Invalid number of indices or strides for array with ", nd, " dimensions."));
  }
  Shape out_shape(nd);
  bool identity = true;
  for (int i = 0; i < nd; ++i) {
    int64_t n = a.shape(i), st = strides[i];
    if (st == 0) throw std::invalid_argument("[slice] Slice step cannot be zero.");
    // Python's slice.indices(): negative bounds count from the end, then clamp.
    int64_t b = start[i], e = stop[i];
    if (b < 0) b += n;
    if (e < 0) e += n;
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      out_shape[i] = static_cast<ShapeElem>(e > b ? (e - b + st - 1) / st : 0);
    } else {
      b = std::clamp<int64_t>(b, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      out_shape[i] = static_cast<ShapeElem>(b > e ? (b - e - st - 1) / (-st) : 0);
    }
    start[i] = static_cast<ShapeElem>(b);
    stop[i] = static_cast<ShapeElem>(e);
    identity = identity && b == 0 && st == 1 && out_shape[i] == n;
  }
  if (identity) return a;
  return array(std::move(out_shape), a.dtype(),
               std::make_shared<Slice>(to_stream(s), std::move(start), std::move(stop), std::move(strides)), {a});
}
array slice(const array& a, Shape start, Shape stop, StreamOrDevice s) {
  Shape strides(a.ndim(), 1);
  return slice(a, std::move(start), std::move(stop), std::move(strides), s);
}

std::vector<array> split(const array& a, const Shape& indices, int axis, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), "split");
  int n = a.shape(ax);
  // Python semantics: indices are clamped and may decrease (giving empty pieces).
  std::vector<int> bounds;
  for (auto i : indices) {
    int v = i < 0 ? i + n : i;
    bounds.push_back(std::clamp(v, 0, n));
  }
  std::vector<Shape> shapes;
  int prev = 0;
  for (size_t k = 0; k <= bounds.size(); ++k) {
    int end = k < bounds.size() ? bounds[k] : n;
    Shape sh = a.shape();
    sh[ax] = std::max(end - prev, 0);
    shapes.push_back(sh);
    prev = std::max(prev, end);
  }
  std::vector<Dtype> dtypes(shapes.size(), a.dtype());
  return array::make_arrays(std::move(shapes), dtypes, std::make_shared<Split>(to_stream(s), bounds, ax), {a});
}
std::vector<array> split(const array& a, const Shape& indices, StreamOrDevice s) { return split(a, indices, 0, s); }
std::vector<array> split(const array& a, int num_splits, int axis, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), "split");
  if (num_splits <= 0 || a.shape(ax) % num_splits != 0) {
    throw std::invalid_argument(str("[split] Array split does not result in sub arrays with equal size: axis of size ",
                                    a.shape(ax), " into ", num_splits, " parts."));
  }
  int step = a.shape(ax) / num_splits;
  Shape indices;
  for (int i = 1; i < num_splits; ++i) indices.push_back(i * step);
  return split(a, indices, ax, s);
}
std::vector<array> split(const array& a, int num_splits, StreamOrDevice s) { return split(a, num_splits, 0, s); }

array concatenate(std::vector<array> arrays, int axis, StreamOrDevice s) {
  if (arrays.empty()) throw std::invalid_argument("[concatenate] No arrays provided for concatenation.");
  int nd = arrays[0].ndim();
  if (nd == 0) throw std::invalid_argument("[concatenate] Zero-dimensional arrays cannot be concatenated.");
  int ax = normalize_axis(axis, nd, "concatenate");
  Shape shape = arrays[0].shape();
  Dtype t = arrays[0].dtype();
  for (size_t i = 1; i < arrays.size(); ++i) {
    const auto& b = arrays[i];
    bool ok = b.ndim() == nd;
    for (int d = 0; ok && d < nd; ++d) ok = d == ax || b.shape(d) == shape[d];
    if (!ok) {
      throw std::invalid_argument(str("[concatenate] All the input array dimensions must match exactly except for the "
                                      "concatenation axis. However, the provided shapes are ", arrays[0].shape(), " and ",
                                      b.shape(), ", and the concatenation axis is ", axis, "."));
    }
    shape[ax] += b.shape(ax);
    t = promote_types(t, b.dtype());
  }
  if (arrays.size() == 1) return arrays[0];
  Stream st = to_stream(s);
  for (auto& x : arrays) x = astype(x, t, st);
  return array(std::move(shape), t, std::make_shared<Concatenate>(st, ax), std::move(arrays));
}
array concatenate(std::vector<array> arrays, StreamOrDevice s) {
  for (auto& x : arrays) x = flatten(x, s);
  return concatenate(std::move(arrays), 0, s);
}

array stack(const std::vector<array>& arrays, int axis, StreamOrDevice s) {
  if (arrays.empty()) throw std::invalid_argument("[stack] No arrays provided for stacking.");
  for (auto& x : arrays) {
    if (x.shape() != arrays[0].shape()) {
      throw std::invalid_argument(str("[stack] All arrays must have the same shape, got ", arrays[0].shape(), " and ",
                                      x.shape(), "."));
    }
  }
  int ax = normalize_axis(axis, arrays[0].ndim() + 1, "stack");
  std::vector<array> expanded;
  for (auto& x : arrays) expanded.push_back(expand_dims(x, ax, s));
  if (expanded.size() == 1) return expanded[0];
  return concatenate(std::move(expanded), ax, s);
}
array stack(const std::vector<array>& arrays, StreamOrDevice s) { return stack(arrays, 0, s); }

array transpose(const array& a, std::vector<int> axes, StreamOrDevice s) {
  int nd = a.ndim();
  if (static_cast<int>(axes.size()) != nd) {
    throw std::invalid_argument(str("[transpose] Received ", axes.size(), " axes for array with ", nd, " dimensions."));
  }
  std::vector<bool> seen(nd, false);
  for (auto& ax : axes) {
    ax = normalize_axis(ax, nd, "transpose");
    if (seen[ax]) throw std::invalid_argument("[transpose] Repeated axis in transpose.");
    seen[ax] = true;
  }
  bool identity = true;
  for (int i = 0; i < nd; ++i) identity = identity && axes[i] == i;
  if (identity) return a;
  Shape shape(nd);
  for (int i = 0; i < nd; ++i) shape[i] = a.shape(axes[i]);
  return array(std::move(shape), a.dtype(), std::make_shared<Transpose>(to_stream(s), std::move(axes)), {a});
}
array transpose(const array& a, StreamOrDevice s) {
  std::vector<int> axes(a.ndim());
  std::iota(axes.rbegin(), axes.rend(), 0);
  return transpose(a, std::move(axes), s);
}

array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s) {
  int a1 = normalize_axis(axis1, a.ndim(), "swapaxes"), a2 = normalize_axis(axis2, a.ndim(), "swapaxes");
  auto axes = all_axes(a);
  std::swap(axes[a1], axes[a2]);
  return transpose(a, std::move(axes), s);
}

array moveaxis(const array& a, int source, int destination, StreamOrDevice s) {
  int src = normalize_axis(source, a.ndim(), "moveaxis"), dst = normalize_axis(destination, a.ndim(), "moveaxis");
  auto axes = all_axes(a);
  axes.erase(axes.begin() + src);
  axes.insert(axes.begin() + dst, src);
  return transpose(a, std::move(axes), s);
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      throw std::invalid_argument(str("[broadcast_shapes] Shapes ", a, " and ", b, " cannot be broadcast."));
    }
  }
  return out;
}
Shape broadcast_shapes(const std::vector<Shape>& shapes) {
  if (shapes.empty()) throw std::invalid_argument("[broadcast_shapes] No shapes provided.");
  Shape out = shapes[0];
  for (size_t i = 1; i < shapes.size(); ++i) out = broadcast_shapes(out, shapes[i]);
  return out;
}

array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s) {
  if (a.shape() == shape) return a;
  bool ok = shape.size() >= a.shape().size();
  size_t off = shape.size() - a.shape().size();
  for (size_t i = 0; ok && i < a.shape().size(); ++i) ok = a.shape()[i] == 1 || a.shape()[i] == shape[off + i];
  for (auto d : shape) ok = ok && d >= 0;
  if (!ok) throw std::invalid_argument(str("[broadcast_to] Shape ", a.shape(), " cannot be broadcast to ", shape, "."));
  return array(shape, a.dtype(), std::make_shared<Broadcast>(to_stream(s), shape), {a});
}

std::vector<array> broadcast_arrays(const std::vector<array>& inputs, StreamOrDevice s) {
  std::vector<Shape> shapes;
  for (auto& x : inputs) shapes.push_back(x.shape());
  Shape shape = broadcast_shapes(shapes);
  std::vector<array> out;
  for (auto& x : inputs) out.push_back(broadcast_to(x, shape, s));
  return out;
}

// ---------------------------------------------------------------- unary

array abs(const array& a, StreamOrDevice s) {
  if (is_unsigned(a.dtype())) return a;
  Dtype t = a.dtype() == complex64 ? float32 : a.dtype();
  return make_unary<Abs>(a, t, to_stream(s));
}
array negative(const array& a, StreamOrDevice s) {
  if (a.dtype() == bool_) throw std::invalid_argument("[negative] The negative of a boolean array is not supported.");
  return make_unary<Negative>(a, a.dtype(), to_stream(s));
}
array sign(const array& a, StreamOrDevice s) {
  if (a.dtype() == bool_) return a;
  return make_unary<Sign>(a, a.dtype(), to_stream(s));
}
array logical_not(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  return make_unary<LogicalNot>(astype(a, bool_, st), bool_, st);
}
array bitwise_invert(const array& a, StreamOrDevice s) {
  if (is_inexact(a.dtype())) {
    throw std::invalid_argument(str("[bitwise_invert] Bitwise inverse requires an integer or boolean input, got ", a.dtype(), "."));
  }
  return make_unary<BitwiseInvert>(a, a.dtype(), to_stream(s));
}
array reciprocal(const array& a, StreamOrDevice s) {
  Dtype t = at_least_float(a.dtype());
  return divide(array(1.0f, t), a, s);
}
array square(const array& a, StreamOrDevice s) { return make_unary<Square>(a, a.dtype(), to_stream(s)); }
array sqrt(const array& a, StreamOrDevice s) { return float_unary<Sqrt>(a, s); }
array rsqrt(const array& a, StreamOrDevice s) { return float_unary<Rsqrt>(a, s); }
array exp(const array& a, StreamOrDevice s) { return float_unary<Exp>(a, s); }
array expm1(const array& a, StreamOrDevice s) { return float_unary<Expm1>(a, s); }
array log(const array& a, StreamOrDevice s) { return float_unary<Log>(a, s); }
array log2(const array& a, StreamOrDevice s) { return float_unary<Log2>(a, s); }
array log10(const array& a, StreamOrDevice s) { return float_unary<Log10>(a, s); }
array log1p(const array& a, StreamOrDevice s) { return float_unary<Log1p>(a, s); }
array sin(const array& a, StreamOrDevice s) { return float_unary<Sin>(a, s); }
array cos(const array& a, StreamOrDevice s) { return float_unary<Cos>(a, s); }
array tan(const array& a, StreamOrDevice s) { return float_unary<Tan>(a, s); }
array arcsin(const array& a, StreamOrDevice s) { return float_unary<ArcSin>(a, s); }
array arccos(const array& a, StreamOrDevice s) { return float_unary<ArcCos>(a, s); }
array arctan(const array& a, StreamOrDevice s) { return float_unary<ArcTan>(a, s); }
array sinh(const array& a, StreamOrDevice s) { return float_unary<Sinh>(a, s); }
array cosh(const array& a, StreamOrDevice s) { return float_unary<Cosh>(a, s); }
array tanh(const array& a, StreamOrDevice s) { return float_unary<Tanh>(a, s); }
array arcsinh(const array& a, StreamOrDevice s) { return float_unary<ArcSinh>(a, s); }
array arccosh(const array& a, StreamOrDevice s) { return float_unary<ArcCosh>(a, s); }
array arctanh(const array& a, StreamOrDevice s) { return float_unary<ArcTanh>(a, s); }
array sigmoid(const array& a, StreamOrDevice s) { return float_unary<Sigmoid>(a, s); }
array erf(const array& a, StreamOrDevice s) { return float_unary<Erf>(a, s); }
array erfinv(const array& a, StreamOrDevice s) { return float_unary<ErfInv>(a, s); }

array floor(const array& a, StreamOrDevice s) {
  if (a.dtype() == complex64) throw std::invalid_argument("[floor] Not supported for complex64.");
  if (!is_inexact(a.dtype())) return a;
  return make_unary<Floor>(a, a.dtype(), to_stream(s));
}
array ceil(const array& a, StreamOrDevice s) {
  if (a.dtype() == complex64) throw std::invalid_argument("[ceil] Not supported for complex64.");
  if (!is_inexact(a.dtype())) return a;
  return make_unary<Ceil>(a, a.dtype(), to_stream(s));
}
array round(const array& a, int decimals, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return a;
  Stream st = to_stream(s);
  if (decimals == 0) return make_unary<Round>(a, a.dtype(), st);
  array scale(std::pow(10.0, decimals), a.dtype());
  array scaled = multiply(a, scale, st);
  return divide(make_unary<Round>(scaled, a.dtype(), st), scale, st);
}
array conjugate(const array& a, StreamOrDevice s) {
  if (a.dtype() != complex64) return a;
  return make_unary<Conjugate>(a, complex64, to_stream(s));
}
array real(const array& a, StreamOrDevice s) {
  if (a.dtype() != complex64) return a;
  return make_unary<Real>(a, float32, to_stream(s));
}
array imag(const array& a, StreamOrDevice s) {
  if (a.dtype() != complex64) return zeros_like(a, s);
  return make_unary<Imag>(a, float32, to_stream(s));
}
array isnan(const array& a, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return full(a.shape(), array(false), bool_, s);
  return not_equal(a, a, s);
}
array isinf(const array& a, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return full(a.shape(), array(false), bool_, s);
  return logical_or(isposinf(a, s), isneginf(a, s), s);
}
array isfinite(const array& a, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return full(a.shape(), array(true), bool_, s);
  return logical_not(logical_or(isinf(a, s), isnan(a, s), s), s);
}
array isposinf(const array& a, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return full(a.shape(), array(false), bool_, s);
  return equal(a, array(std::numeric_limits<float>::infinity(), a.dtype()), s);
}
array isneginf(const array& a, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return full(a.shape(), array(false), bool_, s);
  return equal(a, array(-std::numeric_limits<float>::infinity(), a.dtype()), s);
}
array stop_gradient(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), std::make_shared<StopGradient>(to_stream(s)), {a});
}

// ---------------------------------------------------------------- binary

array add(const array& a, const array& b, StreamOrDevice s) { return same_type_binary<Add>(a, b, s); }
array subtract(const array& a, const array& b, StreamOrDevice s) {
  if (a.dtype() == bool_ && b.dtype() == bool_) {
    throw std::invalid_argument("[subtract] Subtraction of two boolean arrays is not supported.");
  }
  return same_type_binary<Subtract>(a, b, s);
}
array multiply(const array& a, const array& b, StreamOrDevice s) { return same_type_binary<Multiply>(a, b, s); }
array divide(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = at_least_float(promote_types(a.dtype(), b.dtype()));
  return binary<Divide>(a, b, t, t, s);
}
array floor_divide(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (t == complex64) throw std::invalid_argument("[floor_divide] Not supported for complex64.");
  return binary<FloorDivide>(a, b, t, t, s);
}
array remainder(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (t == complex64) throw std::invalid_argument("[remainder] Not supported for complex64.");
  return binary<Remainder>(a, b, t, t, s);
}
array power(const array& a, const array& b, StreamOrDevice s) { return same_type_binary<Power>(a, b, s); }
array maximum(const array& a, const array& b, StreamOrDevice s) { return same_type_binary<Maximum>(a, b, s); }
array minimum(const array& a, const array& b, StreamOrDevice s) { return same_type_binary<Minimum>(a, b, s); }
array equal(const array& a, const array& b, StreamOrDevice s) { return compare<Equal>(a, b, s); }
array not_equal(const array& a, const array& b, StreamOrDevice s) { return compare<NotEqual>(a, b, s); }
array less(const array& a, const array& b, StreamOrDevice s) { return compare<Less>(a, b, s); }
array less_equal(const array& a, const array& b, StreamOrDevice s) { return compare<LessEqual>(a, b, s); }
array greater(const array& a, const array& b, StreamOrDevice s) { return compare<Greater>(a, b, s); }
array greater_equal(const array& a, const array& b, StreamOrDevice s) { return compare<GreaterEqual>(a, b, s); }
array logical_and(const array& a, const array& b, StreamOrDevice s) { return binary<LogicalAnd>(a, b, bool_, bool_, s); }
array logical_or(const array& a, const array& b, StreamOrDevice s) { return binary<LogicalOr>(a, b, bool_, bool_, s); }
array logaddexp(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = at_least_float(promote_types(a.dtype(), b.dtype()));
  return binary<LogAddExp>(a, b, t, t, s);
}
array arctan2(const array& a, const array& b, StreamOrDevice s) {
  Dtype t = at_least_float(promote_types(a.dtype(), b.dtype()));
  return binary<ArcTan2>(a, b, t, t, s);
}
array bitwise_and(const array& a, const array& b, StreamOrDevice s) { return bitwise<BitwiseAnd>(a, b, "bitwise_and", s); }
array bitwise_or(const array& a, const array& b, StreamOrDevice s) { return bitwise<BitwiseOr>(a, b, "bitwise_or", s); }
array bitwise_xor(const array& a, const array& b, StreamOrDevice s) { return bitwise<BitwiseXor>(a, b, "bitwise_xor", s); }
array left_shift(const array& a, const array& b, StreamOrDevice s) { return bitwise<LeftShift>(a, b, "left_shift", s); }
array right_shift(const array& a, const array& b, StreamOrDevice s) { return bitwise<RightShift>(a, b, "right_shift", s); }

array where(const array& condition, const array& x, const array& y, StreamOrDevice s) {
  Stream st = to_stream(s);
  Shape shape = broadcast_shapes({condition.shape(), x.shape(), y.shape()});
  Dtype t = promote_types(x.dtype(), y.dtype());
  array c = broadcast_to(astype(condition, bool_, st), shape, st);
  array xx = broadcast_to(astype(x, t, st), shape, st);
  array yy = broadcast_to(astype(y, t, st), shape, st);
  return array(std::move(shape), t, std::make_shared<Select>(st), {c, xx, yy});
}

// ---------------------------------------------------------------- reductions

namespace {

array reduce(const array& a, const std::vector<int>& axes, bool keepdims, Reduce::ReduceType type, Dtype out_dtype,
             const char* op, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), op);
  Stream st = to_stream(s);
  if (ax.empty()) return astype(a, out_dtype, st);
  if (a.size() == 0 && (type == Reduce::Min || type == Reduce::Max)) {
    for (int i : ax) {
      if (a.shape(i) == 0) {
        throw std::invalid_argument(str("[", op, "] Cannot ", op, " over an empty axis (shape ", a.shape(), ")."));
      }
    }
  }
  Shape shape = a.shape();
  for (int i : ax) shape[i] = 1;
  array out(shape, out_dtype, std::make_shared<Reduce>(st, type, ax), {astype(a, type == Reduce::And || type == Reduce::Or ? bool_ : a.dtype(), st)});
  return keepdims ? out : squeeze(out, ax, st);
}

// MLX's sum/prod dtypes: small integers and bool accumulate into 32-bit integers.
Dtype sum_dtype(Dtype t) {
  if (t == bool_ || t == int8 || t == int16) return int32;
  if (t == uint8 || t == uint16) return uint32;
  return t;
}

}  // namespace

array all(const array& a, bool keepdims, StreamOrDevice s) { return all(a, all_axes(a), keepdims, s); }
array all(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(a, axes, keepdims, Reduce::And, bool_, "all", s);
}
array all(const array& a, int axis, bool keepdims, StreamOrDevice s) { return all(a, std::vector<int>{axis}, keepdims, s); }
array any(const array& a, bool keepdims, StreamOrDevice s) { return any(a, all_axes(a), keepdims, s); }
array any(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(a, axes, keepdims, Reduce::Or, bool_, "any", s);
}
array any(const array& a, int axis, bool keepdims, StreamOrDevice s) { return any(a, std::vector<int>{axis}, keepdims, s); }
array sum(const array& a, bool keepdims, StreamOrDevice s) { return sum(a, all_axes(a), keepdims, s); }
array sum(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  Dtype t = sum_dtype(a.dtype());
  Stream st = to_stream(s);
  return reduce(astype(a, t, st), axes, keepdims, Reduce::Sum, t, "sum", st);
}
array sum(const array& a, int axis, bool keepdims, StreamOrDevice s) { return sum(a, std::vector<int>{axis}, keepdims, s); }
array prod(const array& a, bool keepdims, StreamOrDevice s) { return prod(a, all_axes(a), keepdims, s); }
array prod(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  Dtype t = sum_dtype(a.dtype());
  Stream st = to_stream(s);
  return reduce(astype(a, t, st), axes, keepdims, Reduce::Prod, t, "prod", st);
}
array prod(const array& a, int axis, bool keepdims, StreamOrDevice s) { return prod(a, std::vector<int>{axis}, keepdims, s); }
array max(const array& a, bool keepdims, StreamOrDevice s) { return max(a, all_axes(a), keepdims, s); }
array max(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(a, axes, keepdims, Reduce::Max, a.dtype(), "max", s);
}
array max(const array& a, int axis, bool keepdims, StreamOrDevice s) { return max(a, std::vector<int>{axis}, keepdims, s); }
array min(const array& a, bool keepdims, StreamOrDevice s) { return min(a, all_axes(a), keepdims, s); }
array min(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(a, axes, keepdims, Reduce::Min, a.dtype(), "min", s);
}
array min(const array& a, int axis, bool keepdims, StreamOrDevice s) { return min(a, std::vector<int>{axis}, keepdims, s); }

array mean(const array& a, bool keepdims, StreamOrDevice s) { return mean(a, all_axes(a), keepdims, s); }
array mean(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "mean");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  int64_t n = 1;
  for (int i : ax) n *= a.shape(i);
  array total = reduce(astype(a, t, st), ax, keepdims, Reduce::Sum, t, "mean", st);
  return multiply(total, array(1.0 / static_cast<double>(n), t), st);
}
array mean(const array& a, int axis, bool keepdims, StreamOrDevice s) { return mean(a, std::vector<int>{axis}, keepdims, s); }

array var(const array& a, bool keepdims, int ddof, StreamOrDevice s) { return var(a, all_axes(a), keepdims, ddof, s); }
array var(const array& a, const std::vector<int>& axes, bool keepdims, int ddof, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "var");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  array x = astype(a, t, st);
  array centered = subtract(x, mean(x, ax, true, st), st);
  if (t == complex64) centered = abs(centered, st);
  int64_t n = 1;
  for (int i : ax) n *= a.shape(i);
  array sq = sum(square(centered, st), ax, keepdims, st);
  double denom = static_cast<double>(n - ddof);
  return multiply(sq, array(denom > 0 ? 1.0 / denom : std::numeric_limits<double>::quiet_NaN(), sq.dtype()), st);
}
array var(const array& a, int axis, bool keepdims, int ddof, StreamOrDevice s) {
  return var(a, std::vector<int>{axis}, keepdims, ddof, s);
}
array std(const array& a, bool keepdims, int ddof, StreamOrDevice s) { return sqrt(var(a, keepdims, ddof, s), s); }
array std(const array& a, const std::vector<int>& axes, bool keepdims, int ddof, StreamOrDevice s) {
  return sqrt(var(a, axes, keepdims, ddof, s), s);
}
array std(const array& a, int axis, bool keepdims, int ddof, StreamOrDevice s) {
  return sqrt(var(a, axis, keepdims, ddof, s), s);
}

namespace {
array arg_reduce(const array& a, int axis, bool keepdims, ArgReduce::ReduceType type, const char* op, StreamOrDevice s) {
  int ax = normalize_axis(axis, a.ndim(), op);
  if (a.shape(ax) == 0) throw std::invalid_argument(str("[", op, "] Cannot ", op, " over an empty axis."));
  Stream st = to_stream(s);
  Shape shape = a.shape();
  shape[ax] = 1;
  array out(shape, uint32, std::make_shared<ArgReduce>(st, type, ax), {a});
  return keepdims ? out : squeeze(out, ax, st);
}
}  // namespace

array argmax(const array& a, bool keepdims, StreamOrDevice s) {
  array flat = flatten(a, s);
  array out = arg_reduce(flat, 0, true, ArgReduce::ArgMax, "argmax", s);
  return keepdims ? reshape(out, Shape(a.ndim(), 1), s) : reshape(out, {}, s);
}
array argmax(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return arg_reduce(a, axis, keepdims, ArgReduce::ArgMax, "argmax", s);
}
array argmin(const array& a, bool keepdims, StreamOrDevice s) {
  array flat = flatten(a, s);
  array out = arg_reduce(flat, 0, true, ArgReduce::ArgMin, "argmin", s);
  return keepdims ? reshape(out, Shape(a.ndim(), 1), s) : reshape(out, {}, s);
}
array argmin(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return arg_reduce(a, axis, keepdims, ArgReduce::ArgMin, "argmin", s);
}

namespace {
// Moves `axes` to the end and merges them into one, so a last-axis primitive can run.
// Returns the reshaped array and the permutation used.
std::pair<array, std::vector<int>> gather_axes_last(const array& a, const std::vector<int>& ax, Stream st) {
  std::vector<int> perm;
  for (int i = 0; i < a.ndim(); ++i) {
    if (!std::binary_search(ax.begin(), ax.end(), i)) perm.push_back(i);
  }
  perm.insert(perm.end(), ax.begin(), ax.end());
  array t = transpose(a, perm, st);
  Shape shape(t.shape().begin(), t.shape().end() - ax.size());
  int64_t n = 1;
  for (int i : ax) n *= a.shape(i);
  shape.push_back(static_cast<ShapeElem>(n));
  return {reshape(t, shape, st), perm};
}
}  // namespace

array logsumexp(const array& a, bool keepdims, StreamOrDevice s) { return logsumexp(a, all_axes(a), keepdims, s); }
array logsumexp(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "logsumexp");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  array x = astype(a, t, st);
  if (ax.empty()) return x;
  auto [flat, perm] = gather_axes_last(x, ax, st);
  Shape out_shape = flat.shape();
  out_shape.back() = 1;
  array out(out_shape, t, std::make_shared<LogSumExp>(st), {flat});
  Shape kept = a.shape();
  for (int i : ax) kept[i] = 1;
  out = reshape(out, kept, st);
  return keepdims ? out : squeeze(out, ax, st);
}
array logsumexp(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return logsumexp(a, std::vector<int>{axis}, keepdims, s);
}

array softmax(const array& a, const std::vector<int>& axes, bool precise, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "softmax");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  if (t == complex64) throw std::invalid_argument("[softmax] Not supported for complex64.");
  array x = astype(a, t, st);
  if (ax.empty()) return divide(x, x, st);
  if (ax.size() == 1 && ax[0] == a.ndim() - 1) {
    return array(x.shape(), t, std::make_shared<Softmax>(st, precise), {x});
  }
  auto [flat, perm] = gather_axes_last(x, ax, st);
  array sm(flat.shape(), t, std::make_shared<Softmax>(st, precise), {flat});
  Shape permuted;
  for (int p : perm) permuted.push_back(a.shape(p));
  sm = reshape(sm, permuted, st);
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int>(i);
  return transpose(sm, inverse, st);
}
array softmax(const array& a, int axis, bool precise, StreamOrDevice s) {
  return softmax(a, std::vector<int>{axis}, precise, s);
}
array softmax(const array& a, bool precise, StreamOrDevice s) { return softmax(a, all_axes(a), precise, s); }

// ---------------------------------------------------------------- matmul

array matmul(const array& a_in, const array& b_in, StreamOrDevice s) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw std::invalid_argument("[matmul] Got 0 dimension input. Inputs must have at least one dimension.");
  }
  Stream st = to_stream(s);
  array a = a_in, b = b_in;
  if (a.ndim() == 1) a = reshape(a, {1, a.shape(0)}, st);
  if (b.ndim() == 1) b = reshape(b, {b.shape(0), 1}, st);
  if (a.shape(-1) != b.shape(-2)) {
    throw std::invalid_argument(str("[matmul] Last dimension of first input with shape ", a_in.shape(),
                                    " must match second to last dimension of second input with shape ", b_in.shape(), "."));
  }
  Dtype t = promote_types(a.dtype(), b.dtype());
  a = astype(a, t, st);
  b = astype(b, t, st);
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2), Shape(b.shape().begin(), b.shape().end() - 2));
  Shape a_shape = batch, b_shape = batch;
  a_shape.push_back(a.shape(-2));
  a_shape.push_back(a.shape(-1));
  b_shape.push_back(b.shape(-2));
  b_shape.push_back(b.shape(-1));
  a = broadcast_to(a, a_shape, st);
  b = broadcast_to(b, b_shape, st);
  Shape out_shape = batch;
  out_shape.push_back(a.shape(-2));
  out_shape.push_back(b.shape(-1));
  array out(out_shape, t, std::make_shared<Matmul>(st), {a, b});
  if (a_in.ndim() == 1) out = squeeze(out, -2, st);
  if (b_in.ndim() == 1) out = squeeze(out, -1, st);
  return out;
}

// ---------------------------------------------------------------- operators

array operator-(const array& a) { return negative(a); }
array operator!(const array& a) { return logical_not(a); }
array operator~(const array& a) { return bitwise_invert(a); }
array operator+(const array& a, const array& b) { return add(a, b); }
array operator-(const array& a, const array& b) { return subtract(a, b); }
array operator*(const array& a, const array& b) { return multiply(a, b); }
array operator/(const array& a, const array& b) { return divide(a, b); }
array operator%(const array& a, const array& b) { return remainder(a, b); }
array operator==(const array& a, const array& b) { return equal(a, b); }
array operator!=(const array& a, const array& b) { return not_equal(a, b); }
array operator<(const array& a, const array& b) { return less(a, b); }
array operator<=(const array& a, const array& b) { return less_equal(a, b); }
array operator>(const array& a, const array& b) { return greater(a, b); }
array operator>=(const array& a, const array& b) { return greater_equal(a, b); }
array operator&&(const array& a, const array& b) { return logical_and(a, b); }
array operator||(const array& a, const array& b) { return logical_or(a, b); }
array operator&(const array& a, const array& b) { return bitwise_and(a, b); }
array operator|(const array& a, const array& b) { return bitwise_or(a, b); }
array operator^(const array& a, const array& b) { return bitwise_xor(a, b); }
array operator<<(const array& a, const array& b) { return left_shift(a, b); }
array operator>>(const array& a, const array& b) { return right_shift(a, b); }

array scalar_like(double v, bool is_float, const array& other) {
  Dtype t = other.dtype();
  // A Python-style scalar is weakly typed: it adopts the array's dtype unless it is a float
  // meeting an integer or bool array, which gives float32.
  if (is_float && !is_inexact(t)) t = float32;
  if (!is_float && t == bool_) t = int32;
  return array(v, t);
}

}  // namespace kiln
