// eval_gpu of the quantization primitives (Quantize, Dequantize, QuantizedMatmul, GatherQMM);
// kernels in quantized.cu, GEMM in gather_mm.cpp.
//
// Products with few rows per weight matrix (decoding) read the packed weights once through the
// qmv kernels; products with many rows dequantize the weights into a workspace in the result's
// dtype and run one cuBLAS GEMM (batched over pointer arrays when several matrices take part).
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/quantized.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/backend/gpu.h"
#include "kiln/quantized.h"

namespace kiln {

namespace {

// Rows of x per weight matrix up to which the qmv kernels run (x @ w.T, x @ w); above, the
// dequantize-and-GEMM path is faster.
constexpr int64_t kQmvRowsT = 32;
constexpr int64_t kQmvRowsN = 16;

cuda::QFormat qformat(int group, int bits, QuantizationMode mode) {
  return cuda::QFormat{bits, group, static_cast<int>(mode)};
}

bool dense_aligned(const array& a, cudaStream_t s, uintptr_t align) {
  if (!(a.flags().row_contiguous && a.data_size() == a.size())) return false;
  return reinterpret_cast<uintptr_t>(cuda::device_in(a, s)) % align == 0;
}

// A row-major (16-byte aligned) device copy of `a` in dtype t, or `a` itself when it is one.
array dense_gpu(const char* name, const array& a, Dtype t, cudaStream_t s) {
  if (a.dtype() == t && (a.size() == 0 || dense_aligned(a, s, 16))) return a;
  array tmp = array::placeholder(a.shape(), t);
  cuda::alloc_device(tmp, s);
  if (a.size()) cuda::copy_gpu(name, a, tmp, s);
  return tmp;
}

// Whether the matrices (last two dims) of `a` are row-major and dense, its batch dims take at
// most kMaxDims merged dims, and (align words) its base and batch strides are multiples of
// `align` elements.
bool matrices_ok(const array& a, cudaStream_t s, int64_t align) {
  int n = a.ndim();
  int64_t R = a.shape(-2), C = a.shape(-1);
  if (!(C == 1 || a.strides()[n - 1] == 1) || !(R == 1 || a.strides()[n - 2] == C)) return false;
  for (int d = 0; d < n - 2; ++d) {
    if (a.shape(d) > 1 && a.strides()[d] % align != 0) return false;
  }
  Shape bs(a.shape().begin(), a.shape().end() - 2);
  Strides st(a.strides().begin(), a.strides().end() - 2);
  auto [cs, cst] = collapse_contiguous_dims(bs, {st});
  if (cs.size() > static_cast<size_t>(cuda::kMaxDims)) return false;
  return reinterpret_cast<uintptr_t>(cuda::device_in(a, s)) % (align * a.itemsize()) == 0;
}

array matrices_gpu(const char* name, const array& a, cudaStream_t s, int64_t align) {
  if (a.size() == 0 || matrices_ok(a, s, align)) return a;
  array tmp = array::placeholder(a.shape(), a.dtype());
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, a, tmp, s);
  return tmp;
}

cuda::MatIndex batch_index(const array& a) {
  cuda::MatIndex mi;
  Shape bs(a.shape().begin(), a.shape().end() - 2);
  Strides st(a.strides().begin(), a.strides().end() - 2);
  mi.count = shape_size(bs);
  auto [cs, cst] = collapse_contiguous_dims(bs, {st});
  mi.ndim = static_cast<int>(cs.size());
  for (int d = 0; d < mi.ndim; ++d) {
    mi.shape[d] = cs[d];
    mi.strides[d] = cst[0][d];
  }
  return mi;
}

cuda::MatIndex linear_index(int64_t count, int64_t stride) {
  cuda::MatIndex mi;
  mi.ndim = 1;
  mi.count = count;
  mi.shape[0] = std::max<int64_t>(count, 1);
  mi.strides[0] = stride;
  return mi;
}

array int64_gpu(const char* name, const array& idx, cudaStream_t s) {
  if (idx.dtype() == int64 && idx.flags().row_contiguous && idx.data_size() == idx.size()) return idx;
  array tmp = array::placeholder(idx.shape(), int64);
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, idx, tmp, s);
  return tmp;
}

int64_t addr(const void* p) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)); }

// out = x @ dequantize(w).T (or without .T) for QuantizedMatmul (gather = false: x, w, scales,
// biases share the batch shape, or w is one matrix) and GatherQMM (inputs end with the
// lhs and rhs indices).
void quantized_product(const char* name, const std::vector<array>& inputs, bool has_b, bool gather,
                       cuda::QFormat q, bool transpose, array& out, cudaStream_t s) {
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  Dtype t = out.dtype();
  if (t != float32 && t != float16 && t != bfloat16) {
    throw std::runtime_error(std::string("[") + name + "] " + dtype_name(t) + " has no GPU implementation.");
  }
  int64_t M = inputs[0].shape(-2), K = inputs[0].shape(-1), N = out.shape(-1);
  void* o = cuda::device_out(out);
  if (K == 0) {
    cuda::check(cudaMemsetAsync(o, 0, out.nbytes(), s), name);
    return;
  }
  int chunk = q.mode == 3 ? 16 : 32, words = chunk * q.bits / 32;
  int64_t align = words % 4 == 0 ? 4 : words % 2 == 0 ? 2 : 1;
  array x = dense_gpu(name, inputs[0], t, s);
  array w = matrices_gpu(name, inputs[1], s, align);
  array sc = matrices_gpu(name, inputs[2], s, 1);
  array bi = has_b ? matrices_gpu(name, inputs[3], s, 1) : sc;
  cuda::ParamType pt = cuda::param_type(sc.dtype(), q.mode), bt = cuda::param_type(bi.dtype(), q.mode);
  const void* xp = cuda::device_in(x, s);
  const uint32_t* wp = static_cast<const uint32_t*>(cuda::device_in(w, s));
  const void* sp = cuda::device_in(sc, s);
  const void* bp = cuda::device_in(bi, s);

  bool single = !gather && w.ndim() == 2;
  int64_t count = single ? 1 : static_cast<int64_t>(out.size() / (M * N));
  int64_t rows = single ? static_cast<int64_t>(out.size()) / N : M;
  int64_t wr = w.shape(-2), wc = w.shape(-1) * 32 / q.bits;  // the dequantized matrix

  // Offsets of each product's operands (elements): x, w, scales, biases.
  std::optional<cuda::Scratch> table;
  std::optional<array> lhs, rhs;
  cuda::MatIndex mx_i;
  if (!single) {
    table.emplace(static_cast<size_t>(4 * count) * sizeof(int64_t), s);
    int64_t* tp = static_cast<int64_t*>(table->get());
    const int64_t *li = nullptr, *ri = nullptr;
    if (gather) {
      lhs = int64_gpu(name, inputs[inputs.size() - 2], s);
      rhs = int64_gpu(name, inputs[inputs.size() - 1], s);
      li = static_cast<const int64_t*>(cuda::device_in(*lhs, s));
      ri = static_cast<const int64_t*>(cuda::device_in(*rhs, s));
    }
    mx_i = linear_index(gather ? static_cast<int64_t>(x.size() / (M * K)) : count, M * K);
    cuda::matrix_offsets(li, count, mx_i, 0, 1, tp, s);
    cuda::matrix_offsets(ri, count, batch_index(w), 0, 1, tp + count, s);
    cuda::matrix_offsets(ri, count, batch_index(sc), 0, 1, tp + 2 * count, s);
    cuda::matrix_offsets(ri, count, batch_index(bi), 0, 1, tp + 3 * count, s);
  }
  cuda::QBatch batch{table ? static_cast<const int64_t*>(table->get()) : nullptr, count};

  if (rows <= (transpose ? kQmvRowsT : kQmvRowsN)) {
    cuda::qmv(t, q, transpose, xp, wp, sp, has_b ? bp : nullptr, pt, bt, rows, K, N, batch, o, s);
    return;
  }
  // Many rows: dequantize each product's matrix, then GEMM.
  cuda::Scratch wd(static_cast<size_t>(count * wr * wc) * size_of(t), s);
  cuda::dequantize(t, q, wp, sp, has_b ? bp : nullptr, pt, bt, nullptr, wr, wc, w.shape(-1), batch, wd.get(), s,
                   false);
  if (single) {
    cuda::gemm(name, t, false, transpose, rows, N, K, xp, K, wd.get(), transpose ? K : N, o, s);
    return;
  }
  cuda::Scratch ptrs(static_cast<size_t>(3 * count) * sizeof(int64_t), s);
  int64_t* p = static_cast<int64_t*>(ptrs.get());
  int64_t isz = size_of(t);
  const int64_t* li = lhs ? static_cast<const int64_t*>(cuda::device_in(*lhs, s)) : nullptr;
  cuda::matrix_offsets(li, count, mx_i, addr(xp), isz, p, s);
  cuda::matrix_offsets(nullptr, count, linear_index(count, wr * wc), addr(wd.get()), isz, p + count, s);
  cuda::matrix_offsets(nullptr, count, linear_index(count, M * N), addr(o), isz, p + 2 * count, s);
  cuda::gemm_batched(name, t, false, transpose, M, N, K, reinterpret_cast<const void* const*>(p), K,
                     reinterpret_cast<const void* const*>(p + count), transpose ? K : N,
                     reinterpret_cast<void* const*>(p + 2 * count), count, s);
}

}  // namespace

void Quantize::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  cudaStream_t s = cuda::stream_of(stream());
  for (auto& o : outputs) cuda::alloc_device(o, s);
  if (inputs[0].size() == 0) return;
  array w = dense_gpu("quantize", inputs[0], inputs[0].dtype(), s);
  const float* global = nullptr;
  std::optional<array> g;
  if (inputs.size() > 1) {
    g = dense_gpu("quantize", inputs[1], float32, s);
    global = static_cast<const float*>(cuda::device_in(*g, s));
  }
  int64_t C = w.shape(-1), R = static_cast<int64_t>(w.size()) / C;
  cuda::quantize(w.dtype(), qformat(group_size_, bits_, mode_), cuda::device_in(w, s), R, C, global,
                 static_cast<uint32_t*>(cuda::device_out(outputs[0])), cuda::device_out(outputs[1]),
                 mode_ == QuantizationMode::Affine ? cuda::device_out(outputs[2]) : nullptr, s);
}

void Dequantize::eval_gpu(const std::vector<array>& inputs, array& out) {
  const char* name = "dequantize";
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  bool affine = mode_ == QuantizationMode::Affine;
  array w = dense_gpu(name, inputs[0], uint32, s);
  array sc = dense_gpu(name, inputs[1], inputs[1].dtype(), s);
  array bi = affine ? dense_gpu(name, inputs[2], inputs[2].dtype(), s) : sc;
  std::optional<array> g;
  const float* global = nullptr;
  if (!affine && inputs.size() > 2) {
    g = dense_gpu(name, inputs[2], float32, s);
    global = static_cast<const float*>(cuda::device_in(*g, s));
  }
  int64_t C = out.shape(-1), R = static_cast<int64_t>(out.size()) / C;
  cuda::QFormat q = qformat(group_size_, bits_, mode_);
  cuda::dequantize(out.dtype(), q, static_cast<const uint32_t*>(cuda::device_in(w, s)), cuda::device_in(sc, s),
                   affine ? cuda::device_in(bi, s) : nullptr, cuda::param_type(sc.dtype(), q.mode),
                   cuda::param_type(bi.dtype(), q.mode), global, R, C, w.shape(-1), cuda::QBatch{}, cuda::device_out(out),
                   s);
}

void QuantizedMatmul::eval_gpu(const std::vector<array>& inputs, array& out) {
  quantized_product("quantized_matmul", inputs, inputs.size() > 3, false, qformat(group_size_, bits_, mode_),
                    transpose_, out, cuda::stream_of(stream()));
}

void GatherQMM::eval_gpu(const std::vector<array>& inputs, array& out) {
  quantized_product("gather_qmm", inputs, inputs.size() > 5, true, qformat(group_size_, bits_, mode_), transpose_, out,
                    cuda::stream_of(stream()));
}

}  // namespace kiln
