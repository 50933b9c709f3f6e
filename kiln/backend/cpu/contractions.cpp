// eval_cpu of the contraction primitives: Hadamard (fast Walsh-Hadamard transform) and
// GatherMM (matrix products of operand pairs picked by index, one GEMM per pair).
#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kiln/backend/common/hadamard.h"
#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/gemm.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// In place on one row of n = m * p values (p = 2^k), seen as m runs of p: the 2^k-point
// transform of each run (butterflies), then H_m across runs (run r = sum over c of
// +-run c, whole runs at a time so the loops stay contiguous), then the scale.
template <typename F>
void hadamard_row(F* x, int64_t m, int64_t p, const char* const* hm, F scale, std::vector<F>& tmp) {
  for (int64_t r = 0; r < m; ++r) {
    F* v = x + r * p;
    for (int64_t h = 1; h < p; h *= 2) {
      for (int64_t i = 0; i < p; i += 2 * h) {
        for (int64_t j = i; j < i + h; ++j) {
          F u = v[j], w = v[j + h];
          v[j] = u + w;
          v[j + h] = u - w;
        }
      }
    }
  }
  if (m > 1) {
    tmp.assign(x, x + m * p);
    std::fill(x, x + m * p, F(0));
    for (int64_t r = 0; r < m; ++r) {
      F* out = x + r * p;
      for (int64_t c = 0; c < m; ++c) {
        const F* in = tmp.data() + c * p;
        if (hm[r][c] == '+') {
          for (int64_t j = 0; j < p; ++j) out[j] += in[j];
        } else {
          for (int64_t j = 0; j < p; ++j) out[j] -= in[j];
        }
      }
    }
  }
  for (int64_t j = 0; j < m * p; ++j) x[j] *= scale;
}

// Flat indices `idx` (any integer dtype, any layout) into the `batch` matrices of an operand
// whose batch dims have `strides`, as element offsets. Negative indices wrap; indices still
// out of range are clamped, as gather does.
std::vector<int64_t> matrix_offsets(const array& idx, const Shape& batch, const Strides& strides) {
  int64_t count = shape_size(batch);
  std::vector<int64_t> offsets(idx.size());
  dispatch_real_types(idx.dtype(), "GatherMM", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* p = idx.data<T>();
      StridedIterator it(idx.shape(), idx.strides());
      for (size_t i = 0; i < offsets.size(); ++i, it.step()) {
        int64_t v = static_cast<int64_t>(p[it.loc()]);
        if (v < 0) v += count;
        v = std::clamp<int64_t>(v, 0, count - 1);
        offsets[i] = elem_to_loc(v, batch, strides);
      }
    } else {
      throw_unsupported_dtype("GatherMM", idx.dtype());
    }
  });
  return offsets;
}

constexpr double kSmallMNK = 1 << 18;
constexpr int64_t kGroupRows = 32;

// Products that share a b matrix, when a's matrices are short (M < kGroupRows), as one GEMM
// per b matrix: their a matrices are packed one under the other, so each b matrix is read
// once (a mixture-of-experts layer becomes one GEMM per expert instead of one GEMV per
// token). Returns false, doing nothing, when b matrices are used less than twice on average.
bool gather_grouped(const cpu::GemmOperand& A, const cpu::GemmOperand& B, const std::vector<int64_t>& ao,
                    const std::vector<int64_t>& bo, int64_t M, int64_t N, int64_t K, Dtype t, char* c) {
  int64_t count = static_cast<int64_t>(bo.size());
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return bo[x] < bo[y]; });
  int64_t runs = 1;
  for (int64_t j = 1; j < count; ++j) runs += bo[order[j]] != bo[order[j - 1]];
  if (2 * runs > count) return false;
  int64_t isz = size_of(t);
  std::vector<char> packed, result;
  for (int64_t r0 = 0, r1; r0 < count; r0 = r1) {
    for (r1 = r0 + 1; r1 < count && bo[order[r1]] == bo[order[r0]];) ++r1;
    int64_t g = r1 - r0;
    packed.resize(g * M * K * isz);
    result.resize(g * M * N * isz);
    int64_t grain = std::max<int64_t>(1, cpu::kElementwiseGrain / std::max<int64_t>(1, M * K));
    cpu::parallel_for(g, grain, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const char* src = A.data + ao[order[r0 + j]] * isz;
        char* dst = packed.data() + j * M * K * isz;
        for (int64_t row = 0; row < M; ++row) {
          if (!A.trans) {
            std::memcpy(dst + row * K * isz, src + row * A.ld * isz, K * isz);
            continue;
          }
          for (int64_t k = 0; k < K; ++k) std::memcpy(dst + (row * K + k) * isz, src + (row + k * A.ld) * isz, isz);
        }
      }
    });
    cpu::gemm_matrices(t, false, B.trans, g * M, N, K, packed.data(), K, B.data + bo[order[r0]] * isz, B.ld,
                       result.data());
    for (int64_t j = 0; j < g; ++j) {
      std::memcpy(c + order[r0 + j] * M * N * isz, result.data() + j * M * N * isz, M * N * isz);
    }
  }
  return true;
}

}  // namespace

void Hadamard::eval_cpu(const std::vector<array>& inputs, array& out) {
  cpu::copy_alloc(inputs[0], out);  // row-major: the transform runs in place on rows
  if (out.size() == 0) return;
  int64_t n = out.ndim() == 0 ? 1 : out.shape(-1);
  int64_t m = 1;
  for (int64_t q : {28, 20, 12}) {
    if (n % q == 0) {
      m = q;
      break;
    }
  }
  int64_t p = n / m, rows = out.size() / n;
  const char* const* hm = hadamard_rows(m);
  int64_t grain = std::max<int64_t>(1, cpu::kElementwiseGrain / n);
  dispatch_float_types(out.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* data = out.data<T>();
    cpu::parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        std::vector<T> tmp;
        for (int64_t i = begin; i < end; ++i) hadamard_row<T>(data + i * n, m, p, hm, static_cast<T>(scale_), tmp);
      } else {
        // Half types are transformed in float32: n additions in 16 bits would lose digits.
        std::vector<float> row(n), tmp;
        for (int64_t i = begin; i < end; ++i) {
          T* x = data + i * n;
          for (int64_t j = 0; j < n; ++j) row[j] = static_cast<float>(x[j]);
          hadamard_row<float>(row.data(), m, p, hm, static_cast<float>(scale_), tmp);
          for (int64_t j = 0; j < n; ++j) x[j] = T(row[j]);
        }
      }
    });
  });
}

void GatherMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array &a = inputs[0], &b = inputs[1];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  if (K == 0) {
    std::memset(out.data<char>(), 0, out.nbytes());
    return;
  }
  if (std::max({M, N, K}) > INT_MAX) {
    throw std::invalid_argument("[GatherMM] Matrix dimensions above 2^31 - 1 are not supported.");
  }
  cpu::GemmOperand A = cpu::gemm_operand(a), B = cpu::gemm_operand(b);
  std::vector<int64_t> ao = matrix_offsets(inputs[2], Shape(a.shape().begin(), a.shape().end() - 2), A.batch_strides);
  std::vector<int64_t> bo = matrix_offsets(inputs[3], Shape(b.shape().begin(), b.shape().end() - 2), B.batch_strides);
  int64_t isz = out.itemsize();
  char* c = out.data<char>();
  int64_t count = static_cast<int64_t>(ao.size());
  if (M < kGroupRows && gather_grouped(A, B, ao, bo, M, N, K, out.dtype(), c)) return;
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      cpu::gemm_matrices(out.dtype(), A.trans, B.trans, M, N, K, A.data + ao[i] * isz, A.ld, B.data + bo[i] * isz,
                         B.ld, c + i * M * N * isz);
    }
  };
  // Small products run several per thread; large ones one after another, each spread over
  // BLAS's threads (running those concurrently would oversubscribe the cores).
  double mnk = static_cast<double>(M) * N * K;
  if (mnk < kSmallMNK) {
    cpu::parallel_for(count, static_cast<int64_t>(kSmallMNK / std::max(mnk, 1.0)), run);
  } else {
    run(0, count);
  }
}

}  // namespace kiln
