// eval_cpu of Matmul: batched (..., M, K) @ (..., K, N).
//
// float32/float64/complex64 go to OpenBLAS GEMM. Operands whose matrices are row- or
// column-major (a transposed view is the latter) are passed as they are, with the transpose
// flag; only other layouts are copied. A batch over which the right operand is broadcast is
// folded into M when the left operand's matrices follow each other in memory, so
// (B, M, K) @ (K, N) is one GEMM. float16/bfloat16 convert panels to float32 for sgemm and
// the result back (O(n^2) conversions against O(n^3) arithmetic). Integer and bool products
// use a blocked integer kernel with wraparound arithmetic, like NumPy.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/gemm.h"
#include "kiln/backend/cpu/half_blocks.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// OpenBLAS runs GEMMs up to this many multiply-adds on the calling thread; below it, batches
// are spread over kiln's threads instead.
constexpr double kBlasSingleThreadMNK = 65536.0 * 4;

template <typename T>
constexpr bool is_blas_v = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, complex64_t>;
template <typename T>
constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

using Operand = cpu::GemmOperand;

// Row-major if the column stride is 1 and rows are at least a row apart; column-major in the
// mirror case; a dimension of size 1 may have any stride.
bool blas_layout(int64_t R, int64_t C, int64_t sr, int64_t sc, bool& trans, int64_t& ld) {
  if ((sc == 1 || C == 1) && (R == 1 || sr >= std::max<int64_t>(1, C))) {
    trans = false;
    ld = R == 1 ? std::max<int64_t>(1, C) : sr;
    return true;
  }
  if ((sr == 1 || R == 1) && (C == 1 || sc >= std::max<int64_t>(1, R))) {
    trans = true;
    ld = C == 1 ? std::max<int64_t>(1, R) : sc;
    return true;
  }
  return false;
}

Operand prepare(const array& x) {
  int nd = x.ndim();
  int64_t R = x.shape(nd - 2), C = x.shape(nd - 1);
  Operand op;
  op.batch_strides = Strides(x.strides().begin(), x.strides().end() - 2);
  if (blas_layout(R, C, x.strides(nd - 2), x.strides(nd - 1), op.trans, op.ld)) {
    op.data = x.data<char>();
    return op;
  }
  // Copy the distinct matrices row-major; broadcast batch dims stay broadcast.
  Shape sub = x.shape();
  for (int i = 0; i < nd - 2; ++i) {
    if (op.batch_strides[i] == 0) sub[i] = 1;
  }
  array view = cpu::make_view(x, sub, x.strides(), 0);
  op.holder = array(allocator::malloc(shape_size(sub) * x.itemsize()), sub, x.dtype());
  cpu::copy_into(view, op.holder);
  for (int i = 0; i < nd - 2; ++i) {
    if (op.batch_strides[i] != 0) op.batch_strides[i] = op.holder.strides(i);
  }
  op.data = op.holder.data<char>();
  op.trans = false;
  op.ld = C;
  return op;
}

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T* c) {
  auto TA = ta ? CblasTrans : CblasNoTrans;
  auto TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N);
  } else if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(CblasRowMajor, TA, TB, M, N, K, 1.0, a, lda, b, ldb, 0.0, c, N);
  } else {
    const complex64_t one(1.0f, 0.0f), zero(0.0f, 0.0f);
    cblas_cgemm(CblasRowMajor, TA, TB, M, N, K, &one, a, lda, b, ldb, &zero, c, N);
  }
}

// The batch loop shared by the BLAS and half paths: folds broadcast batch dims into M, then
// calls f(a, b, c, M') for each remaining batch element (in parallel when each is small).
template <typename T, typename F>
void for_each_gemm(const Operand& A, const Operand& B, const Shape& batch, int64_t M, int64_t N, int64_t K, T* out,
                   int64_t& lda, bool parallel_small, F&& f) {
  Shape bshape;
  Strides a_bs, b_bs;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i] == 1) continue;
    bshape.push_back(batch[i]);
    a_bs.push_back(A.batch_strides[i]);
    b_bs.push_back(B.batch_strides[i]);
  }
  // Fold trailing batch dims over which B is broadcast into A's rows.
  int64_t Mf = M;
  lda = A.ld;
  if (!A.trans) {
    while (!bshape.empty() && b_bs.back() == 0) {
      int64_t s = a_bs.back(), n = bshape.back();
      if (Mf * n > INT_MAX) break;
      if (Mf == 1 && s >= std::max<int64_t>(1, K)) {
        lda = s;  // single rows: the batch stride becomes the row stride
      } else if (s != Mf * lda || s == 0) {
        break;
      }
      Mf *= n;
      bshape.pop_back();
      a_bs.pop_back();
      b_bs.pop_back();
    }
  }
  int64_t nbatch = shape_size(bshape);
  auto run = [&](int64_t begin, int64_t end) {
    StridedIterator ai(bshape, a_bs), bi(bshape, b_bs);
    ai.seek(begin);
    bi.seek(begin);
    for (int64_t i = begin; i < end; ++i) {
      f(reinterpret_cast<const T*>(A.data) + ai.loc(), reinterpret_cast<const T*>(B.data) + bi.loc(),
        out + i * Mf * N, Mf);
      ai.step();
      bi.step();
    }
  };
  double mnk = static_cast<double>(Mf) * N * K;
  if (parallel_small && nbatch > 1 && mnk <= kBlasSingleThreadMNK) {
    cpu::parallel_for(nbatch, std::max<int64_t>(1, static_cast<int64_t>(kBlasSingleThreadMNK / std::max(mnk, 1.0))), run);
  } else {
    run(0, nbatch);
  }
}

// (..., 1, K) @ (..., K, 1): a batch of dot products (einsum's "bi,bi->b"). One BLAS dot per
// batch element, spread over kiln's threads, instead of a GEMM call per 1x1 result. Takes
// any positive strides along K; returns false (use the GEMM path) otherwise.
template <typename T>
bool batched_dot(const array& a, const array& b, array& out, int64_t K) {
  if constexpr (!std::is_same_v<T, float> && !std::is_same_v<T, double>) {
    return false;
  } else {
    int nd = a.ndim();
    int64_t sa = K == 1 ? 1 : a.strides(nd - 1), sb = K == 1 ? 1 : b.strides(nd - 2);
    if (sa <= 0 || sb <= 0 || sa > INT_MAX || sb > INT_MAX) return false;
    Shape batch(out.shape().begin(), out.shape().end() - 2);
    Strides a_bs(a.strides().begin(), a.strides().end() - 2), b_bs(b.strides().begin(), b.strides().end() - 2);
    auto [bshape, bstrides] = collapse_contiguous_dims(batch, {a_bs, b_bs});
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = out.data<T>();
    int64_t nbatch = static_cast<int64_t>(out.size());
    cpu::parallel_for(nbatch, std::max<int64_t>(1, cpu::kElementwiseGrain / K), [&](int64_t begin, int64_t end) {
      StridedIterator ai(bshape, bstrides[0]), bi(bshape, bstrides[1]);
      ai.seek(begin);
      bi.seek(begin);
      for (int64_t i = begin; i < end; ++i, ai.step(), bi.step()) {
        if constexpr (std::is_same_v<T, float>) {
          pc[i] = cblas_sdot(static_cast<int>(K), pa + ai.loc(), static_cast<int>(sa), pb + bi.loc(), static_cast<int>(sb));
        } else {
          pc[i] = cblas_ddot(static_cast<int>(K), pa + ai.loc(), static_cast<int>(sa), pb + bi.loc(), static_cast<int>(sb));
        }
      }
    });
    return true;
  }
}

template <typename T>
void matmul_blas(const array& a, const array& b, array& out, int64_t M, int64_t N, int64_t K) {
  if (M == 1 && N == 1 && out.size() > 1 && batched_dot<T>(a, b, out, K)) return;
  Operand A = prepare(a), B = prepare(b);
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  int64_t lda;
  for_each_gemm<T>(A, B, batch, M, N, K, out.data<T>(), lda, true,
                   [&](const T* pa, const T* pb, T* pc, int64_t m) { gemm<T>(A.trans, B.trans, m, N, K, pa, lda, pb, B.ld, pc); });
}

// Temporary memory from kiln's allocator: its cache gives repeated GEMMs warm pages instead
// of fresh, zero-filled ones (page faults cost as much as the conversions themselves).
template <typename T>
class Scratch {
 public:
  explicit Scratch(size_t n = 0) { resize(n); }
  ~Scratch() { release(); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void resize(size_t n) {
    if (n <= size_) return;
    release();
    buf_ = allocator::malloc(n * sizeof(T));
    size_ = n;
  }
  T* data() { return static_cast<T*>(buf_.ptr); }
  T& operator[](int64_t i) { return data()[i]; }

 private:
  void release() {
    if (buf_.ptr) allocator::free(buf_);
    buf_ = allocator::Buffer(nullptr);
    size_ = 0;
  }
  allocator::Buffer buf_{nullptr};
  size_t size_ = 0;
};

// Elements per task of the O(n^2) conversions. They are memory-bound, and one server core
// streams only ~10 GB/s, so beyond small sizes they must be spread over threads to stay
// small next to the GEMM.
constexpr int64_t kConvertGrain = 1 << 15;

// A matrix (row-major or column-major with leading dim ld) seen as `lines` contiguous runs of
// `len` elements, to be converted to a dense float matrix of the same orientation.
template <typename T>
struct Lines {
  const T* src;
  int64_t lines, len, ld;
  float* dst;
};

template <typename T>
Lines<T> matrix_lines(const T* src, bool trans, int64_t R, int64_t C, int64_t ld, float* dst) {
  return trans ? Lines<T>{src, C, R, ld, dst} : Lines<T>{src, R, C, ld, dst};
}

// Converts both matrices in one parallel loop (one wake-up of the pool).
template <typename T>
void convert_lines(const Lines<T>& x, const Lines<T>& y) {
  int64_t len = std::max<int64_t>(1, std::max(x.len, y.len));
  cpu::parallel_for(x.lines + y.lines, std::max<int64_t>(1, kConvertGrain / len), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Lines<T>& m = i < x.lines ? x : y;
      int64_t l = i < x.lines ? i : i - x.lines;
      cpu::to_float(m.src + l * m.ld, m.dst + l * m.len, m.len);
    }
  });
}

// One float16/bfloat16 GEMM on float32 copies of whole matrices. Small ones may run
// concurrently (one batch element per thread): they use per-thread buffers, which stay small
// (m * N * K is bounded) and skip the allocator's lock.
template <typename T>
void gemm_half(bool ta, bool tb, int64_t m, int64_t N, int64_t K, const T* pa, int64_t lda, const T* pb, int64_t ldb,
               T* pc) {
  size_t need = m * K + K * N + m * N;
  bool small = static_cast<double>(m) * N * K <= kBlasSingleThreadMNK;
  thread_local std::vector<float> local;
  Scratch<float> scratch;
  if (small) {
    local.resize(std::max(local.size(), need));
  } else {
    scratch.resize(need);
  }
  float* a1 = small ? local.data() : scratch.data();
  float *b1 = a1 + m * K, *c1 = b1 + K * N;
  convert_lines(matrix_lines(pb, tb, K, N, ldb, b1), matrix_lines(pa, ta, m, K, lda, a1));
  gemm<float>(ta, tb, m, N, K, a1, ta ? m : K, b1, tb ? K : N, c1);
  cpu::parallel_for(m * N, kConvertGrain, [&](int64_t s, int64_t e) { cpu::from_float(c1 + s, pc + s, e - s); });
}

// float16/bfloat16: sgemm on float32 copies. A is converted in panels of rows (bounding the
// temporary memory), B once per distinct matrix; small batch elements run in parallel.
template <typename T>
void matmul_half(const array& a, const array& b, array& out, int64_t M, int64_t N, int64_t K) {
  Operand A = prepare(a), B = prepare(b);
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  Scratch<float> bf, af, cf;
  const T* b_converted = nullptr;
  int64_t lda;
  for_each_gemm<T>(A, B, batch, M, N, K, out.data<T>(), lda, true, [&](const T* pa, const T* pb, T* pc, int64_t m) {
    int64_t ldb = B.trans ? K : N;
    if (static_cast<double>(m) * N * K <= kBlasSingleThreadMNK) {
      gemm_half<T>(A.trans, B.trans, m, N, K, pa, lda, pb, B.ld, pc);
      return;
    }
    bf.resize(K * N);
    Lines<T> b_lines = matrix_lines(pb, B.trans, K, N, B.ld, bf.data());
    if (pb == b_converted) b_lines.lines = 0;
    b_converted = pb;
    // Rows per panel: all of them unless the float copies would pass 64 MiB.
    int64_t panel = std::min<int64_t>(m, std::max<int64_t>(256, (int64_t(1) << 24) / (K + N)));
    af.resize(panel * K);
    cf.resize(panel * N);
    for (int64_t i0 = 0; i0 < m; i0 += panel) {
      int64_t rows = std::min(panel, m - i0);
      const T* pa0 = A.trans ? pa + i0 : pa + i0 * lda;
      convert_lines(b_lines, matrix_lines(pa0, A.trans, rows, K, lda, af.data()));
      b_lines.lines = 0;
      gemm<float>(A.trans, B.trans, rows, N, K, af.data(), A.trans ? rows : K, bf.data(), ldb, cf.data());
      T* dst = pc + i0 * N;
      cpu::parallel_for(rows * N, kConvertGrain, [&](int64_t s, int64_t e) { cpu::from_float(cf.data() + s, dst + s, e - s); });
    }
  });
}

// Integer and bool GEMM, exact with wraparound: operands are widened to CT (32 or 64 bits,
// unsigned so overflow wraps) and multiplied in i-k-j order over cache blocks of B.
template <typename T>
void matmul_int(const array& a, const array& b, array& out, int64_t M, int64_t N, int64_t K) {
  using CT = std::conditional_t<(sizeof(T) == 8), uint64_t, uint32_t>;
  auto widen = [](T v) -> CT {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? 1 : 0;
    } else {
      return static_cast<CT>(v);
    }
  };
  int nd = a.ndim();
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  Strides a_bs(a.strides().begin(), a.strides().end() - 2), b_bs(b.strides().begin(), b.strides().end() - 2);
  int64_t sar = a.strides(nd - 2), sac = a.strides(nd - 1), sbr = b.strides(nd - 2), sbc = b.strides(nd - 1);
  Scratch<CT> aw(M * K), bw(K * N), cw(M * N);
  T* dst = out.data<T>();
  StridedIterator ai(batch, a_bs), bi(batch, b_bs);
  constexpr int64_t KB = 256, NB = 512;
  int64_t nbatch = shape_size(batch);
  for (int64_t bt = 0; bt < nbatch; ++bt) {
    const T* pa = a.data<T>() + ai.loc();
    const T* pb = b.data<T>() + bi.loc();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) aw[i * K + k] = widen(pa[i * sar + k * sac]);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) bw[k * N + j] = widen(pb[k * sbr + j * sbc]);
    std::fill(cw.data(), cw.data() + M * N, CT(0));
    int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, K * N));
    cpu::parallel_for(M, grain, [&](int64_t i0, int64_t i1) {
      for (int64_t jb = 0; jb < N; jb += NB) {
        int64_t nb = std::min(NB, N - jb);
        for (int64_t kb = 0; kb < K; kb += KB) {
          int64_t kn = std::min(KB, K - kb);
          for (int64_t i = i0; i < i1; ++i) {
            CT* __restrict crow = cw.data() + i * N + jb;
            const CT* arow = aw.data() + i * K + kb;
            for (int64_t k = 0; k < kn; ++k) {
              CT av = arow[k];
              const CT* __restrict brow = bw.data() + (kb + k) * N + jb;
              for (int64_t j = 0; j < nb; ++j) crow[j] += av * brow[j];
            }
          }
        }
      }
    });
    T* pc = dst + bt * M * N;
    for (int64_t i = 0; i < M * N; ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        pc[i] = cw[i] != 0;
      } else {
        pc[i] = static_cast<T>(cw[i]);
      }
    }
    ai.step();
    bi.step();
  }
}

}  // namespace

cpu::GemmOperand cpu::gemm_operand(const array& x) { return prepare(x); }

void cpu::gemm_matrices(Dtype t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda,
                        const void* b, int64_t ldb, void* c) {
  dispatch_float_types(t, "gemm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto pa = static_cast<const T*>(a);
    auto pb = static_cast<const T*>(b);
    if constexpr (is_half_v<T>) {
      gemm_half<T>(ta, tb, m, n, k, pa, lda, pb, ldb, static_cast<T*>(c));
    } else {
      gemm<T>(ta, tb, m, n, k, pa, lda, pb, ldb, static_cast<T*>(c));
    }
  });
}

void Matmul::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  const array& b = inputs[1];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  if (K == 0) {
    std::memset(out.data<char>(), 0, out.nbytes());
    return;
  }
  if (std::max({M, N, K}) > INT_MAX) {
    throw std::invalid_argument("[Matmul] Matrix dimensions above 2^31 - 1 are not supported.");
  }
  dispatch_all_types(out.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_blas_v<T>) {
      matmul_blas<T>(a, b, out, M, N, K);
    } else if constexpr (is_half_v<T>) {
      matmul_half<T>(a, b, out, M, N, K);
    } else {
      matmul_int<T>(a, b, out, M, N, K);
    }
  });
}

}  // namespace kiln
