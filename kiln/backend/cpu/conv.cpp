// eval_cpu of Convolution: im2col + GEMM.
//
// For each (batch element, group) the output rows are taken in chunks; a chunk's patch matrix
// (rows x kernel positions * C_in/groups, zero where the window leaves the dilated, padded
// input) is built explicitly and multiplied by the group's weights with one GEMM whose result
// lands directly in the channels-last output. Chunks bound the patch memory. float32/float64
// use sgemm/dgemm; float16/bfloat16 are converted to float32 first and the result back.
// Depthwise convolutions (one input channel per group) take a direct loop instead.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Patch-matrix elements per chunk (16 MiB of float32).
constexpr int64_t kMaxPatch = int64_t(1) << 22;
// GEMMs up to this many multiply-adds run one per kiln thread; larger ones are left to BLAS's
// own threads (as in matmul.cpp).
constexpr double kSmallGemm = 65536.0 * 4;

struct ConvGeometry {
  int nd;  // spatial dims
  int64_t batch, cin, cout, groups, cin_g, cout_g;
  std::vector<int64_t> in, ker, out;  // spatial sizes
  std::vector<int64_t> in_strides;    // element strides of the input's spatial dims
  std::vector<int> stride, lo, kdil, idil;
  bool flip;
  int64_t P, KS, K;  // output positions, kernel positions, patch width
};

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, int64_t ldc) {
  // C (M x N, ld ldc) = A (M x K, row-major) * B^T, B (N x K, row-major).
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0, a, K, b, K, 0.0, c, ldc);
  }
}

// Output position p's coordinates in o[].
inline void unravel(const std::vector<int64_t>& sizes, int64_t p, int64_t* o) {
  for (int d = static_cast<int>(sizes.size()) - 1; d >= 0; --d) {
    o[d] = p % sizes[d];
    p /= sizes[d];
  }
}

// Offset (in elements, from the start of batch element n's spatial block) of the input pixel
// that kernel position k meets at output position o, or -1 if it falls on padding or on a
// hole of the dilated input.
inline int64_t input_offset(const ConvGeometry& G, const int64_t* o, int64_t k) {
  int64_t kk[3];
  unravel(G.ker, k, kk);
  int64_t off = 0;
  for (int d = 0; d < G.nd; ++d) {
    int64_t kd = G.flip ? G.ker[d] - 1 - kk[d] : kk[d];
    int64_t pos = o[d] * G.stride[d] + kd * G.kdil[d] - G.lo[d];  // in dilated-input coordinates
    if (pos < 0 || pos % G.idil[d] != 0) return -1;
    int64_t i = pos / G.idil[d];
    if (i >= G.in[d]) return -1;
    off += i * G.in_strides[d];
  }
  return off;
}

// Fills rows [p0, p1) of the patch matrix of batch element n, group g.
template <typename T>
void im2col(const ConvGeometry& G, const T* x, int64_t n, int64_t g, int64_t p0, int64_t p1, T* patch) {
  const T* xn = x + n * G.in_strides[0] * G.in[0] + g * G.cin_g;
  int64_t o[3];
  for (int64_t p = p0; p < p1; ++p) {
    unravel(G.out, p, o);
    T* row = patch + (p - p0) * G.K;
    for (int64_t k = 0; k < G.KS; ++k) {
      int64_t off = input_offset(G, o, k);
      T* dst = row + k * G.cin_g;
      if (off >= 0) {
        std::memcpy(dst, xn + off, G.cin_g * sizeof(T));
      } else {
        std::fill(dst, dst + G.cin_g, T(0));
      }
    }
  }
}

// Depthwise convolutions (one input channel per group) are too thin for GEMM: each output
// pixel accumulates, per kernel tap, a channel vector times the tap's weights, all channels
// sharing one input offset.
template <typename T>
void conv_depthwise(const ConvGeometry& G, const T* x, const T* w, T* y) {
  const int64_t C = G.cout, m = G.cout_g;
  std::vector<T> wt(G.KS * C);  // (tap, channel)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < G.KS; ++k) wt[k * C + c] = w[c * G.KS + k];
  int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, G.KS * C));
  cpu::parallel_for(G.batch * G.P, grain, [&](int64_t b, int64_t e) {
    std::vector<T> acc(C);
    int64_t o[3];
    for (int64_t idx = b; idx < e; ++idx) {
      int64_t n = idx / G.P;
      unravel(G.out, idx % G.P, o);
      const T* xn = x + n * G.in_strides[0] * G.in[0];
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < G.KS; ++k) {
        int64_t off = input_offset(G, o, k);
        if (off < 0) continue;
        const T* __restrict xv = xn + off;
        const T* __restrict wk = wt.data() + k * C;
        T* __restrict a = acc.data();
        if (m == 1) {
          for (int64_t c = 0; c < C; ++c) a[c] += xv[c] * wk[c];
        } else {
          for (int64_t c = 0; c < C; ++c) a[c] += xv[c / m] * wk[c];
        }
      }
      std::copy(acc.begin(), acc.end(), y + idx * C);
    }
  });
}

template <typename T>
void conv_blas(const ConvGeometry& G, const T* x, const T* w, T* y) {
  int64_t rows = std::max<int64_t>(1, std::min<int64_t>(G.P, kMaxPatch / std::max<int64_t>(1, G.K)));
  int64_t chunks = (G.P + rows - 1) / rows;
  int64_t tasks = G.batch * G.groups * chunks;
  auto task_range = [&](int64_t t, int64_t& n, int64_t& g, int64_t& p0, int64_t& p1) {
    int64_t c = t % chunks;
    int64_t ng = t / chunks;
    g = ng % G.groups;
    n = ng / G.groups;
    p0 = c * rows;
    p1 = std::min(G.P, p0 + rows);
  };
  auto run_gemm = [&](int64_t n, int64_t g, int64_t p0, int64_t p1, const T* patch) {
    gemm<T>(p1 - p0, G.cout_g, G.K, patch, w + g * G.cout_g * G.K, y + (n * G.P + p0) * G.cout + g * G.cout_g, G.cout);
  };
  double mnk = static_cast<double>(rows) * G.cout_g * G.K;
  if (mnk <= kSmallGemm) {
    int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kSmallGemm / std::max(mnk, 1.0)));
    cpu::parallel_for(tasks, grain, [&](int64_t t0, int64_t t1) {
      std::vector<T> patch(rows * G.K);
      for (int64_t t = t0; t < t1; ++t) {
        int64_t n, g, p0, p1;
        task_range(t, n, g, p0, p1);
        im2col(G, x, n, g, p0, p1, patch.data());
        run_gemm(n, g, p0, p1, patch.data());
      }
    });
  } else {
    std::vector<T> patch(rows * G.K);
    int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, G.K));
    for (int64_t t = 0; t < tasks; ++t) {
      int64_t n, g, p0, p1;
      task_range(t, n, g, p0, p1);
      cpu::parallel_for(p1 - p0, grain,
                        [&](int64_t a, int64_t b) { im2col(G, x, n, g, p0 + a, p0 + b, patch.data() + a * G.K); });
      run_gemm(n, g, p0, p1, patch.data());
    }
  }
}

// A row-major copy of `a` in dtype `t`.
array dense_as(const array& a, Dtype t) {
  array out(allocator::malloc(std::max<int64_t>(1, a.size()) * size_of(t)), a.shape(), t);
  cpu::copy_into(a, out);
  return out;
}

}  // namespace

void Convolution::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  const array& wt = inputs[1];
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;

  ConvGeometry G;
  G.nd = in.ndim() - 2;
  G.batch = in.shape(0);
  G.cin = in.shape(-1);
  G.cout = wt.shape(0);
  G.groups = groups_;
  G.cin_g = G.cin / groups_;
  G.cout_g = G.cout / groups_;
  G.P = 1;
  G.KS = 1;
  for (int d = 0; d < G.nd; ++d) {
    G.in.push_back(in.shape(d + 1));
    G.ker.push_back(wt.shape(d + 1));
    G.out.push_back(out.shape(d + 1));
    G.P *= out.shape(d + 1);
    G.KS *= wt.shape(d + 1);
  }
  G.in_strides.assign(G.nd, 0);
  int64_t s = G.cin;
  for (int d = G.nd - 1; d >= 0; --d) {
    G.in_strides[d] = s;
    s *= G.in[d];
  }
  G.stride = stride_;
  G.lo = padding_lo_;
  G.kdil = kernel_dilation_;
  G.idil = input_dilation_;
  G.flip = flip_;
  G.K = G.KS * G.cin_g;
  if (G.K == 0) {
    std::memset(out.data<char>(), 0, out.nbytes());
    return;
  }

  Dtype ct = out.dtype() == float64 ? float64 : float32;
  array x = dense_as(in, ct);
  array w = dense_as(wt, ct);
  array y = out.dtype() == ct
                ? out
                : array(allocator::malloc(out.nbytes() / size_of(out.dtype()) * size_of(ct)), out.shape(), ct);
  bool depthwise = G.cin_g == 1 && G.groups > 1;
  auto run = [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    if (depthwise) {
      conv_depthwise<T>(G, x.data<T>(), w.data<T>(), y.data<T>());
    } else {
      conv_blas<T>(G, x.data<T>(), w.data<T>(), y.data<T>());
    }
  };
  if (ct == float64) {
    run(static_cast<double*>(nullptr));
  } else {
    run(static_cast<float*>(nullptr));
  }
  if (out.dtype() != ct) cpu::copy_into(y, out);
}

}  // namespace kiln
