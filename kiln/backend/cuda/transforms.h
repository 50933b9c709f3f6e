// Host-side entry points of the FFT helper kernels (fft.cu), the Walsh-Hadamard transform
// (hadamard.cu) and the e4m3 float8 conversions (fp8.cu). Raw device pointers, row-major data.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

// ---- fft.cu

/** x[i] *= s for `n` floats (a complex64 array is 2n floats). */
void scale_floats(float* x, int64_t n, float s, cudaStream_t stream);
/** Zeroes the imaginary part of element k of each row along the middle axis of a row-major
 *  complex64 (outer, len, inner) array: the half spectrum's DC/Nyquist terms, whose imaginary
 *  parts an inverse real transform ignores. */
void zero_imag(void* x, int64_t outer, int64_t len, int64_t inner, int64_t k, cudaStream_t stream);

// ---- hadamard.cu

/** Rows of n = m * p (p = 2^k, m in {1, 12, 20, 28}) of dtype `t`, row-major, `in` to `out`:
 *  the 2^k-point butterflies of each run of p, then H_m across runs (row r's signs in bit c of
 *  `signs[r]`, set for -1), then times `scale`. Bit-identical to the CPU's order of operations. */
void hadamard(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, int m,
              const uint32_t* signs, double scale, cudaStream_t stream);

// ---- fp8.cu

/** out (uint8 e4m3 bits) from `n` elements of float type `t`. */
void to_fp8(const char* name, Dtype t, const void* in, uint8_t* out, int64_t n, cudaStream_t stream);
/** out (float type `t`) from `n` e4m3 bytes. */
void from_fp8(const char* name, Dtype t, const uint8_t* in, void* out, int64_t n, cudaStream_t stream);

}  // namespace kiln::cuda
