// Host-side entry points of the kernel families (.cu files). They take raw device pointers and
// a collapsed layout, so nvcc compiles no kiln graph code and the .cpp side does no dispatch.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
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

/** An input passed by value in the kernel's parameters instead of through device memory: a
 *  broadcast element whose host copy is current (a Python scalar, a 0-d array made on the
 *  host), so the op needs neither an upload nor a device buffer for it. `index` is the input
 *  it stands for (-1: none; that input's pointer is then ignored); `bits` holds its bytes. */
struct ScalarArg {
  int index = -1;
  uint64_t bits = 0;
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
/** out = op(a, b); a and b share `in_t`. With `sc` one of them comes by value and `l` describes
 *  out and the other input only. */
void binary(BinaryOp op, const char* name, Dtype in_t, Dtype out_t, const void* a, const void* b, void* out,
            const Layout& l, cudaStream_t s, ScalarArg sc = {});
/** out = cond ? x : y; cond is bool, x/y/out have dtype `t`. With `sc` (x or y by value: index 1
 *  or 2) `l` describes out, cond and the other of x/y. */
void select(const char* name, Dtype t, const void* cond, const void* x, const void* y, void* out, const Layout& l,
            cudaStream_t s, ScalarArg sc = {});
/** out[0:n] = the element in `bits` (dtype `t`), dense. */
void fill(const char* name, Dtype t, uint64_t bits, void* out, int64_t n, cudaStream_t s);
/** out = in converted from `in_t` to `out_t`, any layout (the copy and astype kernels). */
void copy(const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l, cudaStream_t s);
/** out[i] = start + i * step (integer arithmetic when `exact_int`). */
void arange(const char* name, Dtype t, double start, double step, bool exact_int, void* out, int64_t n,
            cudaStream_t s);

/** Streaming multiprocessors of the device (asked once). */
int sm_count();

/** Stream-ordered temporary device memory for a kernel family's intermediate results: freed
 *  in `stream`'s order when it goes out of scope, so the kernels queued before still see it. */
class Scratch {
 public:
  Scratch(size_t bytes, cudaStream_t stream);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const;

 private:
  void* buf_;  // a gpu::DeviceBuffer
};

// ---- reductions (reduce.cu, arg_reduce.cu)

/** A reduction reordered for memory order (strides in elements, negative ones already turned
 *  around in the pointers): `nk` kept dims (last fastest) with input and output strides, and the
 *  reduced elements of each output: `nr` outer reduced dims, then an innermost run of `inner_n`
 *  elements `inner_is` apart (1 element when the innermost dim is kept). */
struct ReduceLayout {
  int nk = 0, nr = 0;
  int64_t n_out = 1, n_red = 1;
  int64_t kshape[kMaxDims] = {}, kis[kMaxDims] = {}, kos[kMaxDims] = {};
  int64_t rshape[kMaxDims] = {}, ris[kMaxDims] = {};
  int64_t inner_n = 1, inner_is = 0;
};

enum class ReduceOp { And, Or, Sum, Prod, Min, Max };

/** out = op over the reduced elements of `in`, both of dtype `t` (bool for And/Or). */
void reduce(ReduceOp op, const char* name, Dtype t, const void* in, void* out, const ReduceLayout& l,
            cudaStream_t s);
/** out (uint32) = index of the first max (or min) along the one reduced dim; NaN beats all. */
void arg_reduce(bool is_max, const char* name, Dtype t, const void* in, uint32_t* out, const ReduceLayout& l,
                cudaStream_t s);

// ---- softmax and logsumexp (softmax.cu): `rows` contiguous rows of `n` elements

/** out = softmax of each row; half types compute in float. */
void softmax(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, cudaStream_t s);
/** out[r] = log(sum(exp(row r))); -inf for empty rows. */
void logsumexp(const char* name, Dtype t, const void* in, void* out, int64_t rows, int64_t n, cudaStream_t s);

// ---- scans (scan.cu): a row-major (outer, n, inner) array scanned along n

enum class ScanOp { Sum, Prod, Max, Min, LogAddExp };

/** out = the scan of `in` (same dtype `t`, both row-major); `in` may equal `out`. */
void scan(ScanOp op, const char* name, Dtype t, const void* in, void* out, int64_t outer, int64_t n, int64_t inner,
          bool reverse, bool inclusive, cudaStream_t s);

/** How the integer GEMM reads one operand: row-major (trans false) or column-major matrices with
 *  leading dimension ld, matrix i at i * batch_stride (0: broadcast). */
struct IntMatmulOperand {
  bool trans;
  int64_t ld, batch_stride;
};
/** c (batch x M x N, row-major) = a b for integer and bool dtypes, wrapping (matmul_int.cu). */
void int_matmul(Dtype t, const void* a, const void* b, void* c, int64_t M, int64_t N, int64_t K, int64_t batch,
                const IntMatmulOperand& A, const IntMatmulOperand& B, cudaStream_t s);

}  // namespace kiln::cuda
