#include "kiln/linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

// ---------------------------------------------------------------- primitive identity and shapes

bool Inverse::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Inverse*>(&other);
  return o && o->tri_ == tri_ && o->upper_ == upper_;
}
bool Cholesky::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Cholesky*>(&other);
  return o && o->upper_ == upper_;
}
bool SVD::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const SVD*>(&other);
  return o && o->compute_uv_ == compute_uv_;
}
bool Eigh::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Eigh*>(&other);
  return o && o->uplo_ == uplo_ && o->compute_vectors_ == compute_vectors_;
}
bool Eig::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Eig*>(&other);
  return o && o->compute_vectors_ == compute_vectors_;
}

namespace {

// The batch shape followed by `tail`.
Shape with_tail(const array& a, std::initializer_list<ShapeElem> tail) {
  Shape s(a.shape().begin(), a.shape().end() - 2);
  s.insert(s.end(), tail.begin(), tail.end());
  return s;
}

}  // namespace

std::vector<Shape> LUF::output_shapes(const std::vector<array>& inputs) {
  const array& a = inputs[0];
  int m = a.shape(-2), n = a.shape(-1);
  return {a.shape(), with_tail(a, {std::min(m, n)}), with_tail(a, {m})};
}
std::vector<Shape> QRF::output_shapes(const std::vector<array>& inputs) {
  const array& a = inputs[0];
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  return {with_tail(a, {m, k}), with_tail(a, {k, n})};
}
std::vector<Shape> SVD::output_shapes(const std::vector<array>& inputs) {
  const array& a = inputs[0];
  int m = a.shape(-2), n = a.shape(-1);
  Shape sv = with_tail(a, {std::min(m, n)});
  if (!compute_uv_) return {sv};
  return {with_tail(a, {m, m}), sv, with_tail(a, {n, n})};
}
std::vector<Shape> Eigh::output_shapes(const std::vector<array>& inputs) {
  const array& a = inputs[0];
  Shape w = with_tail(a, {a.shape(-1)});
  if (!compute_vectors_) return {w};
  return {w, a.shape()};
}
std::vector<Shape> Eig::output_shapes(const std::vector<array>& inputs) {
  const array& a = inputs[0];
  Shape w = with_tail(a, {a.shape(-1)});
  if (!compute_vectors_) return {w};
  return {w, a.shape()};
}

namespace linalg {

namespace {

using detail::str;

void check_float(const array& a, const char* op) {
  if (a.dtype() != float32 && a.dtype() != float64) {
    throw std::invalid_argument(str("[linalg::", op, "] Arrays must have type float32 or float64. Received array with type ",
                                    a.dtype(), "."));
  }
}

void check_matrix(const array& a, const char* op) {
  if (a.ndim() < 2) {
    throw std::invalid_argument(
        str("[linalg::", op, "] Arrays must have >= 2 dimensions. Received array with ", a.ndim(), " dimensions."));
  }
}

void check_square(const array& a, const char* op) {
  check_matrix(a, op);
  if (a.shape(-1) != a.shape(-2)) {
    throw std::invalid_argument(
        str("[linalg::", op, "] Only defined for square matrices. Received array with shape ", a.shape(), "."));
  }
}

void check_all(const array& a, const char* op) {
  check_float(a, op);
  check_square(a, op);
}

// Lower (j <= i + k) or upper (j >= i + k) triangle of a rows x cols matrix, as a bool mask.
array tri_mask(int rows, int cols, int k, bool upper, Stream st) {
  array i = reshape(arange(0, rows, st), {rows, 1}, st);
  array j = reshape(arange(0, cols, st), {1, cols}, st);
  array ik = add(i, array(k), st);
  return upper ? greater_equal(j, ik, st) : less_equal(j, ik, st);
}

array zeros_of(const array& a) { return array(0.0, a.dtype()); }

// The last two axes restricted to rows [0, r) and columns [0, c).
array slice_matrix(const array& a, int r, int c, Stream st) {
  Shape start(a.ndim(), 0);
  Shape stop = a.shape();
  stop[a.ndim() - 2] = r;
  stop[a.ndim() - 1] = c;
  return slice(a, start, stop, st);
}

// The main diagonal of each matrix (..., N, N) -> (..., N).
array diagonal_of(const array& a, Stream st) {
  int n = a.shape(-1);
  return sum(where(tri_mask(n, n, 0, false, st) && tri_mask(n, n, 0, true, st), a, zeros_of(a), st), -1, false, st);
}

array swap_last(const array& a, Stream st) { return swapaxes(a, -1, -2, st); }

}  // namespace

// ---------------------------------------------------------------- factorizations

array inv(const array& a, StreamOrDevice s) {
  check_all(a, "inv");
  Stream st = to_stream(s);
  return array(a.shape(), a.dtype(), std::make_shared<Inverse>(st, false, false), {a});
}

array tri_inv(const array& a, bool upper, StreamOrDevice s) {
  check_all(a, "tri_inv");
  Stream st = to_stream(s);
  return array(a.shape(), a.dtype(), std::make_shared<Inverse>(st, true, upper), {a});
}

array cholesky(const array& a, bool upper, StreamOrDevice s) {
  check_all(a, "cholesky");
  Stream st = to_stream(s);
  return array(a.shape(), a.dtype(), std::make_shared<Cholesky>(st, upper), {a});
}

array cholesky_inv(const array& a, bool upper, StreamOrDevice s) {
  check_all(a, "cholesky_inv");
  Stream st = to_stream(s);
  array finv = tri_inv(a, upper, st);
  // A = L L^T -> A^-1 = L^-T L^-1;  A = U^T U -> A^-1 = U^-1 U^-T.
  return upper ? matmul(finv, swap_last(finv, st), st) : matmul(swap_last(finv, st), finv, st);
}

std::vector<array> lu_factor(const array& a, StreamOrDevice s) {
  check_float(a, "lu_factor");
  check_matrix(a, "lu_factor");
  Stream st = to_stream(s);
  auto p = std::make_shared<LUF>(st);
  auto outs = array::make_arrays(p->output_shapes({a}), {a.dtype(), uint32, uint32}, p, {a});
  return {outs[0], outs[1]};
}

std::vector<array> lu(const array& a, StreamOrDevice s) {
  check_float(a, "lu");
  check_matrix(a, "lu");
  Stream st = to_stream(s);
  auto p = std::make_shared<LUF>(st);
  auto outs = array::make_arrays(p->output_shapes({a}), {a.dtype(), uint32, uint32}, p, {a});
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  array packed = outs[0];
  array l = slice_matrix(packed, m, k, st);
  l = add(where(tri_mask(m, k, -1, false, st), l, zeros_of(l), st), eye(m, k, 0, a.dtype(), st), st);
  array u = slice_matrix(packed, k, n, st);
  u = where(tri_mask(k, n, 0, true, st), u, zeros_of(u), st);
  return {outs[2], l, u};
}

std::vector<array> qr(const array& a, StreamOrDevice s) {
  check_float(a, "qr");
  check_matrix(a, "qr");
  Stream st = to_stream(s);
  auto p = std::make_shared<QRF>(st);
  return array::make_arrays(p->output_shapes({a}), {a.dtype(), a.dtype()}, p, {a});
}

std::vector<array> svd(const array& a, bool compute_uv, StreamOrDevice s) {
  check_float(a, "svd");
  check_matrix(a, "svd");
  Stream st = to_stream(s);
  auto p = std::make_shared<SVD>(st, compute_uv);
  auto shapes = p->output_shapes({a});
  return array::make_arrays(shapes, std::vector<Dtype>(shapes.size(), a.dtype()), p, {a});
}

namespace {
std::vector<array> eigh_impl(const array& a, const std::string& uplo, bool vectors, const char* op, StreamOrDevice s) {
  check_all(a, op);
  if (uplo != "L" && uplo != "U") {
    throw std::invalid_argument(str("[linalg::", op, "] UPLO must be 'L' or 'U', got '", uplo, "'."));
  }
  Stream st = to_stream(s);
  auto p = std::make_shared<Eigh>(st, uplo[0], vectors);
  auto shapes = p->output_shapes({a});
  return array::make_arrays(shapes, std::vector<Dtype>(shapes.size(), a.dtype()), p, {a});
}

std::vector<array> eig_impl(const array& a, bool vectors, const char* op, StreamOrDevice s) {
  check_all(a, op);
  Stream st = to_stream(s);
  auto p = std::make_shared<Eig>(st, vectors);
  auto shapes = p->output_shapes({a});
  return array::make_arrays(shapes, std::vector<Dtype>(shapes.size(), complex64), p, {a});
}
}  // namespace

array eigvalsh(const array& a, std::string UPLO, StreamOrDevice s) {
  return eigh_impl(a, UPLO, false, "eigvalsh", s)[0];
}
std::pair<array, array> eigh(const array& a, std::string UPLO, StreamOrDevice s) {
  auto outs = eigh_impl(a, UPLO, true, "eigh", s);
  return {outs[0], outs[1]};
}
array eigvals(const array& a, StreamOrDevice s) { return eig_impl(a, false, "eigvals", s)[0]; }
std::pair<array, array> eig(const array& a, StreamOrDevice s) {
  auto outs = eig_impl(a, true, "eig", s);
  return {outs[0], outs[1]};
}

// ---------------------------------------------------------------- solvers and derived quantities

namespace {
// Checks b against a (..., N, N) and promotes both to a common float dtype.
std::pair<array, array> prepare_solve(const array& a, const array& b, const char* op, Stream st) {
  check_float(a, op);
  check_square(a, op);
  if (b.ndim() < 1) {
    throw std::invalid_argument(str("[linalg::", op, "] Second input must have >= 1 dimensions."));
  }
  int rows = b.ndim() == 1 ? b.shape(0) : b.shape(-2);
  if (rows != a.shape(-1)) {
    throw std::invalid_argument(str("[linalg::", op, "] Last dimension of first input with shape ", a.shape(),
                                    " must match ", b.ndim() == 1 ? "the length" : "second to last dimension",
                                    " of second input with shape ", b.shape(), "."));
  }
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (t != float32 && t != float64) t = float32;
  return {astype(a, t, st), astype(b, t, st)};
}
}  // namespace

array solve(const array& a, const array& b, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto [x, y] = prepare_solve(a, b, "solve", st);
  bool vec = y.ndim() == 1;
  if (vec) y = expand_dims(y, -1, st);
  // Batch dims broadcast as in matmul(inv(a), b).
  Shape batch = broadcast_shapes(Shape(x.shape().begin(), x.shape().end() - 2),
                                 Shape(y.shape().begin(), y.shape().end() - 2));
  Shape xs = batch, ys = batch;
  xs.insert(xs.end(), x.shape().end() - 2, x.shape().end());
  ys.insert(ys.end(), y.shape().end() - 2, y.shape().end());
  x = broadcast_to(x, xs, st);
  y = broadcast_to(y, ys, st);
  array out(ys, y.dtype(), std::make_shared<Solve>(st), {x, y});
  return vec ? squeeze(out, -1, st) : out;
}

array solve_triangular(const array& a, const array& b, bool upper, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto [x, y] = prepare_solve(a, b, "solve_triangular", st);
  return matmul(tri_inv(x, upper, st), y, st);
}

array pinv(const array& a, StreamOrDevice s) {
  check_float(a, "pinv");
  check_matrix(a, "pinv");
  Stream st = to_stream(s);
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  if (k == 0) return zeros(with_tail(a, {n, m}), a.dtype(), st);
  auto usv = svd(a, true, st);
  array u = slice_matrix(usv[0], m, k, st);
  array sv = usv[1];
  array vt = slice_matrix(usv[2], k, n, st);
  // Singular values below max(M, N) * eps * s_max are treated as zero, as NumPy does.
  double eps = a.dtype() == float64 ? std::numeric_limits<double>::epsilon() : std::numeric_limits<float>::epsilon();
  array cutoff = multiply(max(sv, -1, true, st), array(std::max(m, n) * eps, a.dtype()), st);
  array inv_s = where(greater(sv, cutoff, st), divide(array(1.0, a.dtype()), sv, st), zeros_of(sv), st);
  // pinv = V diag(1/s) U^T
  array v_scaled = multiply(swap_last(vt, st), expand_dims(inv_s, -2, st), st);
  return matmul(v_scaled, swap_last(u, st), st);
}

namespace {
// Sign (+1 or -1, in dtype t) of the row permutation given by LAPACK-style pivots.
array pivot_sign(const array& pivots, Dtype t, Stream st) {
  int k = pivots.shape(-1);
  array swaps = sum(astype(not_equal(pivots, astype(arange(0, k, st), uint32, st), st), int32, st), -1, false, st);
  array odd = equal(remainder(swaps, array(2), st), array(1), st);
  return where(odd, array(-1.0, t), array(1.0, t), st);
}
}  // namespace

array det(const array& a, StreamOrDevice s) {
  check_all(a, "det");
  Stream st = to_stream(s);
  auto f = lu_factor(a, st);
  return multiply(prod(diagonal_of(f[0], st), -1, false, st), pivot_sign(f[1], a.dtype(), st), st);
}

std::pair<array, array> slogdet(const array& a, StreamOrDevice s) {
  check_all(a, "slogdet");
  Stream st = to_stream(s);
  auto f = lu_factor(a, st);
  array d = diagonal_of(f[0], st);
  array sgn = multiply(prod(sign(d, st), -1, false, st), pivot_sign(f[1], a.dtype(), st), st);
  array logabs = sum(log(abs(d, st), st), -1, false, st);
  return {sgn, logabs};
}

array cross(const array& a, const array& b, int axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype t = promote_types(a.dtype(), b.dtype());
  int nd = std::max(a.ndim(), b.ndim());
  if (a.ndim() == 0 || b.ndim() == 0) {
    throw std::invalid_argument("[linalg::cross] Inputs must have at least one dimension.");
  }
  if (axis < -nd || axis >= nd) {
    throw std::out_of_range(str("[linalg::cross] Axis ", axis, " is out of bounds for array with ", nd, " dimensions."));
  }
  int ax = axis < 0 ? axis + nd : axis;
  // Align the operands' dims from the right before looking at the axis.
  array x = astype(a, t, st), y = astype(b, t, st);
  while (x.ndim() < nd) x = expand_dims(x, 0, st);
  while (y.ndim() < nd) y = expand_dims(y, 0, st);
  if (x.shape(ax) != 3 || y.shape(ax) != 3) {
    throw std::invalid_argument(str("[linalg::cross] The axis must have size 3 in both inputs, got shapes ", a.shape(),
                                    " and ", b.shape(), "."));
  }
  auto comp = [&](const array& v, int i) {
    Shape start(nd, 0), stop = v.shape();
    start[ax] = i;
    stop[ax] = i + 1;
    return slice(v, start, stop, st);
  };
  array x0 = comp(x, 0), x1 = comp(x, 1), x2 = comp(x, 2);
  array y0 = comp(y, 0), y1 = comp(y, 1), y2 = comp(y, 2);
  return concatenate({subtract(multiply(x1, y2, st), multiply(x2, y1, st), st),
                      subtract(multiply(x2, y0, st), multiply(x0, y2, st), st),
                      subtract(multiply(x0, y1, st), multiply(x1, y0, st), st)},
                     ax, st);
}

// ---------------------------------------------------------------- norms

namespace {

// Axes of a norm, in range and distinct; defaults follow NumPy (all for 1-D / 2-D input).
std::vector<int> norm_axes(const array& a, const std::optional<std::vector<int>>& axis) {
  std::vector<int> axes;
  if (axis) {
    axes = *axis;
  } else {
    axes.resize(a.ndim());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (axes.size() > 2) throw std::invalid_argument("[linalg::norm] Received too many axes for norm.");
  for (int& ax : axes) {
    if (ax < -a.ndim() || ax >= a.ndim()) {
      throw std::out_of_range(
          str("[linalg::norm] Axis ", ax, " is out of bounds for array with ", a.ndim(), " dimensions."));
    }
    if (ax < 0) ax += a.ndim();
  }
  if (axes.size() == 2 && axes[0] == axes[1]) throw std::invalid_argument("[linalg::norm] Received duplicate axes.");
  return axes;
}

array float_input(const array& a, Stream st) {
  return is_inexact(a.dtype()) ? a : astype(a, float32, st);
}

array sqrt_sum_squares(const array& a, const std::vector<int>& axes, bool keepdims, Stream st) {
  array x = float_input(a, st);
  if (x.dtype() == complex64) x = abs(x, st);
  return sqrt(sum(multiply(x, x, st), axes, keepdims, st), st);
}

// Singular values of the matrices spanned by `axes`, with the reduction over them done by `reduce`.
template <typename Reduce>
array singular_value_norm(const array& a, const std::vector<int>& axes, bool keepdims, Stream st, Reduce reduce) {
  array x = float_input(a, st);
  if (x.dtype() != float32 && x.dtype() != float64) x = astype(x, float32, st);
  std::vector<int> perm;
  for (int i = 0; i < x.ndim(); ++i) {
    if (i != axes[0] && i != axes[1]) perm.push_back(i);
  }
  perm.push_back(axes[0]);
  perm.push_back(axes[1]);
  array sv = svd(transpose(x, perm, st), false, st)[0];
  array r = reduce(sv);  // reduces the last axis
  if (keepdims) {
    std::vector<int> ex = {std::min(axes[0], axes[1]), std::max(axes[0], axes[1])};
    r = expand_dims(r, ex, st);
  }
  return astype(r, float_input(a, st).dtype(), st);
}

array vector_norm(const array& a, double ord, int axis, bool keepdims, Stream st) {
  array x = abs(float_input(a, st), st);
  if (std::isinf(ord)) return ord > 0 ? max(x, axis, keepdims, st) : min(x, axis, keepdims, st);
  if (ord == 0) return astype(sum(not_equal(x, zeros_of(x), st), axis, keepdims, st), x.dtype(), st);
  if (ord == 1) return sum(x, axis, keepdims, st);
  if (ord == 2) return sqrt_sum_squares(a, {axis}, keepdims, st);
  array p = array(ord, x.dtype());
  return power(sum(power(x, p, st), axis, keepdims, st), array(1.0 / ord, x.dtype()), st);
}

array matrix_norm(const array& a, double ord, const std::vector<int>& axes, bool keepdims, Stream st) {
  if (ord == 2 || ord == -2) {
    return singular_value_norm(a, axes, keepdims, st, [&](const array& sv) {
      return ord > 0 ? max(sv, -1, false, st) : min(sv, -1, false, st);
    });
  }
  int row = axes[0], col = axes[1];
  array x = abs(float_input(a, st), st);
  array r;
  if (ord == 1 || ord == -1) {
    array colsum = sum(x, row, true, st);
    r = ord > 0 ? max(colsum, col, true, st) : min(colsum, col, true, st);
  } else if (std::isinf(ord)) {
    array rowsum = sum(x, col, true, st);
    r = ord > 0 ? max(rowsum, row, true, st) : min(rowsum, row, true, st);
  } else {
    std::ostringstream os;
    os << ord;
    throw std::invalid_argument(str("[linalg::norm] Invalid ord ", os.str(), " for matrix norm."));
  }
  return keepdims ? r : squeeze(r, std::vector<int>{row, col}, st);
}

}  // namespace

array norm(const array& a, const std::optional<std::vector<int>>& axis, bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<int> axes;
  if (axis) {
    axes = norm_axes(a, axis);
  } else {
    axes.resize(a.ndim());
    std::iota(axes.begin(), axes.end(), 0);
  }
  return sqrt_sum_squares(a, axes, keepdims, st);
}

array norm(const array& a, double ord, const std::optional<std::vector<int>>& axis, bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!axis && a.ndim() > 2) {
    throw std::invalid_argument("[linalg::norm] Received too many axes for norm.");
  }
  std::vector<int> axes = norm_axes(a, axis);
  if (axes.size() == 1) return vector_norm(a, ord, axes[0], keepdims, st);
  if (axes.size() == 2) return matrix_norm(a, ord, axes, keepdims, st);
  throw std::invalid_argument("[linalg::norm] Norm of a 0-d array with ord is not defined.");
}

array norm(const array& a, const std::string& ord, const std::optional<std::vector<int>>& axis, bool keepdims,
           StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!axis && a.ndim() > 2) {
    throw std::invalid_argument("[linalg::norm] Received too many axes for norm.");
  }
  std::vector<int> axes = norm_axes(a, axis);
  if (axes.size() != 2) {
    throw std::invalid_argument(str("[linalg::norm] Norm '", ord, "' only supported for matrices, but received ",
                                    axes.size(), " axis/axes."));
  }
  if (ord == "fro") return sqrt_sum_squares(a, axes, keepdims, st);
  if (ord == "nuc") {
    return singular_value_norm(a, axes, keepdims, st, [&](const array& sv) { return sum(sv, -1, false, st); });
  }
  throw std::invalid_argument(str("[linalg::norm] Invalid ord '", ord, "' for matrix norm."));
}

}  // namespace linalg
}  // namespace kiln
