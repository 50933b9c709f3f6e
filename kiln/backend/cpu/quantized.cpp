// eval_cpu of the quantization primitives: Quantize, Dequantize, QuantizedMatmul, GatherQMM.
//
// Products with few rows of x (decoding) are memory-bound: they read the packed weights once,
// decoding 8 elements at a time into AVX2 registers and multiplying them with x on the fly,
// with the affine bias folded in as bias * sum(x over the group). Products with many rows
// dequantize panels of w into float32 and hand them to sgemm, which is compute-bound anyway.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/allocator.h"
#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/quantized.h"

namespace kiln {

namespace {

using Mode = QuantizationMode;

// ---- scalar codecs ----

float e8m0_decode(uint8_t c) {
  if (c == 255) return std::nanf("");
  if (c == 0) return std::ldexp(1.0f, -127);
  uint32_t bits = static_cast<uint32_t>(c) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float e4m3_decode(uint8_t c) {
  if ((c & 0x7f) == 0x7f) return std::nanf("");
  int e = (c >> 3) & 15, m = c & 7;
  float v = e == 0 ? std::ldexp(static_cast<float>(m), -9) : std::ldexp(1.0f + m / 8.0f, e - 7);
  return (c & 0x80) ? -v : v;
}

// Nearest e4m3 code of |a| (ties to even), saturating at 448.
uint8_t e4m3_encode_mag(float a) {
  if (!(a > 0)) return 0;
  if (a >= 448.0f) return 126;
  if (a < 0.015625f) return static_cast<uint8_t>(std::nearbyint(a * 512.0f));  // subnormals, step 2^-9
  int ex;
  std::frexp(a, &ex);  // a = m * 2^ex, m in [0.5, 1): floor(log2 a) = ex - 1
  int e = ex - 1;
  int q = static_cast<int>(std::nearbyint(std::ldexp(a, 3 - e)));  // in [8, 16]
  int code = ((e + 7) << 3) + (q - 8);
  return static_cast<uint8_t>(std::min(code, 126));
}

// Nearest e2m1 code of |a|; ties go to the smaller magnitude (as MLX rounds).
uint8_t e2m1_encode_mag(float a) {
  static const float mids[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  uint8_t idx = 0;
  for (float m : mids) idx += a > m;
  return idx;
}

template <typename T>
float round_to(float v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return v;
  } else {
    return static_cast<float>(T(v));
  }
}

// ---- layouts ----

// `a` as a row-major array of dtype t (itself when it already is).
array dense(const array& a, Dtype t) {
  if (a.dtype() == t && a.flags().row_contiguous) return a;
  array r(allocator::malloc(std::max<size_t>(a.size(), 1) * size_of(t)), a.shape(), t);
  cpu::copy_into(a, r);
  return r;
}

// The matrices (last two dims) of `a`, each dense, addressed through batch strides (so a
// broadcast batch is not copied).
struct Matrices {
  array arr;
  Shape batch;
  Strides bstrides;
  int64_t offset(int64_t i) const { return elem_to_loc(i, batch, bstrides); }
};

Matrices matrices(const array& a) {
  int nd = a.ndim();
  bool ok = a.strides(nd - 1) == 1 && (a.shape(nd - 2) == 1 || a.strides(nd - 2) == a.shape(nd - 1));
  array arr = ok ? a : dense(a, a.dtype());
  Shape batch(arr.shape().begin(), arr.shape().end() - 2);
  Strides bs(arr.strides().begin(), arr.strides().end() - 2);
  return {arr, batch, bs};
}

// One quantized matrix: R rows of C elements, packed in `ld` words per row, with C / group
// scales (and biases) per row.
struct QMat {
  const uint32_t* w;
  const char* s;
  const char* b;
  Dtype sdt, bdt;
  int64_t ld, pld;  // words per row; groups per row
};

struct QCfg {
  int bits, group;
  Mode mode;
};

double param_at(const char* p, Dtype t, int64_t i, Mode mode) {
  switch (t.val) {
    case Dtype::Val::float32: return reinterpret_cast<const float*>(p)[i];
    case Dtype::Val::float16: return static_cast<float>(reinterpret_cast<const float16_t*>(p)[i]);
    case Dtype::Val::bfloat16: return static_cast<float>(reinterpret_cast<const bfloat16_t*>(p)[i]);
    case Dtype::Val::float64: return reinterpret_cast<const double*>(p)[i];
    case Dtype::Val::uint8: {
      static const std::array<float, 512> lut = [] {
        std::array<float, 512> t{};
        for (int j = 0; j < 256; ++j) {
          t[j] = e8m0_decode(static_cast<uint8_t>(j));
          t[256 + j] = e4m3_decode(static_cast<uint8_t>(j));
        }
        return t;
      }();
      uint8_t c = reinterpret_cast<const uint8_t*>(p)[i];
      return lut[(mode == Mode::Nvfp4 ? 256 : 0) + c];
    }
    default: throw std::invalid_argument("[quantized] Unsupported scales dtype.");
  }
}

// Scales and biases of groups [g0, g1) of row r, as floats.
void load_params(const QMat& m, const QCfg& c, int64_t r, int64_t g0, int64_t g1, float* s, float* b) {
  for (int64_t g = g0; g < g1; ++g) {
    s[g - g0] = static_cast<float>(param_at(m.s, m.sdt, r * m.pld + g, c.mode));
    b[g - g0] = c.mode == Mode::Affine ? static_cast<float>(param_at(m.b, m.bdt, r * m.pld + g, c.mode)) : 0.0f;
  }
}

// ---- 8-wide decoding ----

// Codes of elements e..e+7 of a packed row of C elements (e a multiple of 8), BITS in 1..8.
template <int BITS>
inline __m256i codes8(const uint32_t* row, int64_t e, int64_t C) {
  if constexpr (BITS == 4) {
    const __m256i sh = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(row[e >> 3])), sh),
                            _mm256_set1_epi32(15));
  } else if constexpr (BITS == 8) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + (e >> 2))));
  } else if constexpr (BITS == 2) {
    int half = static_cast<int>((e >> 3) & 1) * 16;
    const __m256i sh = _mm256_add_epi32(_mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14), _mm256_set1_epi32(half));
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(row[e >> 4])), sh),
                            _mm256_set1_epi32(3));
  } else if constexpr (BITS == 1) {
    int q = static_cast<int>((e >> 3) & 3) * 8;
    const __m256i sh = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(q));
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(row[e >> 5])), sh),
                            _mm256_set1_epi32(1));
  } else {
    // 3, 5, 6 bits: 8 elements start on a byte boundary and span BITS bytes; shift the 64-bit
    // word per lane pair, then gather the low halves back into element order.
    // One 8-byte load (a narrower copy into a zeroed word stalls store forwarding); near the
    // row's end it reads the 8 bytes ending at the chunk's end instead, to stay in the row.
    const uint8_t* p = reinterpret_cast<const uint8_t*>(row) + e * BITS / 8;
    uint64_t v;
    if ((C - e - 8) * BITS / 8 >= 8 - BITS) {
      std::memcpy(&v, p, 8);
    } else {
      std::memcpy(&v, p + BITS - 8, 8);
      v >>= (8 - BITS) * 8;
    }
    __m256i vv = _mm256_set1_epi64x(static_cast<long long>(v));
    __m256i lo = _mm256_srlv_epi64(vv, _mm256_setr_epi64x(0, BITS, 2 * BITS, 3 * BITS));
    __m256i hi = _mm256_srlv_epi64(vv, _mm256_setr_epi64x(4 * BITS, 5 * BITS, 6 * BITS, 7 * BITS));
    __m256i mix = _mm256_blend_epi32(lo, _mm256_slli_epi64(hi, 32), 0xAA);  // elements 0,4,1,5,2,6,3,7
    __m256i ordered = _mm256_permutevar8x32_epi32(mix, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    return _mm256_and_si256(ordered, _mm256_set1_epi32((1 << BITS) - 1));
  }
}

// Codes to values before scaling: integers (affine), e2m1 (KIND 1, by table) or e4m3 (KIND 2)
// floats. e4m3 is decoded by moving its bits into a float32's exponent and mantissa and
// rescaling, which also handles its subnormals.
template <int KIND>
inline __m256 values8(__m256i c) {
  if constexpr (KIND == 0) {
    return _mm256_cvtepi32_ps(c);
  } else if constexpr (KIND == 1) {
    // The permute reads only the low 3 bits of each code: the magnitude's index.
    const __m256 table = _mm256_setr_ps(0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f);
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(c, _mm256_set1_epi32(8)), 28);
    return _mm256_or_ps(_mm256_permutevar8x32_ps(table, c), _mm256_castsi256_ps(sign));
  } else {
    __m256i mag = _mm256_slli_epi32(_mm256_and_si256(c, _mm256_set1_epi32(0x7f)), 20);
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(c, _mm256_set1_epi32(0x80)), 24);
    __m256 v = _mm256_mul_ps(_mm256_castsi256_ps(mag), _mm256_set1_ps(0x1p120f));
    return _mm256_or_ps(v, _mm256_castsi256_ps(sign));
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Calls f(bits_tag, kind_tag) with compile-time decoder parameters for `c`.
template <typename F>
void dispatch_decoder(const QCfg& c, F&& f) {
  using std::integral_constant;
  if (c.mode == Mode::Mxfp8) return f(integral_constant<int, 8>{}, integral_constant<int, 2>{});
  if (c.mode != Mode::Affine) return f(integral_constant<int, 4>{}, integral_constant<int, 1>{});
  switch (c.bits) {
    case 1: return f(integral_constant<int, 1>{}, integral_constant<int, 0>{});
    case 2: return f(integral_constant<int, 2>{}, integral_constant<int, 0>{});
    case 4: return f(integral_constant<int, 4>{}, integral_constant<int, 0>{});
    case 3: return f(integral_constant<int, 3>{}, integral_constant<int, 0>{});
    case 5: return f(integral_constant<int, 5>{}, integral_constant<int, 0>{});
    case 6: return f(integral_constant<int, 6>{}, integral_constant<int, 0>{});
    default: return f(integral_constant<int, 8>{}, integral_constant<int, 0>{});
  }
}

// ---- the product kernels (float32 x rows, float32 y rows) ----

// At most this many rows of x decode on the fly (x @ w.T; x @ w keeps M accumulators in memory
// and crosses over to the GEMM path earlier).
constexpr int64_t kMatvecRows = 16;
constexpr int64_t kMatvecRowsN = 8;

// y[m, n] = sum_k x[m, k] * w[n, k] for rows n in [n0, n1) of w, MB rows of x.
template <int BITS, int KIND, int MB>
void qmv_t(const QCfg& c, const QMat& m, int64_t K, const float* x, const float* xsum, int64_t n0, int64_t n1,
           float* y, int64_t ldy) {
  int64_t G = K / c.group;
  std::vector<float> s(G), b(G);
  for (int64_t n = n0; n < n1; ++n) {
    load_params(m, c, n, 0, G, s.data(), b.data());
    const uint32_t* row = m.w + n * m.ld;
    __m256 tot[MB];
    float btot[MB];
    for (int i = 0; i < MB; ++i) {
      tot[i] = _mm256_setzero_ps();
      btot[i] = 0.0f;
    }
    for (int64_t g = 0; g < G; ++g) {
      __m256 acc[MB];
      for (int i = 0; i < MB; ++i) acc[i] = _mm256_setzero_ps();
      for (int64_t e = g * c.group; e < (g + 1) * c.group; e += 8) {
        __m256 q = values8<KIND>(codes8<BITS>(row, e, K));
        for (int i = 0; i < MB; ++i) acc[i] = _mm256_fmadd_ps(q, _mm256_loadu_ps(x + i * K + e), acc[i]);
      }
      __m256 sv = _mm256_set1_ps(s[g]);
      for (int i = 0; i < MB; ++i) {
        tot[i] = _mm256_fmadd_ps(acc[i], sv, tot[i]);
        if constexpr (KIND == 0) btot[i] += b[g] * xsum[i * G + g];
      }
    }
    for (int i = 0; i < MB; ++i) y[i * ldy + n] = hsum(tot[i]) + btot[i];
  }
}

// y[m, n] = sum_k x[m, k] * w[k, n] for columns n in [c0, c1) (group-aligned), M <= kMatvecRowsN.
template <int BITS, int KIND>
void qmv_n(const QCfg& c, const QMat& m, int64_t K, int64_t M, const float* x, int64_t c0, int64_t c1, float* y,
           int64_t ldy) {
  // Rows of w are taken four at a time, so each accumulator is loaded and stored once per
  // four rows; the affine bias contributes x[k] * bias per group, summed separately.
  constexpr int KB = 4;
  int64_t width = c1 - c0, g0 = c0 / c.group, g1 = c1 / c.group, ng = g1 - g0;
  std::vector<float> acc(M * width, 0.0f), bacc(M * ng, 0.0f), s(KB * ng), b(KB * ng);
  std::vector<float> coef(M * KB);
  for (int64_t k0 = 0; k0 < K; k0 += KB) {
    int kb = static_cast<int>(std::min<int64_t>(KB, K - k0));
    const uint32_t* rows[KB];
    for (int r = 0; r < KB; ++r) rows[r] = m.w + (k0 + std::min(r, kb - 1)) * m.ld;
    for (int r = 0; r < kb; ++r) load_params(m, c, k0 + r, g0, g1, s.data() + r * ng, b.data() + r * ng);
    for (int64_t g = 0; g < ng; ++g) {
      for (int64_t i = 0; i < M; ++i) {
        for (int r = 0; r < KB; ++r) {
          float xv = r < kb ? x[i * K + k0 + r] : 0.0f;
          coef[i * KB + r] = r < kb ? xv * s[r * ng + g] : 0.0f;
          if constexpr (KIND == 0) {
            if (r < kb) bacc[i * ng + g] += xv * b[r * ng + g];
          }
        }
      }
      for (int64_t e = (g0 + g) * c.group; e < (g0 + g + 1) * c.group; e += 8) {
        __m256 q[KB];
        for (int r = 0; r < KB; ++r) q[r] = values8<KIND>(codes8<BITS>(rows[r], e, ldy));
        for (int64_t i = 0; i < M; ++i) {
          float* a = acc.data() + i * width + (e - c0);
          __m256 v = _mm256_loadu_ps(a);
          for (int r = 0; r < KB; ++r) v = _mm256_fmadd_ps(q[r], _mm256_set1_ps(coef[i * KB + r]), v);
          _mm256_storeu_ps(a, v);
        }
      }
    }
  }
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < width; ++j) y[i * ldy + c0 + j] = acc[i * width + j] + bacc[i * ng + j / c.group];
  }
}

// Dequantizes elements [e0, e1) of row r into dst (float32).
template <int BITS, int KIND>
void dequant_segment(const QCfg& c, const QMat& m, int64_t r, int64_t e0, int64_t e1, float* dst) {
  int64_t g0 = e0 / c.group, g1 = e1 / c.group;
  const uint32_t* row = m.w + r * m.ld;
  for (int64_t g = g0; g < g1; ++g) {
    float s, b;
    load_params(m, c, r, g, g + 1, &s, &b);
    __m256 sv = _mm256_set1_ps(s), bv = _mm256_set1_ps(b);
    for (int64_t e = g * c.group; e < (g + 1) * c.group; e += 8) {
      __m256 q = values8<KIND>(codes8<BITS>(row, e, m.ld * 32 / c.bits));
      _mm256_storeu_ps(dst + (e - e0), _mm256_fmadd_ps(q, sv, bv));
    }
  }
}

// y (M x N, row-major, ldy = N) = x (M x K) @ w.T (transpose) or x @ w, for one quantized matrix.
void qmm(const QCfg& c, bool transpose, const QMat& m, int64_t M, int64_t K, int64_t N, const float* x, float* y) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill(y, y + M * N, 0.0f);
    return;
  }
  dispatch_decoder(c, [&](auto bits_tag, auto kind_tag) {
    constexpr int BITS = decltype(bits_tag)::value;
    constexpr int KIND = decltype(kind_tag)::value;
    if (M <= (transpose ? kMatvecRows : kMatvecRowsN)) {
      if (transpose) {
        int64_t G = K / c.group;
        std::vector<float> xsum(M * G, 0.0f);
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t g = 0; g < G; ++g) {
            float t = 0;
            for (int64_t e = g * c.group; e < (g + 1) * c.group; ++e) t += x[i * K + e];
            xsum[i * G + g] = t;
          }
        }
        int64_t grain = std::max<int64_t>(4, (int64_t{1} << 16) / std::max<int64_t>(K, 1));
        cpu::parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
          int64_t i = 0;
          for (; i + 4 <= M; i += 4) qmv_t<BITS, KIND, 4>(c, m, K, x + i * K, xsum.data() + i * G, n0, n1, y + i * N, N);
          for (; i + 2 <= M; i += 2) qmv_t<BITS, KIND, 2>(c, m, K, x + i * K, xsum.data() + i * G, n0, n1, y + i * N, N);
          for (; i < M; ++i) qmv_t<BITS, KIND, 1>(c, m, K, x + i * K, xsum.data() + i * G, n0, n1, y + i * N, N);
        });
      } else {
        // Wide column chunks (one per thread or two) keep each row's read long and sequential;
        // the accumulators (M x cw floats) stay in L1/L2.
        int64_t per = (N + 2 * cpu::num_threads() - 1) / (2 * cpu::num_threads());
        int64_t cw = std::clamp<int64_t>((per + c.group - 1) / c.group * c.group, c.group, 2048);
        int64_t chunks = (N + cw - 1) / cw;
        cpu::parallel_for(chunks, std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)), [&](int64_t a, int64_t z) {
          for (int64_t ch = a; ch < z; ++ch) {
            qmv_n<BITS, KIND>(c, m, K, M, x, ch * cw, std::min(N, (ch + 1) * cw), y, N);
          }
        });
      }
      return;
    }
    // Many rows: dequantize panels of about 8 MB and multiply them with sgemm.
    int64_t wide = transpose ? K : N;  // elements per packed row
    int64_t rows = transpose ? N : K;  // packed rows
    if (transpose) {
      int64_t nb = std::min<int64_t>(N, std::max<int64_t>((int64_t{1} << 21) / K, 16));
      std::vector<float> panel(nb * K);
      for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t cnt = std::min(nb, N - n0);
        cpu::parallel_for(cnt, 8, [&](int64_t a, int64_t z) {
          for (int64_t r = a; r < z; ++r) dequant_segment<BITS, KIND>(c, m, n0 + r, 0, wide, panel.data() + r * K);
        });
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(cnt),
                    static_cast<int>(K), 1.0f, x, static_cast<int>(K), panel.data(), static_cast<int>(K), 0.0f, y + n0,
                    static_cast<int>(N));
      }
    } else {
      int64_t cb = std::min<int64_t>(N, std::max<int64_t>((int64_t{1} << 21) / K / c.group * c.group, c.group));
      std::vector<float> panel(K * cb);
      for (int64_t c0 = 0; c0 < N; c0 += cb) {
        int64_t cnt = std::min(cb, N - c0);
        cpu::parallel_for(rows, 8, [&](int64_t a, int64_t z) {
          for (int64_t r = a; r < z; ++r) dequant_segment<BITS, KIND>(c, m, r, c0, c0 + cnt, panel.data() + r * cnt);
        });
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(M), static_cast<int>(cnt),
                    static_cast<int>(K), 1.0f, x, static_cast<int>(K), panel.data(), static_cast<int>(cnt), 0.0f,
                    y + c0, static_cast<int>(N));
      }
    }
  });
}

// The operands of a quantized product prepared for the kernels.
struct QOperands {
  Matrices w, s, b;
  bool has_b;
  QMat mat(int64_t wi) const {
    return QMat{w.arr.data<uint32_t>() + w.offset(wi),
                s.arr.data<char>() + s.offset(wi) * s.arr.itemsize(),
                has_b ? b.arr.data<char>() + b.offset(wi) * b.arr.itemsize() : nullptr,
                s.arr.dtype(),
                has_b ? b.arr.dtype() : s.arr.dtype(),
                w.arr.shape(-1),
                s.arr.shape(-1)};
  }
};

QOperands qoperands(const std::vector<array>& inputs, bool has_b) {
  QOperands q{matrices(inputs[1]), matrices(inputs[2]), has_b ? matrices(inputs[3]) : matrices(inputs[2]), has_b};
  return q;
}

// Writes float32 results into `out` (converting to its dtype).
void store(const std::vector<float>& y, array& out) {
  if (out.dtype() == float32) {
    std::memcpy(out.data<float>(), y.data(), y.size() * sizeof(float));
    return;
  }
  dispatch_float_types(out.dtype(), "QuantizedMatmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    cpu::parallel_for(static_cast<int64_t>(y.size()), cpu::kElementwiseGrain, [&](int64_t a, int64_t z) {
      for (int64_t i = a; i < z; ++i) o[i] = static_cast<T>(y[i]);
    });
  });
}

// Runs products out[i] = x[xo[i]] @ w[wi[i]] (xo: element offsets of M x K matrices in the
// dense float32 x), grouping those that share a weight matrix into one product so each
// weight matrix is read once.
void gathered_products(const QCfg& c, bool transpose, const QOperands& q, const float* x, const std::vector<int64_t>& xo,
                       const std::vector<int64_t>& wi, int64_t M, int64_t K, int64_t N, float* y) {
  std::map<int64_t, std::vector<int64_t>> by_w;
  for (size_t i = 0; i < wi.size(); ++i) by_w[wi[i]].push_back(static_cast<int64_t>(i));
  std::vector<float> xs, ys;
  for (auto& [w, items] : by_w) {
    int64_t rows = static_cast<int64_t>(items.size()) * M;
    xs.resize(rows * K);
    ys.resize(rows * N);
    for (size_t j = 0; j < items.size(); ++j) {
      std::memcpy(xs.data() + j * M * K, x + xo[items[j]], M * K * sizeof(float));
    }
    qmm(c, transpose, q.mat(w), rows, K, N, xs.data(), ys.data());
    for (size_t j = 0; j < items.size(); ++j) {
      std::memcpy(y + items[j] * M * N, ys.data() + j * M * N, M * N * sizeof(float));
    }
  }
}

// Flat matrix indices (wrapped, clamped) of an index array over a batch of `count` matrices.
std::vector<int64_t> read_indices(const array& idx, int64_t count) {
  std::vector<int64_t> out(idx.size());
  dispatch_real_types(idx.dtype(), "GatherQMM", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* p = idx.data<T>();
      StridedIterator it(idx.shape(), idx.strides());
      for (size_t i = 0; i < out.size(); ++i, it.step()) {
        int64_t v = static_cast<int64_t>(p[it.loc()]);
        if (v < 0) v += count;
        out[i] = std::clamp<int64_t>(v, 0, std::max<int64_t>(count - 1, 0));
      }
    } else {
      throw_unsupported_dtype("GatherQMM", idx.dtype());
    }
  });
  return out;
}

}  // namespace

// ---- Quantize ----

void Quantize::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& w_in = inputs[0];
  for (auto& o : outputs) o.set_data(allocator::malloc(std::max<size_t>(o.nbytes(), 1)));
  if (w_in.size() == 0) return;
  int64_t C = w_in.shape(-1), R = w_in.size() / C, G = C / group_size_, ld = C * bits_ / 32;
  uint32_t* wq = outputs[0].data<uint32_t>();
  // nvfp4 with a global scale G: block scales encode amax / 6 relative to G / (448 * 6), and
  // elements divide by e4m3(scale) * G / 2688 (the scale dequantize applies).
  bool global = inputs.size() > 1;
  float gdiv = global ? dense(inputs[1], float32).data<float>()[0] / 2688.0f : 1.0f;
  dispatch_float_types(w_in.dtype(), "quantize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    array w = dense(w_in, w_in.dtype());
    const T* src = w.data<T>();
    cpu::parallel_for(R, std::max<int64_t>(1, 8192 / C), [&](int64_t r0, int64_t r1) {
      std::vector<uint32_t> codes(C);
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = src + r * C;
        for (int64_t g = 0; g < G; ++g) {
          const T* v = row + g * group_size_;
          uint32_t* q = codes.data() + g * group_size_;
          int64_t pi = r * G + g;
          if (mode_ == Mode::Affine) {
            float wmax = static_cast<float>(v[0]), wmin = wmax;
            for (int i = 1; i < group_size_; ++i) {
              float f = static_cast<float>(v[i]);
              wmax = std::max(wmax, f);
              wmin = std::min(wmin, f);
            }
            float n_bins = static_cast<float>((1 << bits_) - 1);
            float scale, bias;
            if (bits_ == 1) {
              scale = std::max(wmax - wmin, 1e-7f);
              bias = wmin;
            } else {
              bool mask = std::fabs(wmin) > std::fabs(wmax);
              scale = std::max((wmax - wmin) / n_bins, 1e-7f);
              if (!mask) scale = -scale;
              float edge = mask ? wmin : wmax;
              float q0 = std::nearbyint(edge / scale);
              if (q0 != 0) scale = edge / q0;
              bias = q0 == 0 ? 0.0f : edge;
            }
            for (int i = 0; i < group_size_; ++i) {
              float t = std::nearbyint((static_cast<float>(v[i]) - bias) / scale);
              q[i] = static_cast<uint32_t>(std::clamp(t, 0.0f, n_bins));
            }
            outputs[1].data<T>()[pi] = static_cast<T>(scale);
            outputs[2].data<T>()[pi] = static_cast<T>(bias);
          } else {
            // Float modes compute in w's dtype, rounding after each operation as MLX does.
            float amax = 0;
            for (int i = 0; i < group_size_; ++i) amax = std::max(amax, std::fabs(static_cast<float>(v[i])));
            bool fp8 = mode_ == Mode::Mxfp8;
            float ratio = round_to<T>(amax / (fp8 ? 448.0f : 6.0f));
            uint8_t sc;
            float sd;
            if (mode_ == Mode::Nvfp4) {
              sc = e4m3_encode_mag(global ? ratio / gdiv : ratio);
              sd = e4m3_decode(sc);
              if (global) sd = sd * gdiv;
            } else {
              int e;
              if (amax == 0) {
                e = 0;
              } else if (!(ratio > 0)) {
                e = -127;
              } else {
                int ex;
                float mant = std::frexp(ratio, &ex);
                e = mant == 0.5f ? ex - 1 : ex;
              }
              sc = static_cast<uint8_t>(std::clamp(e + 127, 0, 254));
              sd = e8m0_decode(sc);
            }
            outputs[1].data<uint8_t>()[pi] = sc;
            float sdr = global ? sd : round_to<T>(sd);
            for (int i = 0; i < group_size_; ++i) {
              float f = static_cast<float>(v[i]);
              float xv = sd == 0 ? 0.0f : (global ? f / sdr : round_to<T>(f / sdr));
              float a = std::fabs(xv);
              bool neg = std::signbit(xv);
              if (fp8) {
                q[i] = e4m3_encode_mag(a) | (neg ? 0x80u : 0u);
              } else {
                uint32_t mag = e2m1_encode_mag(a);
                q[i] = mag | (neg && mag != 0 ? 8u : 0u);
              }
            }
          }
        }
        // Pack the row LSB-first into whole words.
        uint32_t* out = wq + r * ld;
        std::fill(out, out + ld, 0u);
        for (int64_t i = 0; i < C; ++i) {
          int64_t bit = i * bits_;
          out[bit >> 5] |= codes[i] << (bit & 31);
          if ((bit & 31) + bits_ > 32) out[(bit >> 5) + 1] |= codes[i] >> (32 - (bit & 31));
        }
      }
    });
  });
}

std::vector<Shape> Quantize::output_shapes(const std::vector<array>& inputs) {
  Shape wq = inputs[0].shape(), sc = inputs[0].shape();
  wq.back() = static_cast<int>(static_cast<int64_t>(wq.back()) * bits_ / 32);
  sc.back() = sc.back() / group_size_;
  if (mode_ == Mode::Affine) return {wq, sc, sc};
  return {wq, sc};
}

bool Quantize::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Quantize*>(&other);
  return o && o->state() == state();
}

// ---- Dequantize ----

void Dequantize::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(std::max<size_t>(out.nbytes(), 1)));
  if (out.size() == 0) return;
  array w = dense(inputs[0], uint32), s = dense(inputs[1], inputs[1].dtype());
  bool affine = mode_ == Mode::Affine;
  array b = affine ? dense(inputs[2], inputs[2].dtype()) : s;
  // nvfp4's optional global scale G multiplies each block scale by G / 2688.
  bool global = !affine && inputs.size() > 2;
  float gmul = global ? dense(inputs[2], float32).data<float>()[0] / 2688.0f : 1.0f;
  int64_t C = out.shape(-1), R = out.size() / C, G = C / group_size_, ld = w.shape(-1);
  QCfg c{bits_, group_size_, mode_};
  QMat m{w.data<uint32_t>(), s.data<char>(), b.data<char>(), s.dtype(), b.dtype(), ld, G};
  dispatch_float_types(out.dtype(), "dequantize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    dispatch_decoder(c, [&](auto bits_tag, auto kind_tag) {
      constexpr int BITS = decltype(bits_tag)::value;
      constexpr int KIND = decltype(kind_tag)::value;
      cpu::parallel_for(R, std::max<int64_t>(1, 16384 / C), [&](int64_t r0, int64_t r1) {
        alignas(32) float q[8];
        for (int64_t r = r0; r < r1; ++r) {
          const uint32_t* row = m.w + r * ld;
          for (int64_t g = 0; g < G; ++g) {
            // Scale and bias in the output dtype, product and sum each rounded to it (no fused
            // multiply-add): the values MLX's dequantize gives.
            double sd = param_at(m.s, m.sdt, r * G + g, mode_);
            if (global) sd = static_cast<float>(sd) * gmul;
            double bd = affine ? param_at(m.b, m.bdt, r * G + g, mode_) : 0.0;
            float sv = round_to<T>(static_cast<float>(sd));
            float bv = round_to<T>(static_cast<float>(bd));
            for (int64_t e = g * group_size_; e < (g + 1) * group_size_; e += 8) {
              _mm256_store_ps(q, values8<KIND>(codes8<BITS>(row, e, C)));
              for (int i = 0; i < 8; ++i) {
                if constexpr (std::is_same_v<T, double>) {
                  o[r * C + e + i] = sd * q[i] + bd;
                } else {
                  volatile float p = round_to<T>(sv * q[i]);
                  o[r * C + e + i] = static_cast<T>(affine ? p + bv : p);
                }
              }
            }
          }
        }
      });
    });
  });
}

std::vector<Shape> Dequantize::output_shapes(const std::vector<array>& inputs) {
  Shape sh = inputs[0].shape();
  sh.back() = static_cast<int>(static_cast<int64_t>(sh.back()) * 32 / bits_);
  return {sh};
}

bool Dequantize::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Dequantize*>(&other);
  return o && o->state() == state();
}

// ---- QuantizedMatmul ----

void QuantizedMatmul::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(std::max<size_t>(out.nbytes(), 1)));
  if (out.size() == 0) return;
  const array& x_in = inputs[0];
  bool has_b = inputs.size() > 3;
  QCfg c{bits_, group_size_, mode_};
  QOperands q = qoperands(inputs, has_b);
  int64_t K = x_in.shape(-1), N = out.shape(-1), M = x_in.shape(-2);
  array x = dense(x_in, float32);
  std::vector<float> y(out.size());
  if (inputs[1].ndim() == 2) {
    qmm(c, transpose_, q.mat(0), static_cast<int64_t>(out.size()) / N, K, N, x.data<float>(), y.data());
  } else {
    int64_t count = static_cast<int64_t>(out.size() / (M * N));
    std::vector<int64_t> xo(count), wi(count);
    for (int64_t i = 0; i < count; ++i) {
      xo[i] = i * M * K;
      wi[i] = i;
    }
    // Batches that broadcast one quantized matrix (the same packed words, scales and biases)
    // share it: map each to its first occurrence.
    std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> first;
    for (int64_t i = 0; i < count; ++i) {
      auto key = std::make_tuple(q.w.offset(i), q.s.offset(i), q.has_b ? q.b.offset(i) : 0);
      wi[i] = first.emplace(key, i).first->second;
    }
    gathered_products(c, transpose_, q, x.data<float>(), xo, wi, M, K, N, y.data());
  }
  store(y, out);
}

std::vector<Shape> QuantizedMatmul::output_shapes(const std::vector<array>& inputs) {
  Shape sh = inputs[0].shape();
  const array& w = inputs[1];
  sh.back() = transpose_ ? w.shape(-2) : static_cast<int>(static_cast<int64_t>(w.shape(-1)) * 32 / bits_);
  return {sh};
}

bool QuantizedMatmul::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const QuantizedMatmul*>(&other);
  return o && o->state() == state();
}

// ---- GatherQMM ----

void GatherQMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(std::max<size_t>(out.nbytes(), 1)));
  if (out.size() == 0) return;
  const array& x_in = inputs[0];
  bool has_b = inputs.size() > 5;
  const array& lhs = inputs[inputs.size() - 2];
  const array& rhs = inputs[inputs.size() - 1];
  QCfg c{bits_, group_size_, mode_};
  QOperands q = qoperands(inputs, has_b);
  int64_t K = x_in.shape(-1), N = out.shape(-1), M = x_in.shape(-2);
  array x = dense(x_in, float32);
  int64_t x_count = static_cast<int64_t>(x.size() / std::max<int64_t>(M * K, 1));
  int64_t w_count = shape_size(q.w.batch);
  std::vector<int64_t> xo = read_indices(lhs, x_count), wi = read_indices(rhs, w_count);
  for (auto& v : xo) v *= M * K;
  std::vector<float> y(out.size());
  gathered_products(c, transpose_, q, x.data<float>(), xo, wi, M, K, N, y.data());
  store(y, out);
}

std::vector<Shape> GatherQMM::output_shapes(const std::vector<array>& inputs) {
  Shape sh = inputs[inputs.size() - 1].shape();
  const array& w = inputs[1];
  sh.push_back(inputs[0].shape(-2));
  sh.push_back(transpose_ ? w.shape(-2) : static_cast<int>(static_cast<int64_t>(w.shape(-1)) * 32 / bits_));
  return {sh};
}

bool GatherQMM::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const GatherQMM*>(&other);
  return o && o->state() == state();
}

}  // namespace kiln
