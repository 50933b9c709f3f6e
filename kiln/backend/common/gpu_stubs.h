// Every primitive's eval_gpu that throws "[Name] has no GPU implementation.": the one list of
// GPU stubs. A backend defines KILN_GPU_HAS_<FAMILY> for each kernel family it implements and
// includes this file once; without CUDA nothing is defined and every primitive is a stub.
// A new primitive goes here (outside any family) until its CUDA kernel exists.
#pragma once

#include <stdexcept>

#include "kiln/compile.h"
#include "kiln/primitives.h"
#include "kiln/quantized.h"

#define KILN_NO_GPU(Name)                                                \
  void Name::eval_gpu(const std::vector<array>&, array&) {              \
    throw std::runtime_error("[" #Name "] has no GPU implementation."); \
  }
#define KILN_NO_GPU_MULTI(Name)                                               \
  void Name::eval_gpu(const std::vector<array>&, std::vector<array>&) {      \
    throw std::runtime_error("[" #Name "] has no GPU implementation.");      \
  }

namespace kiln {


#ifndef KILN_GPU_HAS_ELEMENTWISE  // unary, binary and ternary elementwise
KILN_NO_GPU(Abs)
KILN_NO_GPU(Negative)
KILN_NO_GPU(Sign)
KILN_NO_GPU(Sqrt)
KILN_NO_GPU(Rsqrt)
KILN_NO_GPU(Square)
KILN_NO_GPU(Exp)
KILN_NO_GPU(Expm1)
KILN_NO_GPU(Log)
KILN_NO_GPU(Log2)
KILN_NO_GPU(Log10)
KILN_NO_GPU(Log1p)
KILN_NO_GPU(Sin)
KILN_NO_GPU(Cos)
KILN_NO_GPU(Tan)
KILN_NO_GPU(ArcSin)
KILN_NO_GPU(ArcCos)
KILN_NO_GPU(ArcTan)
KILN_NO_GPU(Sinh)
KILN_NO_GPU(Cosh)
KILN_NO_GPU(Tanh)
KILN_NO_GPU(ArcSinh)
KILN_NO_GPU(ArcCosh)
KILN_NO_GPU(ArcTanh)
KILN_NO_GPU(Floor)
KILN_NO_GPU(Ceil)
KILN_NO_GPU(Round)
KILN_NO_GPU(Sigmoid)
KILN_NO_GPU(Erf)
KILN_NO_GPU(ErfInv)
KILN_NO_GPU(LogicalNot)
KILN_NO_GPU(BitwiseInvert)
KILN_NO_GPU(Conjugate)
KILN_NO_GPU(Real)
KILN_NO_GPU(Imag)
KILN_NO_GPU(Add)
KILN_NO_GPU(Subtract)
KILN_NO_GPU(Multiply)
KILN_NO_GPU(Divide)
KILN_NO_GPU(FloorDivide)
KILN_NO_GPU(Remainder)
KILN_NO_GPU(Power)
KILN_NO_GPU(Maximum)
KILN_NO_GPU(Minimum)
KILN_NO_GPU(Equal)
KILN_NO_GPU(NotEqual)
KILN_NO_GPU(Less)
KILN_NO_GPU(LessEqual)
KILN_NO_GPU(Greater)
KILN_NO_GPU(GreaterEqual)
KILN_NO_GPU(LogicalAnd)
KILN_NO_GPU(LogicalOr)
KILN_NO_GPU(LogAddExp)
KILN_NO_GPU(ArcTan2)
KILN_NO_GPU(BitwiseAnd)
KILN_NO_GPU(BitwiseOr)
KILN_NO_GPU(BitwiseXor)
KILN_NO_GPU(LeftShift)
KILN_NO_GPU(RightShift)
KILN_NO_GPU(Select)
#endif

#ifndef KILN_GPU_HAS_COPY  // copies, conversions, fills, concatenation
KILN_NO_GPU(Concatenate)
KILN_NO_GPU(Copy)
KILN_NO_GPU(Full)
KILN_NO_GPU(AsType)
KILN_NO_GPU(Arange)
#endif

#ifndef KILN_GPU_HAS_VIEWS  // views and buffer-sharing nodes
KILN_NO_GPU(Reshape)
KILN_NO_GPU(Transpose)
KILN_NO_GPU(Broadcast)
KILN_NO_GPU(Slice)
KILN_NO_GPU(ExpandDims)
KILN_NO_GPU(Squeeze)
KILN_NO_GPU(AsStrided)
KILN_NO_GPU_MULTI(Split)
KILN_NO_GPU(Identity)
KILN_NO_GPU(StopGradient)
KILN_NO_GPU_MULTI(CustomTransforms)
KILN_NO_GPU(View)
KILN_NO_GPU_MULTI(Depends)
#endif

#ifndef KILN_GPU_HAS_MATMUL  // matrix products
KILN_NO_GPU(Matmul)
#endif

#ifndef KILN_GPU_HAS_REDUCE  // reductions
KILN_NO_GPU(Reduce)
KILN_NO_GPU(ArgReduce)
#endif

#ifndef KILN_GPU_HAS_SOFTMAX  // softmax and logsumexp over the last axis
KILN_NO_GPU(Softmax)
KILN_NO_GPU(LogSumExp)
#endif

#ifndef KILN_GPU_HAS_SCAN  // cumulative sums, products, max, min, logaddexp
KILN_NO_GPU(Scan)
#endif

#ifndef KILN_GPU_HAS_SORT  // sort, argsort, partition, argpartition
KILN_NO_GPU(Sort)
KILN_NO_GPU(ArgSort)
KILN_NO_GPU(Partition)
KILN_NO_GPU(ArgPartition)
#endif

#ifndef KILN_GPU_HAS_INDEXING  // gather, scatter, slice update
KILN_NO_GPU(Gather)
KILN_NO_GPU(Scatter)
KILN_NO_GPU(SliceUpdate)
#endif

#ifndef KILN_GPU_HAS_RANDOM  // random bits
KILN_NO_GPU(RandomBits)
#endif

#ifndef KILN_GPU_HAS_FFT  // fft (cuFFT)
KILN_NO_GPU(FFT)
#endif

#ifndef KILN_GPU_HAS_HADAMARD  // Walsh-Hadamard transform
KILN_NO_GPU(Hadamard)
#endif

#ifndef KILN_GPU_HAS_FP8  // e4m3 float8 conversions
KILN_NO_GPU(ToFP8)
KILN_NO_GPU(FromFP8)
#endif

#ifndef KILN_GPU_HAS_LINALG  // factorizations, inverses and solvers (cuSOLVER)
KILN_NO_GPU(Inverse)
KILN_NO_GPU(Cholesky)
KILN_NO_GPU_MULTI(LUF)
KILN_NO_GPU_MULTI(QRF)
KILN_NO_GPU_MULTI(SVD)
KILN_NO_GPU_MULTI(Eigh)
KILN_NO_GPU_MULTI(Eig)
KILN_NO_GPU(Solve)
#endif

#ifndef KILN_GPU_HAS_CONV  // convolutions
KILN_NO_GPU(Convolution)
#endif

#ifndef KILN_GPU_HAS_COMPILED  // fused elementwise chains of compile (NVRTC)
KILN_NO_GPU(Compiled)
#endif

#ifndef KILN_GPU_HAS_QUANTIZED  // quantize, dequantize, products with quantized weights
KILN_NO_GPU_MULTI(Quantize)
KILN_NO_GPU(Dequantize)
KILN_NO_GPU(QuantizedMatmul)
KILN_NO_GPU(GatherQMM)
#endif

#ifndef KILN_GPU_HAS_GATHER_MM  // matrix products of operands picked by index
KILN_NO_GPU(GatherMM)
#endif

}  // namespace kiln

#undef KILN_NO_GPU
#undef KILN_NO_GPU_MULTI
