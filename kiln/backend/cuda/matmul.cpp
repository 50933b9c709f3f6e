// Matmul through cuBLASLt: float32 (TF32 only with KILN_ENABLE_TF32=1), float16, bfloat16,
// float64 and complex64; transposed operands are read in place, broadcast batch dimensions
// become a zero batch stride, and only layouts cuBLASLt cannot describe are copied first.
#include <cublasLt.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/cublaslt.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/gpu.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cuda::lt::handle;
using cuda::lt::tf32_enabled;
using cuda::lt::Types;

void check_blas(cublasStatus_t st, const char* what) { cuda::lt::check(st, "Matmul", what); }
cublasLtMatrixLayout_t make_layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t stride) {
  return cuda::lt::make_layout(t, rows, cols, ld, batch, stride, "Matmul");
}
Types types_of(Dtype t) { return cuda::lt::types_of(t, "Matmul", true); }

// How cuBLASLt reads one operand: its matrices are row-major (trans = false) or column-major
// (trans = true) with leading dimension ld, and batch matrix i starts at i * batch_stride.
struct Operand {
  array arr;
  bool trans = false;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

bool describe(const array& x, Operand& op) {
  int n = x.ndim();
  int64_t R = x.shape(-2), C = x.shape(-1);
  int64_t sr = x.strides()[n - 2], sc = x.strides()[n - 1];
  if ((C == 1 || sc == 1) && (R == 1 || sr >= C)) {
    op.trans = false;
    op.ld = R == 1 ? C : sr;
  } else if ((R == 1 || sr == 1) && (C == 1 || sc >= R)) {
    op.trans = true;
    op.ld = C == 1 ? R : sc;
  } else {
    return false;
  }
  op.ld = std::max<int64_t>(op.ld, 1);
  // The batch dimensions must reduce to one stride (0 for a broadcast operand).
  Shape bshape(x.shape().begin(), x.shape().end() - 2);
  Strides bstrides(x.strides().begin(), x.strides().end() - 2);
  auto [cshape, cstrides] = collapse_contiguous_dims(bshape, {bstrides});
  if (cshape.size() > 1) return false;
  op.batch_stride = cshape.empty() ? 0 : cstrides[0][0];
  return true;
}

Operand prepare(const array& x, cudaStream_t s) {
  Operand op;
  if (describe(x, op)) {
    op.arr = x;
    return op;
  }
  // A layout cuBLASLt cannot describe: copy to row-major first.
  array c = array::placeholder(x.shape(), x.dtype());
  cuda::alloc_device(c, s);
  cuda::copy_gpu("Matmul", x, c, s);
  describe(c, op);
  op.arr = c;
  return op;
}

// A cuBLASLt plan (descriptors and the chosen algorithm) per problem, built once.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
  size_t workspace = 0;
};

using PlanKey = std::tuple<int, int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, uint32_t>;

// The largest power of two (up to 256) dividing the address: cuBLASLt picks kernels for it.
uint32_t alignment(const void* p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && v % a != 0) a /= 2;
  return a;
}

constexpr size_t kWorkspace = size_t(32) << 20;

const Plan& get_plan(Dtype dt, const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K, int64_t batch,
                     uint32_t align_a, uint32_t align_b, uint32_t align_c) {
  static std::mutex mtx;
  static std::map<PlanKey, Plan> plans;
  PlanKey key{static_cast<int>(dt.val), tf32_enabled(), A.trans, B.trans, M, N, K, A.ld, B.ld, batch, A.batch_stride,
              B.batch_stride, align_a | (align_b << 9) | (align_c << 18)};
  std::lock_guard<std::mutex> lk(mtx);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  Types ty = types_of(dt);
  Plan p;
  // Row-major C = A B is column-major C^T = B^T A^T: cuBLASLt's first operand is B.
  check_blas(cublasLtMatmulDescCreate(&p.desc, ty.compute, ty.scale), "desc");
  cublasOperation_t ta = B.trans ? CUBLAS_OP_T : CUBLAS_OP_N, tb = A.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_blas(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "desc");
  check_blas(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "desc");
  p.a = B.trans ? make_layout(ty.data, K, N, B.ld, batch, B.batch_stride)
                : make_layout(ty.data, N, K, B.ld, batch, B.batch_stride);
  p.b = A.trans ? make_layout(ty.data, M, K, A.ld, batch, A.batch_stride)
                : make_layout(ty.data, K, M, A.ld, batch, A.batch_stride);
  p.c = make_layout(ty.data, N, M, N, batch, M * N);
  cublasLtMatmulPreference_t pref;
  check_blas(cublasLtMatmulPreferenceCreate(&pref), "preference");
  check_blas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace,
                                                  sizeof(kWorkspace)),
             "preference");
  // cuBLASLt's first operand is B (see above).
  std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c}};
  for (auto& [attr, v] : aligns) {
    check_blas(cublasLtMatmulPreferenceSetAttribute(pref, attr, &v, sizeof(v)), "preference");
  }
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  check_blas(cublasLtMatmulAlgoGetHeuristic(handle(), p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found),
             "heuristic");
  cublasLtMatmulPreferenceDestroy(pref);
  if (found == 0) throw std::runtime_error("[Matmul] cuBLASLt has no algorithm for this problem.");
  p.algo = result.algo;
  p.workspace = result.workspaceSize;
  return plans.emplace(key, p).first->second;
}

}  // namespace

void Matmul::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  bool exact = is_integral(out.dtype()) || out.dtype() == bool_;  // wrapping products: matmul_int.cu
  Types ty = exact ? Types{} : types_of(out.dtype());  // unsupported dtypes fail before any allocation
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  int64_t M = out.shape(-2), N = out.shape(-1), K = inputs[0].shape(-1);
  if (K == 0) {
    cuda::check(cudaMemsetAsync(cuda::device_out(out), 0, out.nbytes(), s), "Matmul");
    return;
  }
  Operand A = prepare(inputs[0], s), B = prepare(inputs[1], s);
  int64_t batch = static_cast<int64_t>(out.size()) / (M * N);
  const void* pa = cuda::device_in(A.arr, s);
  const void* pb = cuda::device_in(B.arr, s);
  void* pc = cuda::device_out(out);
  if (exact) {
    cuda::int_matmul(out.dtype(), pa, pb, pc, M, N, K, batch, {A.trans, A.ld, A.batch_stride},
                     {B.trans, B.ld, B.batch_stride}, s);
    return;
  }
  const Plan& p = get_plan(out.dtype(), A, B, M, N, K, batch, alignment(pa), alignment(pb), alignment(pc));
  gpu::DeviceBuffer* ws = p.workspace ? cuda::device_malloc(p.workspace, s) : nullptr;
  double one_d = 1.0, zero_d = 0.0;
  float one_f[2] = {1.0f, 0.0f}, zero_f[2] = {0.0f, 0.0f};
  bool dbl = ty.scale == CUDA_R_64F;
  const void* alpha = dbl ? static_cast<const void*>(&one_d) : one_f;
  const void* beta = dbl ? static_cast<const void*>(&zero_d) : zero_f;
  cublasStatus_t st = cublasLtMatmul(handle(), p.desc, alpha, pb, p.a, pa, p.b, beta, pc, p.c, pc, p.c, &p.algo,
                                     ws ? ws->ptr : nullptr, p.workspace, s);
  if (ws) gpu::release(ws);
  check_blas(st, "cublasLtMatmul");
}

}  // namespace kiln
