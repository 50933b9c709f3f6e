// GatherMM on the GPU, and the GEMM calls the quantized products share with it: cuBLAS
// (cublasGemmEx for one product, cublasGemmBatchedEx over device pointer arrays for several),
// with the operand pointers of gathered products computed on the device from the index
// arrays, so the indices never travel to the host.
#include <cublas_v2.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/quantized.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"

namespace kiln {

namespace cuda {

namespace {

std::mutex& blas_mutex() {
  static std::mutex m;
  return m;
}

void check_cublas(cublasStatus_t st, const char* name, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("[") + name + "] cuBLAS error in " + what + ": " + cublasGetStatusString(st));
  }
}

// Used under blas_mutex (a handle serves one stream at a time).
cublasHandle_t blas_handle(const char* name) {
  static cublasHandle_t h = [&] {
    cublasHandle_t x;
    check_cublas(cublasCreate(&x), name, "cublasCreate");
    return x;
  }();
  return h;
}

struct BlasTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
  bool dbl, cplx;
};

BlasTypes blas_types(const char* name, Dtype t) {
  switch (t.val) {
    case Dtype::Val::float32: return {CUDA_R_32F, CUBLAS_COMPUTE_32F, false, false};
    case Dtype::Val::float16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F, false, false};
    case Dtype::Val::bfloat16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F, false, false};
    case Dtype::Val::float64: return {CUDA_R_64F, CUBLAS_COMPUTE_64F, true, false};
    case Dtype::Val::complex64: return {CUDA_C_32F, CUBLAS_COMPUTE_32F, false, true};
    default: throw std::runtime_error(std::string("[") + name + "] " + dtype_name(t) + " has no GPU implementation.");
  }
}

void check_int(const char* name, std::initializer_list<int64_t> v) {
  for (int64_t x : v) {
    if (x > INT_MAX) throw std::invalid_argument(std::string("[") + name + "] Matrix dimensions above 2^31 - 1 are not supported.");
  }
}

// Row-major C = A B is column-major C^T = B^T A^T: cuBLAS's first operand is B.
template <typename Call>
void run_gemm(const char* name, Dtype t, bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, int64_t lda,
              int64_t ldb, cudaStream_t s, Call&& call) {
  check_int(name, {M, N, K, lda, ldb});
  BlasTypes ty = blas_types(name, t);
  double one_d = 1.0, zero_d = 0.0;
  float one_f[2] = {1.0f, 0.0f}, zero_f[2] = {0.0f, 0.0f};
  const void* alpha = ty.dbl ? static_cast<const void*>(&one_d) : one_f;
  const void* beta = ty.dbl ? static_cast<const void*>(&zero_d) : zero_f;
  cublasOperation_t op_b = b_trans ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = a_trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  std::lock_guard<std::mutex> lk(blas_mutex());
  cublasHandle_t h = blas_handle(name);
  check_cublas(cublasSetStream(h, s), name, "cublasSetStream");
  check_cublas(call(h, op_b, op_a, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), alpha, beta, ty),
               name, "gemm");
}

}  // namespace

void gemm(const char* name, Dtype t, bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const void* a,
          int64_t lda, const void* b, int64_t ldb, void* c, cudaStream_t s) {
  run_gemm(name, t, a_trans, b_trans, M, N, K, lda, ldb, s,
           [&](cublasHandle_t h, cublasOperation_t ob, cublasOperation_t oa, int m, int n, int k, const void* alpha,
               const void* beta, const BlasTypes& ty) {
             return cublasGemmEx(h, ob, oa, m, n, k, alpha, b, ty.data, static_cast<int>(ldb), a, ty.data,
                                 static_cast<int>(lda), beta, c, ty.data, m, ty.compute, CUBLAS_GEMM_DEFAULT);
           });
}

void gemm_batched(const char* name, Dtype t, bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K,
                  const void* const* a, int64_t lda, const void* const* b, int64_t ldb, void* const* c, int64_t count,
                  cudaStream_t s) {
  check_int(name, {count});
  run_gemm(name, t, a_trans, b_trans, M, N, K, lda, ldb, s,
           [&](cublasHandle_t h, cublasOperation_t ob, cublasOperation_t oa, int m, int n, int k, const void* alpha,
               const void* beta, const BlasTypes& ty) {
             return cublasGemmBatchedEx(h, ob, oa, m, n, k, alpha, b, ty.data, static_cast<int>(ldb), a, ty.data,
                                        static_cast<int>(lda), beta, c, ty.data, m, static_cast<int>(count),
                                        ty.compute, CUBLAS_GEMM_DEFAULT);
           });
}

}  // namespace cuda

namespace {

// How GEMM reads one operand's matrices: row-major (trans = false) or column-major with `ld`.
// False when neither describes them.
bool gemm_layout(const array& x, bool& trans, int64_t& ld) {
  int n = x.ndim();
  int64_t R = x.shape(-2), C = x.shape(-1);
  int64_t sr = x.strides()[n - 2], sc = x.strides()[n - 1];
  if ((C == 1 || sc == 1) && (R == 1 || sr >= C)) {
    trans = false;
    ld = R == 1 ? C : sr;
  } else if ((R == 1 || sr == 1) && (C == 1 || sc >= R)) {
    trans = true;
    ld = C == 1 ? R : sc;
  } else {
    return false;
  }
  ld = std::max<int64_t>(ld, 1);
  return true;
}

array row_major_copy(const char* name, const array& a, cudaStream_t s) {
  array tmp = array::placeholder(a.shape(), a.dtype());
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, a, tmp, s);
  return tmp;
}

// The matrix index of `a`'s batch dims (its element strides), or false when more than kMaxDims
// dims remain after merging.
bool mat_index(const array& a, cuda::MatIndex& mi) {
  Shape bs(a.shape().begin(), a.shape().end() - 2);
  Strides st(a.strides().begin(), a.strides().end() - 2);
  mi.count = shape_size(bs);
  auto [cs, cst] = collapse_contiguous_dims(bs, {st});
  if (cs.size() > static_cast<size_t>(cuda::kMaxDims)) return false;
  mi.ndim = static_cast<int>(cs.size());
  for (int d = 0; d < mi.ndim; ++d) {
    mi.shape[d] = cs[d];
    mi.strides[d] = cst[0][d];
  }
  return true;
}

// A dense int64 version of an index array (on the device).
array int64_indices(const char* name, const array& idx, cudaStream_t s) {
  if (idx.dtype() == int64 && idx.flags().row_contiguous && idx.data_size() == idx.size()) return idx;
  array tmp = array::placeholder(idx.shape(), int64);
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, idx, tmp, s);
  return tmp;
}

}  // namespace

void GatherMM::eval_gpu(const std::vector<array>& inputs, array& out) {
  const char* name = "GatherMM";
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array a = inputs[0], b = inputs[1];
  int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  if (K == 0) {
    cuda::check(cudaMemsetAsync(cuda::device_out(out), 0, out.nbytes(), s), name);
    return;
  }
  bool ta = false, tb = false;
  int64_t lda = 0, ldb = 0;
  cuda::MatIndex ma, mb;
  if (!gemm_layout(a, ta, lda) || !mat_index(a, ma)) {
    a = row_major_copy(name, a, s);
    gemm_layout(a, ta, lda);
    mat_index(a, ma);
  }
  if (!gemm_layout(b, tb, ldb) || !mat_index(b, mb)) {
    b = row_major_copy(name, b, s);
    gemm_layout(b, tb, ldb);
    mat_index(b, mb);
  }
  array lhs = int64_indices(name, inputs[2], s), rhs = int64_indices(name, inputs[3], s);
  int64_t count = static_cast<int64_t>(lhs.size());
  cuda::Scratch ptrs(static_cast<size_t>(3 * count) * sizeof(int64_t), s);
  int64_t* p = static_cast<int64_t*>(ptrs.get());
  int64_t isz = out.itemsize();
  auto addr = [](const void* q) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(q)); };
  cuda::matrix_offsets(static_cast<const int64_t*>(cuda::device_in(lhs, s)), count, ma, addr(cuda::device_in(a, s)),
                       isz, p, s);
  cuda::matrix_offsets(static_cast<const int64_t*>(cuda::device_in(rhs, s)), count, mb, addr(cuda::device_in(b, s)),
                       isz, p + count, s);
  cuda::MatIndex mc;
  mc.ndim = 1;
  mc.count = count;
  mc.shape[0] = count;
  mc.strides[0] = M * N;
  cuda::matrix_offsets(nullptr, count, mc, addr(cuda::device_out(out)), isz, p + 2 * count, s);
  cuda::gemm_batched(name, out.dtype(), ta, tb, M, N, K, reinterpret_cast<const void* const*>(p), lda,
                     reinterpret_cast<const void* const*>(p + count), ldb, reinterpret_cast<void* const*>(p + 2 * count),
                     count, s);
}

}  // namespace kiln
