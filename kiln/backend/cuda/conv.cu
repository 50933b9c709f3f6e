// Convolution kernels: the unfold (im2col) that feeds cuBLASLt, and a direct kernel for
// convolutions with one input channel per group (depthwise), too thin for a GEMM.
//
// The unfold only moves bits, so it works on words of 2 to 16 bytes whatever the dtype: a
// group's channels are copied 16 bytes at a time when they are contiguous and aligned. A thread
// takes one word of one group's channels over a run of kernel taps (all of them when there is
// enough parallelism, a slice of them when the kernel is huge, as in weight gradients where the
// "kernel" is the cotangent).
#include <mma.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kiln/backend/cuda/conv.h"
#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/kernels.h"

namespace kiln::cuda {

namespace {

constexpr int kBlock = 256;

template <typename T, int N>
struct alignas(sizeof(T) * N) Chunk {
  T v[N];
};

// Index along spatial dim d of the input pixel that kernel tap kk meets from window start
// `base` (in dilated, padded coordinates), or false on padding or on a hole of the dilation.
__device__ __forceinline__ bool tap_index(const ConvGeom& g, int d, int64_t base, int kk, int64_t& i) {
  int kd = g.flip ? g.ker[d] - 1 - kk : kk;
  int64_t pos = base + static_cast<int64_t>(kd) * g.kdil[d];
  if (pos < 0) return false;
  if (g.idil[d] != 1) {
    if (pos % g.idil[d] != 0) return false;
    pos /= g.idil[d];
  }
  if (pos >= g.in[d]) return false;
  i = pos;
  return true;
}

// Window starts of output position p (row-major over g.out).
__device__ __forceinline__ void window_base(const ConvGeom& g, int64_t p, int64_t* base) {
  int64_t o2 = p % g.out[2];
  p /= g.out[2];
  int64_t o1 = p % g.out[1];
  int64_t o0 = p / g.out[1];
  base[0] = o0 * g.stride[0] - g.lo[0];
  base[1] = o1 * g.stride[1] - g.lo[1];
  base[2] = o2 * g.stride[2] - g.lo[2];
}

// Strides of the input in words: batch, spatial, channel.
struct WordStrides {
  int64_t n, s[kConvDims], c;
};

template <typename W>
__global__ void __launch_bounds__(kBlock) unfold_kernel(const W* __restrict__ x, W* __restrict__ ws, ConvGeom g,
                                                        WordStrides st, int64_t cgw, int64_t r0, int64_t nthreads,
                                                        int tpt, int64_t nkc) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= nthreads) return;
  int64_t cv = i % cgw;
  int64_t t = i / cgw;
  int64_t kc = t % nkc;
  t /= nkc;
  int64_t grp = t % g.groups;
  int64_t r = t / g.groups + r0;
  int64_t n = r / g.P;
  int64_t base[kConvDims];
  window_base(g, r - n * g.P, base);
  int64_t k = kc * tpt;
  int64_t kend = min(k + tpt, g.KS);
  int kk[kConvDims];
  kk[2] = static_cast<int>(k % g.ker[2]);
  kk[1] = static_cast<int>((k / g.ker[2]) % g.ker[1]);
  kk[0] = static_cast<int>(k / (static_cast<int64_t>(g.ker[2]) * g.ker[1]));
  const W* xb = x + n * st.n + (grp * cgw + cv) * st.c;
  int64_t kw = g.KS * cgw;  // words of one group's patch
  W* dst = ws + (r - r0) * (g.groups * kw) + grp * kw + k * cgw + cv;
  for (; k < kend; ++k, dst += cgw) {
    int64_t i0, i1, i2;
    bool ok = tap_index(g, 0, base[0], kk[0], i0) && tap_index(g, 1, base[1], kk[1], i1) &&
              tap_index(g, 2, base[2], kk[2], i2);
    if (ok) {
      *dst = xb[i0 * st.s[0] + i1 * st.s[1] + i2 * st.s[2]];
    } else {
      *dst = W{};
    }
    if (++kk[2] == g.ker[2]) {
      kk[2] = 0;
      if (++kk[1] == g.ker[1]) {
        kk[1] = 0;
        ++kk[0];
      }
    }
  }
}

template <typename W>
void launch_unfold(const ConvGeom& g, size_t item, const void* x, void* ws, int64_t r0, int64_t rows,
                   cudaStream_t s) {
  constexpr int64_t w = sizeof(W);
  int64_t per = w / static_cast<int64_t>(item);  // elements per word
  WordStrides st;
  st.n = g.sn / per;
  for (int d = 0; d < kConvDims; ++d) st.s[d] = g.ss[d] / per;
  st.c = per == 1 ? g.sc : 1;
  int64_t cgw = g.cin_g / per;
  // Taps per thread: all of them while that leaves ~2M threads, fewer for huge kernels.
  int64_t work = rows * g.groups * cgw * g.KS;
  int64_t tpt = std::clamp<int64_t>(work >> 21, 1, g.KS);
  int64_t nkc = (g.KS + tpt - 1) / tpt;
  int64_t nthreads = rows * g.groups * nkc * cgw;
  auto blocks = static_cast<unsigned>((nthreads + kBlock - 1) / kBlock);
  unfold_kernel<W><<<blocks, kBlock, 0, s>>>(static_cast<const W*>(x), static_cast<W*>(ws), g, st, cgw, r0, nthreads,
                                            static_cast<int>(tpt), nkc);
  check_launch("Convolution");
}

// ---- direct (one input channel per group)

// Output positions per thread: the index arithmetic (64-bit divisions) is paid once per run.
constexpr int kRun = 4;

template <typename T, int V>
__global__ void __launch_bounds__(kBlock) direct_kernel(const T* __restrict__ x, const T* __restrict__ wt,
                                                        T* __restrict__ y, ConvGeom g, int64_t nthreads) {
  using A = compute_t<T>;
  using Vt = Chunk<T, V>;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= nthreads) return;
  int64_t ovs = g.cout / V;
  int64_t o = (i % ovs) * V;
  int64_t t = (i / ovs) * kRun;  // first of this thread's flat positions (batch * P + p)
  int64_t total = g.batch * g.P;
  int64_t n = t / g.P;
  int64_t p = t - n * g.P;
  int64_t q2 = p % g.out[2];
  p /= g.out[2];
  int64_t q1 = p % g.out[1];
  int64_t q0 = p / g.out[1];
  // V > 1 only with one output channel per group (then input channel = o) and unit channel stride.
  const int64_t coff = V == 1 ? (o / g.cout_g) * g.sc : o;
  for (int r = 0; r < kRun && t < total; ++r, ++t) {
    int64_t base[kConvDims] = {q0 * g.stride[0] - g.lo[0], q1 * g.stride[1] - g.lo[1], q2 * g.stride[2] - g.lo[2]};
    const T* xb = x + n * g.sn + coff;
    A acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = A(0);
    for (int k0 = 0; k0 < g.ker[0]; ++k0) {
      int64_t i0;
      if (!tap_index(g, 0, base[0], k0, i0)) continue;
      for (int k1 = 0; k1 < g.ker[1]; ++k1) {
        int64_t i1;
        if (!tap_index(g, 1, base[1], k1, i1)) continue;
        const T* xr = xb + i0 * g.ss[0] + i1 * g.ss[1];
        const T* wr = wt + ((static_cast<int64_t>(k0) * g.ker[1] + k1) * g.ker[2]) * g.cout + o;
        for (int k2 = 0; k2 < g.ker[2]; ++k2) {
          int64_t i2;
          if (!tap_index(g, 2, base[2], k2, i2)) continue;
          if constexpr (V == 1) {
            acc[0] += cast_to<A>(xr[i2 * g.ss[2]]) * cast_to<A>(wr[k2 * g.cout]);
          } else {
            Vt xv = *reinterpret_cast<const Vt*>(xr + i2 * g.ss[2]);
            Vt wv = *reinterpret_cast<const Vt*>(wr + k2 * g.cout);
#pragma unroll
            for (int j = 0; j < V; ++j) acc[j] += cast_to<A>(xv.v[j]) * cast_to<A>(wv.v[j]);
          }
        }
      }
    }
    Vt res;
#pragma unroll
    for (int j = 0; j < V; ++j) res.v[j] = cast_to<T>(acc[j]);
    if constexpr (V == 1) {
      y[t * g.cout + o] = res.v[0];
    } else {
      *reinterpret_cast<Vt*>(y + t * g.cout + o) = res;
    }
    // Next position: row-major over (batch, out0, out1, out2).
    if (++q2 == g.out[2]) {
      q2 = 0;
      if (++q1 == g.out[1]) {
        q1 = 0;
        if (++q0 == g.out[0]) {
          q0 = 0;
          ++n;
        }
      }
    }
  }
}

// wt (KS, cout) = the transpose of w (cout, KS): a tap's weights for all channels are contiguous.
template <typename T>
__global__ void __launch_bounds__(kBlock) weights_by_tap(const T* __restrict__ w, T* __restrict__ wt, int64_t cout,
                                                         int64_t ks) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= cout * ks) return;
  int64_t o = i % cout, k = i / cout;
  wt[i] = w[o * ks + k];
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---- implicit GEMM for half types (tensor cores through WMMA)
//
// A block computes a 128 x 64 tile of one group's output (rows = output positions, columns =
// output channels) with 8 warps of 32 x 32. The K loop takes 32 channels of one kernel tap at a
// time (cin_g % 32 == 0): each thread gathers 16 bytes of two patch rows straight from the input
// (zeros on padding) and 16 bytes of the weights, staged through registers into the other of two
// shared buffers while the tensor cores work on the current one.

constexpr int kBM = 128, kBN = 64, kBK = 32, kLds = kBK + 8, kLdc = kBN + 4;

template <typename T>
__global__ void __launch_bounds__(256) igemm_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                                    T* __restrict__ y, ConvGeom g, int64_t M) {
  namespace wmma = nvcuda::wmma;
  constexpr int kA = kBM * kLds, kB = kBN * kLds, kStage = kA + kB;
  constexpr int kBytesAB = 2 * kStage * static_cast<int>(sizeof(T));
  constexpr int kBytesC = kBM * kLdc * static_cast<int>(sizeof(float));
  __shared__ __align__(128) unsigned char smem[kBytesAB > kBytesC ? kBytesAB : kBytesC];
  T* sab = reinterpret_cast<T*>(smem);
  float* sc = reinterpret_cast<float*>(smem);

  const int tid = threadIdx.x;
  const int64_t grp = blockIdx.z;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int n0 = blockIdx.y * kBN;
  const int64_t K = g.KS * g.cin_g;
  const int chunk = (tid & 3) * 8;  // this thread's 8 elements of a 32-element K slice
  const int lrow = tid >> 2;        // its A rows lrow and lrow + 64, its B row lrow

  int64_t base[2][kConvDims];
  const T* arow[2];
  bool rok[2];
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    int64_t r = m0 + lrow + 64 * j;
    rok[j] = r < M;
    if (!rok[j]) r = 0;
    int64_t n = r / g.P;
    window_base(g, r - n * g.P, base[j]);
    arow[j] = x + n * g.sn + grp * g.cin_g + chunk;
  }
  const T* brow = w + (grp * g.cout_g + n0 + lrow) * K + chunk;

  const int warp = tid >> 5, wm = warp & 3, wn = warp >> 2;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  // The K slices in order: channels c0.. of tap (t0, t1, t2); each row's input offset for the
  // tap (or that it falls on padding) is worked out once per tap, not per slice.
  int64_t c0 = 0;
  int t0 = 0, t1 = 0, t2 = 0;
  int64_t aoff[2];
  bool aok[2];
  auto tap_setup = [&]() {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      int64_t i0 = 0, i1 = 0, i2 = 0;
      aok[j] = rok[j] && tap_index(g, 0, base[j][0], t0, i0) && tap_index(g, 1, base[j][1], t1, i1) &&
               tap_index(g, 2, base[j][2], t2, i2);
      aoff[j] = aok[j] ? i0 * g.ss[0] + i1 * g.ss[1] + i2 * g.ss[2] : 0;
    }
  };
  uint4 ra[2], rb;
  auto load = [&](int64_t kt) {  // called for kt = 0, 1, 2, ... in turn
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      ra[j] = aok[j] ? *reinterpret_cast<const uint4*>(arow[j] + aoff[j] + c0) : make_uint4(0, 0, 0, 0);
    }
    rb = *reinterpret_cast<const uint4*>(brow + kt * kBK);
    c0 += kBK;
    if (c0 == g.cin_g) {
      c0 = 0;
      if (++t2 == g.ker[2]) {
        t2 = 0;
        if (++t1 == g.ker[1]) {
          t1 = 0;
          ++t0;
        }
      }
      if (t0 < g.ker[0]) tap_setup();
    }
  };
  auto store = [&](int buf) {
    T* sa = sab + buf * kStage;
    T* sb = sa + kA;
    *reinterpret_cast<uint4*>(sa + lrow * kLds + chunk) = ra[0];
    *reinterpret_cast<uint4*>(sa + (lrow + 64) * kLds + chunk) = ra[1];
    *reinterpret_cast<uint4*>(sb + lrow * kLds + chunk) = rb;
  };

  const int64_t nk = K / kBK;
  tap_setup();
  load(0);
  store(0);
  __syncthreads();
  for (int64_t kt = 0; kt < nk; ++kt) {
    int buf = static_cast<int>(kt & 1);
    if (kt + 1 < nk) load(kt + 1);
    const T* sa = sab + buf * kStage;
    const T* sb = sa + kA;
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], sa + (wm * 32 + i * 16) * kLds + kk, kLds);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], sb + (wn * 32 + j * 16) * kLds + kk, kLds);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    if (kt + 1 < nk) store(buf ^ 1);
    __syncthreads();
  }
  // The tile through shared memory (the operand buffers are free now), then 16-byte stores.
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(sc + (wm * 32 + i * 16) * kLdc + wn * 32 + j * 16, acc[i][j], kLdc,
                              wmma::mem_row_major);
  __syncthreads();
  for (int c = tid; c < kBM * kBN / 8; c += 256) {
    int m = c / (kBN / 8), col = (c % (kBN / 8)) * 8;
    int64_t r = m0 + m;
    if (r >= M) continue;
    Chunk<T, 8> o;
#pragma unroll
    for (int e = 0; e < 8; ++e) o.v[e] = cast_to<T>(sc[m * kLdc + col + e]);
    *reinterpret_cast<Chunk<T, 8>*>(y + r * g.cout + grp * g.cout_g + n0 + col) = o;
  }
}

}  // namespace

void conv_unfold(const ConvGeom& g, size_t item, const void* x, void* ws, int64_t r0, int64_t rows,
                 cudaStream_t s) {
  if (rows <= 0 || g.KS == 0 || g.cin_g == 0) return;
  auto fits = [&](size_t w) {
    if (w < item || (g.cin_g * static_cast<int64_t>(item)) % static_cast<int64_t>(w) != 0) return false;
    if (w == item) return true;
    auto iw = static_cast<int64_t>(w), it = static_cast<int64_t>(item);
    bool ok = g.sc == 1 && aligned(x, w) && aligned(ws, w) && (g.sn * it) % iw == 0;
    for (int d = 0; d < kConvDims; ++d) ok = ok && (g.ss[d] * it) % iw == 0;
    return ok;
  };
  if (fits(16)) return launch_unfold<uint4>(g, item, x, ws, r0, rows, s);
  if (fits(8)) return launch_unfold<uint2>(g, item, x, ws, r0, rows, s);
  if (fits(4)) return launch_unfold<unsigned int>(g, item, x, ws, r0, rows, s);
  if (fits(2)) return launch_unfold<unsigned short>(g, item, x, ws, r0, rows, s);
  throw std::runtime_error("[Convolution] No unfold for element size " + std::to_string(item) + ".");
}

bool conv_implicit_gemm(const char* name, Dtype t, const ConvGeom& g, const void* x, const void* w, void* y,
                        cudaStream_t s) {
  if (t != float16 && t != bfloat16) return false;
  if (g.cin_g % kBK != 0 || g.cout_g % kBN != 0 || g.sc != 1) return false;
  if (!aligned(x, 16) || !aligned(w, 16) || !aligned(y, 16) || g.sn % 8 != 0) return false;
  for (int d = 0; d < kConvDims; ++d) {
    if (g.ss[d] % 8 != 0) return false;
  }
  int64_t M = g.batch * g.P;
  if (M == 0) return true;
  if ((M + kBM - 1) / kBM > 0x7fffffff || g.groups > 65535 || g.cout_g / kBN > 65535) return false;
  dim3 grid(static_cast<unsigned>((M + kBM - 1) / kBM), static_cast<unsigned>(g.cout_g / kBN),
            static_cast<unsigned>(g.groups));
  if (t == float16) {
    igemm_kernel<__half><<<grid, 256, 0, s>>>(static_cast<const __half*>(x), static_cast<const __half*>(w),
                                              static_cast<__half*>(y), g, M);
  } else {
    igemm_kernel<__nv_bfloat16><<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x),
                                                     static_cast<const __nv_bfloat16*>(w),
                                                     static_cast<__nv_bfloat16*>(y), g, M);
  }
  check_launch(name);
  return true;
}

void conv_direct(const char* name, Dtype t, const ConvGeom& g, const void* x, const void* w, void* y,
                 cudaStream_t s) {
  int64_t total = g.batch * g.P * g.cout;
  if (total == 0) return;
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = 16 / sizeof(T);
    Scratch wt(std::max<int64_t>(1, g.cout * g.KS) * sizeof(T), s);
    T* wtp = static_cast<T*>(wt.get());
    int64_t nw = g.cout * g.KS;
    if (nw > 0) {
      weights_by_tap<T><<<static_cast<unsigned>((nw + kBlock - 1) / kBlock), kBlock, 0, s>>>(static_cast<const T*>(w),
                                                                                             wtp, g.cout, g.KS);
      check_launch(name);
    }
    bool vec = g.cout_g == 1 && g.sc == 1 && g.cout % V == 0 && aligned(x, 16) && aligned(y, 16) && g.sn % V == 0;
    for (int d = 0; d < kConvDims; ++d) vec = vec && g.ss[d] % V == 0;
    int64_t nthreads = (vec ? g.cout / V : g.cout) * ((g.batch * g.P + kRun - 1) / kRun);
    auto blocks = static_cast<unsigned>((nthreads + kBlock - 1) / kBlock);
    if (vec) {
      direct_kernel<T, V><<<blocks, kBlock, 0, s>>>(static_cast<const T*>(x), wtp, static_cast<T*>(y), g, nthreads);
    } else {
      direct_kernel<T, 1><<<blocks, kBlock, 0, s>>>(static_cast<const T*>(x), wtp, static_cast<T*>(y), g, nthreads);
    }
    check_launch(name);
  };
  switch (t.val) {
    case Dtype::Val::float16: return run(tag<__half>{});
    case Dtype::Val::bfloat16: return run(tag<__nv_bfloat16>{});
    case Dtype::Val::float32: return run(tag<float>{});
    case Dtype::Val::float64: return run(tag<double>{});
    default: throw_unsupported_dtype(name, t);
  }
}

}  // namespace kiln::cuda
