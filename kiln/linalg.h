// Linear algebra (kiln.core.linalg): norms, factorizations, inverses and solvers over the last
// two axes, batched over the leading ones. Factorizations run through LAPACK on the CPU;
// float32 and float64 inputs are accepted and keep their dtype.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/array.h"
#include "kiln/stream.h"

namespace kiln::linalg {

/** 2-norm of the flattened array (Frobenius norm for matrices), or over `axis` (1 axis: vector
 *  norm, 2 axes: Frobenius norm). */
KILN_API array norm(const array& a, const std::optional<std::vector<int>>& axis = std::nullopt,
                    bool keepdims = false, StreamOrDevice s = {});
/** Vector norm of order `ord` (1 axis) or matrix norm (2 axes: ord in 1, -1, 2, -2, inf, -inf). */
KILN_API array norm(const array& a, double ord, const std::optional<std::vector<int>>& axis = std::nullopt,
                    bool keepdims = false, StreamOrDevice s = {});
/** Matrix norm "fro" (Frobenius) or "nuc" (nuclear: sum of singular values) over 2 axes. */
KILN_API array norm(const array& a, const std::string& ord,
                    const std::optional<std::vector<int>>& axis = std::nullopt, bool keepdims = false,
                    StreamOrDevice s = {});

/** Inverse of each square matrix; singular matrices raise at evaluation. */
KILN_API array inv(const array& a, StreamOrDevice s = {});
/** Inverse of each triangular matrix (only the `upper` or lower triangle is read). */
KILN_API array tri_inv(const array& a, bool upper = false, StreamOrDevice s = {});
/** Cholesky factor L (A = L L^T) or, with `upper`, U (A = U^T U) of symmetric positive-definite A. */
KILN_API array cholesky(const array& a, bool upper = false, StreamOrDevice s = {});
/** Inverse of A from its Cholesky factor (lower L, or upper U with `upper`). */
KILN_API array cholesky_inv(const array& a, bool upper = false, StreamOrDevice s = {});
/** Packed LU factors and 0-based row pivots (uint32) of each matrix. */
KILN_API std::vector<array> lu_factor(const array& a, StreamOrDevice s = {});
/** (p, L, U) with A = (L @ U)[p]: p (uint32) a row permutation, L unit lower, U upper. */
KILN_API std::vector<array> lu(const array& a, StreamOrDevice s = {});
/** Reduced QR factorization (Q, R) of each matrix. */
KILN_API std::vector<array> qr(const array& a, StreamOrDevice s = {});
/** (U, S, Vt) with full U and Vt, or only S (descending) without `compute_uv`. */
KILN_API std::vector<array> svd(const array& a, bool compute_uv = true, StreamOrDevice s = {});
/** Eigenvalues (ascending) of symmetric matrices, from the `UPLO` ("L" or "U") triangle. */
KILN_API array eigvalsh(const array& a, std::string UPLO = "L", StreamOrDevice s = {});
/** Eigenvalues and eigenvectors (columns) of symmetric matrices. */
KILN_API std::pair<array, array> eigh(const array& a, std::string UPLO = "L", StreamOrDevice s = {});
/** Eigenvalues (complex64) of general square matrices. */
KILN_API array eigvals(const array& a, StreamOrDevice s = {});
/** Eigenvalues and right eigenvectors (columns), both complex64, of general square matrices. */
KILN_API std::pair<array, array> eig(const array& a, StreamOrDevice s = {});
/** x with a @ x = b; b is a vector if 1-D, else a (batch of) matrices. */
KILN_API array solve(const array& a, const array& b, StreamOrDevice s = {});
/** x with a @ x = b for triangular a (the `upper` or lower triangle is read). */
KILN_API array solve_triangular(const array& a, const array& b, bool upper = false, StreamOrDevice s = {});
/** Moore-Penrose pseudo-inverse through the SVD. */
KILN_API array pinv(const array& a, StreamOrDevice s = {});
/** Determinant of each square matrix. */
KILN_API array det(const array& a, StreamOrDevice s = {});
/** (sign, log|det|) of each square matrix; singular matrices give (0, -inf). */
KILN_API std::pair<array, array> slogdet(const array& a, StreamOrDevice s = {});
/** Cross product of 3-vectors along `axis` (operands broadcast). */
KILN_API array cross(const array& a, const array& b, int axis = -1, StreamOrDevice s = {});

}  // namespace kiln::linalg
