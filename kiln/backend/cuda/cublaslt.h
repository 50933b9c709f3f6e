// cuBLASLt plumbing shared by Matmul (matmul.cpp) and Convolution (conv.cpp): one handle, the
// TF32 switch (KILN_ENABLE_TF32=1), checked calls whose errors name the primitive, batched
// matrix layouts and the data/compute types of each dtype.
#pragma once

#include <cublasLt.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda::lt {

/** Throws "[prim] cuBLASLt error in what: ..." unless st is success. */
void check(cublasStatus_t st, const char* prim, const char* what);
cublasLtHandle_t handle();
/** float32 products use TF32 tensor cores only when KILN_ENABLE_TF32=1 (read once). */
bool tf32_enabled();
/** A column-major rows x cols layout with leading dimension ld; batch > 1 adds a strided batch. */
cublasLtMatrixLayout_t make_layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t stride, const char* prim);

struct Types {
  cudaDataType_t data;
  cublasComputeType_t compute;
  cudaDataType_t scale;
};
/** cuBLASLt's types for dtype t (float32/16, bfloat16, float64, and complex64 when allowed);
 *  other dtypes raise "[prim] <dtype> has no GPU implementation." */
Types types_of(Dtype t, const char* prim, bool allow_complex);

}  // namespace kiln::cuda::lt
