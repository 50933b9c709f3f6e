// Ops composed from existing ones: triangles, windows, flips and rolls, repeats and tiles, padding,
// diagonals, differences and tensor contractions (tensordot, kron, einsum). None adds a primitive.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"

namespace kiln {

namespace {

using detail::str;
using detail::normalize_axis;


array int_array(const std::vector<int32_t>& v) {
  return array(v.begin(), Shape{static_cast<ShapeElem>(v.size())}, int32);
}

array window(int m, double (*f)(double n, double m1)) {
  if (m < 1) return zeros({0}, float32);
  if (m == 1) return ones({1}, float32);
  std::vector<float> v(m);
  for (int i = 0; i < m; ++i) v[i] = static_cast<float>(f(i, m - 1));
  return array(v.begin(), Shape{m}, float32);
}

}  // namespace

// ---------------------------------------------------------------- triangles and windows

array tri(int n, int m, int k, Dtype dtype, StreamOrDevice s) {
  if (n < 0 || m < 0) throw std::invalid_argument(str("[tri] N and M must be non-negative, got ", n, " and ", m, "."));
  array rows = expand_dims(arange(0, n, s), 1, s);
  array cols = expand_dims(arange(0, m, s), 0, s);
  return astype(greater_equal(add(rows, array(k), s), cols, s), dtype, s);
}

array tri(int n, Dtype dtype, StreamOrDevice s) { return tri(n, n, 0, dtype, s); }

array tril(array x, int k, StreamOrDevice s) {
  if (x.ndim() < 2) throw std::invalid_argument("[tril] The array must have at least two dimensions.");
  array mask = tri(x.shape(-2), x.shape(-1), k, bool_, s);
  return where(mask, x, zeros_like(x, s), s);
}

array triu(array x, int k, StreamOrDevice s) {
  if (x.ndim() < 2) throw std::invalid_argument("[triu] The array must have at least two dimensions.");
  array mask = tri(x.shape(-2), x.shape(-1), k - 1, bool_, s);
  return where(mask, zeros_like(x, s), x, s);
}

array bartlett(int m, StreamOrDevice) {
  return window(m, [](double n, double m1) { return 1.0 - std::abs(2.0 * n / m1 - 1.0); });
}
array hanning(int m, StreamOrDevice) {
  return window(m, [](double n, double m1) { return 0.5 - 0.5 * std::cos(2.0 * M_PI * n / m1); });
}
array hamming(int m, StreamOrDevice) {
  return window(m, [](double n, double m1) { return 0.54 - 0.46 * std::cos(2.0 * M_PI * n / m1); });
}
array blackman(int m, StreamOrDevice) {
  return window(m, [](double n, double m1) {
    return 0.42 - 0.5 * std::cos(2.0 * M_PI * n / m1) + 0.08 * std::cos(4.0 * M_PI * n / m1);
  });
}

std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse, const std::string& indexing,
                            StreamOrDevice s) {
  if (indexing != "xy" && indexing != "ij") {
    throw std::invalid_argument(str("[meshgrid] Invalid indexing value '", indexing, "'; expected 'xy' or 'ij'."));
  }
  int n = static_cast<int>(arrays.size());
  std::vector<array> out;
  if (n == 0) return out;
  Shape full_shape;
  for (auto& a : arrays) full_shape.push_back(static_cast<ShapeElem>(a.size()));
  if (indexing == "xy" && n > 1) std::swap(full_shape[0], full_shape[1]);
  for (int i = 0; i < n; ++i) {
    int pos = i;
    if (indexing == "xy" && n > 1 && i < 2) pos = 1 - i;
    Shape sh(n, 1);
    sh[pos] = static_cast<ShapeElem>(arrays[i].size());
    array r = reshape(arrays[i], sh, s);
    out.push_back(sparse ? r : broadcast_to(r, full_shape, s));
  }
  return out;
}

// ---------------------------------------------------------------- values

array nan_to_num(const array& a, float nan, std::optional<float> posinf, std::optional<float> neginf,
                 StreamOrDevice s) {
  Dtype t = a.dtype();
  if (is_complex(t)) throw std::invalid_argument(str("[nan_to_num] Does not support ", t, " inputs."));
  if (!is_floating_point(t)) return a;
  double big;
  if (t == float16) {
    big = 65504.0;
  } else if (t == bfloat16) {
    big = 3.3895313892515355e38;
  } else if (t == float64) {
    big = std::numeric_limits<double>::max();
  } else {
    big = std::numeric_limits<float>::max();
  }
  array p = astype(array(posinf ? static_cast<double>(*posinf) : big, float64), t, s);
  array ng = astype(array(neginf ? static_cast<double>(*neginf) : -big, float64), t, s);
  array out = where(isnan(a, s), astype(array(static_cast<double>(nan), float64), t, s), a, s);
  out = where(isposinf(a, s), p, out, s);
  return where(isneginf(a, s), ng, out, s);
}

// ---------------------------------------------------------------- rearrangement

array flip(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  int nd = a.ndim();
  Shape start(nd, 0), stop(nd), strides(nd, 1);
  for (int i = 0; i < nd; ++i) stop[i] = a.shape(i);
  // A repeated axis flips once, as in NumPy and MLX.
  for (int ax : axes) {
    int i = normalize_axis(ax, nd, "flip");
    start[i] = -1;
    stop[i] = -a.shape(i) - 1;
    strides[i] = -1;
  }
  return slice(a, start, stop, strides, s);
}

array flip(const array& a, StreamOrDevice s) {
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  return flip(a, axes, s);
}

array roll(const array& a, const Shape& shifts, const std::vector<int>& axes, StreamOrDevice s) {
  if (shifts.size() != axes.size()) {
    throw std::invalid_argument(str("[roll] Got ", shifts.size(), " shifts for ", axes.size(), " axes."));
  }
  array out = a;
  for (size_t j = 0; j < axes.size(); ++j) {
    int ax = normalize_axis(axes[j], a.ndim(), "roll");
    int n = a.shape(ax);
    if (n == 0) continue;
    int sh = ((shifts[j] % n) + n) % n;
    if (sh == 0) continue;
    Shape zero(a.ndim(), 0), full = out.shape();
    Shape mid = full, mid0 = zero;
    mid[ax] = n - sh;
    mid0[ax] = n - sh;
    out = concatenate({slice(out, mid0, full, s), slice(out, zero, mid, s)}, ax, s);
  }
  return out;
}

array roll(const array& a, int shift, StreamOrDevice s) {
  return reshape(roll(flatten(a, s), Shape{shift}, {0}, s), a.shape(), s);
}

array repeat(const array& a, int repeats, int axis, StreamOrDevice s) {
  if (repeats < 0) throw std::invalid_argument(str("[repeat] Number of repeats cannot be negative, got ", repeats, "."));
  int ax = normalize_axis(axis, a.ndim(), "repeat");
  Shape bshape = a.shape();
  bshape.insert(bshape.begin() + ax + 1, repeats);
  Shape out_shape = a.shape();
  out_shape[ax] *= repeats;
  return reshape(broadcast_to(expand_dims(a, ax + 1, s), bshape, s), out_shape, s);
}

array repeat(const array& a, int repeats, StreamOrDevice s) { return repeat(flatten(a, s), repeats, 0, s); }

array tile(const array& a, Shape reps, StreamOrDevice s) {
  for (auto r : reps) {
    if (r < 0) throw std::invalid_argument(str("[tile] Repetitions must be non-negative, got ", reps, "."));
  }
  int nd = std::max<int>(a.ndim(), reps.size());
  Shape shape = a.shape();
  shape.insert(shape.begin(), nd - a.ndim(), 1);
  reps.insert(reps.begin(), nd - reps.size(), 1);
  Shape expanded, bshape, out_shape;
  for (int i = 0; i < nd; ++i) {
    expanded.push_back(1);
    expanded.push_back(shape[i]);
    bshape.push_back(reps[i]);
    bshape.push_back(shape[i]);
    out_shape.push_back(reps[i] * shape[i]);
  }
  return reshape(broadcast_to(reshape(a, expanded, s), bshape, s), out_shape, s);
}

array pad(const array& a, const std::vector<int>& axes, const Shape& low, const Shape& high, const array& pad_value,
          const std::string& mode, StreamOrDevice s) {
  if (axes.size() != low.size() || axes.size() != high.size()) {
    throw std::invalid_argument("[pad] Invalid number of padding sizes passed.");
  }
  if (mode != "constant" && mode != "edge" && mode != "reflect" && mode != "symmetric") {
    throw std::invalid_argument(str("[pad] Invalid padding mode '", mode, "'."));
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    if (low[i] < 0 || high[i] < 0) {
      throw std::invalid_argument(str("[pad] Padding must be non-negative, got ", low[i], " and ", high[i], "."));
    }
  }
  if (mode == "constant") {
    if (pad_value.ndim() != 0) throw std::invalid_argument("[pad] The padding value must be a scalar.");
    Shape out_shape = a.shape();
    Shape start(a.ndim(), 0), stop = a.shape();
    for (size_t i = 0; i < axes.size(); ++i) {
      int ax = normalize_axis(axes[i], a.ndim(), "pad");
      out_shape[ax] += low[i] + high[i];
      start[ax] = low[i];
      stop[ax] = low[i] + a.shape(ax);
    }
    array base = full(out_shape, astype(pad_value, a.dtype(), s), a.dtype(), s);
    return slice_update(base, a, start, stop, s);
  }
  // Edge, reflect and symmetric are a gather of source indices along each padded axis.
  array out = a;
  for (size_t i = 0; i < axes.size(); ++i) {
    int ax = normalize_axis(axes[i], a.ndim(), "pad");
    int n = a.shape(ax);
    if (low[i] == 0 && high[i] == 0) continue;
    if (n == 0) throw std::invalid_argument(str("[pad] Cannot pad an empty axis in '", mode, "' mode."));
    std::vector<int32_t> idx;
    for (int j = -low[i]; j < n + high[i]; ++j) {
      int64_t k;
      if (mode == "edge" || (mode == "reflect" && n == 1)) {
        k = std::clamp(j, 0, n - 1);
      } else if (mode == "reflect") {
        int64_t p = 2 * (n - 1);
        int64_t m = ((j % p) + p) % p;
        k = m < n ? m : p - m;
      } else {
        int64_t p = 2 * n;
        int64_t m = ((j % p) + p) % p;
        k = m < n ? m : p - 1 - m;
      }
      idx.push_back(static_cast<int32_t>(k));
    }
    out = take(out, int_array(idx), ax, s);
  }
  return out;
}

array unflatten(const array& a, int axis, Shape shape, StreamOrDevice s) {
  if (shape.empty()) throw std::invalid_argument("[unflatten] The shape to unflatten to cannot be empty.");
  int ax = normalize_axis(axis, a.ndim(), "unflatten");
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("[unflatten] Only one dimension can be inferred (-1).");
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.shape(ax) % known != 0) {
      throw std::invalid_argument(str("[unflatten] Cannot infer a dimension of ", shape, " from size ", a.shape(ax), "."));
    }
    shape[infer] = static_cast<ShapeElem>(a.shape(ax) / known);
  } else if (known != a.shape(ax)) {
    throw std::invalid_argument(str("[unflatten] Shape ", shape, " does not match axis ", axis, " of size ", a.shape(ax), "."));
  }
  Shape out = a.shape();
  out.erase(out.begin() + ax);
  out.insert(out.begin() + ax, shape.begin(), shape.end());
  return reshape(a, out, s);
}

std::vector<array> unstack(const array& a, int axis, StreamOrDevice s) {
  if (a.ndim() == 0) throw std::invalid_argument("[unstack] Cannot unstack a 0-d array.");
  int ax = normalize_axis(axis, a.ndim(), "unstack");
  std::vector<array> out;
  Shape start(a.ndim(), 0), stop = a.shape();
  for (int i = 0; i < a.shape(ax); ++i) {
    start[ax] = i;
    stop[ax] = i + 1;
    out.push_back(squeeze(slice(a, start, stop, s), ax, s));
  }
  return out;
}

// ---------------------------------------------------------------- diagonals and differences

array diagonal(const array& a, int offset, int axis1, int axis2, StreamOrDevice s) {
  if (a.ndim() < 2) throw std::invalid_argument("[diagonal] The array must have at least two dimensions.");
  int a1 = normalize_axis(axis1, a.ndim(), "diagonal");
  int a2 = normalize_axis(axis2, a.ndim(), "diagonal");
  if (a1 == a2) throw std::invalid_argument("[diagonal] axis1 and axis2 cannot be the same axis.");
  std::vector<int> perm;
  for (int i = 0; i < a.ndim(); ++i) {
    if (i != a1 && i != a2) perm.push_back(i);
  }
  perm.push_back(a1);
  perm.push_back(a2);
  array t = transpose(a, perm, s);
  int n1 = a.shape(a1), n2 = a.shape(a2);
  int r0 = std::max(0, -offset), c0 = std::max(0, offset);
  int len = std::max(0, std::min(n1 - r0, n2 - c0));
  Shape out_shape(t.shape().begin(), t.shape().end() - 2);
  if (len == 0) {
    out_shape.push_back(0);
    return zeros(out_shape, a.dtype(), s);
  }
  std::vector<int32_t> idx(len);
  for (int i = 0; i < len; ++i) idx[i] = (r0 + i) * n2 + c0 + i;
  return take(flatten(t, a.ndim() - 2, -1, s), int_array(idx), -1, s);
}

array diag(const array& a, int k, StreamOrDevice s) {
  if (a.ndim() == 2) return diagonal(a, k, 0, 1, s);
  if (a.ndim() != 1) throw std::invalid_argument("[diag] The array must be 1-D or 2-D.");
  int len = a.shape(0);
  int n = len + std::abs(k);
  array mask = astype(eye(n, n, k, float32, s), bool_, s);
  if (len == 0) return zeros({n, n}, a.dtype(), s);
  std::vector<int32_t> idx(n);
  for (int i = 0; i < n; ++i) idx[i] = std::clamp(i, 0, len - 1);
  // Entry (i, i + k) holds a[min(i, i + k)]: a row's value for k >= 0, a column's for k < 0.
  array vals = take(a, int_array(idx), 0, s);
  vals = k >= 0 ? expand_dims(vals, 1, s) : expand_dims(vals, 0, s);
  return where(mask, vals, zeros({}, a.dtype(), s), s);
}

array trace(const array& a, int offset, int axis1, int axis2, std::optional<Dtype> dtype, StreamOrDevice s) {
  array d = diagonal(a, offset, axis1, axis2, s);
  array out = sum(d, -1, false, s);
  return dtype ? astype(out, *dtype, s) : out;
}

array diff(const array& a, int n, int axis, StreamOrDevice s) {
  if (n < 0) throw std::invalid_argument(str("[diff] Order must be non-negative, got ", n, "."));
  if (a.ndim() == 0) throw std::invalid_argument("[diff] The array must have at least one dimension.");
  int ax = normalize_axis(axis, a.ndim(), "diff");
  array out = a;
  for (int i = 0; i < n; ++i) {
    int m = out.shape(ax);
    if (m == 0) break;
    Shape z(out.ndim(), 0), full = out.shape();
    Shape lo_stop = full, hi_start = z;
    lo_stop[ax] = m - 1;
    hi_start[ax] = 1;
    array hi = slice(out, hi_start, full, s), lo = slice(out, z, lo_stop, s);
    out = out.dtype() == bool_ ? not_equal(hi, lo, s) : subtract(hi, lo, s);
  }
  return out;
}

array contiguous(const array& a, bool, StreamOrDevice s) { return copy(a, s); }

// ---------------------------------------------------------------- contractions

array tensordot(const array& a, const array& b, const std::vector<int>& axes_a, const std::vector<int>& axes_b,
                StreamOrDevice s) {
  if (axes_a.size() != axes_b.size()) {
    throw std::invalid_argument("[tensordot] Both inputs must contract the same number of axes.");
  }
  std::vector<bool> ca(a.ndim(), false), cb(b.ndim(), false);
  std::vector<int> na, nb;
  int64_t k = 1;
  for (size_t i = 0; i < axes_a.size(); ++i) {
    int x = normalize_axis(axes_a[i], a.ndim(), "tensordot"), y = normalize_axis(axes_b[i], b.ndim(), "tensordot");
    if (ca[x] || cb[y]) throw std::invalid_argument("[tensordot] Received duplicate axes.");
    if (a.shape(x) != b.shape(y)) {
      throw std::invalid_argument(str("[tensordot] Axis ", axes_a[i], " of shape ", a.shape(), " does not match axis ",
                                      axes_b[i], " of shape ", b.shape(), "."));
    }
    ca[x] = cb[y] = true;
    na.push_back(x);
    nb.push_back(y);
    k *= a.shape(x);
  }
  std::vector<int> pa, pb;
  Shape out_shape;
  int64_t m = 1, n = 1;
  for (int i = 0; i < a.ndim(); ++i) {
    if (!ca[i]) {
      pa.push_back(i);
      out_shape.push_back(a.shape(i));
      m *= a.shape(i);
    }
  }
  pa.insert(pa.end(), na.begin(), na.end());
  pb = nb;
  for (int i = 0; i < b.ndim(); ++i) {
    if (!cb[i]) {
      pb.push_back(i);
      out_shape.push_back(b.shape(i));
      n *= b.shape(i);
    }
  }
  array a2 = reshape(transpose(a, pa, s), {static_cast<int>(m), static_cast<int>(k)}, s);
  array b2 = reshape(transpose(b, pb, s), {static_cast<int>(k), static_cast<int>(n)}, s);
  return reshape(matmul(a2, b2, s), out_shape, s);
}

array tensordot(const array& a, const array& b, int axes, StreamOrDevice s) {
  if (axes < 0 || axes > a.ndim() || axes > b.ndim()) {
    throw std::invalid_argument(str("[tensordot] axes must be in [0, min(a.ndim, b.ndim)], got ", axes, "."));
  }
  std::vector<int> xa, xb;
  for (int i = 0; i < axes; ++i) {
    xa.push_back(a.ndim() - axes + i);
    xb.push_back(i);
  }
  return tensordot(a, b, xa, xb, s);
}

array inner(const array& a, const array& b, StreamOrDevice s) {
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b, s);
  if (a.shape(-1) != b.shape(-1)) {
    throw std::invalid_argument(str("[inner] Last dimensions of shapes ", a.shape(), " and ", b.shape(), " must match."));
  }
  return tensordot(a, b, {-1}, {-1}, s);
}

array outer(const array& a, const array& b, StreamOrDevice s) {
  return multiply(reshape(a, {-1, 1}, s), reshape(b, {1, -1}, s), s);
}

array vecdot(const array& a, const array& b, int axis, StreamOrDevice s) {
  array x = is_complex(a.dtype()) ? conjugate(a, s) : a;
  Shape sh = broadcast_shapes(a.shape(), b.shape());
  normalize_axis(axis, sh.size(), "vecdot");
  return sum(multiply(x, b, s), axis, false, s);
}

array kron(const array& a, const array& b, StreamOrDevice s) {
  int nd = std::max(a.ndim(), b.ndim());
  Shape sa = a.shape(), sb = b.shape();
  sa.insert(sa.begin(), nd - a.ndim(), 1);
  sb.insert(sb.begin(), nd - b.ndim(), 1);
  Shape ea, eb, out_shape;
  for (int i = 0; i < nd; ++i) {
    ea.push_back(sa[i]);
    ea.push_back(1);
    eb.push_back(1);
    eb.push_back(sb[i]);
    out_shape.push_back(sa[i] * sb[i]);
  }
  return reshape(multiply(reshape(a, ea, s), reshape(b, eb, s), s), out_shape, s);
}

array addmm(const array& c, const array& a, const array& b, float alpha, float beta, StreamOrDevice s) {
  Dtype t = promote_types(c.dtype(), promote_types(a.dtype(), b.dtype()));
  if (!is_floating_point(t)) {
    throw std::invalid_argument(str("[addmm] Only real floating point types are supported, got ", c.dtype(), ", ",
                                    a.dtype(), " and ", b.dtype(), "."));
  }
  array ab = matmul(astype(a, t, s), astype(b, t, s), s);
  if (alpha != 1.0f) ab = multiply(astype(array(alpha), t, s), ab, s);
  array cc = astype(c, t, s);
  if (beta != 1.0f) cc = multiply(astype(array(beta), t, s), cc, s);
  return add(ab, cc, s);
}

// ---------------------------------------------------------------- einsum

namespace {

struct Operand {
  array a;
  std::string labels;  // one char per axis
};

struct EinsumSpec {
  std::vector<std::string> inputs;
  std::string output;
};

EinsumSpec parse_einsum(const std::string& subscripts, const std::vector<array>& operands) {
  std::string sub;
  for (char c : subscripts) {
    if (c != ' ') sub.push_back(c);
  }
  EinsumSpec spec;
  auto arrow = sub.find("->");
  std::string lhs = arrow == std::string::npos ? sub : sub.substr(0, arrow);
  std::string::size_type pos = 0;
  while (true) {
    auto comma = lhs.find(',', pos);
    spec.inputs.push_back(lhs.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (spec.inputs.size() != operands.size()) {
    throw std::invalid_argument(str("[einsum] Got ", spec.inputs.size(), " input subscripts for ", operands.size(),
                                    " operands."));
  }
  // An ellipsis stands for the leading unnamed axes; each gets an upper-case-free private label.
  int max_ell = 0;
  for (size_t i = 0; i < operands.size(); ++i) {
    auto& in = spec.inputs[i];
    auto e = in.find("...");
    int named = static_cast<int>(in.size()) - (e == std::string::npos ? 0 : 3);
    if (e != std::string::npos) max_ell = std::max(max_ell, operands[i].ndim() - named);
  }
  std::string ell_labels;
  for (int i = 0; i < max_ell; ++i) ell_labels.push_back(static_cast<char>(0x01 + i));
  for (size_t i = 0; i < operands.size(); ++i) {
    auto& in = spec.inputs[i];
    auto e = in.find("...");
    if (e != std::string::npos) {
      int count = operands[i].ndim() - (static_cast<int>(in.size()) - 3);
      if (count < 0) throw std::invalid_argument(str("[einsum] Subscripts '", in, "' have too many axes for shape ", operands[i].shape(), "."));
      in = in.substr(0, e) + ell_labels.substr(max_ell - count) + in.substr(e + 3);
    }
    for (char c : in) {
      if (!std::isalpha(static_cast<unsigned char>(c)) && c >= 0x20) {
        throw std::invalid_argument(str("[einsum] Invalid character '", c, "' in subscripts."));
      }
    }
    if (static_cast<int>(in.size()) != operands[i].ndim()) {
      throw std::invalid_argument(str("[einsum] Operand ", i, " has ", operands[i].ndim(), " dimensions but the subscripts name ",
                                      in.size(), "."));
    }
  }
  if (arrow == std::string::npos) {
    // Implicit output: the ellipsis axes, then labels used exactly once, sorted.
    std::map<char, int> count;
    for (auto& in : spec.inputs) {
      for (char c : in) count[c]++;
    }
    spec.output = ell_labels;
    for (auto& [c, n] : count) {
      if (n == 1 && c >= 0x20) spec.output.push_back(c);
    }
  } else {
    std::string out = sub.substr(arrow + 2);
    auto e = out.find("...");
    if (e != std::string::npos) out = out.substr(0, e) + ell_labels + out.substr(e + 3);
    for (char c : out) {
      if (std::count(out.begin(), out.end(), c) > 1) {
        throw std::invalid_argument(str("[einsum] Output subscript '", c, "' appears more than once."));
      }
      bool found = false;
      for (auto& in : spec.inputs) found = found || in.find(c) != std::string::npos;
      if (!found) throw std::invalid_argument(str("[einsum] Output subscript '", c, "' does not appear in the inputs."));
    }
    spec.output = out;
  }
  return spec;
}

// Takes the diagonal over repeated labels and sums out labels nobody else needs.
Operand reduce_operand(Operand op, const std::string& keep, StreamOrDevice s) {
  for (size_t i = 0; i < op.labels.size(); ++i) {
    auto j = op.labels.find(op.labels[i], i + 1);
    while (j != std::string::npos) {
      if (op.a.shape(i) != op.a.shape(j)) {
        throw std::invalid_argument(str("[einsum] Repeated subscript '", op.labels[i], "' has sizes ", op.a.shape(i),
                                        " and ", op.a.shape(j), "."));
      }
      // diagonal() puts the merged axis last; move it back to position i.
      op.a = moveaxis(diagonal(op.a, 0, i, j, s), -1, i, s);
      op.labels.erase(j, 1);
      j = op.labels.find(op.labels[i], i + 1);
    }
  }
  std::vector<int> axes;
  std::string labels;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (keep.find(op.labels[i]) == std::string::npos) {
      axes.push_back(static_cast<int>(i));
    } else {
      labels.push_back(op.labels[i]);
    }
  }
  if (!axes.empty()) op.a = sum(op.a, axes, false, s);
  op.labels = labels;
  return op;
}

std::string needed_elsewhere(const std::vector<Operand>& ops, size_t x, size_t y, const std::string& output) {
  std::string keep = output;
  for (size_t k = 0; k < ops.size(); ++k) {
    if (k != x && k != y) keep += ops[k].labels;
  }
  return keep;
}

Operand contract_pair(const Operand& x, const Operand& y, const std::string& keep, StreamOrDevice s) {
  std::string batch, fx, fy, con;
  for (char c : x.labels) {
    if (y.labels.find(c) != std::string::npos) {
      (keep.find(c) != std::string::npos ? batch : con).push_back(c);
    } else {
      fx.push_back(c);
    }
  }
  for (char c : y.labels) {
    if (x.labels.find(c) == std::string::npos) fy.push_back(c);
  }
  if (y.a.size() > x.a.size()) {
    // The contracted labels merge into one axis of each operand; in the larger operand's order
    // that merge is a view for it, and only the smaller one may need a copy.
    std::string con_y;
    for (char c : y.labels) {
      if (con.find(c) != std::string::npos) con_y.push_back(c);
    }
    con = con_y;
  }
  auto size_of = [](const Operand& o, char c) { return o.a.shape(static_cast<int>(o.labels.find(c))); };
  for (char c : batch + con) {
    if (size_of(x, c) != size_of(y, c)) {
      throw std::invalid_argument(str("[einsum] Subscript '", c, "' has sizes ", size_of(x, c), " and ",
                                      size_of(y, c), "."));
    }
  }
  auto perm = [](const Operand& o, const std::string& order) {
    std::vector<int> p;
    for (char c : order) p.push_back(static_cast<int>(o.labels.find(c)));
    return p;
  };
  auto total = [&](const Operand& o, const std::string& ls) {
    int64_t n = 1;
    for (char c : ls) n *= size_of(o, c);
    return static_cast<int>(n);
  };
  Shape out_shape;
  for (char c : batch) out_shape.push_back(size_of(x, c));
  for (char c : fx) out_shape.push_back(size_of(x, c));
  for (char c : fy) out_shape.push_back(size_of(y, c));
  int nb = total(x, batch), nx = total(x, fx), ny = total(y, fy), nk = total(x, con);
  array xa = reshape(transpose(x.a, perm(x, batch + fx + con), s), {nb, nx, nk}, s);
  array ya = reshape(transpose(y.a, perm(y, batch + con + fy), s), {nb, nk, ny}, s);
  array r;
  if (is_inexact(promote_types(x.a.dtype(), y.a.dtype()))) {
    r = matmul(xa, ya, s);
  } else {
    // matmul takes only inexact types; integers contract by a broadcast product and a sum.
    r = sum(multiply(expand_dims(xa, 3, s), expand_dims(ya, 1, s), s), 2, false, s);
  }
  return Operand{reshape(r, out_shape, s), batch + fx + fy};
}

int64_t pair_result_size(const Operand& x, const Operand& y, const std::string& keep) {
  int64_t n = 1;
  for (size_t i = 0; i < x.labels.size(); ++i) {
    char c = x.labels[i];
    bool in_y = y.labels.find(c) != std::string::npos;
    if (!in_y || keep.find(c) != std::string::npos) n *= x.a.shape(i);
  }
  for (size_t i = 0; i < y.labels.size(); ++i) {
    if (x.labels.find(y.labels[i]) == std::string::npos) n *= y.a.shape(i);
  }
  return n;
}

}  // namespace

namespace {
// The greedy step shared by einsum and einsum_path: the pair whose contraction is smallest.
std::tuple<size_t, size_t, int64_t> cheapest_pair(const std::vector<Operand>& ops, const std::string& output) {
  size_t bx = 0, by = 1;
  int64_t best = -1;
  for (size_t x = 0; x < ops.size(); ++x) {
    for (size_t y = x + 1; y < ops.size(); ++y) {
      int64_t n = pair_result_size(ops[x], ops[y], needed_elsewhere(ops, x, y, output));
      if (best < 0 || n < best) {
        best = n;
        bx = x;
        by = y;
      }
    }
  }
  return {bx, by, best};
}
}  // namespace

std::pair<std::vector<std::vector<int>>, std::string> einsum_path(const std::string& subscripts,
                                                                  const std::vector<array>& operands) {
  auto spec = parse_einsum(subscripts, operands);
  std::vector<Operand> ops;
  for (size_t i = 0; i < operands.size(); ++i) ops.push_back({operands[i], spec.inputs[i]});
  std::vector<std::vector<int>> path;
  std::ostringstream os;
  os << "Greedy contraction order, smallest intermediate first:";
  while (ops.size() > 1) {
    auto [bx, by, best] = cheapest_pair(ops, spec.output);
    path.push_back({static_cast<int>(bx), static_cast<int>(by)});
    std::string keep = needed_elsewhere(ops, bx, by, spec.output);
    std::string labels;
    for (char c : ops[bx].labels + ops[by].labels) {
      bool in_both = ops[bx].labels.find(c) != std::string::npos && ops[by].labels.find(c) != std::string::npos;
      if ((!in_both || keep.find(c) != std::string::npos) && labels.find(c) == std::string::npos) labels.push_back(c);
    }
    os << "\n  (" << bx << ", " << by << ") -> " << best << " elements";
    // Only shapes matter for the plan: a broadcast zero stands in for the intermediate.
    Shape sh;
    for (char c : labels) {
      const Operand& o = ops[bx].labels.find(c) != std::string::npos ? ops[bx] : ops[by];
      sh.push_back(o.a.shape(static_cast<int>(o.labels.find(c))));
    }
    Operand merged{broadcast_to(array(0.0f), sh), labels};
    ops.erase(ops.begin() + by);
    ops.erase(ops.begin() + bx);
    ops.push_back(merged);
  }
  return {path, os.str()};
}

array einsum(const std::string& subscripts, const std::vector<array>& operands, StreamOrDevice s) {
  if (operands.empty()) throw std::invalid_argument("[einsum] At least one operand is required.");
  auto spec = parse_einsum(subscripts, operands);
  std::vector<Operand> ops;
  for (size_t i = 0; i < operands.size(); ++i) ops.push_back({operands[i], spec.inputs[i]});
  // A size-1 axis broadcasts against the same label's size elsewhere.
  std::map<char, int> sizes;
  for (auto& op : ops) {
    for (size_t i = 0; i < op.labels.size(); ++i) {
      int& n = sizes.try_emplace(op.labels[i], 1).first->second;
      int d = op.a.shape(i);
      if (d != 1 && n != 1 && d != n) {
        throw std::invalid_argument(str("[einsum] Subscript '", op.labels[i], "' has sizes ", n, " and ", d, "."));
      }
      if (d != 1) n = d;
    }
  }
  for (auto& op : ops) {
    Shape target;
    for (char c : op.labels) target.push_back(sizes[c]);
    if (target != op.a.shape()) op.a = broadcast_to(op.a, target, s);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i] = reduce_operand(ops[i], needed_elsewhere(ops, i, i, spec.output), s);
  }
  while (ops.size() > 1) {
    auto [bx, by, size] = cheapest_pair(ops, spec.output);
    Operand merged = contract_pair(ops[bx], ops[by], needed_elsewhere(ops, bx, by, spec.output), s);
    ops.erase(ops.begin() + by);
    ops.erase(ops.begin() + bx);
    ops.push_back(merged);
  }
  Operand r = reduce_operand(ops[0], spec.output, s);
  std::vector<int> perm;
  for (char c : spec.output) perm.push_back(static_cast<int>(r.labels.find(c)));
  return perm.empty() ? r.a : transpose(r.a, perm, s);
}

// ---- counting, truncation, median ----

array count_nonzero(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  array nonzero = not_equal(a, zeros({}, a.dtype(), s), s);
  return axes.empty() ? sum(nonzero, keepdims, s) : sum(nonzero, axes, keepdims, s);
}
array count_nonzero(const array& a, bool keepdims, StreamOrDevice s) { return count_nonzero(a, {}, keepdims, s); }

array trunc(const array& a, StreamOrDevice s) {
  if (a.dtype() == complex64) throw std::invalid_argument("[trunc] Not supported for complex64.");
  if (!is_inexact(a.dtype())) return a;
  return where(less(a, zeros({}, a.dtype(), s), s), ceil(a, s), floor(a, s), s);
}

array median(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  std::vector<int> ax;
  for (int x : axes) ax.push_back(normalize_axis(x, a.ndim(), "median"));
  if (axes.empty()) {
    ax.resize(a.ndim());
    std::iota(ax.begin(), ax.end(), 0);
  }
  std::sort(ax.begin(), ax.end());
  if (std::adjacent_find(ax.begin(), ax.end()) != ax.end()) throw std::invalid_argument("[median] Received duplicate axes.");
  Dtype t = is_inexact(a.dtype()) ? a.dtype() : float32;
  if (t == complex64) throw std::invalid_argument("[median] Not supported for complex64.");
  // Move the reduced axes last, merge them, sort that axis and average its middle element(s).
  std::vector<int> perm;
  Shape kept_shape = a.shape();
  for (int i = 0; i < a.ndim(); ++i) {
    if (!std::binary_search(ax.begin(), ax.end(), i)) perm.push_back(i);
  }
  perm.insert(perm.end(), ax.begin(), ax.end());
  Shape flat_shape;
  int64_t n = 1;
  for (int i = 0; i < a.ndim(); ++i) {
    if (std::binary_search(ax.begin(), ax.end(), i)) {
      n *= a.shape(i);
      kept_shape[i] = 1;
    } else {
      flat_shape.push_back(a.shape(i));
    }
  }
  if (n == 0) throw std::invalid_argument("[median] Cannot take the median over an empty axis.");
  flat_shape.push_back(static_cast<ShapeElem>(n));
  array sorted = sort(reshape(transpose(astype(a, t, s), perm, s), flat_shape, s), -1, s);
  int last = static_cast<int>(flat_shape.size()) - 1;
  auto middle = [&](int64_t i) {
    Shape start(flat_shape.size(), 0), stop = flat_shape;
    start[last] = static_cast<ShapeElem>(i);
    stop[last] = static_cast<ShapeElem>(i + 1);
    return slice(sorted, start, stop, s);
  };
  array out = n % 2 ? middle(n / 2) : multiply(add(middle(n / 2 - 1), middle(n / 2), s), array(0.5, t), s);
  out = reshape(out, kept_shape, s);
  return keepdims ? out : squeeze(out, ax, s);
}
array median(const array& a, bool keepdims, StreamOrDevice s) { return median(a, {}, keepdims, s); }

array searchsorted(const array& sorted_sequence, const array& values, bool right, StreamOrDevice s) {
  if (sorted_sequence.ndim() != 1) {
    throw std::invalid_argument(str("[searchsorted] The sorted sequence must be 1-D but has ", sorted_sequence.ndim(),
                                    " dimensions."));
  }
  // Counts the elements before each value: O(size(values) * n) work, no sort-specific kernel.
  array v = expand_dims(values, -1, s);
  array before = right ? less_equal(sorted_sequence, v, s) : less(sorted_sequence, v, s);
  return astype(sum(before, -1, false, s), uint32, s);
}

}  // namespace kiln
