// The convolution kernels (conv.cu) that conv.cpp plans around: the unfold (im2col) of the
// input into a patch matrix for cuBLASLt, and a direct kernel for one input channel per group.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

/** Most spatial dimensions a convolution kernel walks. */
constexpr int kConvDims = 3;

/** One convolution, channels-last, with the spatial dims right-aligned in 3 (unused leading
 *  dims have size 1, stride 1, no padding, dilation 1 and input stride 0). Strides of the input
 *  are in elements and may be negative or zero. */
struct ConvGeom {
  int64_t batch = 0, groups = 1, cin_g = 0, cout = 0, cout_g = 0;
  int in[kConvDims] = {1, 1, 1}, ker[kConvDims] = {1, 1, 1}, out[kConvDims] = {1, 1, 1};
  int stride[kConvDims] = {1, 1, 1}, lo[kConvDims] = {0, 0, 0};
  int kdil[kConvDims] = {1, 1, 1}, idil[kConvDims] = {1, 1, 1};
  bool flip = false;
  int64_t sn = 0, ss[kConvDims] = {0, 0, 0}, sc = 1;  // input strides: batch, spatial, channel
  int64_t P = 1, KS = 1;  // output positions and kernel taps per image
};

/** Rows [r0, r0 + rows) of the patch matrix (row = batch * P + output position) into `ws`: row
 *  r - r0 holds, per group, per kernel tap (row-major over the kernel dims), the group's cin_g
 *  channels of the input pixel the tap meets (zero on padding and on holes of the dilated
 *  input), so that the group's GEMM with the (cout_g, KS * cin_g) weights gives the output. */
void conv_unfold(const ConvGeom& g, size_t itemsize, const void* x, void* ws, int64_t r0, int64_t rows,
                 cudaStream_t s);

/** y (batch, P, cout) = the convolution as an implicit GEMM on tensor cores (float16 and
 *  bfloat16, C_in/groups a multiple of 32, C_out/groups a multiple of 64, 16-byte aligned
 *  channels); false (nothing launched) when the problem does not qualify. `w` is row-major. */
bool conv_implicit_gemm(const char* name, Dtype t, const ConvGeom& g, const void* x, const void* w, void* y,
                        cudaStream_t s);

/** y (batch, P, cout) = the convolution when each group has one input channel (cin_g == 1):
 *  output channel o reads input channel o / cout_g. `w` is the row-major (cout, KS) weight. */
void conv_direct(const char* name, Dtype t, const ConvGeom& g, const void* x, const void* w, void* y,
                 cudaStream_t s);

}  // namespace kiln::cuda
