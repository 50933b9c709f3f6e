// Bindings of kiln/linalg.h: the `kiln.core.linalg` submodule, with MLX's names, keywords and
// defaults.
#include "kiln/linalg.h"

#include <cmath>

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

nb::tuple to_tuple(const std::vector<array>& v) {
  nb::list l;
  for (const auto& a : v) l.append(nb::cast(a));
  return nb::tuple(l);
}

array norm_impl(const array& a, nb::handle ord, const std::optional<IntOrVec>& axis, bool keepdims,
                StreamOrDevice s) {
  std::optional<std::vector<int>> axes;
  if (axis) axes = to_axes(*axis);
  if (ord.is_none()) return linalg::norm(a, axes, keepdims, s);
  if (PyUnicode_Check(ord.ptr())) return linalg::norm(a, nb::cast<std::string>(ord), axes, keepdims, s);
  if (PyBool_Check(ord.ptr()) || !(PyLong_Check(ord.ptr()) || PyFloat_Check(ord.ptr()))) {
    throw nb::type_error("[linalg::norm] ord must be None, an int, a float or a string.");
  }
  return linalg::norm(a, nb::cast<double>(ord), axes, keepdims, s);
}

}  // namespace

void init_linalg(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("linalg", "Linear algebra: norms, factorizations, inverses and solvers.");

  m.def("norm", &norm_impl, "a"_a, nb::arg("ord").none() = nb::none(), "axis"_a = nb::none(), "keepdims"_a = false,
        nb::kw_only(), "stream"_a = nb::none(),
        "Matrix or vector norm.\n\nWith ``axis=None`` the norm is over the whole array (the 2-norm of the\n"
        "flattened array when ``ord`` is None, else a vector norm for 1-D and a matrix norm for 2-D\n"
        "input). One axis gives vector norms (``ord``: None/2, 1, 0, inf, -inf, any p); two axes give\n"
        "matrix norms (``ord``: None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf).\n\n"
        "Args:\n    a (array)\n    ord (int, float or str, optional)\n    axis (int or list(int), optional)\n"
        "    keepdims (bool)\n\nReturns:\n    array");
  m.def(
      "inv", [](const array& a, StreamOrDevice s) { return linalg::inv(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Inverse of each square matrix in the last two axes of ``a``.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    array: the inverses, same shape and dtype.");
  m.def(
      "tri_inv", [](const array& a, bool upper, StreamOrDevice s) { return linalg::tri_inv(a, upper, s); }, "a"_a,
      "upper"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "Inverse of each triangular matrix; only the upper (``upper=True``) or lower triangle is read.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    upper (bool): read the upper triangle instead of the lower one.\n    stream (Stream, optional)\n\nReturns:\n    array: the (triangular) inverses.");
  m.def(
      "cholesky", [](const array& a, bool upper, StreamOrDevice s) { return linalg::cholesky(a, upper, s); }, "a"_a,
      "upper"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "Cholesky factor of symmetric positive-definite matrices: lower L (A = L @ L.T) or upper U\n"
      "(A = U.T @ U). Raises RuntimeError at evaluation for a matrix that is not positive definite.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    upper (bool): return the upper factor instead of the lower one.\n    stream (Stream, optional)\n\nReturns:\n    array: the triangular factors, the other triangle zero.");
  m.def(
      "cholesky_inv", [](const array& a, bool upper, StreamOrDevice s) { return linalg::cholesky_inv(a, upper, s); },
      "a"_a, "upper"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "Inverse of A = L @ L.T (or U.T @ U with ``upper=True``) from its Cholesky factor.\n\nArgs:\n    a (array): Cholesky factors (lower, or upper with ``upper=True``).\n    upper (bool)\n    stream (Stream, optional)\n\nReturns:\n    array: the inverses of the factored matrices.");
  m.def(
      "lu_factor", [](const array& a, StreamOrDevice s) { return to_tuple(linalg::lu_factor(a, s)); }, "a"_a,
      nb::kw_only(), "stream"_a = nb::none(),
      "LU factorization with partial pivoting: the packed L and U factors and the 0-based row pivots.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array): the packed factors (..., M, N) and the pivots (..., min(M, N)).");
  m.def(
      "lu", [](const array& a, StreamOrDevice s) { return to_tuple(linalg::lu(a, s)); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(),
      "LU factorization (p, L, U) with ``a == (L @ U)[p]``: p a row permutation (uint32), L unit lower\n"
      "triangular, U upper triangular.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array, array): p (..., M), L (..., M, K), U (..., K, N), K = min(M, N).");
  m.def(
      "qr", [](const array& a, StreamOrDevice s) { return to_tuple(linalg::qr(a, s)); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Reduced QR factorization (Q, R) of each matrix.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array): Q (..., M, K) with orthonormal columns and upper triangular R (..., K, N).");
  m.def(
      "svd",
      [](const array& a, bool compute_uv, StreamOrDevice s) -> nb::object {
        auto outs = linalg::svd(a, compute_uv, s);
        if (!compute_uv) return nb::cast(outs[0]);
        return to_tuple(outs);
      },
      "a"_a, "compute_uv"_a = true, nb::kw_only(), "stream"_a = nb::none(),
      "Singular value decomposition (U, S, Vt) with ``a == U[:, :K] @ diag(S) @ Vt[:K]``, or only S\n"
      "(descending) when ``compute_uv`` is False.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    compute_uv (bool): also return U and Vt.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array, array) or array: U (..., M, M), S (..., K), Vt (..., N, N); or S.");
  m.def(
      "eigvalsh", [](const array& a, std::string UPLO, StreamOrDevice s) { return linalg::eigvalsh(a, UPLO, s); },
      "a"_a, "UPLO"_a = "L", nb::kw_only(), "stream"_a = nb::none(),
      "Eigenvalues (ascending) of symmetric matrices, read from the ``UPLO`` ('L' or 'U') triangle.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    UPLO (str): 'L' or 'U', the triangle to read.\n    stream (Stream, optional)\n\nReturns:\n    array: the eigenvalues (..., N).");
  m.def(
      "eigh", [](const array& a, std::string UPLO, StreamOrDevice s) { return linalg::eigh(a, UPLO, s); }, "a"_a,
      "UPLO"_a = "L", nb::kw_only(), "stream"_a = nb::none(),
      "Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    UPLO (str): 'L' or 'U', the triangle to read.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array): eigenvalues (..., N) and eigenvectors (..., N, N).");
  m.def(
      "eigvals", [](const array& a, StreamOrDevice s) { return linalg::eigvals(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Eigenvalues (complex64) of general square matrices.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    array: the eigenvalues (..., N), complex64.");
  m.def(
      "eig", [](const array& a, StreamOrDevice s) { return linalg::eig(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Eigenvalues and right eigenvectors (columns), complex64, of square matrices.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array): eigenvalues (..., N) and eigenvectors (..., N, N), complex64.");
  m.def(
      "solve", [](const array& a, const array& b, StreamOrDevice s) { return linalg::solve(a, b, s); }, "a"_a, "b"_a,
      nb::kw_only(), "stream"_a = nb::none(), "Solves ``a @ x = b`` for x (b is a vector if 1-D).\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    b (array): right-hand side, (..., N) if 1-D else (..., N, K).\n    stream (Stream, optional)\n\nReturns:\n    array: the solution x.");
  m.def(
      "solve_triangular",
      [](const array& a, const array& b, bool upper, StreamOrDevice s) {
        return linalg::solve_triangular(a, b, upper, s);
      },
      "a"_a, "b"_a, nb::kw_only(), "upper"_a = false, "stream"_a = nb::none(),
      "Solves ``a @ x = b`` for triangular a (upper or lower triangle read).\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    b (array): right-hand side.\n    upper (bool): read the upper triangle of ``a``.\n    stream (Stream, optional)\n\nReturns:\n    array: the solution x.");
  m.def(
      "pinv", [](const array& a, StreamOrDevice s) { return linalg::pinv(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Moore-Penrose pseudo-inverse.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    array: the pseudo-inverses (..., N, M).");
  m.def(
      "det", [](const array& a, StreamOrDevice s) { return linalg::det(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Determinant of each square matrix.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    array: the determinants (...).");
  m.def(
      "slogdet", [](const array& a, StreamOrDevice s) { return linalg::slogdet(a, s); }, "a"_a, nb::kw_only(),
      "stream"_a = nb::none(), "Sign and natural log of the absolute value of the determinant.\n\nArgs:\n    a (array): input with at least 2 dimensions; the last two hold the matrices.\n    stream (Stream, optional)\n\nReturns:\n    tuple(array, array): the signs and log|det| (...).");
  m.def(
      "cross", [](const array& a, const array& b, int axis, StreamOrDevice s) { return linalg::cross(a, b, axis, s); },
      "a"_a, "b"_a, "axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),
      "Cross product of 3-vectors along ``axis``.\n\nArgs:\n    a (array)\n    b (array)\n    axis (int): the axis of size 3.\n    stream (Stream, optional)\n\nReturns:\n    array: the cross products.");
}
