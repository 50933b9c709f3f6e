// vjp / jvp / vmap of the LAPACK factorizations: Inverse, Cholesky, LUF, QRF, SVD, Eigh, Eig.
// All are batched over the leading axes already, so vmap moves the batch axis to the front and
// applies the same primitive. Derivatives are written with kiln ops (so they differentiate again)
// for real (float32/float64) inputs. Ops that read one triangle only (tri_inv, cholesky, eigh)
// are differentiated as functions of that triangle: the other one gets a zero cotangent.
#include <optional>
#include <stdexcept>

#include "kiln/linalg.h"
#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

namespace {

array mT(const array& x) { return swapaxes(x, -1, -2); }
array mm(const array& a, const array& b) { return matmul(a, b); }

array eye_as(int n, const array& like) { return eye(n, n, 0, like.dtype()); }

// (..., k) -> (..., k, k) with v on the diagonal.
array diag_embed(const array& v) {
  int k = v.shape(-1);
  return multiply(expand_dims(v, -1), eye_as(k, v));
}

// (..., k, k) -> (..., k).
array diag_part(const array& x) { return sum(multiply(x, eye_as(x.shape(-1), x)), -1, false); }

// F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (w: (..., k)).
array gap_inverse(const array& w) {
  int k = w.shape(-1);
  array d = subtract(expand_dims(w, -2), expand_dims(w, -1));
  array id = eye_as(k, w);
  return divide(subtract(array(1.0, w.dtype()), id), add(d, id));
}

// The symmetric matrix a one-triangle reader sees: tril(t) + tril(t, -1)^T (or the upper one).
array sym_from_triangle(const array& t, bool upper) {
  return upper ? add(triu(t, 0), mT(triu(t, 1))) : add(tril(t, 0), mT(tril(t, -1)));
}
// Adjoint of sym_from_triangle.
array sym_from_triangle_T(const array& g, bool upper) {
  return upper ? add(triu(g, 0), triu(mT(g), 1)) : add(tril(g, 0), tril(mT(g), -1));
}

// phi: the lower triangle with the diagonal halved.
array phi(const array& x) {
  return subtract(tril(x, 0), multiply(array(0.5, x.dtype()), multiply(x, eye_as(x.shape(-1), x))));
}

array zeros_tail(const array& like, int rows, int cols) {
  Shape sh = like.shape();
  sh[sh.size() - 2] = rows;
  sh[sh.size() - 1] = cols;
  return zeros(sh, like.dtype());
}

array slice_last2(const array& a, int r, int c) {
  Shape start(a.ndim(), 0);
  Shape stop = a.shape();
  stop[a.ndim() - 2] = r;
  stop[a.ndim() - 1] = c;
  return slice(a, start, stop);
}

// ---- SVD helpers (reduced: U (m, k), s (k), V (n, k)) ----
struct SvdTangent {
  array du, ds, dv;
};

SvdTangent svd_jvp(const array& u, const array& s, const array& v, const array& da) {
  int m = u.shape(-2), n = v.shape(-2), k = s.shape(-1);
  array dp = mm(mm(mT(u), da), v);
  array ds = diag_part(dp);
  array f = gap_inverse(square(s));
  array smat = diag_embed(s);
  array sinv = diag_embed(reciprocal(s));
  array du = mm(u, multiply(f, add(mm(dp, smat), mm(smat, mT(dp)))));
  array dv = mm(v, multiply(f, add(mm(smat, dp), mm(mT(dp), smat))));
  if (m > k) du = add(du, mm(subtract(mm(da, v), mm(u, mm(mT(u), mm(da, v)))), sinv));
  if (n > k) dv = add(dv, mm(subtract(mm(mT(da), u), mm(v, mm(mT(v), mm(mT(da), u)))), sinv));
  return {du, ds, dv};
}

array svd_vjp(const array& u, const array& s, const array& v, const array& gu, const array& gs, const array& gv) {
  int m = u.shape(-2), n = v.shape(-2), k = s.shape(-1);
  array f = gap_inverse(square(s));
  array smat = diag_embed(s);
  array sinv = diag_embed(reciprocal(s));
  array utgu = mm(mT(u), gu);
  array vtgv = mm(mT(v), gv);
  array j = multiply(f, subtract(utgu, mT(utgu)));
  array kk = multiply(f, subtract(vtgv, mT(vtgv)));
  array p = add(add(diag_embed(gs), mm(j, smat)), mm(smat, kk));
  array ga = mm(mm(u, p), mT(v));
  if (m > k) ga = add(ga, mm(mm(subtract(gu, mm(u, utgu)), sinv), mT(v)));
  if (n > k) ga = add(ga, mm(mm(u, sinv), mT(subtract(gv, mm(v, vtgv)))));
  return ga;
}

// ---- QR helpers for M >= N (Q (m, n), R (n, n)) ----
std::pair<array, array> qr_jvp_tall(const array& q, const array& r, const array& da) {
  array rinv = linalg::tri_inv(r, true);
  array c = mm(mm(mT(q), da), rinv);
  array low = tril(c, -1);
  array omega = subtract(low, mT(low));
  array dr = mm(subtract(c, omega), r);
  array dq = add(mm(q, omega), subtract(mm(da, rinv), mm(q, c)));
  return {dq, dr};
}

array qr_vjp_tall(const array& q, const array& r, const array& gq, const array& gr) {
  array rinv = linalg::tri_inv(r, true);
  array mmat = subtract(mm(r, mT(gr)), mm(mT(gq), q));
  array copyltu = add(tril(mmat, 0), mT(tril(mmat, -1)));
  return mm(add(gq, mm(q, copyltu)), mT(rinv));
}

}  // namespace

// ---- Inverse ----  d(A^-1) = -A^-1 dA A^-1 (tri: dA restricted to the read triangle)
Arrays Inverse::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& a = primals[0];
  array y = tri_ ? linalg::tri_inv(a, upper_) : linalg::inv(a);
  array t = tangents[0];
  if (tri_) t = upper_ ? triu(t, 0) : tril(t, 0);
  return {negative(mm(mm(y, t), y))};
}
Arrays Inverse::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  array yt = mT(outputs[0]);
  array g = negative(mm(mm(yt, cotangents[0]), yt));
  if (tri_) g = upper_ ? triu(g, 0) : tril(g, 0);
  return {g};
}
VmapResult Inverse::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array a = batch_to_front(inputs[0], axes[0]);
  return {{tri_ ? linalg::tri_inv(a, upper_) : linalg::inv(a)}, {0}};
}

// ---- Cholesky ----  A = L L^T: dL = L phi(L^-1 dA L^-T), dA the symmetric matrix of the read
// triangle; upper: U = L^T.
Arrays Cholesky::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  array f = linalg::cholesky(primals[0], upper_);
  array l = upper_ ? mT(f) : f;
  array linv = linalg::tri_inv(l, false);
  array da = sym_from_triangle(tangents[0], upper_);
  array dl = mm(l, phi(mm(mm(linv, da), mT(linv))));
  return {upper_ ? mT(dl) : dl};
}
Arrays Cholesky::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  array l = upper_ ? mT(outputs[0]) : outputs[0];
  array gl = upper_ ? mT(cotangents[0]) : cotangents[0];
  array linv = linalg::tri_inv(l, false);
  array g = mm(mm(mT(linv), phi(mm(mT(l), gl))), linv);
  return {sym_from_triangle_T(g, upper_)};
}
VmapResult Cholesky::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{linalg::cholesky(batch_to_front(inputs[0], axes[0]), upper_)}, {0}};
}

// ---- Eigh ----  dw = diag(V^T dA V), dV = V (F o V^T dA V), F_ij = 1 / (w_j - w_i).
Arrays Eigh::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  auto [w, v] = linalg::eigh(primals[0], std::string(1, uplo_));
  array da = sym_from_triangle(tangents[0], uplo_ == 'U');
  array p = mm(mm(mT(v), da), v);
  Arrays out{diag_part(p)};
  if (compute_vectors_) out.push_back(mm(v, multiply(gap_inverse(w), p)));
  return out;
}
Arrays Eigh::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  array w = outputs[0];
  array v = compute_vectors_ ? outputs[1] : linalg::eigh(primals[0], std::string(1, uplo_)).second;
  array inner = diag_embed(cotangents[0]);
  if (compute_vectors_) inner = add(inner, multiply(gap_inverse(w), mm(mT(v), cotangents[1])));
  array g = mm(mm(v, inner), mT(v));
  return {sym_from_triangle_T(g, uplo_ == 'U')};
}
VmapResult Eigh::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array a = batch_to_front(inputs[0], axes[0]);
  auto p = std::make_shared<Eigh>(stream(), uplo_, compute_vectors_);
  auto shapes = p->output_shapes({a});
  auto outs = array::make_arrays(shapes, std::vector<Dtype>(shapes.size(), a.dtype()), p, {a});
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- SVD ----  singular values for any shape; with compute_uv, U and Vt through the reduced
// factorization (the extra columns of a non-square matrix's full U or Vt are not unique: their
// cotangents are ignored and their tangents are zero).
Arrays SVD::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& a = primals[0];
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  auto f = linalg::svd(a, true);
  array u = slice_last2(f[0], m, k), s = f[1], v = mT(slice_last2(f[2], k, n));
  auto t = svd_jvp(u, s, v, tangents[0]);
  if (!compute_uv_) return {t.ds};
  array du = m > k ? concatenate({t.du, zeros_tail(a, m, m - k)}, -1) : t.du;
  array dvt = mT(t.dv);
  if (n > k) dvt = concatenate({dvt, zeros_tail(a, n - k, n)}, -2);
  return {du, t.ds, dvt};
}
Arrays SVD::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& a = primals[0];
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  Arrays f = compute_uv_ ? outputs : linalg::svd(a, true);
  array u = slice_last2(f[0], m, k), s = f[1], v = mT(slice_last2(f[2], k, n));
  if (!compute_uv_) return {mm(mm(u, diag_embed(cotangents[0])), mT(v))};
  array gu = slice_last2(cotangents[0], m, k);
  array gv = mT(slice_last2(cotangents[2], k, n));
  return {svd_vjp(u, s, v, gu, cotangents[1], gv)};
}
VmapResult SVD::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  auto outs = linalg::svd(batch_to_front(inputs[0], axes[0]), compute_uv_);
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- QRF ----  M >= N: the standard formulas; M < N: A = [X Y] with X square, Q R1 = qr(X),
// R2 = Q^T Y.
Arrays QRF::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& a = primals[0];
  int m = a.shape(-2), n = a.shape(-1);
  auto f = linalg::qr(a);
  array q = f[0], r = f[1];
  if (m >= n) {
    auto [dq, dr] = qr_jvp_tall(q, r, tangents[0]);
    return {dq, dr};
  }
  array r1 = slice_last2(r, m, m);
  Shape start(a.ndim(), 0);
  start[a.ndim() - 1] = m;
  array y = slice(a, start, a.shape());
  array dx = slice_last2(tangents[0], m, m);
  array dy = slice(tangents[0], start, tangents[0].shape());
  auto [dq, dr1] = qr_jvp_tall(q, r1, dx);
  array dr2 = add(mm(mT(dq), y), mm(mT(q), dy));
  return {dq, concatenate({dr1, dr2}, -1)};
}
Arrays QRF::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& a = primals[0];
  int m = a.shape(-2), n = a.shape(-1);
  const array& q = outputs[0];
  const array& r = outputs[1];
  if (m >= n) return {qr_vjp_tall(q, r, cotangents[0], cotangents[1])};
  Shape start(a.ndim(), 0);
  start[a.ndim() - 1] = m;
  array y = slice(a, start, a.shape());
  array r1 = slice_last2(r, m, m);
  array gr1 = slice_last2(cotangents[1], m, m);
  array gr2 = slice(cotangents[1], start, cotangents[1].shape());
  array gx = qr_vjp_tall(q, r1, add(cotangents[0], mm(y, mT(gr2))), gr1);
  array gy = mm(q, gr2);
  return {concatenate({gx, gy}, -1)};
}
VmapResult QRF::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  auto outs = linalg::qr(batch_to_front(inputs[0], axes[0]));
  return {outs, {0, 0}};
}

// ---- LUF ----  packed L\U of P A = L U (pivots held fixed): with X = L^-1 P dA U^-1,
// dL = L tril(X, -1) and dU = triu(X) U (square matrices). Pivots and permutation: integer.
namespace {
// x[p] for a row permutation p (..., M) (A = (L U)[p], so L U = unpermute_rows(A, p)).
array permute_rows(const array& x, const array& p) {
  return take_along_axis(x, broadcast_to(expand_dims(astype(p, int32), -1), x.shape()), -2);
}
// Inverse: y with y[p] = x.
array unpermute_rows(const array& x, const array& p) {
  array inv = argsort(astype(p, int32), -1);
  return permute_rows(x, inv);
}
void check_square_lu(const array& a) {
  if (a.shape(-1) != a.shape(-2)) {
    throw std::invalid_argument("[LUF] Derivatives of the LU factorization are only supported for square matrices.");
  }
}
}  // namespace

Arrays LUF::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& a = primals[0];
  check_square_lu(a);
  auto p = std::make_shared<LUF>(stream());
  auto f = array::make_arrays(p->output_shapes({a}), {a.dtype(), uint32, uint32}, p, {a});
  int n = a.shape(-1);
  array l = add(tril(f[0], -1), eye_as(n, a));
  array u = triu(f[0], 0);
  array x = mm(mm(linalg::tri_inv(l, false), unpermute_rows(tangents[0], f[2])), linalg::tri_inv(u, true));
  array packed = add(mm(l, tril(x, -1)), mm(triu(x, 0), u));
  // packed = dL (strictly lower) + dU (upper): dL = L tril(X,-1) is strictly lower, dU = triu(X) U upper.
  return {packed, zeros(f[1].shape(), uint32), zeros(f[2].shape(), uint32)};
}
Arrays LUF::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& a = primals[0];
  check_square_lu(a);
  int n = a.shape(-1);
  array l = add(tril(outputs[0], -1), eye_as(n, a));
  array u = triu(outputs[0], 0);
  array gl = tril(cotangents[0], -1);
  array gu = triu(cotangents[0], 0);
  // Adjoint of X -> L tril(X, -1) + triu(X) U, then of dA -> L^-1 P dA U^-1.
  array gx = add(tril(mm(mT(l), gl), -1), triu(mm(gu, mT(u)), 0));
  array linv = linalg::tri_inv(l, false), uinv = linalg::tri_inv(u, true);
  return {permute_rows(mm(mm(mT(linv), gx), mT(uinv)), outputs[2])};
}
VmapResult LUF::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array a = batch_to_front(inputs[0], axes[0]);
  auto p = std::make_shared<LUF>(stream());
  auto outs = array::make_arrays(p->output_shapes({a}), {a.dtype(), uint32, uint32}, p, {a});
  return {outs, {0, 0, 0}};
}

// ---- Eig ----  complex eigen-decompositions of real matrices: not differentiable here (as in MLX).
Arrays Eig::jvp(const Arrays&, const Arrays&, const std::vector<int>&) {
  throw std::invalid_argument("[Eig] jvp is not supported for general (non-symmetric) eigendecompositions; use eigh for symmetric matrices.");
}
Arrays Eig::vjp(const Arrays&, const Arrays&, const std::vector<int>&, const Arrays&) {
  throw std::invalid_argument("[Eig] vjp is not supported for general (non-symmetric) eigendecompositions; use eigh for symmetric matrices.");
}
VmapResult Eig::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array a = batch_to_front(inputs[0], axes[0]);
  auto p = std::make_shared<Eig>(stream(), compute_vectors_);
  auto shapes = p->output_shapes({a});
  auto outs = array::make_arrays(shapes, std::vector<Dtype>(shapes.size(), complex64), p, {a});
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- Solve ----  X = A^-1 B: dX = A^-1 (dB - dA X); cotangents gB = A^-T C, gA = -gB X^T.
// Inputs already share their batch shape and float dtype (linalg::solve broadcasts them).
Arrays Solve::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  const array &a = primals[0], &b = primals[1];
  std::optional<array> rhs;
  for (size_t k = 0; k < argnums.size(); ++k) {
    array t = astype(tangents[k], b.dtype());
    array term = argnums[k] == 1 ? t : negative(mm(t, linalg::solve(a, b)));
    rhs = rhs ? add(*rhs, term) : term;
  }
  return {linalg::solve(a, *rhs)};
}
Arrays Solve::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                  const Arrays& outputs) {
  array gb = linalg::solve(mT(primals[0]), astype(cotangents[0], primals[1].dtype()));
  Arrays out;
  for (int arg : argnums) out.push_back(arg == 1 ? gb : negative(mm(gb, mT(outputs[0]))));
  return out;
}
VmapResult Solve::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  return {{linalg::solve(with_batch(inputs[0], axes[0], B), with_batch(inputs[1], axes[1], B))}, {0}};
}

}  // namespace kiln
