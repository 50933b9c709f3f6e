// eval_cpu of the LAPACK-backed linalg primitives: Inverse, Solve, Cholesky, LUF, QRF, SVD, Eigh, Eig.
//
// Each input is first copied into a row-major scratch buffer (the output itself where the
// output has the input's shape), then LAPACKE is called once per matrix of the batch. Batches
// run one after the other: LAPACK parallelizes inside a call through the threaded BLAS.
#define LAPACK_COMPLEX_CPP
#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <complex>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "kiln/backend/cpu/copy.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// OpenBLAS's threaded LAPACK steps its worker threads in lockstep, busy-waiting: when another
// process holds a core, a small solve stalls on a descheduled worker (n=256 with 64 right-hand
// sides: 8 ms instead of 0.6 ms, NumPy 1.2 ms). Problems below about 2^26 multiply-adds gain
// little from threads anyway, so they run on the calling thread alone. OpenBLAS 0.3.21 has no
// per-call thread count; the global one is lowered for the call and restored (serialised).
class SmallLapackCall {
 public:
  explicit SmallLapackCall(double madds) : active_(madds <= static_cast<double>(1 << 26)) {
    if (!active_) return;
    mutex().lock();
    prev_ = openblas_get_num_threads();
    if (prev_ > 1) openblas_set_num_threads(1);
  }
  ~SmallLapackCall() {
    if (!active_) return;
    if (prev_ > 1) openblas_set_num_threads(prev_);
    mutex().unlock();
  }
  SmallLapackCall(const SmallLapackCall&) = delete;
  SmallLapackCall& operator=(const SmallLapackCall&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  bool active_;
  int prev_ = 1;
};

// ---- LAPACKE by element type ----
// Inverse, Cholesky and Eigh call LAPACK's native column-major layout on row-major data, which
// LAPACK then sees transposed: inv(A^T) = inv(A)^T, and a symmetric or triangular matrix only
// swaps which triangle holds it. This spares LAPACKE's transposing copies. The others use
// LAPACK_ROW_MAJOR.
lapack_int getrf(int layout, int m, int n, float* a, lapack_int* ipiv) {
  return LAPACKE_sgetrf(layout, m, n, a, layout == LAPACK_ROW_MAJOR ? n : m, ipiv);
}
lapack_int getrf(int layout, int m, int n, double* a, lapack_int* ipiv) {
  return LAPACKE_dgetrf(layout, m, n, a, layout == LAPACK_ROW_MAJOR ? n : m, ipiv);
}
lapack_int getri(int n, float* a, const lapack_int* ipiv) { return LAPACKE_sgetri(LAPACK_COL_MAJOR, n, a, n, ipiv); }
lapack_int getri(int n, double* a, const lapack_int* ipiv) { return LAPACKE_dgetri(LAPACK_COL_MAJOR, n, a, n, ipiv); }
lapack_int gesv(int n, int k, float* a, lapack_int* ipiv, float* b) {
  return LAPACKE_sgesv(LAPACK_ROW_MAJOR, n, k, a, n, ipiv, b, k);
}
lapack_int gesv(int n, int k, double* a, lapack_int* ipiv, double* b) {
  return LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, k, a, n, ipiv, b, k);
}
lapack_int trtri(char uplo, int n, float* a) { return LAPACKE_strtri(LAPACK_COL_MAJOR, uplo, 'N', n, a, n); }
lapack_int trtri(char uplo, int n, double* a) { return LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo, 'N', n, a, n); }
lapack_int potrf(char uplo, int n, float* a) { return LAPACKE_spotrf(LAPACK_COL_MAJOR, uplo, n, a, n); }
lapack_int potrf(char uplo, int n, double* a) { return LAPACKE_dpotrf(LAPACK_COL_MAJOR, uplo, n, a, n); }
lapack_int geqrf(int m, int n, float* a, float* tau) { return LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, a, n, tau); }
lapack_int geqrf(int m, int n, double* a, double* tau) { return LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, a, n, tau); }
lapack_int orgqr(int m, int k, float* a, int lda, const float* tau) {
  return LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, k, k, a, lda, tau);
}
lapack_int orgqr(int m, int k, double* a, int lda, const double* tau) {
  return LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, k, k, a, lda, tau);
}
lapack_int gesdd(char jobz, int m, int n, float* a, float* s, float* u, int ldu, float* vt, int ldvt) {
  return LAPACKE_sgesdd(LAPACK_ROW_MAJOR, jobz, m, n, a, n, s, u, ldu, vt, ldvt);
}
lapack_int gesdd(char jobz, int m, int n, double* a, double* s, double* u, int ldu, double* vt, int ldvt) {
  return LAPACKE_dgesdd(LAPACK_ROW_MAJOR, jobz, m, n, a, n, s, u, ldu, vt, ldvt);
}
lapack_int syevd(char jobz, char uplo, int n, float* a, float* w) {
  return LAPACKE_ssyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, n, w);
}
lapack_int syevd(char jobz, char uplo, int n, double* a, double* w) {
  return LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, n, w);
}
lapack_int geev(char jobvr, int n, float* a, float* wr, float* wi, float* vr, int ldvr) {
  float dummy = 0;
  return LAPACKE_sgeev(LAPACK_ROW_MAJOR, 'N', jobvr, n, a, n, wr, wi, &dummy, 1, vr, ldvr);
}
lapack_int geev(char jobvr, int n, double* a, double* wr, double* wi, double* vr, int ldvr) {
  double dummy = 0;
  return LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', jobvr, n, a, n, wr, wi, &dummy, 1, vr, ldvr);
}

// float32 or float64 (the ops admit nothing else).
template <typename F>
void dispatch_lapack(Dtype t, const char* op, F&& f) {
  if (t == float32) {
    f(type_tag<float>{});
  } else if (t == float64) {
    f(type_tag<double>{});
  } else {
    throw_unsupported_dtype(op, t);
  }
}

template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Number of matrices in the batch dims of `a`.
int64_t batch_count(const array& a) {
  int64_t b = 1;
  for (int i = 0; i < a.ndim() - 2; ++i) b *= a.shape(i);
  return b;
}

// `out` gets a fresh row-major buffer holding `in` (same shape and dtype).
void copy_to_output(const array& in, array& out) {
  out.set_data(allocator::malloc(out.nbytes()));
  cpu::copy_into(in, out);
}

// A row-major scratch copy of `in`.
array scratch_copy(const array& in) {
  array tmp(allocator::malloc(in.nbytes()), in.shape(), in.dtype());
  cpu::copy_into(in, tmp);
  return tmp;
}

template <typename T>
void zero_triangle(T* m, int n, bool keep_upper) {
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (keep_upper ? j < i : j > i) m[i * n + j] = T(0);
    }
  }
}

void check_info(lapack_int info, const char* prim, const char* routine) {
  if (info < 0) {
    throw std::runtime_error(str("[", prim, "::eval_cpu] ", routine, " rejected argument ", -info, "."));
  }
}

}  // namespace

void Inverse::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  copy_to_output(a, out);
  int n = a.shape(-1);
  int64_t batch = batch_count(a);
  if (n == 0) return;
  dispatch_lapack(a.dtype(), "Inverse", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<lapack_int> ipiv(n);
    for (int64_t b = 0; b < batch; ++b) {
      T* m = out.data<T>() + b * n * n;
      if (tri_) {
        lapack_int info = trtri(upper_ ? 'L' : 'U', n, m);
        check_info(info, "Inverse", "trtri");
        if (info > 0) {
          throw std::runtime_error(str("[Inverse::eval_cpu] The triangular matrix is singular: diagonal element ",
                                       info - 1, " is zero."));
        }
        zero_triangle(m, n, upper_);
      } else {
        lapack_int info = getrf(LAPACK_COL_MAJOR, n, n, m, ipiv.data());
        check_info(info, "Inverse", "getrf");
        if (info > 0) {
          throw std::runtime_error(
              str("[Inverse::eval_cpu] The matrix is singular: its LU factorization has an exact zero pivot (",
                  info - 1, ")."));
        }
        check_info(getri(n, m, ipiv.data()), "Inverse", "getri");
      }
    }
  });
}

void Solve::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = scratch_copy(inputs[0]);
  copy_to_output(inputs[1], out);
  int n = a.shape(-1), k = out.shape(-1);
  int64_t batch = batch_count(a);
  if (n == 0 || k == 0) return;
  dispatch_lapack(a.dtype(), "Solve", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<lapack_int> ipiv(n);
    SmallLapackCall single(static_cast<double>(n) * n * (n / 3.0 + k));
    for (int64_t b = 0; b < batch; ++b) {
      lapack_int info = gesv(n, k, a.data<T>() + b * n * n, ipiv.data(), out.data<T>() + b * n * k);
      check_info(info, "Solve", "gesv");
      if (info > 0) {
        throw std::runtime_error(str(
            "[Solve::eval_cpu] The matrix is singular: its LU factorization has an exact zero pivot (", info - 1, ")."));
      }
    }
  });
}

void Cholesky::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  copy_to_output(a, out);
  int n = a.shape(-1);
  int64_t batch = batch_count(a);
  if (n == 0) return;
  dispatch_lapack(a.dtype(), "Cholesky", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t b = 0; b < batch; ++b) {
      T* m = out.data<T>() + b * n * n;
      lapack_int info = potrf(upper_ ? 'L' : 'U', n, m);
      check_info(info, "Cholesky", "potrf");
      if (info > 0) {
        throw std::runtime_error(str("[Cholesky::eval_cpu] The matrix is not positive definite (the leading minor of order ",
                                     info, " is not positive)."));
      }
      zero_triangle(m, n, upper_);
    }
  });
}

void LUF::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  array& lu = outputs[0];
  array& piv = outputs[1];
  array& perm = outputs[2];
  copy_to_output(a, lu);
  piv.set_data(allocator::malloc(piv.nbytes()));
  perm.set_data(allocator::malloc(perm.nbytes()));
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  int64_t batch = batch_count(a);
  dispatch_lapack(a.dtype(), "LUF", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<lapack_int> ipiv(std::max(k, 1));
    std::vector<uint32_t> rows(m);
    for (int64_t b = 0; b < batch; ++b) {
      uint32_t* pv = piv.data<uint32_t>() + b * k;
      uint32_t* pm = perm.data<uint32_t>() + b * m;
      if (k > 0) {
        // info > 0 only reports an exactly zero pivot: the factorization is still complete.
        check_info(getrf(LAPACK_ROW_MAJOR, m, n, lu.data<T>() + b * m * n, ipiv.data()), "LUF", "getrf");
      }
      for (int i = 0; i < m; ++i) rows[i] = i;
      for (int i = 0; i < k; ++i) {
        pv[i] = static_cast<uint32_t>(ipiv[i] - 1);
        std::swap(rows[i], rows[pv[i]]);
      }
      // L @ U holds the rows of A in the order `rows`; p is the inverse permutation.
      for (int i = 0; i < m; ++i) pm[rows[i]] = i;
    }
  });
}

void QRF::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  array& q = outputs[0];
  array& r = outputs[1];
  q.set_data(allocator::malloc(q.nbytes()));
  r.set_data(allocator::malloc(r.nbytes()));
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  int64_t batch = batch_count(a);
  if (k == 0) return;
  array work = scratch_copy(a);
  dispatch_lapack(a.dtype(), "QRF", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> tau(k);
    for (int64_t b = 0; b < batch; ++b) {
      T* w = work.data<T>() + b * m * n;
      T* qb = q.data<T>() + b * m * k;
      T* rb = r.data<T>() + b * k * n;
      check_info(geqrf(m, n, w, tau.data()), "QRF", "geqrf");
      for (int i = 0; i < k; ++i) {
        for (int j = 0; j < n; ++j) rb[i * n + j] = j >= i ? w[i * n + j] : T(0);
      }
      check_info(orgqr(m, k, w, n, tau.data()), "QRF", "orgqr");
      for (int i = 0; i < m; ++i) {
        std::copy(w + i * n, w + i * n + k, qb + i * k);
      }
    }
  });
}

void SVD::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  for (auto& o : outputs) o.set_data(allocator::malloc(o.nbytes()));
  int m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  int64_t batch = batch_count(a);
  array work = scratch_copy(a);
  dispatch_lapack(a.dtype(), "SVD", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T dummy[1] = {T(0)};
    for (int64_t b = 0; b < batch; ++b) {
      T* w = work.data<T>() + b * m * n;
      if (compute_uv_) {
        T* u = outputs[0].data<T>() + b * m * m;
        T* s = outputs[1].data<T>() + b * k;
        T* vt = outputs[2].data<T>() + b * n * n;
        if (k == 0) {
          // An empty matrix: U and Vt are any orthogonal matrices; use the identity.
          for (int i = 0; i < m * m; ++i) u[i] = i % (m + 1) == 0 ? T(1) : T(0);
          for (int i = 0; i < n * n; ++i) vt[i] = i % (n + 1) == 0 ? T(1) : T(0);
          continue;
        }
        lapack_int info = gesdd('A', m, n, w, s, u, m, vt, n);
        check_info(info, "SVD", "gesdd");
        if (info > 0) throw std::runtime_error("[SVD::eval_cpu] The SVD did not converge.");
      } else {
        if (k == 0) continue;
        T* s = outputs[0].data<T>() + b * k;
        lapack_int info = gesdd('N', m, n, w, s, dummy, m, dummy, n);
        check_info(info, "SVD", "gesdd");
        if (info > 0) throw std::runtime_error("[SVD::eval_cpu] The SVD did not converge.");
      }
    }
  });
}

void Eigh::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  array& w = outputs[0];
  w.set_data(allocator::malloc(w.nbytes()));
  array vecs = compute_vectors_ ? outputs[1] : array(allocator::malloc(a.nbytes()), a.shape(), a.dtype());
  if (compute_vectors_) vecs.set_data(allocator::malloc(vecs.nbytes()));
  cpu::copy_into(a, vecs);
  int n = a.shape(-1);
  int64_t batch = batch_count(a);
  if (n == 0) return;
  dispatch_lapack(a.dtype(), "Eigh", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t b = 0; b < batch; ++b) {
      T* v = vecs.data<T>() + b * n * n;
      lapack_int info = syevd(compute_vectors_ ? 'V' : 'N', uplo_ == 'L' ? 'U' : 'L', n, v, w.data<T>() + b * n);
      check_info(info, "Eigh", "syevd");
      if (info > 0) throw std::runtime_error("[Eigh::eval_cpu] The eigenvalue computation did not converge.");
      if (compute_vectors_) {
        // Column-major eigenvectors read row-major are V^T.
        for (int i = 0; i < n; ++i) {
          for (int j = i + 1; j < n; ++j) std::swap(v[i * n + j], v[j * n + i]);
        }
      }
    }
  });
}

void Eig::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  for (auto& o : outputs) o.set_data(allocator::malloc(o.nbytes()));
  int n = a.shape(-1);
  int64_t batch = batch_count(a);
  if (n == 0) return;
  array work = scratch_copy(a);
  dispatch_lapack(a.dtype(), "Eig", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> wr(n), wi(n), vr(compute_vectors_ ? n * n : 1);
    for (int64_t b = 0; b < batch; ++b) {
      lapack_int info = geev(compute_vectors_ ? 'V' : 'N', n, work.data<T>() + b * n * n, wr.data(), wi.data(),
                             vr.data(), compute_vectors_ ? n : 1);
      check_info(info, "Eig", "geev");
      if (info > 0) throw std::runtime_error("[Eig::eval_cpu] The eigenvalue computation did not converge.");
      complex64_t* wb = outputs[0].data<complex64_t>() + b * n;
      for (int j = 0; j < n; ++j) wb[j] = complex64_t(static_cast<float>(wr[j]), static_cast<float>(wi[j]));
      if (!compute_vectors_) continue;
      // Real geev packs a complex pair's vectors as two real columns: v_j = re + i im, v_{j+1} = conj.
      complex64_t* vb = outputs[1].data<complex64_t>() + b * n * n;
      for (int j = 0; j < n; ++j) {
        if (wi[j] != T(0) && j + 1 < n) {
          for (int i = 0; i < n; ++i) {
            float re = static_cast<float>(vr[i * n + j]), im = static_cast<float>(vr[i * n + j + 1]);
            vb[i * n + j] = complex64_t(re, im);
            vb[i * n + j + 1] = complex64_t(re, -im);
          }
          ++j;
        } else {
          for (int i = 0; i < n; ++i) vb[i * n + j] = complex64_t(static_cast<float>(vr[i * n + j]), 0.0f);
        }
      }
    }
  });
}

}  // namespace kiln
