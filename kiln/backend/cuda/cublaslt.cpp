#include "kiln/backend/cuda/cublaslt.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace kiln::cuda::lt {

void check(cublasStatus_t st, const char* prim, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("[") + prim + "] cuBLASLt error in " + what + ": " +
                             cublasLtGetStatusString(st));
  }
}

cublasLtHandle_t handle() {
  static cublasLtHandle_t h = [] {
    cublasLtHandle_t x;
    check(cublasLtCreate(&x), "Matmul", "cublasLtCreate");
    return x;
  }();
  return h;
}

bool tf32_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("KILN_ENABLE_TF32");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t stride, const char* prim) {
  cublasLtMatrixLayout_t l;
  check(cublasLtMatrixLayoutCreate(&l, t, rows, cols, ld), prim, "layout");
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    check(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)), prim,
          "layout");
    check(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
          prim, "layout");
  }
  return l;
}

Types types_of(Dtype t, const char* prim, bool allow_complex) {
  switch (t.val) {
    case Dtype::Val::float32:
      return {CUDA_R_32F, tf32_enabled() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::Val::float16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::Val::bfloat16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::Val::float64: return {CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F};
    case Dtype::Val::complex64:
      if (allow_complex) return {CUDA_C_32F, CUBLAS_COMPUTE_32F, CUDA_C_32F};
      break;
    default: break;
  }
  throw std::runtime_error(std::string("[") + prim + "] " + dtype_name(t) + " has no GPU implementation.");
}

}  // namespace kiln::cuda::lt
