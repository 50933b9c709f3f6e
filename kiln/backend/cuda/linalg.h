// Small helper kernels of the linalg family (linalg.cu), used by linalg.cpp around the cuSOLVER
// and cuBLAS calls: identities, triangle masking, pointer arrays for batched routines, LU pivots
// to permutations, the R factor of a QR, and real geev output to complex64.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::cuda::linalg {

/** `batch` n x n identity matrices at `out` (float or double by `dbl`). */
void identity(bool dbl, void* out, int64_t batch, int64_t n, cudaStream_t s);
/** Zeroes the strictly lower (`keep_upper`) or strictly upper triangle of `batch` row-major
 *  n x n matrices. */
void zero_triangle(bool dbl, void* a, int64_t batch, int64_t n, bool keep_upper, cudaStream_t s);
/** ptrs[i] = base + i * stride_bytes, for i < batch (device array of device pointers). */
void pointer_array(void** ptrs, void* base, int64_t stride_bytes, int64_t batch, cudaStream_t s);
/** From 1-based LAPACK row pivots (k per matrix, int32 or int64 by `wide`): the 0-based pivots
 *  `piv` (k per matrix) and the permutation `perm` (m per matrix) with A = (L U)[perm].
 *  `rows` is scratch of batch * m entries. */
void lu_pivots(const void* ipiv, bool wide, uint32_t* piv, uint32_t* perm, uint32_t* rows, int64_t batch,
               int64_t m, int64_t k, cudaStream_t s);
/** r (batch x k x n, row-major) = the upper triangle of the first k rows of the column-major
 *  m x n matrices at `w` (QR's R after geqrf). */
void qr_r(bool dbl, const void* w, void* r, int64_t batch, int64_t m, int64_t n, int64_t k, cudaStream_t s);
/** complex64 eigenvalues (and, with `vr`, row-major eigenvectors) from real geev output:
 *  `wri` holds per matrix n real parts then n imaginary parts; `vr` the column-major real
 *  eigenvectors, a complex pair j, j+1 packed as (Re, Im) columns. */
void eig_pack(bool dbl, const void* wri, const void* vr, float* w, float* v, int64_t batch, int64_t n,
              cudaStream_t s);

}  // namespace kiln::cuda::linalg
