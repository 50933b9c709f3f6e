// Host-side entry points of the kernel families (.cu files). They take raw device pointers and
// a collapsed layout, so nvcc compiles no kiln graph code and the .cpp side does no dispatch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

/** Throws std::runtime_error("[what] CUDA error: ...") unless `err` is cudaSuccess. */
void check(cudaError_t err, const char* what);
/** Checks the launch just made (cudaGetLastError). */
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

/** Most dimensions a strided kernel walks (after merging contiguous dims). */
constexpr int kMaxDims = 8;

/** Shape and per-operand strides (in elements) of an elementwise launch; operand 0 is the
 *  output. `contiguous`: every operand is dense in the same order, or a broadcast scalar
 *  (stride 0), so the kernel walks linear indices. */
struct Layout {
  int ndim = 0;
  int64_t size = 0;
  bool contiguous = false;
  int64_t shape[kMaxDims] = {};
  int64_t strides[4][kMaxDims] = {};
  bool scalar[4] = {};  // contiguous launches: operand i is one broadcast element
};

#define KILN_CUDA_UNARY_OPS(X)                                                                        \
  X(Abs) X(Negative) X(Sign) X(Sqrt) X(Rsqrt) X(Square) X(Exp) X(Expm1) X(Log) X(Log2) X(Log10) \
  X(Log1p) X(Sin) X(Cos) X(Tan) X(ArcSin) X(ArcCos) X(ArcTan) X(Sinh) X(Cosh) X(Tanh) X(ArcSinh) \
  X(ArcCosh) X(ArcTanh) X(Floor) X(Ceil) X(Round) X(Sigmoid) X(Erf) X(ErfInv) X(LogicalNot)      \
  X(BitwiseInvert) X(Conjugate) X(Real) X(Imag)

#define KILN_CUDA_BINARY_OPS(X)                                                                     \
  X(Add) X(Subtract) X(Multiply) X(Divide) X(FloorDivide) X(Remainder) X(Power) X(Maximum)     \
  X(Minimum) X(Equal) X(NotEqual) X(Less) X(LessEqual) X(Greater) X(GreaterEqual) X(LogicalAnd) \
  X(LogicalOr) X(LogAddExp) X(ArcTan2) X(BitwiseAnd) X(BitwiseOr) X(BitwiseXor) X(LeftShift)    \
  X(RightShift)

#define KILN_CUDA_ENUM_ENTRY(Name) Name,
enum class UnaryOp { KILN_CUDA_UNARY_OPS(KILN_CUDA_ENUM_ENTRY) };
enum class BinaryOp { KILN_CUDA_BINARY_OPS(KILN_CUDA_ENUM_ENTRY) };
#undef KILN_CUDA_ENUM_ENTRY

/** out = op(in). Throws std::invalid_argument naming `name` if op does not take `in_t` or
 *  does not produce `out_t`. */
void unary(UnaryOp op, const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l,
           cudaStream_t s);
/** out = op(a, b); a and b share `in_t`. */
void binary(BinaryOp op, const char* name, Dtype in_t, Dtype out_t, const void* a, const void* b, void* out,
            const Layout& l, cudaStream_t s);
/** out = cond ? x : y; cond is bool, x/y/out have dtype `t`. */
void select(const char* name, Dtype t, const void* cond, const void* x, const void* y, void* out, const Layout& l,
            cudaStream_t s);
/** out = in converted from `in_t` to `out_t`, any layout (the copy and astype kernels). */
void copy(const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l, cudaStream_t s);
/** out[i] = start + i * step (integer arithmetic when `exact_int`). */
void arange(const char* name, Dtype t, double start, double step, bool exact_int, void* out, int64_t n,
            cudaStream_t s);

}  // namespace kiln::cuda
