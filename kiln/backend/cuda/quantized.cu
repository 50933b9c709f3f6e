// Quantization kernels: quantize (one thread per group), dequantize (eight elements a thread),
// the few-row products that decode the packed weights on the fly (qmv), and the matrix offsets
// of batched and gathered products.
//
// A packed row is a little-endian bit stream, so a chunk of 32 elements (16 for nvfp4) is BITS
// whole words (2 for nvfp4): a thread loads a chunk with 16- or 8-byte loads and takes the codes
// out with constant shifts. Codes become values as on the CPU: integers (affine), e2m1 (fp4)
// and e4m3 (fp8) by moving their bits into a float32 and rescaling by a power of two, which also
// covers their subnormals (the kernels keep denormals: no flush to zero).
//
// Quantize and dequantize round exactly where the CPU does (every product and sum with _rn
// intrinsics, so nvcc contracts nothing into a fused multiply-add), so their results are
// bit-identical to the CPU's.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kiln/backend/cuda/device/types.cuh"
#include "kiln/backend/cuda/quantized.h"

namespace kiln::cuda {

ParamType param_type(Dtype t, int mode) {
  if (mode != 0) return mode == 3 ? ParamType::E4M3 : ParamType::E8M0;
  switch (t.val) {
    case Dtype::Val::float32: return ParamType::F32;
    case Dtype::Val::float16: return ParamType::F16;
    case Dtype::Val::bfloat16: return ParamType::BF16;
    case Dtype::Val::float64: return ParamType::F64;
    default: throw std::invalid_argument("[quantized] Unsupported scales dtype " + dtype_name(t) + ".");
  }
}

namespace {

// ---- codecs (as kiln/backend/cpu/quantized.cpp)

__device__ __forceinline__ float e8m0_decode(uint32_t c) {
  if (c == 255) return __int_as_float(0x7fc00000);
  if (c == 0) return __int_as_float(0x00400000);  // 2^-127, a subnormal
  return __int_as_float(static_cast<int>(c << 23));
}

__device__ __forceinline__ float e4m3_decode(uint32_t c) {
  if ((c & 0x7f) == 0x7f) return __int_as_float(0x7fc00000);
  int e = (c >> 3) & 15, m = c & 7;
  float v = e == 0 ? ldexpf(static_cast<float>(m), -9) : ldexpf(1.0f + m / 8.0f, e - 7);
  return (c & 0x80) ? -v : v;
}

// Nearest e4m3 code of |a| (ties to even), saturating at 448.
__device__ __forceinline__ uint32_t e4m3_encode_mag(float a) {
  if (!(a > 0)) return 0;
  if (a >= 448.0f) return 126;
  if (a < 0.015625f) return static_cast<uint32_t>(rintf(__fmul_rn(a, 512.0f)));
  int ex;
  frexpf(a, &ex);
  int e = ex - 1;
  int q = static_cast<int>(rintf(ldexpf(a, 3 - e)));
  int code = ((e + 7) << 3) + (q - 8);
  return static_cast<uint32_t>(min(code, 126));
}

// Nearest e2m1 code of |a|; ties go to the smaller magnitude.
__device__ __forceinline__ uint32_t e2m1_encode_mag(float a) {
  uint32_t idx = 0;
  idx += a > 0.25f;
  idx += a > 0.75f;
  idx += a > 1.25f;
  idx += a > 1.75f;
  idx += a > 2.5f;
  idx += a > 3.5f;
  idx += a > 5.0f;
  return idx;
}

template <typename T>
__device__ __forceinline__ float to_f(T v) {
  if constexpr (std::is_same_v<T, double>) {
    return __double2float_rn(v);
  } else {
    return static_cast<float>(v);
  }
}

// v rounded to T and back (identity for float and double).
template <typename T>
__device__ __forceinline__ float round_to(float v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half2float(__float2half_rn(v));
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(__float2bfloat16_rn(v));
  } else {
    return v;
  }
}

__device__ __forceinline__ double load_param_d(const void* p, int pt, int64_t i) {
  switch (pt) {
    case 0: return static_cast<const float*>(p)[i];
    case 1: return __half2float(static_cast<const __half*>(p)[i]);
    case 2: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case 3: return static_cast<const double*>(p)[i];
    case 4: return e8m0_decode(static_cast<const uint8_t*>(p)[i]);
    default: return e4m3_decode(static_cast<const uint8_t*>(p)[i]);
  }
}

__device__ __forceinline__ float load_param(const void* p, int pt, int64_t i) {
  switch (pt) {
    case 0: return static_cast<const float*>(p)[i];
    case 1: return __half2float(static_cast<const __half*>(p)[i]);
    case 2: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case 3: return __double2float_rn(static_cast<const double*>(p)[i]);
    case 4: return e8m0_decode(static_cast<const uint8_t*>(p)[i]);
    default: return e4m3_decode(static_cast<const uint8_t*>(p)[i]);
  }
}

// Decoders: KIND 0 affine integers, 1 mxfp4 (e2m1), 2 mxfp8 (e4m3), 3 nvfp4 (e2m1, 16 a chunk).
template <int BITS, int KIND>
struct Dec {
  static constexpr int CH = KIND == 3 ? 16 : 32;  // elements per chunk (never crossing a group)
  static constexpr int WORDS = CH * BITS / 32;
  static constexpr int ALIGN = WORDS % 4 == 0 ? 4 : WORDS % 2 == 0 ? 2 : 1;  // words per load
};

// Code j of a chunk held in registers (j constant after unrolling).
template <int BITS>
__device__ __forceinline__ uint32_t code_of(const uint32_t* wv, int j) {
  int p = j * BITS, wi = p >> 5, sh = p & 31;
  uint32_t v = wv[wi] >> sh;
  if (sh + BITS > 32) v |= wv[wi + 1] << (32 - sh);
  return v & ((1u << BITS) - 1u);
}

template <int KIND>
__device__ __forceinline__ float value_of(uint32_t c) {
  if constexpr (KIND == 0) {
    return __int_as_float(static_cast<int>(0x4B000000u | c)) - 8388608.0f;  // exact: c < 2^23
  } else if constexpr (KIND == 2) {
    float v = __int_as_float(static_cast<int>((c & 0x7fu) << 20)) * 0x1p120f;
    return __int_as_float(__float_as_int(v) | static_cast<int>((c & 0x80u) << 24));
  } else {
    float v = __int_as_float(static_cast<int>((c & 7u) << 22)) * 0x1p126f;
    return __int_as_float(__float_as_int(v) | static_cast<int>((c & 8u) << 28));
  }
}

template <int WORDS, int ALIGN>
__device__ __forceinline__ void load_words(const uint32_t* p, uint32_t* wv) {
  if constexpr (ALIGN == 4) {
#pragma unroll
    for (int i = 0; i < WORDS / 4; ++i) {
      uint4 v = __ldg(reinterpret_cast<const uint4*>(p) + i);
      wv[4 * i] = v.x;
      wv[4 * i + 1] = v.y;
      wv[4 * i + 2] = v.z;
      wv[4 * i + 3] = v.w;
    }
  } else if constexpr (ALIGN == 2) {
#pragma unroll
    for (int i = 0; i < WORDS / 2; ++i) {
      uint2 v = __ldg(reinterpret_cast<const uint2*>(p) + i);
      wv[2 * i] = v.x;
      wv[2 * i + 1] = v.y;
    }
  } else {
#pragma unroll
    for (int i = 0; i < WORDS; ++i) wv[i] = __ldg(p + i);
  }
}

// CH elements of x (16-byte aligned) as floats.
template <typename T, int CH>
__device__ __forceinline__ void load_x(const T* p, float* xv) {
  constexpr int PER = 16 / sizeof(T);
#pragma unroll
  for (int i = 0; i < CH / PER; ++i) {
    uint4 v = __ldg(reinterpret_cast<const uint4*>(p) + i);
    const T* t = reinterpret_cast<const T*>(&v);
#pragma unroll
    for (int j = 0; j < PER; ++j) xv[i * PER + j] = static_cast<float>(t[j]);
  }
}

// ---- quantize: one thread per group

template <typename T>
__global__ void quantize_kernel(const T* __restrict__ w, int64_t ngroups, int group, int bits, int mode,
                                const float* global, uint32_t* wq, void* scales, T* biases) {
  int64_t gi = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (gi >= ngroups) return;
  const T* v = w + gi * group;
  uint32_t* out = wq + gi * group * bits / 32;
  uint64_t acc = 0;
  int nb = 0;
  auto put = [&](uint32_t code) {
    acc |= static_cast<uint64_t>(code) << nb;
    nb += bits;
    if (nb >= 32) {
      *out++ = static_cast<uint32_t>(acc);
      acc >>= 32;
      nb -= 32;
    }
  };
  if (mode == 0) {
    float wmax = to_f(v[0]), wmin = wmax;
    for (int i = 1; i < group; ++i) {
      float f = to_f(v[i]);
      wmax = wmax < f ? f : wmax;  // std::max / std::min, NaN included
      wmin = f < wmin ? f : wmin;
    }
    float n_bins = static_cast<float>((1 << bits) - 1);
    float scale, bias;
    if (bits == 1) {
      float d = __fsub_rn(wmax, wmin);
      scale = d < 1e-7f ? 1e-7f : d;
      bias = wmin;
    } else {
      bool mask = fabsf(wmin) > fabsf(wmax);
      float d = __fdiv_rn(__fsub_rn(wmax, wmin), n_bins);
      scale = d < 1e-7f ? 1e-7f : d;
      if (!mask) scale = -scale;
      float edge = mask ? wmin : wmax;
      float q0 = rintf(__fdiv_rn(edge, scale));
      if (q0 != 0) scale = __fdiv_rn(edge, q0);
      bias = q0 == 0 ? 0.0f : edge;
    }
    for (int i = 0; i < group; ++i) {
      float t = rintf(__fdiv_rn(__fsub_rn(to_f(v[i]), bias), scale));
      t = t < 0.0f ? 0.0f : (n_bins < t ? n_bins : t);
      put(static_cast<uint32_t>(t));
    }
    static_cast<T*>(scales)[gi] = cast_to<T>(scale);
    biases[gi] = cast_to<T>(bias);
    return;
  }
  bool glob = global != nullptr;
  float gdiv = glob ? __fdiv_rn(*global, 2688.0f) : 1.0f;
  float amax = 0;
  for (int i = 0; i < group; ++i) {
    float a = fabsf(to_f(v[i]));
    amax = amax < a ? a : amax;
  }
  bool fp8 = mode == 2;
  float ratio = round_to<T>(__fdiv_rn(amax, fp8 ? 448.0f : 6.0f));
  uint32_t sc;
  float sd;
  if (mode == 3) {
    sc = e4m3_encode_mag(glob ? __fdiv_rn(ratio, gdiv) : ratio);
    sd = e4m3_decode(sc);
    if (glob) sd = __fmul_rn(sd, gdiv);
  } else {
    int e;
    if (amax == 0) {
      e = 0;
    } else if (!(ratio > 0)) {
      e = -127;
    } else {
      int ex;
      float mant = frexpf(ratio, &ex);
      e = mant == 0.5f ? ex - 1 : ex;
    }
    sc = static_cast<uint32_t>(min(max(e + 127, 0), 254));
    sd = e8m0_decode(sc);
  }
  static_cast<uint8_t*>(scales)[gi] = static_cast<uint8_t>(sc);
  float sdr = glob ? sd : round_to<T>(sd);
  for (int i = 0; i < group; ++i) {
    float f = to_f(v[i]);
    float xv = sd == 0 ? 0.0f : (glob ? __fdiv_rn(f, sdr) : round_to<T>(__fdiv_rn(f, sdr)));
    float a = fabsf(xv);
    bool neg = signbit(xv);
    if (fp8) {
      put(e4m3_encode_mag(a) | (neg ? 0x80u : 0u));
    } else {
      uint32_t mag = e2m1_encode_mag(a);
      put(mag | (neg && mag != 0 ? 8u : 0u));
    }
  }
}

// ---- dequantize: eight elements a thread, rounding as the CPU's dequantize

template <typename T, int BITS, int KIND, bool EXACT>
__global__ void dequant_kernel(const uint32_t* __restrict__ w, const void* s, const void* b, int pt, int bt,
                               const float* global, T* out, int64_t rows, int64_t cols, int64_t ld, int group,
                               const int64_t* table, int64_t count) {
  int64_t per_row = cols / 8, total = rows * per_row;
  int64_t G = cols / group;
  bool affine = KIND == 0;
  float gmul = global ? __fdiv_rn(*global, 2688.0f) : 1.0f;
  for (int64_t item = blockIdx.y; item < count; item += gridDim.y) {
    const uint32_t* wi = w + (table ? table[count + item] : 0);
    int64_t so = table ? table[2 * count + item] : 0, bo = table ? table[3 * count + item] : 0;
    T* o = out + item * rows * cols;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      int64_t r = i / per_row, e = (i - r * per_row) * 8;
      const uint8_t* p = reinterpret_cast<const uint8_t*>(wi + r * ld) + e * BITS / 8;
      // The 8 codes are BITS bytes at a BITS-aligned byte offset of a word-aligned row.
      uint64_t v = 0;
      if constexpr (BITS == 4) {
        v = *reinterpret_cast<const uint32_t*>(p);
      } else if constexpr (BITS == 8) {
        v = *reinterpret_cast<const uint32_t*>(p) | (static_cast<uint64_t>(reinterpret_cast<const uint32_t*>(p)[1]) << 32);
      } else if constexpr (BITS == 2) {
        v = *reinterpret_cast<const uint16_t*>(p);
      } else {
#pragma unroll
        for (int k = 0; k < BITS; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
      }
      int64_t g = r * G + e / group;
      alignas(16) T vals[8];
      if constexpr (std::is_same_v<T, double>) {
        double sd = load_param_d(s, pt, so + g);
        if (global) sd = __fmul_rn(static_cast<float>(sd), gmul);
        double bd = affine ? load_param_d(b, bt, bo + g) : 0.0;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          float q = value_of<KIND>(static_cast<uint32_t>(v >> (j * BITS)) & ((1u << BITS) - 1u));
          vals[j] = __fma_rn(sd, static_cast<double>(q), bd);  // the CPU's sd * q + bd, contracted
        }
      } else if constexpr (!EXACT) {
        // A GEMM operand: one rounding, from the float32 value.
        float sd = load_param(s, pt, so + g);
        float bd = affine ? load_param(b, bt, bo + g) : 0.0f;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          float q = value_of<KIND>(static_cast<uint32_t>(v >> (j * BITS)) & ((1u << BITS) - 1u));
          vals[j] = cast_to<T>(fmaf(sd, q, bd));
        }
      } else {
        float sd = load_param(s, pt, so + g);
        if (global) sd = __fmul_rn(sd, gmul);
        float sv = round_to<T>(sd);
        float bv = affine ? round_to<T>(load_param(b, bt, bo + g)) : 0.0f;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          float q = value_of<KIND>(static_cast<uint32_t>(v >> (j * BITS)) & ((1u << BITS) - 1u));
          float pr = round_to<T>(__fmul_rn(sv, q));
          vals[j] = cast_to<T>(affine ? __fadd_rn(pr, bv) : pr);
        }
      }
      uint4* dst = reinterpret_cast<uint4*>(o + r * cols + e);
#pragma unroll
      for (int k = 0; k < static_cast<int>(sizeof(T)) * 8 / 16; ++k) dst[k] = reinterpret_cast<const uint4*>(vals)[k];
    }
  }
}

// ---- few-row products with w (N x K): a warp per kRpw rows of w, lanes over chunks of K

constexpr int kWarps = 8;
// Rows of w per warp: 2 ran faster than 4 on the H200 (NOTES_gpu.md, quantized): the kernel is
// latency-bound, so more warps in flight beat sharing each x chunk over more rows.
constexpr int kRpw = 2;

template <typename T, int BITS, int KIND, int MB>
__global__ void __launch_bounds__(kWarps * 32) qmv_t_kernel(const T* __restrict__ x, const uint32_t* __restrict__ w,
                                                              const void* s, const void* b, int pt, int bt, T* out,
                                                              int64_t M, int64_t K, int64_t N, int group,
                                                              const int64_t* table, int64_t count) {
  using D = Dec<BITS, KIND>;
  constexpr int CH = D::CH, WORDS = D::WORDS;
  int64_t item = blockIdx.z;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int64_t n0 = (static_cast<int64_t>(blockIdx.x) * kWarps + warp) * kRpw;
  if (n0 >= N) return;
  int64_t m0 = static_cast<int64_t>(blockIdx.y) * MB;
  int64_t ld = K / CH * WORDS, G = K / group;
  const T* xb = x + (table ? table[item] : item * M * K);
  const uint32_t* wb = w + (table ? table[count + item] : 0);
  int64_t so = table ? table[2 * count + item] : 0, bo = table ? table[3 * count + item] : 0;
  // Per row of w: its packed words and the index of its first scale / bias.
  const uint32_t* wrow[kRpw];
  int64_t srow[kRpw], brow[kRpw];
#pragma unroll
  for (int r = 0; r < kRpw; ++r) {
    int64_t n = min(n0 + r, N - 1);
    wrow[r] = wb + n * ld;
    srow[r] = so + n * G;
    brow[r] = bo + n * G;
  }
  const T* xrow[MB];
#pragma unroll
  for (int i = 0; i < MB; ++i) xrow[i] = xb + min(m0 + i, M - 1) * K;
  float acc[kRpw][MB];
#pragma unroll
  for (int r = 0; r < kRpw; ++r)
#pragma unroll
    for (int i = 0; i < MB; ++i) acc[r][i] = 0.0f;
  int nch = static_cast<int>(K / CH);
  int cpg = group / CH;  // chunks per group
#pragma unroll 2
  for (int c = lane; c < nch; c += 32) {
    uint32_t wv[kRpw][WORDS];
    float sc[kRpw], bi[kRpw];
    int g = c / cpg;
#pragma unroll
    for (int r = 0; r < kRpw; ++r) load_words<WORDS, D::ALIGN>(wrow[r] + c * WORDS, wv[r]);
#pragma unroll
    for (int r = 0; r < kRpw; ++r) {
      sc[r] = load_param(s, pt, srow[r] + g);
      bi[r] = KIND == 0 ? load_param(b, bt, brow[r] + g) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < MB; ++i) {
      float xv[CH];
      load_x<T, CH>(xrow[i] + c * CH, xv);
      float xs = 0.0f;
      if constexpr (KIND == 0) {
        float xs2 = 0.0f;  // two chains: shorter dependency
#pragma unroll
        for (int j = 0; j < CH; j += 2) {
          xs += xv[j];
          xs2 += xv[j + 1];
        }
        xs += xs2;
      }
#pragma unroll
      for (int r = 0; r < kRpw; ++r) {
        float d = 0.0f, d2 = 0.0f;
#pragma unroll
        for (int j = 0; j < CH; j += 2) {
          d = fmaf(value_of<KIND>(code_of<BITS>(wv[r], j)), xv[j], d);
          d2 = fmaf(value_of<KIND>(code_of<BITS>(wv[r], j + 1)), xv[j + 1], d2);
        }
        acc[r][i] = fmaf(sc[r], d + d2, acc[r][i]);
        if constexpr (KIND == 0) acc[r][i] = fmaf(bi[r], xs, acc[r][i]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRpw; ++r) {
#pragma unroll
    for (int i = 0; i < MB; ++i) {
      float v = acc[r][i];
#pragma unroll
      for (int k = 16; k >= 1; k >>= 1) v += __shfl_xor_sync(0xffffffffu, v, k);
      if (lane == 0 && n0 + r < N && m0 + i < M) out[(item * M + m0 + i) * N + n0 + r] = cast_to<T>(v);
    }
  }
}

// ---- few-row products with w (K x N): a thread per chunk of columns and a slice of K rows,
// the block's 8 slices summed in shared memory, partial sums of the grid's K splits in `part`.

template <typename T, int BITS, int KIND>
__global__ void __launch_bounds__(256) qmv_n_kernel(const T* __restrict__ x, const uint32_t* __restrict__ w,
                                                     const void* s, const void* b, int pt, int bt, float* part,
                                                     int64_t M, int64_t K, int64_t N, int group, int splits,
                                                     int64_t kspan, const int64_t* table, int64_t count) {
  using D = Dec<BITS, KIND>;
  constexpr int CH = D::CH, WORDS = D::WORDS;
  __shared__ float sh[8][32 * (CH + 1)];
  int64_t item = blockIdx.z;
  int split = blockIdx.y / M;
  int64_t m = blockIdx.y % M;
  int64_t nch = N / CH, ld = nch * WORDS, G = N / group;
  int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const T* xb = x + (table ? table[item] : item * M * K) + m * K;
  const uint32_t* wb = w + (table ? table[count + item] : 0);
  int64_t so = table ? table[2 * count + item] : 0, bo = table ? table[3 * count + item] : 0;
  float acc[CH];
#pragma unroll
  for (int j = 0; j < CH; ++j) acc[j] = 0.0f;
  float bacc = 0.0f;
  if (c < nch) {
    int64_t g = c * CH / group;
    int64_t k1 = min(K, (split + 1) * kspan);
    for (int64_t k = split * kspan + threadIdx.y; k < k1; k += 8) {
      uint32_t wv[WORDS];
      load_words<WORDS, D::ALIGN>(wb + k * ld + c * WORDS, wv);
      float xv = static_cast<float>(xb[k]);
      float coef = xv * load_param(s, pt, so + k * G + g);
      if constexpr (KIND == 0) bacc = fmaf(xv, load_param(b, bt, bo + k * G + g), bacc);
#pragma unroll
      for (int j = 0; j < CH; ++j) acc[j] = fmaf(coef, value_of<KIND>(code_of<BITS>(wv, j)), acc[j]);
    }
  }
#pragma unroll
  for (int j = 0; j < CH; ++j) sh[threadIdx.y][threadIdx.x * (CH + 1) + j] = acc[j] + bacc;
  __syncthreads();
  int t = threadIdx.y * 32 + threadIdx.x;
  for (int col = t; col < 32 * CH; col += 256) {
    int cl = col / CH, j = col % CH;
    float sum = 0.0f;
#pragma unroll
    for (int y = 0; y < 8; ++y) sum += sh[y][cl * (CH + 1) + j];
    int64_t cg = static_cast<int64_t>(blockIdx.x) * 32 + cl;
    if (cg < nch) part[((item * M + m) * splits + split) * N + cg * CH + j] = sum;
  }
}

template <typename T>
__global__ void qmv_n_finish(const float* part, T* out, int64_t rows, int splits, int64_t N) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * N) return;
  int64_t r = i / N, n = i - r * N;
  float sum = 0.0f;
  for (int k = 0; k < splits; ++k) sum += part[(r * splits + k) * N + n];
  out[i] = cast_to<T>(sum);
}

// ---- matrix offsets

__global__ void matrix_offsets_kernel(const int64_t* idx, int64_t n, MatIndex mi, int64_t base, int64_t scale,
                                      int64_t* out) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t v = idx ? idx[i] : i;
  if (v < 0) v += mi.count;
  v = max(static_cast<int64_t>(0), min(v, mi.count - 1));
  int64_t loc = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < mi.ndim) {
      int64_t q = v / mi.shape[d];
      loc += (v - q * mi.shape[d]) * mi.strides[d];
      v = q;
    }
  }
  out[i] = base + scale * loc;
}

// Calls f(bits, kind) with the decoder of format q as compile-time constants.
template <typename F>
void dispatch_decoder(const QFormat& q, F&& f) {
  using std::integral_constant;
  switch (q.mode) {
    case 1: return f(integral_constant<int, 4>{}, integral_constant<int, 1>{});
    case 2: return f(integral_constant<int, 8>{}, integral_constant<int, 2>{});
    case 3: return f(integral_constant<int, 4>{}, integral_constant<int, 3>{});
    default: break;
  }
  switch (q.bits) {
    case 1: return f(integral_constant<int, 1>{}, integral_constant<int, 0>{});
    case 2: return f(integral_constant<int, 2>{}, integral_constant<int, 0>{});
    case 3: return f(integral_constant<int, 3>{}, integral_constant<int, 0>{});
    case 4: return f(integral_constant<int, 4>{}, integral_constant<int, 0>{});
    case 5: return f(integral_constant<int, 5>{}, integral_constant<int, 0>{});
    case 6: return f(integral_constant<int, 6>{}, integral_constant<int, 0>{});
    case 8: return f(integral_constant<int, 8>{}, integral_constant<int, 0>{});
    default: throw std::invalid_argument("[quantized] Unsupported bits " + std::to_string(q.bits) + ".");
  }
}

template <bool WithDouble, typename F>
void dispatch_float(Dtype t, const char* op, F&& f) {
  switch (t.val) {
    case Dtype::Val::float32: return f(tag<float>{});
    case Dtype::Val::float16: return f(tag<__half>{});
    case Dtype::Val::bfloat16: return f(tag<__nv_bfloat16>{});
    case Dtype::Val::float64:
      if constexpr (WithDouble) return f(tag<double>{});
      break;
    default: break;
  }
  throw std::invalid_argument(std::string("[") + op + "] Unsupported dtype " + dtype_name(t) + " on the GPU.");
}

int blocks_for(int64_t n, int threads) {
  return static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, int64_t{1} << 20));
}

}  // namespace

void quantize(Dtype t, QFormat q, const void* w, int64_t rows, int64_t cols, const float* global, uint32_t* wq,
              void* scales, void* biases, cudaStream_t s) {
  int64_t ngroups = rows * (cols / q.group);
  if (ngroups == 0) return;
  switch (t.val) {
    case Dtype::Val::float32:
      quantize_kernel<float><<<(ngroups + 127) / 128, 128, 0, s>>>(static_cast<const float*>(w), ngroups, q.group,
                                                                   q.bits, q.mode, global, wq, scales,
                                                                   static_cast<float*>(biases));
      break;
    case Dtype::Val::float16:
      quantize_kernel<__half><<<(ngroups + 127) / 128, 128, 0, s>>>(static_cast<const __half*>(w), ngroups, q.group,
                                                                    q.bits, q.mode, global, wq, scales,
                                                                    static_cast<__half*>(biases));
      break;
    case Dtype::Val::bfloat16:
      quantize_kernel<__nv_bfloat16><<<(ngroups + 127) / 128, 128, 0, s>>>(
          static_cast<const __nv_bfloat16*>(w), ngroups, q.group, q.bits, q.mode, global, wq, scales,
          static_cast<__nv_bfloat16*>(biases));
      break;
    case Dtype::Val::float64:
      quantize_kernel<double><<<(ngroups + 127) / 128, 128, 0, s>>>(static_cast<const double*>(w), ngroups, q.group,
                                                                    q.bits, q.mode, global, wq, scales,
                                                                    static_cast<double*>(biases));
      break;
    default: throw std::invalid_argument("[quantize] Unsupported dtype " + dtype_name(t) + " on the GPU.");
  }
  check_launch("quantize");
}

void dequantize(Dtype t, QFormat q, const uint32_t* w, const void* scales, const void* biases, ParamType pt,
                ParamType bt, const float* global, int64_t rows, int64_t cols, int64_t ld, QBatch batch, void* out,
                cudaStream_t s, bool exact) {
  int64_t total = rows * cols / 8;
  if (total == 0 || batch.count == 0) return;
  dispatch_float<true>(
      t, "dequantize",
      [&](auto tg) {
        using T = typename decltype(tg)::type;
        dispatch_decoder(q, [&](auto bits_c, auto kind_c) {
          constexpr int BITS = decltype(bits_c)::value, KIND = decltype(kind_c)::value;
          dim3 grid(blocks_for(total, 256), static_cast<unsigned>(std::min<int64_t>(batch.count, 65535)));
          auto launch = [&](auto exact_c) {
            constexpr bool EXACT = decltype(exact_c)::value;
            if constexpr (EXACT || !std::is_same_v<T, double>) {
              dequant_kernel<T, BITS, KIND, EXACT><<<grid, 256, 0, s>>>(
                  w, scales, biases, static_cast<int>(pt), static_cast<int>(bt), global, static_cast<T*>(out), rows,
                  cols, ld, q.group, batch.table, batch.count);
            }
          };
          if (exact || std::is_same_v<T, double>) {
            launch(std::true_type{});
          } else {
            launch(std::false_type{});
          }
        });
      });
  check_launch("dequantize");
}

void qmv(Dtype t, QFormat q, bool transpose, const void* x, const uint32_t* w, const void* scales, const void* biases,
         ParamType pt, ParamType bt, int64_t M, int64_t K, int64_t N, QBatch batch, void* out, cudaStream_t s) {
  if (M == 0 || N == 0 || batch.count == 0) return;
  if (batch.count > 65535) throw std::invalid_argument("[quantized_matmul] More than 65535 products in one batch.");
  dispatch_float<false>(
      t, "quantized_matmul",
      [&](auto tg) {
        using T = typename decltype(tg)::type;
        dispatch_decoder(q, [&](auto bits_c, auto kind_c) {
          constexpr int BITS = decltype(bits_c)::value, KIND = decltype(kind_c)::value;
          const T* xt = static_cast<const T*>(x);
          T* o = static_cast<T*>(out);
          if (transpose) {
            unsigned gx = static_cast<unsigned>((N + kWarps * kRpw - 1) / (kWarps * kRpw));
            auto launch = [&](auto mb_c) {
              constexpr int MB = decltype(mb_c)::value;
              dim3 grid(gx, static_cast<unsigned>((M + MB - 1) / MB), static_cast<unsigned>(batch.count));
              qmv_t_kernel<T, BITS, KIND, MB><<<grid, kWarps * 32, 0, s>>>(
                  xt, w, scales, biases, static_cast<int>(pt), static_cast<int>(bt), o, M, K, N, q.group,
                  batch.table, batch.count);
            };
            if (M == 1) {
              launch(std::integral_constant<int, 1>{});
            } else if (M <= 4) {
              launch(std::integral_constant<int, 4>{});
            } else {
              launch(std::integral_constant<int, 8>{});
            }
          } else {
            constexpr int CH = Dec<BITS, KIND>::CH;
            int64_t bx = (N / CH + 31) / 32;
            int64_t want = 4 * static_cast<int64_t>(sm_count());
            int64_t have = bx * M * batch.count;
            int64_t splits = std::clamp<int64_t>((want + have - 1) / have, 1, std::max<int64_t>(1, K / 64));
            int64_t kspan = (K + splits - 1) / splits;
            splits = (K + kspan - 1) / kspan;
            if (M * splits > 65535) splits = std::max<int64_t>(1, 65535 / M), kspan = (K + splits - 1) / splits;
            Scratch part(static_cast<size_t>(batch.count * M * splits * N) * sizeof(float), s);
            dim3 grid(static_cast<unsigned>(bx), static_cast<unsigned>(M * splits),
                      static_cast<unsigned>(batch.count));
            qmv_n_kernel<T, BITS, KIND><<<grid, dim3(32, 8), 0, s>>>(
                xt, w, scales, biases, static_cast<int>(pt), static_cast<int>(bt),
                static_cast<float*>(part.get()), M, K, N, q.group, static_cast<int>(splits), kspan, batch.table,
                batch.count);
            check_launch("quantized_matmul");
            int64_t n = batch.count * M * N;
            qmv_n_finish<T><<<blocks_for(n, 256), 256, 0, s>>>(static_cast<const float*>(part.get()), o,
                                                               batch.count * M, static_cast<int>(splits), N);
          }
        });
      });
  check_launch("quantized_matmul");
}

void matrix_offsets(const int64_t* idx, int64_t n, const MatIndex& mi, int64_t base, int64_t scale, int64_t* out,
                    cudaStream_t s) {
  if (n == 0) return;
  matrix_offsets_kernel<<<blocks_for(n, 256), 256, 0, s>>>(idx, n, mi, base, scale, out);
  check_launch("matrix_offsets");
}

}  // namespace kiln::cuda
