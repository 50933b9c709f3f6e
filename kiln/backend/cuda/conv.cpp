// eval_gpu of Convolution, without cuDNN: an implicit GEMM through an explicit unfold.
//
// The output (batch * P rows of C_out, channels-last) is, per group, the patch matrix (rows x
// KS * C_in/g) times the group's weights (C_out/g x KS * C_in/g)^T. conv.cu unfolds a chunk of
// rows into a workspace (at most 256 MiB, so huge inputs run in several chunks) with the
// groups side by side in each row, and one cuBLASLt GEMM per chunk covers every group as a
// strided batch (the groups' columns interleave in the patch rows and in the output rows).
// Fast paths: a 1x1 convolution with stride 1 and no padding or dilation reads the input as
// the patch matrix itself (no unfold); one input channel per group (depthwise) runs a direct
// kernel; float16/bfloat16 with C_in/groups % 32 == 0 and C_out/groups % 64 == 0 run an
// implicit GEMM on tensor cores that gathers the patches as it goes (no workspace). float32 uses no TF32 unless KILN_ENABLE_TF32=1, as matmul; half types accumulate in
// float, float64 in double.
#include <cublasLt.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "kiln/backend/cuda/conv.h"
#include "kiln/backend/cuda/cublaslt.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using cuda::ConvGeom;
using cuda::kConvDims;

// The patch workspace's cap; KILN_CONV_WORKSPACE_BYTES lowers it (tests use it to force chunks).
size_t max_patch_bytes() {
  const char* v = std::getenv("KILN_CONV_WORKSPACE_BYTES");
  size_t cap = size_t(256) << 20;
  if (v != nullptr && *v != '\0') cap = std::min<size_t>(cap, std::max<long long>(1, std::atoll(v)));
  return cap;
}
constexpr size_t kGemmWorkspace = size_t(32) << 20;

using cuda::lt::handle;
using cuda::lt::tf32_enabled;
using cuda::lt::Types;

void check_blas(cublasStatus_t st, const char* what) { cuda::lt::check(st, "Convolution", what); }
cublasLtMatrixLayout_t make_layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t stride) {
  return cuda::lt::make_layout(t, rows, cols, ld, batch, stride, "Convolution");
}
Types types_of(Dtype t) { return cuda::lt::types_of(t, "Convolution", false); }

// C_b (M x N, row-major, ld ldc) = A_b (M x K, row-major, ld lda) * B_b^T (B_b: N x K, row-major,
// ld ldb) for b < batch; operand b starts sa / sb / sc elements after operand b - 1.
struct Gemm {
  int64_t M, N, K, lda, ldb, ldc, batch, sa, sb, sc;
};

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
  size_t workspace = 0;
};

// The largest power of two (up to 256) dividing every value (addresses, ld and batch strides in
// bytes): cuBLASLt picks its kernels' vector widths by it.
uint32_t alignment(uint64_t bits) {
  uint32_t a = 256;
  while (a > 1 && bits % a != 0) a /= 2;
  return a;
}

using PlanKey = std::tuple<int, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, uint32_t>;

const Plan& get_plan(Dtype dt, const Gemm& g, uint32_t align_a, uint32_t align_b, uint32_t align_c) {
  static std::mutex mtx;
  static std::map<PlanKey, Plan> plans;
  PlanKey key{static_cast<int>(dt.val), tf32_enabled(), g.M, g.N, g.K, g.lda, g.ldb, g.ldc, g.batch, g.sa, g.sb,
              g.sc, align_a | (align_b << 9) | (align_c << 18)};
  std::lock_guard<std::mutex> lk(mtx);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  Types ty = types_of(dt);
  Plan p;
  // Row-major C = A B^T is column-major C^T = B A^T: cuBLASLt's first operand is B, read
  // transposed from its column-major (K x N, ld ldb) view; its second is A's (K x M, ld lda).
  check_blas(cublasLtMatmulDescCreate(&p.desc, ty.compute, ty.scale), "desc");
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  check_blas(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "desc");
  check_blas(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "desc");
  p.a = make_layout(ty.data, g.K, g.N, g.ldb, g.batch, g.sb);
  p.b = make_layout(ty.data, g.K, g.M, g.lda, g.batch, g.sa);
  p.c = make_layout(ty.data, g.N, g.M, g.ldc, g.batch, g.sc);
  cublasLtMatmulPreference_t pref;
  check_blas(cublasLtMatmulPreferenceCreate(&pref), "preference");
  check_blas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kGemmWorkspace,
                                                  sizeof(kGemmWorkspace)),
             "preference");
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
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle(), p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.c);
    cublasLtMatmulDescDestroy(p.desc);
    check_blas(st, "heuristic");
    throw std::runtime_error("[Convolution] cuBLASLt has no algorithm for this problem.");
  }
  p.algo = result.algo;
  p.workspace = result.workspaceSize;
  return plans.emplace(key, p).first->second;
}

void gemm(Dtype dt, const Gemm& g, const void* a, const void* b, void* c, cudaStream_t s) {
  uint64_t item = size_of(dt);
  auto bits = [&](const void* p, int64_t ld, int64_t stride) {
    uint64_t v = reinterpret_cast<uintptr_t>(p) | static_cast<uint64_t>(ld) * item;
    if (g.batch > 1) v |= static_cast<uint64_t>(stride) * item;
    return alignment(v);
  };
  const Plan* pp = nullptr;
  try {
    pp = &get_plan(dt, g, bits(a, g.lda, g.sa), bits(b, g.ldb, g.sb), bits(c, g.ldc, g.sc));
  } catch (const std::runtime_error&) {
    if (g.batch == 1) throw;
  }
  if (pp == nullptr) {
    // No algorithm for the interleaved batch: one GEMM per group.
    Gemm one = g;
    one.batch = 1;
    for (int64_t i = 0; i < g.batch; ++i) {
      gemm(dt, one, static_cast<const char*>(a) + i * g.sa * item, static_cast<const char*>(b) + i * g.sb * item,
           static_cast<char*>(c) + i * g.sc * item, s);
    }
    return;
  }
  const Plan& p = *pp;
  bool dbl = dt == float64;
  double one_d = 1.0, zero_d = 0.0;
  float one_f = 1.0f, zero_f = 0.0f;
  const void* alpha = dbl ? static_cast<const void*>(&one_d) : &one_f;
  const void* beta = dbl ? static_cast<const void*>(&zero_d) : &zero_f;
  if (p.workspace > 0) {
    cuda::Scratch ws(p.workspace, s);
    check_blas(cublasLtMatmul(handle(), p.desc, alpha, b, p.a, a, p.b, beta, c, p.c, c, p.c, &p.algo, ws.get(),
                              p.workspace, s),
               "cublasLtMatmul");
  } else {
    check_blas(cublasLtMatmul(handle(), p.desc, alpha, b, p.a, a, p.b, beta, c, p.c, c, p.c, &p.algo, nullptr, 0, s),
               "cublasLtMatmul");
  }
}

// KILN_CONV_IMPLICIT=0 turns the tensor-core implicit GEMM off (to compare it with the unfold).
bool implicit_gemm_enabled() {
  const char* v = std::getenv("KILN_CONV_IMPLICIT");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

// A row-major copy of `a` on the device.
array row_major(const array& a, cudaStream_t s) {
  array c = array::placeholder(a.shape(), a.dtype());
  cuda::alloc_device(c, s);
  cuda::copy_gpu("Convolution", a, c, s);
  return c;
}

// The stride between consecutive (batch, spatial) positions of x when they form one uniform
// sequence (so x is an M x C_in matrix with leading dimension ld), else 0.
int64_t uniform_row_stride(const array& x) {
  int64_t ld = 0, expected = 0;
  for (int d = x.ndim() - 2; d >= 0; --d) {
    if (x.shape(d) == 1) continue;
    if (ld == 0) {
      ld = x.strides()[d];
      if (ld <= 0) return 0;
      expected = ld * x.shape(d);
    } else {
      if (x.strides()[d] != expected) return 0;
      expected *= x.shape(d);
    }
  }
  return ld == 0 ? x.shape(-1) : ld;
}

}  // namespace

void Convolution::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  Dtype dt = out.dtype();
  types_of(dt);  // unsupported dtypes fail before any allocation
  int nd = inputs[0].ndim() - 2;
  if (nd < 1 || nd > kConvDims) {
    throw std::invalid_argument("[Convolution] The GPU supports 1 to 3 spatial dimensions, got " +
                                std::to_string(nd) + ".");
  }
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array x = inputs[0];
  array w = inputs[1];
  ConvGeom g;
  g.batch = x.shape(0);
  int64_t cin = x.shape(-1);
  g.cout = w.shape(0);
  g.groups = groups_;
  g.cin_g = cin / groups_;
  g.cout_g = g.cout / groups_;
  g.flip = flip_;
  int lead = kConvDims - nd;
  for (int d = 0; d < nd; ++d) {
    g.in[lead + d] = x.shape(d + 1);
    g.ker[lead + d] = w.shape(d + 1);
    g.out[lead + d] = out.shape(d + 1);
    g.stride[lead + d] = stride_[d];
    g.lo[lead + d] = padding_lo_[d];
    g.kdil[lead + d] = kernel_dilation_[d];
    g.idil[lead + d] = input_dilation_[d];
    g.P *= out.shape(d + 1);
    g.KS *= w.shape(d + 1);
  }
  int64_t K = g.KS * g.cin_g;
  void* y = cuda::device_out(out);
  if (K == 0) {
    cuda::check(cudaMemsetAsync(y, 0, out.nbytes(), s), "Convolution");
    return;
  }
  // The kernels and GEMMs read channels contiguously: other layouts are copied first (weights
  // are small; a strided input is read once instead of once per kernel tap).
  if (cin > 1 && x.strides().back() != 1) x = row_major(x, s);
  if (!w.flags().row_contiguous) w = row_major(w, s);
  g.sn = x.strides()[0];
  for (int d = 0; d < nd; ++d) g.ss[lead + d] = x.strides()[d + 1];
  g.sc = 1;
  const void* xp = cuda::device_in(x, s);
  const void* wp = cuda::device_in(w, s);

  if (g.cin_g == 1) {
    cuda::conv_direct(name(), dt, g, xp, wp, y, s);
    return;
  }

  size_t item = size_of(dt);
  int64_t rows = g.batch * g.P;
  bool pointwise = true;
  for (int d = 0; d < kConvDims; ++d) {
    pointwise &= g.ker[d] == 1 && g.stride[d] == 1 && g.lo[d] == 0 && g.idil[d] == 1 && g.out[d] == g.in[d];
  }
  if (pointwise) {
    int64_t ld = uniform_row_stride(x);
    if (ld >= cin) {
      gemm(dt, {rows, g.cout_g, g.cin_g, ld, g.cin_g, g.cout, g.groups, g.cin_g, g.cout_g * g.cin_g, g.cout_g}, xp,
           wp, y, s);
      return;
    }
  }

  if (implicit_gemm_enabled() && cuda::conv_implicit_gemm(name(), dt, g, xp, wp, y, s)) return;

  size_t row_bytes = static_cast<size_t>(g.groups * K) * item;
  int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(max_patch_bytes() / row_bytes), 1, rows);
  cuda::Scratch ws(static_cast<size_t>(chunk) * row_bytes, s);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    int64_t m = std::min(chunk, rows - r0);
    cuda::conv_unfold(g, item, xp, ws.get(), r0, m, s);
    gemm(dt, {m, g.cout_g, K, g.groups * K, K, g.cout, g.groups, K, g.cout_g * K, g.cout_g}, ws.get(), wp,
         static_cast<char*>(y) + r0 * g.cout * item, s);
  }
}

}  // namespace kiln
