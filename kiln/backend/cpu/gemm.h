// GEMM pieces of the CPU backend shared by the matrix-product primitives (Matmul, GatherMM);
// implemented in matmul.cpp.
#pragma once

#include <cstdint>

#include "kiln/array.h"

namespace kiln::cpu {

/** One operand's matrices as GEMM sees them: the address of the first, the strides of the
 *  batch dims, and a row-major (trans = false) or column-major layout with leading dim ld. */
struct GemmOperand {
  const char* data;
  Strides batch_strides;  // in elements
  bool trans;
  int64_t ld;
  array holder;  // a copy, when one was needed
};

/** The matrices (last two dims) of `x` as GEMM operands; copied only when they are neither
 *  row- nor column-major. */
GemmOperand gemm_operand(const array& x);

/** c (m x n, dense row-major) = op(a) @ op(b) for one pair of matrices of the float dtype `t`
 *  (float16/bfloat16 through float32 copies). */
void gemm_matrices(Dtype t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda,
                   const void* b, int64_t ldb, void* c);

}  // namespace kiln::cpu
