// vjp / jvp / vmap of Convolution and FFT.
//
// Convolution (channels-last, see primitives.h) is bilinear: jvp = conv(tx, w) + conv(x, tw).
// Its vjp w.r.t. the input is a transposed convolution of the cotangent (dilated by the stride,
// correlated with the kernel with in/out channels swapped per group and the flip toggled) onto the
// dilated input, which is then subsampled by the input dilation; w.r.t. the weight it is a
// convolution of the (dilated, padded) input with the cotangent as kernel (kernel dilation =
// stride, stride = kernel dilation), batch and channels swapped and groups folded into channels.
//
// FFT (times its real `scale`) is linear: jvp = the same FFT of the tangent; vjp = the adjoint transform
// (conjugate-linear convention J^H c, as MLX): complex -> the opposite-sign FFT; rfft -> zero-pad
// the half spectrum and take the real part of the inverse complex FFT; irfft -> rfft of the
// cotangent with the non-self-conjugate bins doubled.
#include <algorithm>
#include <numeric>
#include <optional>

#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

namespace {

std::vector<int> iota_from(int start, int count) {
  std::vector<int> v(count);
  std::iota(v.begin(), v.end(), start);
  return v;
}

}  // namespace

// ---- Convolution ----
Arrays Convolution::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  auto conv = [&](const array& x, const array& w) {
    return conv_general(x, w, stride_, padding_lo_, padding_hi_, kernel_dilation_, input_dilation_, groups_, flip_);
  };
  std::optional<array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array term = argnums[i] == 0 ? conv(tangents[i], primals[1]) : conv(primals[0], tangents[i]);
    out = out ? add(*out, term) : term;
  }
  return {*out};
}

Arrays Convolution::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                        const Arrays&) {
  const array& x = primals[0];
  const array& w = primals[1];
  const array& c = cotangents[0];
  int nd = x.ndim() - 2;
  int g = groups_;
  int cin = x.shape(-1), cout = w.shape(0), cin_g = cin / g, cout_g = cout / g;
  // Per spatial dim: dilated input length, kernel span, leftover of the last stride step.
  std::vector<int> din(nd), rem(nd);
  for (int d = 0; d < nd; ++d) {
    din[d] = (x.shape(d + 1) - 1) * input_dilation_[d] + 1;
    int span = (w.shape(d + 1) - 1) * kernel_dilation_[d] + 1;
    int padded = din[d] + padding_lo_[d] + padding_hi_[d];
    rem[d] = (padded - span) % stride_[d];
  }
  Arrays grads;
  for (int arg : argnums) {
    if (arg == 0) {
      // Weight (C_out, K..., C_in/g) -> (C_in, K..., C_out/g), per group.
      Shape gsh{g, cout_g};
      for (int d = 0; d < nd; ++d) gsh.push_back(w.shape(d + 1));
      gsh.push_back(cin_g);
      std::vector<int> perm{0, nd + 2};
      for (int d = 0; d < nd; ++d) perm.push_back(d + 2);
      perm.push_back(1);
      Shape wsh{cin};
      for (int d = 0; d < nd; ++d) wsh.push_back(w.shape(d + 1));
      wsh.push_back(cout_g);
      array wt = reshape(transpose(reshape(w, gsh), perm), wsh);
      std::vector<int> lo(nd), hi(nd), ones(nd, 1);
      for (int d = 0; d < nd; ++d) {
        int span1 = (w.shape(d + 1) - 1) * kernel_dilation_[d];
        int lc = (c.shape(d + 1) - 1) * stride_[d] + 1;
        lo[d] = span1 - padding_lo_[d];
        hi[d] = din[d] - lc + padding_lo_[d];
      }
      array gxd = conv_general(c, wt, ones, lo, hi, kernel_dilation_, stride_, g, !flip_);
      bool dilated = false;
      for (int d = 0; d < nd; ++d) dilated |= input_dilation_[d] > 1;
      if (dilated) {
        Shape start(x.ndim(), 0), stop = gxd.shape(), steps(x.ndim(), 1);
        for (int d = 0; d < nd; ++d) steps[d + 1] = input_dilation_[d];
        gxd = slice(gxd, start, stop, steps);
      }
      grads.push_back(gxd);
    } else {
      // Input (N, S..., C_in) -> (C_in/g, S..., g*N): batch C_in/g, channels (group, n).
      int n = x.shape(0);
      Shape xs{n};
      for (int d = 0; d < nd; ++d) xs.push_back(x.shape(d + 1));
      xs.push_back(g);
      xs.push_back(cin_g);
      std::vector<int> perm{nd + 2};
      for (int d = 0; d < nd; ++d) perm.push_back(d + 1);
      perm.push_back(nd + 1);
      perm.push_back(0);
      Shape xsh{cin_g};
      for (int d = 0; d < nd; ++d) xsh.push_back(x.shape(d + 1));
      xsh.push_back(g * n);
      array xt = reshape(transpose(reshape(x, xs), perm), xsh);
      // Cotangent (N, O..., C_out) -> (C_out, O..., N).
      std::vector<int> cperm{nd + 1};
      for (int d = 0; d < nd; ++d) cperm.push_back(d + 1);
      cperm.push_back(0);
      array ct = transpose(c, cperm);
      std::vector<int> hi(nd);
      for (int d = 0; d < nd; ++d) hi[d] = padding_hi_[d] - rem[d];
      array r = conv_general(xt, ct, kernel_dilation_, padding_lo_, hi, stride_, input_dilation_, g, false);
      // r (C_in/g, K..., C_out) -> (C_out, K..., C_in/g).
      std::vector<int> rperm{nd + 1};
      for (int d = 0; d < nd; ++d) rperm.push_back(d + 1);
      rperm.push_back(0);
      r = transpose(r, rperm);
      if (flip_) r = flip(r, iota_from(1, nd));
      grads.push_back(r);
    }
  }
  return grads;
}

VmapResult Convolution::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int nd = inputs[0].ndim() - (axes[0] >= 0 ? 3 : 2);
  int b = batch_size(inputs, axes);
  auto conv = [&](const array& x, const array& w, int groups) {
    return conv_general(x, w, stride_, padding_lo_, padding_hi_, kernel_dilation_, input_dilation_, groups, flip_);
  };
  if (axes[1] < 0) {
    // Fold the batch into the conv's batch dim.
    array x = batch_to_front(inputs[0], axes[0]);
    Shape sh = x.shape();
    Shape folded(sh.begin() + 1, sh.end());
    folded[0] *= b;
    array out = conv(reshape(x, folded), inputs[1], groups_);
    Shape osh = out.shape();
    osh[0] /= b;
    osh.insert(osh.begin(), b);
    return {{reshape(out, osh)}, {0}};
  }
  // Weights batched: fold the batch into the groups (input channels (b, C_in), output (b, C_out)).
  array x = with_batch(inputs[0], axes[0], b);  // (B, N, S..., C_in)
  array w = batch_to_front(inputs[1], axes[1]);  // (B, C_out, K..., C_in/g)
  std::vector<int> perm{1};
  for (int d = 0; d < nd; ++d) perm.push_back(d + 2);
  perm.push_back(0);
  perm.push_back(nd + 2);
  array xt = transpose(x, perm);  // (N, S..., B, C_in)
  Shape xsh(xt.shape().begin(), xt.shape().end() - 2);
  xsh.push_back(b * x.shape(-1));
  Shape wsh(w.shape().begin() + 1, w.shape().end());
  wsh[0] *= b;
  array out = conv(reshape(xt, xsh), reshape(w, wsh), groups_ * b);  // (N, O..., B*C_out)
  Shape osh(out.shape().begin(), out.shape().end() - 1);
  osh.push_back(b);
  osh.push_back(w.shape(1));
  return {{moveaxis(reshape(out, osh), -2, 0)}, {0}};
}

// ---- FFT ----
namespace {

array fft_node(const array& x, std::vector<int> axes, bool inverse, bool real, int n_last, double scale,
               Stream st) {
  auto p = std::make_shared<FFT>(st, std::move(axes), inverse, real, n_last, scale);
  Shape sh = p->output_shapes({x})[0];
  Dtype dt = real && inverse ? float32 : complex64;
  return array(sh, dt, p, {x});
}

}  // namespace

Arrays FFT::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  array t = tangents[0];
  Dtype in_dt = real_ && !inverse_ ? float32 : complex64;
  if (t.dtype() != in_dt) t = astype(t, in_dt);
  return {fft_node(t, axes_, inverse_, real_, n_last_, scale_, stream())};
}

Arrays FFT::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  const array& x = primals[0];
  array c = cotangents[0];
  int last = axes_.back();
  if (!real_) {
    return {fft_node(astype(c, complex64), axes_, !inverse_, false, 0, scale_, stream())};
  }
  if (!inverse_) {
    // rfft: x real (n along `last`), c the half spectrum.
    int n = x.shape(last);
    c = astype(c, complex64);
    int half = c.shape(last);
    if (n > half) {
      Shape pad = c.shape();
      pad[last] = n - half;
      c = concatenate({c, zeros(pad, complex64)}, last);
    }
    std::vector<int> sorted_axes = axes_;
    std::sort(sorted_axes.begin(), sorted_axes.end());
    return {real(fft_node(c, sorted_axes, true, false, 0, scale_, stream()))};
  }
  // irfft: x the half spectrum (n_last / 2 + 1 along `last`), c real (n_last points).
  int m = x.shape(last);
  array spec = fft_node(astype(c, float32), axes_, false, true, 0, scale_, stream());
  array k = arange(0.0, static_cast<double>(m), int32);
  array ones_mask = logical_or(equal(k, array(0, int32)),
                               equal(k, array(n_last_ % 2 == 0 ? n_last_ / 2 : -1, int32)));
  array weight = where(ones_mask, array(1.0f, float32), array(2.0f, float32));
  Shape wsh(x.ndim(), 1);
  wsh[last] = m;
  return {multiply(spec, reshape(weight, wsh))};
}

VmapResult FFT::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{fft_node(x, shifted(axes_), inverse_, real_, n_last_, scale_, stream())}, {0}};
}

}  // namespace kiln
