// Builds without CUDA: the GPU entry points exist and say clearly that there is no GPU.
#include <stdexcept>

#include "kiln/backend/gpu.h"
#include "kiln/compile.h"
#include "kiln/primitives.h"
#include "kiln/quantized.h"

namespace kiln {

namespace gpu {
bool is_available() { return false; }
void eval(array&) { throw std::runtime_error("[eval] This build of kiln has no GPU backend."); }
void synchronize(const Stream&) {}
void new_stream(const Stream&) { throw std::runtime_error("[new_stream] This build of kiln has no GPU backend."); }
}  // namespace gpu

#define NO_GPU(Name)                                                      \
  void Name::eval_gpu(const std::vector<array>&, array&) {               \
    throw std::runtime_error("[" #Name "] has no GPU implementation.");  \
  }
#define NO_GPU_MULTI(Name)                                                \
  void Name::eval_gpu(const std::vector<array>&, std::vector<array>&) {  \
    throw std::runtime_error("[" #Name "] has no GPU implementation.");  \
  }

NO_GPU(Abs)
NO_GPU(Negative)
NO_GPU(Sign)
NO_GPU(Sqrt)
NO_GPU(Rsqrt)
NO_GPU(Square)
NO_GPU(Exp)
NO_GPU(Expm1)
NO_GPU(Log)
NO_GPU(Log2)
NO_GPU(Log10)
NO_GPU(Log1p)
NO_GPU(Sin)
NO_GPU(Cos)
NO_GPU(Tan)
NO_GPU(ArcSin)
NO_GPU(ArcCos)
NO_GPU(ArcTan)
NO_GPU(Sinh)
NO_GPU(Cosh)
NO_GPU(Tanh)
NO_GPU(ArcSinh)
NO_GPU(ArcCosh)
NO_GPU(ArcTanh)
NO_GPU(Floor)
NO_GPU(Ceil)
NO_GPU(Round)
NO_GPU(Sigmoid)
NO_GPU(Erf)
NO_GPU(ErfInv)
NO_GPU(LogicalNot)
NO_GPU(BitwiseInvert)
NO_GPU(Conjugate)
NO_GPU(Real)
NO_GPU(Imag)
NO_GPU(Add)
NO_GPU(Subtract)
NO_GPU(Multiply)
NO_GPU(Divide)
NO_GPU(FloorDivide)
NO_GPU(Remainder)
NO_GPU(Power)
NO_GPU(Maximum)
NO_GPU(Minimum)
NO_GPU(Equal)
NO_GPU(NotEqual)
NO_GPU(Less)
NO_GPU(LessEqual)
NO_GPU(Greater)
NO_GPU(GreaterEqual)
NO_GPU(LogicalAnd)
NO_GPU(LogicalOr)
NO_GPU(LogAddExp)
NO_GPU(ArcTan2)
NO_GPU(BitwiseAnd)
NO_GPU(BitwiseOr)
NO_GPU(BitwiseXor)
NO_GPU(LeftShift)
NO_GPU(RightShift)
NO_GPU(Select)
NO_GPU(Copy)
NO_GPU(Full)
NO_GPU(AsType)
NO_GPU(Arange)
NO_GPU(Reduce)
NO_GPU(ArgReduce)
NO_GPU(Softmax)
NO_GPU(LogSumExp)
NO_GPU(Reshape)
NO_GPU(Transpose)
NO_GPU(Broadcast)
NO_GPU(Slice)
NO_GPU(ExpandDims)
NO_GPU(Squeeze)
NO_GPU(AsStrided)
NO_GPU(Concatenate)
NO_GPU(Matmul)
NO_GPU_MULTI(Split)
NO_GPU(Sort)
NO_GPU(ArgSort)
NO_GPU(Partition)
NO_GPU(ArgPartition)
NO_GPU(Scan)
NO_GPU(Gather)
NO_GPU(Scatter)
NO_GPU(SliceUpdate)
NO_GPU(Inverse)
NO_GPU(Cholesky)
NO_GPU_MULTI(LUF)
NO_GPU_MULTI(QRF)
NO_GPU_MULTI(SVD)
NO_GPU_MULTI(Eigh)
NO_GPU_MULTI(Eig)
NO_GPU(RandomBits)
NO_GPU(Convolution)
NO_GPU(FFT)
NO_GPU(Identity)
NO_GPU(StopGradient)
NO_GPU_MULTI(CustomTransforms)
NO_GPU(Compiled)
NO_GPU(Hadamard)
NO_GPU(GatherMM)
NO_GPU(View)
NO_GPU_MULTI(Depends)
NO_GPU(ToFP8)
NO_GPU(FromFP8)
NO_GPU(Solve)
NO_GPU_MULTI(Quantize)
NO_GPU(Dequantize)
NO_GPU(QuantizedMatmul)
NO_GPU(GatherQMM)

}  // namespace kiln
