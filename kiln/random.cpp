// kiln.random: every distribution is composed from RandomBits and elementwise ops, so it runs
// on any backend that has those and gives the same bits everywhere for the same key.
#include "kiln/random.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <numbers>
#include <sstream>
#include <stdexcept>

#include "kiln/backend/common/threefry.h"
#include "kiln/linalg.h"
#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln::random {

namespace {

using detail::str;

// The global key lives on the host: advancing it is a Threefry call here, with no graph and
// no device work, and gives exactly what split(key) would.
struct KeyState {
  std::mutex mutex;
  uint32_t k0 = 0, k1 = 0;
  KeyState() {
    auto t = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    set(t);
  }
  void set(uint64_t seed) {
    k0 = static_cast<uint32_t>(seed >> 32);
    k1 = static_cast<uint32_t>(seed);
  }
};

KeyState& key_state() {
  static KeyState state;
  return state;
}

void check_key(const array& key, const char* op) {
  if (key.dtype() != uint32) {
    throw std::invalid_argument(str("[", op, "] Expected key type uint32 but received ", key.dtype(), "."));
  }
  if (key.shape() != Shape{2}) {
    throw std::invalid_argument(str("[", op, "] Expected key shape (2,) but received ", key.shape(), "."));
  }
}

void check_shape(const Shape& shape, const char* op) {
  for (auto d : shape) {
    if (d < 0) throw std::invalid_argument(str("[", op, "] Negative dimensions not allowed: ", shape, "."));
  }
}

array get_key(const std::optional<array>& key, const char* op) {
  if (!key) return next_key();
  check_key(*key, op);
  return *key;
}

void check_float(Dtype dtype, const char* op) {
  if (!is_floating_point(dtype)) {
    throw std::invalid_argument(str("[", op, "] Only real floating point dtypes are supported, got ", dtype, "."));
  }
}

// float64 results are computed in float64; everything narrower in float32.
Dtype compute_type(Dtype dtype) { return dtype == float64 ? float64 : float32; }

array scalar(double v, Dtype t) { return t == float64 ? array(v, float64) : array(static_cast<float>(v), float32); }

/** The 32-bit words behind a shape, as RandomBits makes them (no checks). */
array raw_bits(const Shape& shape, const array& key, StreamOrDevice s) {
  return array(shape, uint32, std::make_shared<RandomBits>(to_stream(s), shape, 4), {key});
}

// Uniform in [0, 1) with the resolution of `dtype`'s significand (so that low + (high - low) * u
// rarely rounds up to high), returned in compute_type(dtype).
array unit_uniform(const Shape& shape, Dtype dtype, const array& key, StreamOrDevice s) {
  array b = raw_bits(shape, key, s);
  if (dtype == float64) return multiply(astype(b, float64, s), scalar(std::ldexp(1.0, -32), float64), s);
  int m = dtype == float16 ? 11 : dtype == bfloat16 ? 8 : 24;
  b = right_shift(b, array(static_cast<uint32_t>(32 - m), uint32), s);
  return multiply(astype(b, float32, s), scalar(std::ldexp(1.0, -m), float32), s);
}

// 32-bit words to uniform values in the open interval (0, 1): (b + 1/2) / 2^k over the top k
// bits, exact in float32 for k = 23.
array words_to_open_unit(array b, Dtype ct, StreamOrDevice s) {
  int k = 32;
  if (ct != float64) {
    k = 23;
    b = right_shift(b, array(static_cast<uint32_t>(32 - k), uint32), s);
  }
  return multiply(add(astype(b, ct, s), scalar(0.5, ct), s), scalar(std::ldexp(1.0, -k), ct), s);
}

array open_unit(const Shape& shape, Dtype ct, const array& key, StreamOrDevice s) {
  return words_to_open_unit(raw_bits(shape, key, s), ct, s);
}

// Uniform in the open interval (-1, 1), symmetric about 0 and never 0 itself.
array open_symmetric(const Shape& shape, Dtype ct, const array& key, StreamOrDevice s) {
  return subtract(multiply(open_unit(shape, ct, key, s), scalar(2.0, ct), s), scalar(1.0, ct), s);
}

void check_broadcast(const Shape& shape, const Shape& other, const char* op) {
  Shape b = broadcast_shapes(shape, other);
  if (b != shape) {
    throw std::invalid_argument(
        str("[", op, "] Cannot generate random values of shape ", shape, " from broadcasted shape ", b, "."));
  }
}

int normalize_axis(int axis, int ndim, const char* op, const char* what) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) {
    throw std::out_of_range(str("[", op, "] Invalid axis ", axis, " for ", what, " with ", ndim, " dimensions."));
  }
  return a;
}

}  // namespace

array key(uint64_t seed) {
  return array({static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)}, uint32);
}

void seed(uint64_t seed) {
  auto& st = key_state();
  std::lock_guard<std::mutex> lock(st.mutex);
  st.set(seed);
}

array next_key() {
  auto& st = key_state();
  std::lock_guard<std::mutex> lock(st.mutex);
  // split(state) gives blocks 0 and 1: the first becomes the new state, the second is returned.
  auto keep = detail::threefry2x32(st.k0, st.k1, 0, 0);
  auto out = detail::threefry2x32(st.k0, st.k1, 1, 0);
  st.k0 = keep.x0;
  st.k1 = keep.x1;
  return array({out.x0, out.x1}, uint32);
}

array split(const array& key, int num, StreamOrDevice s) {
  check_key(key, "split");
  if (num < 0) throw std::invalid_argument(str("[split] num must be non-negative, got ", num, "."));
  return raw_bits({num, 2}, key, s);
}

std::pair<array, array> split(const array& key, StreamOrDevice s) {
  array k = random::split(key, 2, s);
  auto parts = kiln::split(k, 2, 0, s);
  return {reshape(parts[0], {2}, s), reshape(parts[1], {2}, s)};
}

array bits(const Shape& shape, int width, const std::optional<array>& key, StreamOrDevice s) {
  if (width != 1 && width != 2 && width != 4) {
    throw std::invalid_argument(str("[bits] width must be 1, 2 or 4 bytes, got ", width, "."));
  }
  check_shape(shape, "bits");
  array k = get_key(key, "bits");
  Dtype t = width == 1 ? uint8 : width == 2 ? uint16 : uint32;
  return array(shape, t, std::make_shared<RandomBits>(to_stream(s), shape, width), {k});
}

array uniform(const array& low, const array& high, const Shape& shape, Dtype dtype, const std::optional<array>& key,
              StreamOrDevice s) {
  if (!is_floating_point(dtype)) {
    throw std::invalid_argument(
        str("[uniform] Can only generate uniform numbers with real floating point type, got ", dtype, "."));
  }
  check_shape(shape, "uniform");
  check_broadcast(shape, broadcast_shapes(low.shape(), high.shape()), "uniform");
  array k = get_key(key, "uniform");
  Dtype ct = compute_type(dtype);
  array lo = astype(low, ct, s), hi = astype(high, ct, s);
  array u = unit_uniform(shape, dtype, k, s);
  array out = astype(add(lo, multiply(subtract(hi, lo, s), u, s), s), dtype, s);
  // Rounding to dtype can still reach high; those draws go to low, keeping the interval half-open.
  array lo_d = astype(low, dtype, s), hi_d = astype(high, dtype, s);
  return where(equal(out, hi_d, s), broadcast_to(lo_d, shape, s), out, s);
}

array uniform(const Shape& shape, Dtype dtype, const std::optional<array>& key, StreamOrDevice s) {
  return uniform(array(0.0f), array(1.0f), shape, dtype, key, s);
}

array normal(const Shape& shape, Dtype dtype, const std::optional<array>& loc, const std::optional<array>& scale,
             const std::optional<array>& key, StreamOrDevice s) {
  if (!is_floating_point(dtype) && dtype != complex64) {
    throw std::invalid_argument(str("[normal] Only floating point and complex64 dtypes are supported, got ", dtype, "."));
  }
  check_shape(shape, "normal");
  if (loc) check_broadcast(shape, loc->shape(), "normal");
  if (scale) check_broadcast(shape, scale->shape(), "normal");
  array k = get_key(key, "normal");
  Dtype ct = compute_type(dtype);
  // Box-Muller: cheaper than an inverse CDF (log, sqrt and cos run vectorized).
  int64_t n = shape_size(shape);
  array b = raw_bits({2, static_cast<ShapeElem>(n)}, k, s);
  auto halves = kiln::split(b, 2, 0, s);
  // u1 in (0, 1) keeps log finite; u2 only sets an angle.
  array u1 = reshape(words_to_open_unit(halves[0], ct, s), shape, s);
  array u2 = reshape(words_to_open_unit(halves[1], ct, s), shape, s);
  array r = sqrt(multiply(scalar(-2.0, ct), log(u1, s), s), s);
  array theta = multiply(scalar(2.0 * std::numbers::pi, ct), u2, s);
  array z = multiply(r, cos(theta, s), s);
  if (dtype == complex64) {
    // Standard complex normal: the two independent Box-Muller outputs, each with variance 1/2.
    array h = scalar(1.0 / std::numbers::sqrt2, ct);
    array re = multiply(z, h, s), im = multiply(multiply(r, sin(theta, s), s), h, s);
    z = add(astype(re, complex64, s), multiply(astype(im, complex64, s), array(complex64_t(0.0f, 1.0f)), s), s);
    ct = complex64;
  }
  if (scale) z = multiply(z, astype(*scale, ct, s), s);
  if (loc) z = add(z, astype(*loc, ct, s), s);
  return astype(z, dtype, s);
}

array normal(const Shape& shape, Dtype dtype, double loc, double scale, const std::optional<array>& key,
             StreamOrDevice s) {
  std::optional<array> l, sc;
  if (loc != 0.0) l = scalar(loc, compute_type(dtype));
  if (scale != 1.0) sc = scalar(scale, compute_type(dtype));
  return normal(shape, dtype, l, sc, key, s);
}

array randint(const array& low, const array& high, const Shape& shape, Dtype dtype, const std::optional<array>& key,
              StreamOrDevice s) {
  if (!is_integral(dtype) && dtype != bool_) {
    throw std::invalid_argument(str("[randint] randint only accepts integer dtypes and bool, got ", dtype, "."));
  }
  check_shape(shape, "randint");
  check_broadcast(shape, broadcast_shapes(low.shape(), high.shape()), "randint");
  array k = get_key(key, "randint");
  // u in [0, 1) in float64: 32 random bits, or 53 for 64-bit dtypes (whose ranges may pass 2^32).
  // floor(u * range) is clamped to range - 1 (the product may round up), and adding low
  // afterwards is exact below 2^53: the result never reaches high.
  array lo = astype(low, float64, s), hi = astype(high, float64, s);
  array u;
  if (size_of(dtype) == 8) {
    Shape wshape = shape;
    wshape.push_back(2);
    auto w = kiln::split(raw_bits(wshape, k, s), 2, -1, s);
    array top = astype(reshape(w[0], shape, s), float64, s);
    array low21 = astype(right_shift(reshape(w[1], shape, s), array(uint32_t{11}, uint32), s), float64, s);
    u = multiply(add(multiply(top, array(std::ldexp(1.0, 21), float64), s), low21, s),
                 array(std::ldexp(1.0, -53), float64), s);
  } else {
    u = multiply(astype(raw_bits(shape, k, s), float64, s), array(std::ldexp(1.0, -32), float64), s);
  }
  array range = subtract(hi, lo, s);
  array steps = minimum(floor(multiply(u, range, s), s), subtract(range, array(1.0, float64), s), s);
  array v = add(lo, steps, s);
  v = where(greater(hi, lo, s), v, broadcast_to(lo, shape, s), s);
  return astype(v, dtype, s);
}

array bernoulli(const array& p, const Shape& shape, const std::optional<array>& key, StreamOrDevice s) {
  if (!is_floating_point(p.dtype())) {
    throw std::invalid_argument(str("[bernoulli] bernoulli probability `p` must be a float type, got ", p.dtype(), "."));
  }
  check_shape(shape, "bernoulli");
  check_broadcast(shape, p.shape(), "bernoulli");
  array k = get_key(key, "bernoulli");
  Dtype ct = compute_type(p.dtype());
  return less(unit_uniform(shape, ct, k, s), astype(p, ct, s), s);
}

array bernoulli(const array& p, const std::optional<array>& key, StreamOrDevice s) {
  return bernoulli(p, p.shape(), key, s);
}

array bernoulli(const std::optional<array>& key, StreamOrDevice s) { return bernoulli(array(0.5f), Shape{}, key, s); }

array truncated_normal(const array& lower, const array& upper, const Shape& shape, Dtype dtype,
                       const std::optional<array>& key, StreamOrDevice s) {
  check_float(dtype, "truncated_normal");
  check_shape(shape, "truncated_normal");
  check_broadcast(shape, broadcast_shapes(lower.shape(), upper.shape()), "truncated_normal");
  array k = get_key(key, "truncated_normal");
  // Inverse CDF in float64: in float32 erf saturates near |x| = 4 and the tails collapse.
  Dtype ct = float64;
  array lo = astype(lower, ct, s), hi = astype(upper, ct, s);
  array inv_sqrt2 = scalar(1.0 / std::numbers::sqrt2, ct);
  array a = erf(multiply(lo, inv_sqrt2, s), s), b = erf(multiply(hi, inv_sqrt2, s), s);
  // An open unit keeps erfinv away from +-1 (infinite) when a bound is infinite.
  array u = add(a, multiply(subtract(b, a, s), open_unit(shape, ct, k, s), s), s);
  array out = multiply(erfinv(u, s), scalar(std::numbers::sqrt2, ct), s);
  out = maximum(minimum(out, hi, s), lo, s);
  return astype(out, dtype, s);
}

array truncated_normal(const array& lower, const array& upper, Dtype dtype, const std::optional<array>& key,
                       StreamOrDevice s) {
  return truncated_normal(lower, upper, broadcast_shapes(lower.shape(), upper.shape()), dtype, key, s);
}

array gumbel(const Shape& shape, Dtype dtype, const std::optional<array>& key, StreamOrDevice s) {
  check_float(dtype, "gumbel");
  check_shape(shape, "gumbel");
  array k = get_key(key, "gumbel");
  Dtype ct = compute_type(dtype);
  array u = open_unit(shape, ct, k, s);
  return astype(negative(log(negative(log(u, s), s), s), s), dtype, s);
}

array laplace(const Shape& shape, Dtype dtype, double loc, double scale, const std::optional<array>& key,
              StreamOrDevice s) {
  check_float(dtype, "laplace");
  check_shape(shape, "laplace");
  array k = get_key(key, "laplace");
  Dtype ct = compute_type(dtype);
  array u = open_symmetric(shape, ct, k, s);
  // Inverse CDF: -sign(u) * log(1 - |u|) is Laplace(0, 1) for u uniform in (-1, 1).
  array x = multiply(negative(sign(u, s), s), log1p(negative(abs(u, s), s), s), s);
  x = add(multiply(x, scalar(scale, ct), s), scalar(loc, ct), s);
  return astype(x, dtype, s);
}

namespace {

// Gumbel-max: argmax(logits + g) with g standard Gumbel is a draw from softmax(logits). `logits`
// has the category axis last and broadcasts against out_shape + (K,).
array gumbel_argmax(const array& logits, const Shape& out_shape, const array& k, StreamOrDevice s) {
  Shape gshape = out_shape;
  gshape.push_back(logits.shape(-1));
  Dtype ct = logits.dtype() == float64 ? float64 : float32;
  array g = gumbel(gshape, ct, k, s);
  return argmax(add(astype(logits, ct, s), g, s), -1, false, s);
}

Shape without_axis(const Shape& shape, int axis) {
  Shape out = shape;
  out.erase(out.begin() + axis);
  return out;
}

}  // namespace

array categorical(const array& logits, int axis, const Shape& shape, const std::optional<array>& key,
                  StreamOrDevice s) {
  int ax = normalize_axis(axis, logits.ndim(), "categorical", "logits");
  check_shape(shape, "categorical");
  Shape reduced = without_axis(logits.shape(), ax);
  Shape b = broadcast_shapes(shape, reduced);
  if (b != shape) {
    throw std::invalid_argument(
        str("[categorical] Shape ", shape, " does not broadcast with the logits' batch shape ", reduced, "."));
  }
  array k = get_key(key, "categorical");
  return gumbel_argmax(moveaxis(logits, ax, -1, s), shape, k, s);
}

array categorical_num_samples(const array& logits, int axis, int num_samples, const std::optional<array>& key,
                              StreamOrDevice s) {
  int ax = normalize_axis(axis, logits.ndim(), "categorical", "logits");
  if (num_samples < 0) {
    throw std::invalid_argument(str("[categorical] num_samples must be non-negative, got ", num_samples, "."));
  }
  array k = get_key(key, "categorical");
  Shape out_shape = without_axis(logits.shape(), ax);
  out_shape.push_back(num_samples);
  // (..., K) -> (..., 1, K) so every sample of a row sees the same logits.
  array lg = expand_dims(moveaxis(logits, ax, -1, s), -2, s);
  return gumbel_argmax(lg, out_shape, k, s);
}

array categorical(const array& logits, int axis, const std::optional<array>& key, StreamOrDevice s) {
  int ax = normalize_axis(axis, logits.ndim(), "categorical", "logits");
  return categorical(logits, ax, without_axis(logits.shape(), ax), key, s);
}

array multivariate_normal(const array& mean, const array& cov, const Shape& shape, Dtype dtype,
                          const std::optional<array>& key, StreamOrDevice s) {
  if (dtype != float32 && dtype != float64) {
    throw std::invalid_argument(str("[multivariate_normal] dtype must be float32 or float64, got ", dtype, "."));
  }
  if (mean.ndim() < 1) throw std::invalid_argument("[multivariate_normal] mean must have at least one dimension.");
  if (cov.ndim() < 2 || cov.shape(-1) != cov.shape(-2)) {
    throw std::invalid_argument(str("[multivariate_normal] The last two dimensions of cov must be equal, got ",
                                    cov.shape(), "."));
  }
  if (mean.shape(-1) != cov.shape(-1)) {
    throw std::invalid_argument(str("[multivariate_normal] mean ", mean.shape(), " and cov ", cov.shape(),
                                    " must have compatible shapes."));
  }
  check_shape(shape, "multivariate_normal");
  Shape mean_batch(mean.shape().begin(), mean.shape().end() - 1);
  Shape cov_batch(cov.shape().begin(), cov.shape().end() - 2);
  Shape out_shape = broadcast_shapes(shape, broadcast_shapes(mean_batch, cov_batch));
  int n = mean.shape(-1);
  array k = get_key(key, "multivariate_normal");
  out_shape.push_back(n);
  array z = normal(out_shape, dtype, std::nullopt, std::nullopt, k, s);
  // cov = U diag(S) U^T for symmetric PSD cov, so x = mean + U sqrt(S) z has covariance cov; the
  // SVD (unlike a Cholesky factor) also accepts singular covariances.
  auto usv = linalg::svd(astype(cov, dtype, s), true, s);
  array root = sqrt(maximum(usv[1], scalar(0.0, dtype), s), s);
  array factor = multiply(usv[0], expand_dims(root, -2, s), s);
  array x = matmul(expand_dims(z, -2, s), swapaxes(factor, -1, -2, s), s);
  return add(squeeze(x, -2, s), astype(mean, dtype, s), s);
}

array permutation(int n, const std::optional<array>& key, StreamOrDevice s) {
  if (n < 0) throw std::invalid_argument(str("[permutation] n must be non-negative, got ", n, "."));
  array k = get_key(key, "permutation");
  // 64-bit sort keys: with 32 bits, ties (which a stable sort breaks by position) become
  // likely from about 2^16 elements on.
  array b = astype(raw_bits({n, 2}, k, s), uint64, s);
  auto w = kiln::split(b, 2, 1, s);
  array keys = bitwise_or(left_shift(reshape(w[0], {n}, s), array(uint64_t{32}, uint64), s), reshape(w[1], {n}, s), s);
  return argsort(keys, 0, s);
}

array permutation(const array& x, int axis, const std::optional<array>& key, StreamOrDevice s) {
  int ax = normalize_axis(axis, x.ndim(), "permutation", "array");
  return take(x, permutation(x.shape(ax), key, s), ax, s);
}

}  // namespace kiln::random
