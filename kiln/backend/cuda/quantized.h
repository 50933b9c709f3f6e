// Host-side entry points of the quantization kernels (quantized.cu) and the batched GEMM over
// gathered matrices (gather_mm.cpp) they share with GatherMM.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/backend/cuda/kernels.h"
#include "kiln/dtype.h"

namespace kiln::cuda {

/** A quantization format: mode 0 affine, 1 mxfp4, 2 mxfp8, 3 nvfp4 (QuantizationMode). */
struct QFormat {
  int bits = 4, group = 64, mode = 0;
};

/** How scales and biases are stored: their dtype, or uint8 read as e8m0 / e4m3. */
enum class ParamType : int { F32 = 0, F16 = 1, BF16 = 2, F64 = 3, E8M0 = 4, E4M3 = 5 };
ParamType param_type(Dtype t, int mode);

/** Quantizes `rows` dense rows of `cols` elements of dtype `t`: packed words (cols * bits / 32
 *  per row), scales (t, or uint8 in the float modes) and biases (affine). `global`: the nvfp4
 *  global scale (device float) or null. */
void quantize(Dtype t, QFormat q, const void* w, int64_t rows, int64_t cols, const float* global, uint32_t* wq,
              void* scales, void* biases, cudaStream_t s);

/** Batch offsets (in elements) of the operands of a batched quantized product, or null (one
 *  matrix each): table[k * count + i] for operand k = x, w, scales, biases of item i. */
struct QBatch {
  const int64_t* table = nullptr;
  int64_t count = 1;
};

/** out (rows x cols, dense, dtype `t`) of each batch item = the matrix encoded by words `w` (ld
 *  words per row), scales and biases (params per row: cols / group). `global`: as quantize.
 *  exact: rounded as the CPU's dequantize (bit-identical); else one fused multiply-add in float32
 *  rounded once to t (GEMM workspaces). */
void dequantize(Dtype t, QFormat q, const uint32_t* w, const void* scales, const void* biases, ParamType pt,
                ParamType bt, const float* global, int64_t rows, int64_t cols, int64_t ld, QBatch batch, void* out,
                cudaStream_t s, bool exact = true);

/** Few-row products, reading the packed weights once: out[i] (M x N, dense) = x[i] (M x K,
 *  dense, dtype t) @ dequantize(w[i]).T (transpose) or @ dequantize(w[i]). */
void qmv(Dtype t, QFormat q, bool transpose, const void* x, const uint32_t* w, const void* scales,
         const void* biases, ParamType pt, ParamType bt, int64_t M, int64_t K, int64_t N, QBatch batch, void* out,
         cudaStream_t s);

/** Index layout of an operand's matrices: its batch shape and strides (collapsed), and how
 *  many matrices it has. */
struct MatIndex {
  int ndim = 0;
  int64_t count = 1;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

/** out[i] = base + scale * (element offset of matrix v), v = idx[i] (int64, wrapped if negative,
 *  clamped into [0, count)) or i without indices; for i < n. */
void matrix_offsets(const int64_t* idx, int64_t n, const MatIndex& mi, int64_t base, int64_t scale, int64_t* out,
                    cudaStream_t s);

/** Row-major C (M x N, ldc = N) = A (M x K) @ B (K x N) for one product or `count` products given
 *  by device pointer arrays; a_trans / b_trans: the operand is stored column-major (ld = its
 *  leading dimension). Float32 computes in float32, half types accumulate in float32. */
void gemm(const char* name, Dtype t, bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const void* a,
          int64_t lda, const void* b, int64_t ldb, void* c, cudaStream_t s);
void gemm_batched(const char* name, Dtype t, bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K,
                  const void* const* a, int64_t lda, const void* const* b, int64_t ldb, void* const* c, int64_t count,
                  cudaStream_t s);

}  // namespace kiln::cuda
