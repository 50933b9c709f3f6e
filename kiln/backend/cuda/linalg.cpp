// eval_gpu of the linalg primitives through cuSOLVER (and cuBLAS's batched routines for many
// small matrices): Inverse, Solve, Cholesky, LUF, QRF, SVD, Eigh, Eig. float32 and float64.
//
// cuSOLVER is column-major. A row-major matrix read column-major is its transpose, which the
// CPU backend's conventions already exploit (inv(A^T) = inv(A)^T; a symmetric or triangular
// matrix only swaps the triangle it lives in): Inverse, Cholesky and Eigh run on a row-major
// copy exactly like the CPU's LAPACK calls, so pivots, error positions and results agree. LUF,
// QRF, Solve and Eig need A itself: the input is copied into a column-major workspace (any input
// layout, one strided-copy kernel). SVD takes A^T when M < N (cuSOLVER's gesvd needs M >= N):
// A^T = U' S V'^T gives U = V' and Vt = U'^T, which are exactly U' and V'^T read row-major.
//
// Failures behave as on the CPU: the per-matrix info codes are read back after the calls (the
// stream is synchronized, as the CPU's eval is synchronous too) and the first failing matrix
// raises the CPU's message (singular matrix, not positive definite, no convergence). LUF, like
// the CPU, accepts exactly singular matrices and never waits.
#include <cublas_v2.h>
#include <cusolverDn.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/linalg.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

namespace la = cuda::linalg;
using cuda::Scratch;

// Batched cuBLAS/cuSOLVER routines beat one call per matrix up to about this size.
constexpr int64_t kSmall = 32;

template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

void check_solver(cusolverStatus_t st, const char* prim, const char* what) {
  if (st != CUSOLVER_STATUS_SUCCESS) {
    throw std::runtime_error(str("[", prim, "] cuSOLVER error in ", what, ": status ", static_cast<int>(st), "."));
  }
}

void check_cublas(cublasStatus_t st, const char* prim, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(str("[", prim, "] cuBLAS error in ", what, ": ", cublasGetStatusString(st), "."));
  }
}

// One cuSOLVER handle (and, when asked for, one cuBLAS handle) per CUDA stream, bound to it.
struct Handles {
  cusolverDnHandle_t solver = nullptr;
  cusolverDnParams_t params = nullptr;
  cublasHandle_t blas = nullptr;
};

std::mutex g_handles_mtx;

Handles& handles(cudaStream_t s, const char* prim, bool need_blas = false) {
  static auto* map = new std::unordered_map<cudaStream_t, Handles>();  // leaked: used until exit
  std::lock_guard<std::mutex> lk(g_handles_mtx);
  Handles& h = (*map)[s];
  if (h.solver == nullptr) {
    check_solver(cusolverDnCreate(&h.solver), prim, "cusolverDnCreate");
    check_solver(cusolverDnSetStream(h.solver, s), prim, "cusolverDnSetStream");
    check_solver(cusolverDnCreateParams(&h.params), prim, "cusolverDnCreateParams");
  }
  if (need_blas && h.blas == nullptr) {
    check_cublas(cublasCreate(&h.blas), prim, "cublasCreate");
    check_cublas(cublasSetStream(h.blas, s), prim, "cublasSetStream");
  }
  return h;
}

// float32 or float64 (the ops admit nothing else); true for float64.
bool is_double(Dtype t, const char* prim) {
  if (t == float64) return true;
  if (t != float32) throw_unsupported_dtype(prim, t);
  return false;
}

cudaDataType cuda_type(bool dbl) { return dbl ? CUDA_R_64F : CUDA_R_32F; }

int64_t batch_count(const array& a) {
  int64_t b = 1;
  for (int i = 0; i < a.ndim() - 2; ++i) b *= a.shape(i);
  return b;
}

// Strides of `shape` (batch dims, then one matrix) for matrices `mat` elements apart whose
// elements are `rs` (rows) and `cs` (columns) apart.
Strides matrix_strides(const Shape& shape, int64_t mat, int64_t rs, int64_t cs) {
  int nd = static_cast<int>(shape.size());
  Strides st(nd);
  st[nd - 2] = rs;
  st[nd - 1] = cs;
  int64_t acc = mat;
  for (int i = nd - 3; i >= 0; --i) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

// A dense device copy of `a` (any layout) whose matrices are row-major or column-major.
array dense_copy(const array& a, bool col_major, cudaStream_t s, const char* prim) {
  array w = array::placeholder(a.shape(), a.dtype());
  if (col_major) {
    int64_t m = a.shape(-2), n = a.shape(-1);
    Strides st = matrix_strides(a.shape(), m * n, 1, m);
    cuda::alloc_device(w, s, a.size(), st, layout_flags(a.shape(), st));
  } else {
    cuda::alloc_device(w, s);
  }
  cuda::copy_gpu(prim, a, w, s);
  return w;
}

// A view of the device buffer of `buf` with another shape and strides.
array strided_view(const array& buf, const Shape& shape, const Strides& st) {
  array v = array::placeholder(shape, buf.dtype());
  v.copy_shared_buffer(buf, st, layout_flags(shape, st), buf.data_size(), 0);
  return v;
}

// A row-major device scratch matrix batch (an array, so that it can be viewed and copied).
array device_array(const Shape& shape, Dtype t, cudaStream_t s) {
  array w = array::placeholder(shape, t);
  cuda::alloc_device(w, s);
  return w;
}

char* ptr(array& a) { return static_cast<char*>(cuda::device_out(a)); }

// Per-matrix info codes (batch of them, plus one slot for the calls whose info only reports
// bad arguments), zeroed.
struct Info {
  Scratch buf;
  int64_t batch;
  Info(int64_t b, cudaStream_t s) : buf((b + 1) * sizeof(int), s), batch(b) {
    cuda::check(cudaMemsetAsync(buf.get(), 0, (b + 1) * sizeof(int), s), "linalg info");
  }
  int* at(int64_t b) const { return static_cast<int*>(buf.get()) + b; }
  int* extra() const { return at(batch); }
  // Waits for the stream and returns the batch's codes; negative ones (bad arguments) throw.
  std::vector<int> read(cudaStream_t s, const char* prim) const {
    std::vector<int> h(batch + 1);
    cuda::check(cudaMemcpyAsync(h.data(), buf.get(), h.size() * sizeof(int), cudaMemcpyDeviceToHost, s), prim);
    cuda::check(cudaStreamSynchronize(s), prim);
    for (int v : h) {
      if (v < 0) throw std::runtime_error(str("[", prim, "] cuSOLVER rejected argument ", -v, "."));
    }
    h.pop_back();
    return h;
  }
};

// Device and host workspaces of the 64-bit cuSOLVER API.
struct Work {
  size_t dev = 0, host = 0;
  Scratch d;
  std::vector<char> h;
  Work(size_t dev_bytes, size_t host_bytes, cudaStream_t s)
      : dev(dev_bytes), host(host_bytes), d(std::max<size_t>(dev_bytes, 1), s), h(std::max<size_t>(host_bytes, 1)) {}
};

// Device array of `batch` pointers to the matrices of `base`, `stride` bytes apart.
struct Pointers {
  Scratch buf;
  Pointers(void* base, int64_t stride, int64_t batch, cudaStream_t s) : buf(batch * sizeof(void*), s) {
    la::pointer_array(static_cast<void**>(buf.get()), base, stride, batch, s);
  }
  template <typename T>
  T** as() const {
    return static_cast<T**>(buf.get());
  }
};

// ---- the legacy (typed) routines by element type

cublasStatus_t getrf_batched(cublasHandle_t h, int n, float** a, int* p, int* info, int b) {
  return cublasSgetrfBatched(h, n, a, n, p, info, b);
}
cublasStatus_t getrf_batched(cublasHandle_t h, int n, double** a, int* p, int* info, int b) {
  return cublasDgetrfBatched(h, n, a, n, p, info, b);
}
cublasStatus_t getri_batched(cublasHandle_t h, int n, float** a, const int* p, float** c, int* info, int b) {
  return cublasSgetriBatched(h, n, a, n, p, c, n, info, b);
}
cublasStatus_t getri_batched(cublasHandle_t h, int n, double** a, const int* p, double** c, int* info, int b) {
  return cublasDgetriBatched(h, n, a, n, p, c, n, info, b);
}
cublasStatus_t getrs_batched(cublasHandle_t h, int n, int k, float** a, const int* p, float** x, int* info, int b) {
  return cublasSgetrsBatched(h, CUBLAS_OP_N, n, k, a, n, p, x, n, info, b);
}
cublasStatus_t getrs_batched(cublasHandle_t h, int n, int k, double** a, const int* p, double** x, int* info,
                             int b) {
  return cublasDgetrsBatched(h, CUBLAS_OP_N, n, k, a, n, p, x, n, info, b);
}
cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float** a, int* info, int b) {
  return cusolverDnSpotrfBatched(h, uplo, n, a, n, info, b);
}
cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double** a, int* info, int b) {
  return cusolverDnDpotrfBatched(h, uplo, n, a, n, info, b);
}
cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int k, const float* a, const float* tau, int* lwork) {
  return cusolverDnSorgqr_bufferSize(h, m, k, k, a, m, tau, lwork);
}
cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int k, const double* a, const double* tau, int* lwork) {
  return cusolverDnDorgqr_bufferSize(h, m, k, k, a, m, tau, lwork);
}
cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int k, float* a, const float* tau, void* work, int lwork,
                       int* info) {
  return cusolverDnSorgqr(h, m, k, k, a, m, tau, static_cast<float*>(work), lwork, info);
}
cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int k, double* a, const double* tau, void* work, int lwork,
                       int* info) {
  return cusolverDnDorgqr(h, m, k, k, a, m, tau, static_cast<double*>(work), lwork, info);
}

template <typename F>
void dispatch_real(bool dbl, F&& f) {
  if (dbl) {
    f(type_tag<double>{});
  } else {
    f(type_tag<float>{});
  }
}

// LU factorization with partial pivoting of `batch` column-major n x n matrices at `a` (in
// place): cuBLAS's batched routine for many small ones (int pivots, `small` set), else
// cuSOLVER per matrix (int64 pivots). `ipiv` must hold batch * n int64.
void lu_square(bool dbl, char* a, int64_t n, int64_t batch, void* ipiv, const Info& info, bool small, cudaStream_t s,
               const char* prim) {
  size_t es = dbl ? 8 : 4;
  if (small) {
    Handles& h = handles(s, prim, true);
    Pointers pa(a, n * n * es, batch, s);
    dispatch_real(dbl, [&](auto tag) {
      using T = typename decltype(tag)::type;
      check_cublas(getrf_batched(h.blas, static_cast<int>(n), pa.as<T>(), static_cast<int*>(ipiv), info.at(0),
                                 static_cast<int>(batch)),
                   prim, "getrfBatched");
    });
    return;
  }
  Handles& h = handles(s, prim);
  cudaDataType t = cuda_type(dbl);
  size_t dws = 0, hws = 0;
  check_solver(cusolverDnXgetrf_bufferSize(h.solver, h.params, n, n, t, a, n, t, &dws, &hws), prim,
               "Xgetrf_bufferSize");
  Work w(dws, hws, s);
  for (int64_t b = 0; b < batch; ++b) {
    check_solver(cusolverDnXgetrf(h.solver, h.params, n, n, t, a + b * n * n * es, n,
                                  static_cast<int64_t*>(ipiv) + b * n, t, w.d.get(), w.dev, w.h.data(), w.host,
                                  info.at(b)),
                 prim, "Xgetrf");
  }
}

void throw_singular(const std::vector<int>& codes, const char* prim) {
  for (int c : codes) {
    if (c > 0) {
      throw std::runtime_error(
          str("[", prim, "] The matrix is singular: its LU factorization has an exact zero pivot (", c - 1, ")."));
    }
  }
}

}  // namespace

void Inverse::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "Inverse");
  cuda::alloc_device(out, s);
  int64_t n = a.shape(-1), batch = batch_count(a);
  if (n == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  Info info(batch, s);
  if (tri_) {
    // As the CPU: trtri of the other triangle on the row-major copy (its transpose).
    cuda::copy_gpu("Inverse", a, out, s);
    char* p = ptr(out);
    Handles& h = handles(s, "Inverse");
    cublasFillMode_t uplo = upper_ ? CUBLAS_FILL_MODE_LOWER : CUBLAS_FILL_MODE_UPPER;
    size_t dws = 0, hws = 0;
    check_solver(cusolverDnXtrtri_bufferSize(h.solver, uplo, CUBLAS_DIAG_NON_UNIT, n, t, p, n, &dws, &hws), "Inverse",
                 "Xtrtri_bufferSize");
    Work w(dws, hws, s);
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(cusolverDnXtrtri(h.solver, uplo, CUBLAS_DIAG_NON_UNIT, n, t, p + b * n * n * es, n, w.d.get(),
                                    w.dev, w.h.data(), w.host, info.at(b)),
                   "Inverse", "Xtrtri");
    }
    la::zero_triangle(dbl, p, batch, n, upper_, s);
    for (int c : info.read(s, "Inverse")) {
      if (c > 0) {
        throw std::runtime_error(str("[Inverse] The triangular matrix is singular: diagonal element ", c - 1,
                                     " is zero."));
      }
    }
    return;
  }
  // The row-major copy read column-major is A^T: its inverse, written column-major, is inv(A)
  // read row-major.
  array w = dense_copy(a, false, s, "Inverse");
  char* pw = ptr(w);
  char* po = ptr(out);
  bool small = batch > 1 && n <= kSmall;
  Scratch ipiv(batch * n * (small ? sizeof(int) : sizeof(int64_t)), s);
  lu_square(dbl, pw, n, batch, ipiv.get(), info, small, s, "Inverse");
  if (small) {
    Handles& h = handles(s, "Inverse", true);
    Pointers pa(pw, n * n * es, batch, s), pc(po, n * n * es, batch, s);
    Scratch info2(batch * sizeof(int), s);
    dispatch_real(dbl, [&](auto tag) {
      using T = typename decltype(tag)::type;
      check_cublas(getri_batched(h.blas, static_cast<int>(n), pa.as<T>(), static_cast<const int*>(ipiv.get()),
                                 pc.as<T>(), static_cast<int*>(info2.get()), static_cast<int>(batch)),
                   "Inverse", "getriBatched");
    });
  } else {
    Handles& h = handles(s, "Inverse");
    la::identity(dbl, po, batch, n, s);
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(cusolverDnXgetrs(h.solver, h.params, CUBLAS_OP_N, n, n, t, pw + b * n * n * es, n,
                                    static_cast<const int64_t*>(ipiv.get()) + b * n, t, po + b * n * n * es, n,
                                    info.extra()),
                   "Inverse", "Xgetrs");
    }
  }
  throw_singular(info.read(s, "Inverse"), "Inverse");
}

void Solve::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  const array& rhs = inputs[1];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "Solve");
  if (rhs.dtype() != a.dtype()) throw_unsupported_dtype("Solve", rhs.dtype());
  cuda::alloc_device(out, s);
  int64_t n = a.shape(-1), k = out.shape(-1), batch = batch_count(a);
  if (n == 0 || k == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  // A and B column-major (the CPU's gesv factors A itself: the same pivots and error position).
  array aw = dense_copy(a, true, s, "Solve");
  array bw = dense_copy(rhs, true, s, "Solve");
  char* pa = ptr(aw);
  char* pb = ptr(bw);
  Info info(batch, s);
  bool small = batch > 1 && n <= kSmall;
  Scratch ipiv(batch * n * (small ? sizeof(int) : sizeof(int64_t)), s);
  lu_square(dbl, pa, n, batch, ipiv.get(), info, small, s, "Solve");
  if (small) {
    Handles& h = handles(s, "Solve", true);
    Pointers ppa(pa, n * n * es, batch, s), ppb(pb, n * k * es, batch, s);
    int host_info = 0;
    dispatch_real(dbl, [&](auto tag) {
      using T = typename decltype(tag)::type;
      check_cublas(getrs_batched(h.blas, static_cast<int>(n), static_cast<int>(k), ppa.as<T>(),
                                 static_cast<const int*>(ipiv.get()), ppb.as<T>(), &host_info,
                                 static_cast<int>(batch)),
                   "Solve", "getrsBatched");
    });
    if (host_info != 0) throw std::runtime_error(str("[Solve] getrsBatched rejected argument ", -host_info, "."));
  } else {
    Handles& h = handles(s, "Solve");
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(cusolverDnXgetrs(h.solver, h.params, CUBLAS_OP_N, n, k, t, pa + b * n * n * es, n,
                                    static_cast<const int64_t*>(ipiv.get()) + b * n, t, pb + b * n * k * es, n,
                                    info.extra()),
                   "Solve", "Xgetrs");
    }
  }
  cuda::copy_gpu("Solve", bw, out, s);
  throw_singular(info.read(s, "Solve"), "Solve");
}

void Cholesky::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "Cholesky");
  cuda::alloc_device(out, s);
  int64_t n = a.shape(-1), batch = batch_count(a);
  if (n == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  // cuSOLVER's upper factorization was slow (4096^2 float32 on an H200: 4.5 ms, torch 2.0 ms
  // with the lower one), so both cases factor a lower triangle: for U, the row-major
  // copy (A^T column-major, its lower triangle is A's upper one) gives L' = U^T, which read
  // row-major is U; for L, a column-major copy of A gives L, copied back row-major.
  array w = upper_ ? out : dense_copy(a, true, s, "Cholesky");
  if (upper_) cuda::copy_gpu("Cholesky", a, out, s);
  char* p = ptr(w);
  Info info(batch, s);
  cublasFillMode_t uplo = CUBLAS_FILL_MODE_LOWER;
  Handles& h = handles(s, "Cholesky");
  if (batch > 1 && n <= kSmall) {
    Pointers pp(p, n * n * es, batch, s);
    dispatch_real(dbl, [&](auto tag) {
      using T = typename decltype(tag)::type;
      check_solver(potrf_batched(h.solver, uplo, static_cast<int>(n), pp.as<T>(), info.at(0), static_cast<int>(batch)),
                   "Cholesky", "potrfBatched");
    });
  } else {
    size_t dws = 0, hws = 0;
    check_solver(cusolverDnXpotrf_bufferSize(h.solver, h.params, uplo, n, t, p, n, t, &dws, &hws), "Cholesky",
                 "Xpotrf_bufferSize");
    Work wk(dws, hws, s);
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(cusolverDnXpotrf(h.solver, h.params, uplo, n, t, p + b * n * n * es, n, t, wk.d.get(), wk.dev,
                                    wk.h.data(), wk.host, info.at(b)),
                   "Cholesky", "Xpotrf");
    }
  }
  if (!upper_) cuda::copy_gpu("Cholesky", w, out, s);
  la::zero_triangle(dbl, ptr(out), batch, n, upper_, s);
  for (int c : info.read(s, "Cholesky")) {
    if (c > 0) {
      throw std::runtime_error(
          str("[Cholesky] The matrix is not positive definite (the leading minor of order ", c, " is not positive)."));
    }
  }
}

void LUF::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "LUF");
  for (auto& o : outputs) cuda::alloc_device(o, s);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n), batch = batch_count(a);
  if (batch == 0 || m == 0) return;
  size_t es = a.itemsize();
  bool small = m == n && batch > 1 && n <= kSmall;
  Scratch ipiv(std::max<int64_t>(batch * k, 1) * (small ? sizeof(int) : sizeof(int64_t)), s);
  if (k > 0) {
    array w = dense_copy(a, true, s, "LUF");
    char* pw = ptr(w);
    Info info(batch, s);  // info > 0 only reports an exactly zero pivot: the factors are complete
    if (m == n) {
      lu_square(dbl, pw, n, batch, ipiv.get(), info, small, s, "LUF");
    } else {
      Handles& h = handles(s, "LUF");
      cudaDataType t = cuda_type(dbl);
      size_t dws = 0, hws = 0;
      check_solver(cusolverDnXgetrf_bufferSize(h.solver, h.params, m, n, t, pw, m, t, &dws, &hws), "LUF",
                   "Xgetrf_bufferSize");
      Work wk(dws, hws, s);
      for (int64_t b = 0; b < batch; ++b) {
        check_solver(cusolverDnXgetrf(h.solver, h.params, m, n, t, pw + b * m * n * es, m,
                                      static_cast<int64_t*>(ipiv.get()) + b * k, t, wk.d.get(), wk.dev, wk.h.data(),
                                      wk.host, info.at(b)),
                     "LUF", "Xgetrf");
      }
    }
    cuda::copy_gpu("LUF", w, outputs[0], s);
  }
  Scratch rows(batch * m * sizeof(uint32_t), s);
  la::lu_pivots(ipiv.get(), !small, static_cast<uint32_t*>(cuda::device_out(outputs[1])),
                static_cast<uint32_t*>(cuda::device_out(outputs[2])), static_cast<uint32_t*>(rows.get()), batch, m, k,
                s);
}

void QRF::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "QRF");
  for (auto& o : outputs) cuda::alloc_device(o, s);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n), batch = batch_count(a);
  if (k == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  array w = dense_copy(a, true, s, "QRF");
  char* pw = ptr(w);
  Scratch tau(batch * k * es, s);
  char* pt = static_cast<char*>(tau.get());
  Info info(batch, s);
  Handles& h = handles(s, "QRF");
  size_t dws = 0, hws = 0;
  check_solver(cusolverDnXgeqrf_bufferSize(h.solver, h.params, m, n, t, pw, m, t, pt, t, &dws, &hws), "QRF",
               "Xgeqrf_bufferSize");
  int lwork = 0;
  dispatch_real(dbl, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_solver(orgqr_size(h.solver, static_cast<int>(m), static_cast<int>(k), reinterpret_cast<const T*>(pw),
                            reinterpret_cast<const T*>(pt), &lwork),
                 "QRF", "orgqr_bufferSize");
  });
  Work wk(std::max<size_t>(dws, static_cast<size_t>(lwork) * es), hws, s);
  for (int64_t b = 0; b < batch; ++b) {
    check_solver(cusolverDnXgeqrf(h.solver, h.params, m, n, t, pw + b * m * n * es, m, t, pt + b * k * es, t,
                                  wk.d.get(), wk.dev, wk.h.data(), wk.host, info.extra()),
                 "QRF", "Xgeqrf");
  }
  la::qr_r(dbl, pw, cuda::device_out(outputs[1]), batch, m, n, k, s);
  dispatch_real(dbl, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(orgqr(h.solver, static_cast<int>(m), static_cast<int>(k), reinterpret_cast<T*>(pw + b * m * n * es),
                         reinterpret_cast<const T*>(pt + b * k * es), wk.d.get(), lwork, info.extra()),
                   "QRF", "orgqr");
    }
  });
  // Q: the first k columns of the column-major workspace.
  const Shape& qs = outputs[0].shape();
  cuda::copy_gpu("QRF", strided_view(w, qs, matrix_strides(qs, m * n, 1, m)), outputs[0], s);
  info.read(s, "QRF");
}

namespace {

cusolverStatus_t gesvdj_size(cusolverDnHandle_t h, cusolverEigMode_t jobz, int m, int n, const float* a,
                             const float* sv, const float* u, const float* v, int* lwork, gesvdjInfo_t p) {
  return cusolverDnSgesvdj_bufferSize(h, jobz, 0, m, n, a, m, sv, u, m, v, n, lwork, p);
}
cusolverStatus_t gesvdj_size(cusolverDnHandle_t h, cusolverEigMode_t jobz, int m, int n, const double* a,
                             const double* sv, const double* u, const double* v, int* lwork, gesvdjInfo_t p) {
  return cusolverDnDgesvdj_bufferSize(h, jobz, 0, m, n, a, m, sv, u, m, v, n, lwork, p);
}
cusolverStatus_t gesvdj(cusolverDnHandle_t h, cusolverEigMode_t jobz, int m, int n, float* a, float* sv, float* u,
                        float* v, void* work, int lwork, int* info, gesvdjInfo_t p) {
  return cusolverDnSgesvdj(h, jobz, 0, m, n, a, m, sv, u, m, v, n, static_cast<float*>(work), lwork, info, p);
}
cusolverStatus_t gesvdj(cusolverDnHandle_t h, cusolverEigMode_t jobz, int m, int n, double* a, double* sv, double* u,
                        double* v, void* work, int lwork, int* info, gesvdjInfo_t p) {
  return cusolverDnDgesvdj(h, jobz, 0, m, n, a, m, sv, u, m, v, n, static_cast<double*>(work), lwork, info, p);
}

struct GesvdjParams {
  gesvdjInfo_t p = nullptr;
  GesvdjParams() {
    check_solver(cusolverDnCreateGesvdjInfo(&p), "SVD", "CreateGesvdjInfo");
    check_solver(cusolverDnXgesvdjSetSortEig(p, 1), "SVD", "XgesvdjSetSortEig");  // descending, as LAPACK
  }
  ~GesvdjParams() { cusolverDnDestroyGesvdjInfo(p); }
  GesvdjParams(const GesvdjParams&) = delete;
  GesvdjParams& operator=(const GesvdjParams&) = delete;
};

// U, S and Vt by one-sided Jacobi (gesvdj: faster than gesvd, and torch's default) of A^T,
// which is the row-major copy read column-major: A^T = U' S V'^T, so Vt = U'^T is U' read
// row-major and U = V' is V' (column-major) copied row-major. Singular values come sorted
// descending. False when some matrix did not converge. Only with vectors: without them, gesvdj
// failed (execution failed, then an illegal address) on a 5 x 3 float32 matrix on an H200.
bool svd_jacobi(const array& a, std::vector<array>& outputs, bool dbl, cudaStream_t s) {
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n), batch = batch_count(a);
  size_t es = a.itemsize();
  int M = static_cast<int>(n), N = static_cast<int>(m);
  array w = dense_copy(a, false, s, "SVD");
  char* pw = ptr(w);
  char* ps = static_cast<char*>(cuda::device_out(outputs[1]));
  char* pu = static_cast<char*>(cuda::device_out(outputs[2]));
  array vc = device_array(outputs[0].shape(), a.dtype(), s);
  char* pv = ptr(vc);
  cusolverEigMode_t jobz = CUSOLVER_EIG_MODE_VECTOR;
  Handles& h = handles(s, "SVD");
  GesvdjParams params;
  Info info(batch, s);
  dispatch_real(dbl, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto at = [](char* base, int64_t off) { return reinterpret_cast<T*>(base + off); };
    int lwork = 0;
    check_solver(gesvdj_size(h.solver, jobz, M, N, at(pw, 0), at(ps, 0), at(pu, 0), at(pv, 0), &lwork, params.p),
                 "SVD", "gesvdj_bufferSize");
    Scratch work(std::max<size_t>(static_cast<size_t>(lwork) * es, 1), s);
    for (int64_t b = 0; b < batch; ++b) {
      check_solver(gesvdj(h.solver, jobz, M, N, at(pw, b * m * n * es), at(ps, b * k * es),
                          at(pu, b * int64_t(M) * M * es), at(pv, b * int64_t(N) * N * es), work.get(), lwork,
                          info.at(b), params.p),
                   "SVD", "gesvdj");
    }
  });
  const Shape& us = outputs[0].shape();
  cuda::copy_gpu("SVD", strided_view(vc, us, matrix_strides(us, m * m, 1, m)), outputs[0], s);
  auto codes = info.read(s, "SVD");
  return std::all_of(codes.begin(), codes.end(), [](int c) { return c == 0; });
}

// The SVD by QR iteration (gesvd): singular values alone, or matrices gesvdj did not converge on.
void svd_qr(const array& a, std::vector<array>& outputs, bool compute_uv_, bool dbl, cudaStream_t s) {
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n), batch = batch_count(a);
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  // gesvd needs M >= N: a wide A is factored as A^T, which its row-major copy already is.
  bool wide = m < n;
  int64_t M = wide ? n : m, N = wide ? m : n;
  array w = dense_copy(a, !wide, s, "SVD");
  char* pw = ptr(w);
  char* ps = static_cast<char*>(cuda::device_out(outputs[compute_uv_ ? 1 : 0]));
  array uc, vtc;  // column-major U (M x M) and V^T (N x N) of the M x N problem
  char* pu = nullptr;
  char* pv = nullptr;
  if (compute_uv_) {
    if (wide) {
      pu = static_cast<char*>(cuda::device_out(outputs[2]));  // U' read row-major is Vt
      pv = static_cast<char*>(cuda::device_out(outputs[0]));  // V'^T read row-major is U
    } else {
      uc = device_array(outputs[0].shape(), a.dtype(), s);
      vtc = device_array(outputs[2].shape(), a.dtype(), s);
      pu = ptr(uc);
      pv = ptr(vtc);
    }
  }
  signed char job = compute_uv_ ? 'A' : 'N';
  Info info(batch, s);
  Handles& h = handles(s, "SVD");
  size_t dws = 0, hws = 0;
  check_solver(cusolverDnXgesvd_bufferSize(h.solver, h.params, job, job, M, N, t, pw, M, t, ps, t, pu, M, t, pv, N, t,
                                           &dws, &hws),
               "SVD", "Xgesvd_bufferSize");
  Work wk(dws, hws, s);
  for (int64_t b = 0; b < batch; ++b) {
    check_solver(cusolverDnXgesvd(h.solver, h.params, job, job, M, N, t, pw + b * m * n * es, M, t, ps + b * k * es, t,
                                  pu ? pu + b * M * M * es : nullptr, M, t, pv ? pv + b * N * N * es : nullptr, N, t,
                                  wk.d.get(), wk.dev, wk.h.data(), wk.host, info.at(b)),
                 "SVD", "Xgesvd");
  }
  if (compute_uv_ && !wide) {
    const Shape& us = outputs[0].shape();
    const Shape& vs = outputs[2].shape();
    cuda::copy_gpu("SVD", strided_view(uc, us, matrix_strides(us, m * m, 1, m)), outputs[0], s);
    cuda::copy_gpu("SVD", strided_view(vtc, vs, matrix_strides(vs, n * n, 1, n)), outputs[2], s);
  }
  for (int c : info.read(s, "SVD")) {
    if (c > 0) throw std::runtime_error("[SVD] The SVD did not converge.");
  }
}

}  // namespace

void SVD::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "SVD");
  for (auto& o : outputs) cuda::alloc_device(o, s);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n), batch = batch_count(a);
  if (batch == 0) return;
  if (k == 0) {
    // An empty matrix: U and Vt are any orthogonal matrices; the identity, as on the CPU.
    if (compute_uv_) {
      la::identity(dbl, cuda::device_out(outputs[0]), batch, m, s);
      la::identity(dbl, cuda::device_out(outputs[2]), batch, n, s);
    }
    return;
  }
  // Singular values alone: gesvd (see svd_jacobi).
  if (!compute_uv_ || !svd_jacobi(a, outputs, dbl, s)) svd_qr(a, outputs, compute_uv_, dbl, s);
}

void Eigh::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "Eigh");
  for (auto& o : outputs) cuda::alloc_device(o, s);
  int64_t n = a.shape(-1), batch = batch_count(a);
  if (n == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  // As the CPU: the other triangle of the row-major copy (its transpose).
  array w = dense_copy(a, false, s, "Eigh");
  char* pw = ptr(w);
  char* pe = static_cast<char*>(cuda::device_out(outputs[0]));
  cublasFillMode_t uplo = uplo_ == 'L' ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  cusolverEigMode_t jobz = compute_vectors_ ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  Info info(batch, s);
  Handles& h = handles(s, "Eigh");
  size_t dws = 0, hws = 0;
  check_solver(cusolverDnXsyevd_bufferSize(h.solver, h.params, jobz, uplo, n, t, pw, n, t, pe, t, &dws, &hws), "Eigh",
               "Xsyevd_bufferSize");
  Work wk(dws, hws, s);
  for (int64_t b = 0; b < batch; ++b) {
    check_solver(cusolverDnXsyevd(h.solver, h.params, jobz, uplo, n, t, pw + b * n * n * es, n, t, pe + b * n * es, t,
                                  wk.d.get(), wk.dev, wk.h.data(), wk.host, info.at(b)),
                 "Eigh", "Xsyevd");
  }
  if (compute_vectors_) {
    // Column-major eigenvectors: a transposing copy gives them as columns of the row-major output.
    cuda::copy_gpu("Eigh", strided_view(w, a.shape(), matrix_strides(a.shape(), n * n, 1, n)), outputs[1], s);
  }
  for (int c : info.read(s, "Eigh")) {
    if (c > 0) throw std::runtime_error("[Eigh] The eigenvalue computation did not converge.");
  }
}

void Eig::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& a = inputs[0];
  cudaStream_t s = cuda::stream_of(stream());
  bool dbl = is_double(a.dtype(), "Eig");
  for (auto& o : outputs) cuda::alloc_device(o, s);
  int64_t n = a.shape(-1), batch = batch_count(a);
  if (n == 0 || batch == 0) return;
  size_t es = a.itemsize();
  cudaDataType t = cuda_type(dbl);
  array w = dense_copy(a, true, s, "Eig");
  char* pw = ptr(w);
  // Real arithmetic throughout: eigenvalues as n real parts then n imaginary parts, vectors
  // packed as LAPACK's real geev does; eig_pack builds the complex64 outputs from them.
  Scratch wri(batch * 2 * n * es, s);
  Scratch vr(compute_vectors_ ? batch * n * n * es : 1, s);
  char* pe = static_cast<char*>(wri.get());
  char* pv = compute_vectors_ ? static_cast<char*>(vr.get()) : nullptr;
  cusolverEigMode_t jobvr = compute_vectors_ ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  Info info(batch, s);
  Handles& h = handles(s, "Eig");
  size_t dws = 0, hws = 0;
  check_solver(cusolverDnXgeev_bufferSize(h.solver, h.params, CUSOLVER_EIG_MODE_NOVECTOR, jobvr, n, t, pw, n, t, pe, t,
                                          nullptr, n, t, pv, n, t, &dws, &hws),
               "Eig", "Xgeev_bufferSize");
  Work wk(dws, hws, s);
  for (int64_t b = 0; b < batch; ++b) {
    check_solver(cusolverDnXgeev(h.solver, h.params, CUSOLVER_EIG_MODE_NOVECTOR, jobvr, n, t, pw + b * n * n * es, n,
                                 t, pe + b * 2 * n * es, t, nullptr, n, t, pv ? pv + b * n * n * es : nullptr, n, t,
                                 wk.d.get(), wk.dev, wk.h.data(), wk.host, info.at(b)),
                 "Eig", "Xgeev");
  }
  la::eig_pack(dbl, pe, pv, static_cast<float*>(cuda::device_out(outputs[0])),
               compute_vectors_ ? static_cast<float*>(cuda::device_out(outputs[1])) : nullptr, batch, n, s);
  for (int c : info.read(s, "Eig")) {
    if (c > 0) throw std::runtime_error("[Eig] The eigenvalue computation did not converge.");
  }
}

}  // namespace kiln
