// eval_cpu of View, Depends and the e4m3 float8 conversions.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "kiln/backend/common/views.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// A row-major copy of `in` converted to `dtype`.
array row_major(const array& in, Dtype dtype) {
  array tmp(allocator::malloc(in.size() * size_of(dtype)), in.shape(), dtype);
  if (in.size() > 0) cpu::copy_into(in, tmp);
  return tmp;
}

// e4m3 ("fn"): 1 sign, 4 exponent (bias 7) and 3 mantissa bits, no infinities, NaN = 0x7f/0xff.
template <typename T>
uint8_t fp8_encode(T x) {
  uint8_t sign = std::signbit(x) ? 0x80 : 0;
  T a = std::fabs(x);
  if (!(a < T(448))) return sign | 0x7e;  // saturate (NaN and infinities too, as MLX)
  int e;
  std::frexp(a, &e);
  // ee: the exponent of a's binade; subnormals (and zero) share the lowest one, 2^-6. There
  // a / 2^(ee-3) is 8 + mantissa (0..8 for subnormals), and rounding it to the nearest even
  // integer is fp8's rounding; a carry to 16 lands on the next binade's code by itself.
  int ee = a < T(0.015625) ? -6 : e - 1;
  auto q = static_cast<int>(std::nearbyint(std::ldexp(a, 3 - ee)));
  return sign | static_cast<uint8_t>((ee + 6) * 8 + q);
}

float fp8_decode(uint8_t b) {
  int m = b & 7, e = (b >> 3) & 15;
  float v = (e == 15 && m == 7) ? NAN : e == 0 ? std::ldexp(float(m), -9) : std::ldexp(float(8 + m), e - 10);
  return (b & 0x80) ? -v : v;
}

}  // namespace

void View::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.itemsize() == out.itemsize()) {
    out.copy_shared_buffer(in);  // strides count elements, which keep their size
  } else if (in.flags().row_contiguous) {
    make_strided_view(in, out, row_major_strides(out.shape()), 0);
  } else {
    make_strided_view(row_major(in, in.dtype()), out, row_major_strides(out.shape()), 0);
  }
}

void Depends::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i].copy_shared_buffer(inputs[i]);
}

void ToFP8::eval_cpu(const std::vector<array>& inputs, array& out) {
  // float64 is encoded from doubles: going through float32 could round twice.
  bool wide = inputs[0].dtype() == float64;
  array src = row_major(inputs[0], wide ? float64 : float32);
  out.set_data(allocator::malloc(out.nbytes()));
  uint8_t* dst = out.data<uint8_t>();
  cpu::parallel_for(static_cast<int64_t>(out.size()), cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      dst[i] = wide ? fp8_encode(src.data<double>()[i]) : fp8_encode(src.data<float>()[i]);
    }
  });
}

void FromFP8::eval_cpu(const std::vector<array>& inputs, array& out) {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = fp8_decode(static_cast<uint8_t>(i));
    return t;
  }();
  array src = row_major(inputs[0], uint8);
  array vals(allocator::malloc(out.size() * sizeof(float)), out.shape(), float32);
  const uint8_t* s = src.data<uint8_t>();
  float* d = vals.data<float>();
  cpu::parallel_for(static_cast<int64_t>(out.size()), cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = table[s[i]];
  });
  // fp8 values are exact in every float dtype, so this conversion does not round.
  cpu::copy_alloc(vals, out);
}

}  // namespace kiln
