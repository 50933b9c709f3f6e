#include "kiln/fft.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln::fft {

namespace {

using detail::str;
using detail::normalize_axis;


std::vector<int> all_axes(const array& a) {
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

// `a` cut or zero-padded along `axis` to `size` points.
array resize_axis(const array& a, int axis, int size, StreamOrDevice s) {
  int cur = a.shape(axis);
  if (cur == size) return a;
  if (cur > size) {
    Shape start(a.ndim(), 0), stop = a.shape();
    stop[axis] = size;
    return slice(a, start, stop, s);
  }
  Shape pad = a.shape();
  pad[axis] = size - cur;
  return concatenate({a, zeros(pad, a.dtype(), s)}, axis, s);
}

// The transform over `axes` with logical sizes `n` (for real transforms, the last axis's size
// is the real signal's length).
array fft_impl(const array& a, Shape n, std::vector<int> axes, bool real, bool inverse, FFTNorm norm, const char* op,
               StreamOrDevice s) {
  if (n.size() != axes.size()) {
    throw std::invalid_argument(str("[", op, "] Shape and axes have different sizes."));
  }
  for (auto& ax : axes) ax = normalize_axis(ax, a.ndim(), op);
  {
    std::vector<int> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) throw std::invalid_argument(str("[", op, "] Duplicated axis received (", *dup, ")."));
  }
  for (auto v : n) {
    if (v <= 0) throw std::invalid_argument(str("[", op, "] Invalid FFT output size requested (", v, ")."));
  }
  if (axes.empty()) return a;

  Stream st = to_stream(s);
  array x = a;
  if (real && !inverse) {
    if (is_complex(x.dtype())) x = kiln::real(x, st);
    x = astype(x, float32, st);
  } else {
    x = astype(x, complex64, st);
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    bool half = real && inverse && i + 1 == axes.size();
    x = resize_axis(x, axes[i], half ? n[i] / 2 + 1 : n[i], st);
  }

  // The primitive wants its axes sorted, with the real axis (the last given) last.
  std::vector<int> prim_axes(axes.begin(), axes.end() - (real ? 1 : 0));
  std::sort(prim_axes.begin(), prim_axes.end());
  if (real) prim_axes.push_back(axes.back());
  double total = 1;
  for (auto v : n) total *= v;
  double scale = 1;
  if (norm == FFTNorm::Ortho) {
    scale = 1.0 / std::sqrt(total);
  } else if ((norm == FFTNorm::Backward) == inverse) {
    scale = 1.0 / total;
  }
  // The scale is applied by the kernel as it writes its output (no separate multiply pass);
  // rounded to float as the multiply by a float32 scalar did.
  auto p = std::make_shared<FFT>(st, prim_axes, inverse, real, real ? n.back() : 0,
                                 static_cast<double>(static_cast<float>(scale)));
  Shape out_shape = p->output_shapes({x})[0];
  Dtype out_dtype = real && inverse ? float32 : complex64;
  return array(out_shape, out_dtype, p, {x});
}

// The full lengths of `axes`, the last one from the half spectrum for inverse real transforms.
Shape default_sizes(const array& a, const std::vector<int>& axes, bool irfft, const char* op) {
  Shape n;
  for (size_t i = 0; i < axes.size(); ++i) {
    int ax = normalize_axis(axes[i], a.ndim(), op);
    n.push_back(irfft && i + 1 == axes.size() ? 2 * (a.shape(ax) - 1) : a.shape(ax));
  }
  return n;
}

array shift_impl(const array& a, std::vector<int> axes, bool inverse, const char* op, StreamOrDevice s) {
  array x = a;
  for (int ax : axes) {
    ax = normalize_axis(ax, a.ndim(), op);
    int len = x.shape(ax);
    if (len <= 1) continue;
    // Roll by len / 2 (fftshift) or -(len / 2) (ifftshift): the tail from `split` moves first.
    int split = inverse ? len / 2 : len - len / 2;
    Shape start(x.ndim(), 0), mid = x.shape(), stop = x.shape();
    mid[ax] = split;
    Shape start2 = start;
    start2[ax] = split;
    x = concatenate({slice(x, start2, stop, s), slice(x, start, mid, s)}, ax, s);
  }
  return x;
}

}  // namespace

#define KILN_FFT_1D(name, real, inverse)                                                      \
  array name(const array& a, int n, int axis, FFTNorm norm, StreamOrDevice s) {               \
    return fft_impl(a, {n}, {axis}, real, inverse, norm, #name, s);                          \
  }                                                                                           \
  array name(const array& a, int axis, FFTNorm norm, StreamOrDevice s) {                      \
    return fft_impl(a, default_sizes(a, {axis}, real && inverse, #name), {axis}, real, inverse, norm, #name, s); \
  }

#define KILN_FFT_ND(name, name2, real, inverse)                                                      \
  array name(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm, StreamOrDevice s) { \
    return fft_impl(a, n, axes, real, inverse, norm, #name, s);                                     \
  }                                                                                                  \
  array name(const array& a, const std::vector<int>& axes, FFTNorm norm, StreamOrDevice s) {         \
    return fft_impl(a, default_sizes(a, axes, real && inverse, #name), axes, real, inverse, norm, #name, s); \
  }                                                                                                  \
  array name(const array& a, StreamOrDevice s) { return name(a, all_axes(a), FFTNorm::Backward, s); } \
  array name2(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm, StreamOrDevice s) { \
    return fft_impl(a, n, axes, real, inverse, norm, #name2, s);                                    \
  }                                                                                                  \
  array name2(const array& a, const std::vector<int>& axes, FFTNorm norm, StreamOrDevice s) {        \
    return fft_impl(a, default_sizes(a, axes, real && inverse, #name2), axes, real, inverse, norm, #name2, s); \
  }

KILN_FFT_1D(fft, false, false)
KILN_FFT_1D(ifft, false, true)
KILN_FFT_1D(rfft, true, false)
KILN_FFT_1D(irfft, true, true)
KILN_FFT_ND(fftn, fft2, false, false)
KILN_FFT_ND(ifftn, ifft2, false, true)
KILN_FFT_ND(rfftn, rfft2, true, false)
KILN_FFT_ND(irfftn, irfft2, true, true)

#undef KILN_FFT_1D
#undef KILN_FFT_ND

namespace {

void check_freq_args(int n, double d, const char* op) {
  if (n <= 0) throw std::invalid_argument(str("[", op, "] `n` must be greater than 0."));
  if (d == 0) throw std::invalid_argument(str("[", op, "] `d` must be non-zero."));
}

}  // namespace

array fftfreq(int n, double d, StreamOrDevice s) {
  check_freq_args(n, d, "fftfreq");
  // k for k < ceil(n / 2), then k - n: the indices of the negative frequencies.
  int pos = (n + 1) / 2;
  array k = arange(0, n, s);
  array idx = where(less(k, array(pos), s), k, subtract(k, array(n), s), s);
  return multiply(astype(idx, float32, s), array(static_cast<float>(1.0 / (n * d))), s);
}

array rfftfreq(int n, double d, StreamOrDevice s) {
  check_freq_args(n, d, "rfftfreq");
  return multiply(astype(arange(0, n / 2 + 1, s), float32, s), array(static_cast<float>(1.0 / (n * d))), s);
}

array fftshift(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  return shift_impl(a, axes, false, "fftshift", s);
}
array fftshift(const array& a, StreamOrDevice s) { return shift_impl(a, all_axes(a), false, "fftshift", s); }
array ifftshift(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  return shift_impl(a, axes, true, "ifftshift", s);
}
array ifftshift(const array& a, StreamOrDevice s) { return shift_impl(a, all_axes(a), true, "ifftshift", s); }

}  // namespace kiln::fft

// ---------------------------------------------------------------- stft / istft

namespace kiln::fft {

namespace {

// The analysis/synthesis window: `window` or ones(win_length), centred and zero-padded to n_fft.
array frame_window(int n_fft, std::optional<int> win_length, const std::optional<array>& window, const char* op,
                   StreamOrDevice s) {
  if (n_fft <= 0) throw std::invalid_argument(str("[", op, "] n_fft must be positive."));
  if (window && window->ndim() != 1) {
    throw std::invalid_argument(str("[", op, "] window must be a one-dimensional array."));
  }
  int len = window ? window->shape(0) : win_length.value_or(n_fft);
  if (len > n_fft || (win_length && *win_length > n_fft)) {
    throw std::invalid_argument(str("[", op, "] window length must not exceed n_fft."));
  }
  array w = window ? astype(*window, float32, s) : ones({len}, float32, s);
  int left = (n_fft - len) / 2;
  return pad(w, {0}, {left}, {n_fft - len - left}, array(0.0f), "constant", s);
}

int hop_or_default(std::optional<int> hop, int n_fft, const char* op) {
  int h = hop.value_or(n_fft / 4);
  if (h <= 0) throw std::invalid_argument(str("[", op, "] hop_length must be positive."));
  return h;
}

// Sum of the frames (..., F, n), frame f shifted by f * hop: (..., (F - 1) * hop + n). Each
// frame is cut into r chunks of hop points; chunk c of every frame lands c blocks later.
array overlap_add(const array& frames, int hop, StreamOrDevice s) {
  int nd = frames.ndim(), F = frames.shape(-2), n = frames.shape(-1);
  int r = (n + hop - 1) / hop;
  array x = pad(frames, {nd - 1}, {0}, {r * hop - n}, array(0, frames.dtype()), "constant", s);
  Shape split = x.shape();
  split.back() = r;
  split.push_back(hop);
  x = reshape(x, split, s);  // (..., F, r, hop)
  std::optional<array> acc;
  for (int c = 0; c < r; ++c) {
    Shape start(nd + 1, 0), stop = x.shape();
    start[nd - 1] = c;
    stop[nd - 1] = c + 1;
    Shape chunk_shape = frames.shape();
    chunk_shape.back() = hop;
    array chunk = reshape(slice(x, start, stop, s), chunk_shape, s);  // (..., F, hop)
    chunk = pad(chunk, {nd - 2}, {c}, {r - 1 - c}, array(0, frames.dtype()), "constant", s);
    acc = acc ? add(*acc, chunk, s) : chunk;
  }
  Shape flat = frames.shape();
  flat.pop_back();
  flat.back() = (F + r - 1) * hop;
  array out = reshape(*acc, flat, s);
  Shape start(nd - 1, 0), stop = out.shape();
  stop.back() = (F - 1) * hop + n;
  return slice(out, start, stop, s);
}

// a[..., start:start + len] along the last axis, zero-padded where it runs past the end.
array take_span(const array& a, int start, int len, StreamOrDevice s) {
  int nd = a.ndim(), avail = std::clamp(a.shape(-1) - start, 0, len);
  Shape lo(nd, 0), hi = a.shape();
  lo.back() = start;
  hi.back() = start + avail;
  array out = slice(a, lo, hi, s);
  if (avail == len) return out;
  return pad(out, {nd - 1}, {0}, {len - avail}, array(0, a.dtype()), "constant", s);
}

}  // namespace

array stft(const array& x, int n_fft, std::optional<int> hop_length, std::optional<int> win_length,
           std::optional<array> window, bool center, const std::string& pad_mode, FFTNorm norm,
           std::optional<bool> onesided, StreamOrDevice s) {
  if (x.ndim() < 1) throw std::invalid_argument("[stft] Input must have at least one dimension.");
  array w = frame_window(n_fft, win_length, window, "stft", s);
  int hop = hop_or_default(hop_length, n_fft, "stft");
  bool one = onesided.value_or(!is_complex(x.dtype()));
  array y = is_complex(x.dtype()) ? x : astype(x, float32, s);
  int nd = y.ndim();
  if (center) y = pad(y, {nd - 1}, {n_fft / 2}, {n_fft / 2}, array(0, y.dtype()), pad_mode, s);
  int T = y.shape(-1);
  if (T < n_fft) throw std::invalid_argument("[stft] Input is too short for the given n_fft.");
  int frames = 1 + (T - n_fft) / hop;
  // Frames as a strided view of the row-major signal: (..., frames, n_fft).
  y = copy(y, s);
  Shape shape = y.shape();
  shape.back() = frames;
  shape.push_back(n_fft);
  Strides strides(nd + 1, 1);
  strides[nd - 1] = hop;
  for (int i = nd - 2; i >= 0; --i) strides[i] = (i == nd - 2 ? T : strides[i + 1] * y.shape(i + 1));
  array fr = multiply(as_strided(y, shape, strides, 0, s), w, s);
  array spec = one ? rfft(fr, n_fft, -1, norm, s) : fft(fr, n_fft, -1, norm, s);
  return swapaxes(spec, -1, -2, s);
}

array istft(const array& stft_matrix, std::optional<int> n_fft_opt, std::optional<int> hop_length,
            std::optional<int> win_length, std::optional<array> window, bool center, FFTNorm norm,
            std::optional<bool> onesided, std::optional<int> length, StreamOrDevice s) {
  if (stft_matrix.ndim() < 2) {
    throw std::invalid_argument("[istft] Input must have at least two dimensions (freq, frames).");
  }
  bool one = onesided.value_or(true);
  int n_freq = stft_matrix.shape(-2);
  int n_fft = n_fft_opt.value_or(one ? 2 * (n_freq - 1) : n_freq);
  array w = frame_window(n_fft, win_length, window, "istft", s);
  int hop = hop_or_default(hop_length, n_fft, "istft");
  array fr = swapaxes(stft_matrix, -1, -2, s);  // (..., frames, n_freq)
  fr = one ? irfft(fr, n_fft, -1, norm, s) : real(ifft(fr, n_fft, -1, norm, s), s);
  int frames = fr.shape(-2);
  array signal = overlap_add(multiply(fr, w, s), hop, s);
  array env = overlap_add(broadcast_to(square(w, s), {frames, n_fft}, s), hop, s);
  signal = where(greater(env, array(1e-11f), s), divide(signal, env, s), array(0.0f), s);
  int start = center ? n_fft / 2 : 0;
  int total = signal.shape(-1);
  int len = length ? std::max(*length, 0) : std::max(total - 2 * start, 0);
  return take_span(signal, start, len, s);
}

}  // namespace kiln::fft
