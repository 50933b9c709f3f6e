// vjp / jvp / vmap of Quantize, Dequantize, QuantizedMatmul and GatherQMM.
//
// A quantized product y = x @ W.T (or x @ W) with W = scale * q + bias per group is linear in
// x, in the scales and in the biases; the packed codes q are integers and have no derivative
// (MLX raises for them, and so does kiln). Quantize is piecewise constant: zero derivatives,
// which is what lets qqmm pass gradients straight through its on-the-fly quantization.
#include <stdexcept>

#include "kiln/quantized.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

namespace {

const char* mode_str(QuantizationMode m) { return quantization_mode_name(m); }

[[noreturn]] void no_weight_grad(const char* who) {
  throw std::runtime_error(std::string("[") + who + "] no gradient wrt the quantized weights.");
}

// float64 stays float64; other float types compute in float32.
Dtype wide(Dtype t) { return t == float64 ? float64 : float32; }

// The integer codes of w in dtype t: W = scale * q + bias (affine only; the float modes' uint8
// scales have no derivative).
array codes_of(const array& w, const array& scales, int group, int bits, Dtype t) {
  array one = ones(scales.shape(), t);
  return dequantize(w, one, zeros(scales.shape(), t), group, bits, "affine", std::nullopt, t);
}

// Per-group reduction of a (..., R, C) array to (..., R, C / group).
array group_sum(const array& a, int group) {
  Shape sh = a.shape();
  sh.back() /= group;
  sh.push_back(group);
  return sum(reshape(a, sh), -1);
}

// W's tangent from a tangent of the scales (which == 2) or biases (3).
array weight_tangent(const array& t, const array& w, const array& scales, int which, int group, int bits,
                     QuantizationMode mode) {
  (void)mode;
  Dtype d = wide(t.dtype());
  array rep = repeat(astype(t, d), group, -1);
  if (which == 3) return rep;
  return multiply(rep, codes_of(w, scales, group, bits, d));
}

// The cotangent of the scales or biases from W's cotangent dW (same shape as W).
array param_cotangent(const array& dW, const array& w, const array& scales, int which, int group, int bits,
                      QuantizationMode mode) {
  if (mode != QuantizationMode::Affine) return zeros_like(scales);
  array d = which == 3 ? dW : multiply(dW, codes_of(w, scales, group, bits, dW.dtype()));
  return astype(group_sum(d, group), scales.dtype());
}

}  // namespace

// ---- Quantize ----
Arrays Quantize::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  Arrays out;
  for (auto& s : output_shapes(primals)) out.push_back(zeros(s, float32));
  out[0] = zeros(out[0].shape(), uint32);
  if (out.size() > 1) {
    Dtype sd = mode_ == QuantizationMode::Affine ? primals[0].dtype() : uint8;
    for (size_t i = 1; i < out.size(); ++i) out[i] = zeros(out[i].shape(), sd);
  }
  return out;
}
Arrays Quantize::vjp(const Arrays& primals, const Arrays&, const std::vector<int>& argnums, const Arrays&) {
  Arrays out;
  for (int a : argnums) out.push_back(zeros_like(primals[a]));
  return out;
}
VmapResult Quantize::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  // Groups run along the last axis: a batch axis there moves to the front.
  const array& w = inputs[0];
  std::optional<array> gs;
  if (inputs.size() > 1) {
    if (axes[1] >= 0) throw std::invalid_argument("[quantize] vmap over the global scale is not supported.");
    gs = inputs[1];
  }
  if (axes[0] < 0) {
    Arrays out = quantize(w, group_size_, bits_, mode_str(mode_), gs, stream());
    return {out, std::vector<int>(out.size(), -1)};
  }
  array wb = axes[0] == w.ndim() - 1 ? batch_to_front(w, axes[0]) : w;
  int ax = axes[0] == w.ndim() - 1 ? 0 : axes[0];
  Arrays out = quantize(wb, group_size_, bits_, mode_str(mode_), gs, stream());
  return {out, std::vector<int>(out.size(), ax)};
}

// ---- Dequantize ----
Arrays Dequantize::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  std::optional<array> out;
  for (size_t k = 0; k < argnums.size(); ++k) {
    int a = argnums[k];
    if (a == 0) continue;
    if (mode_ != QuantizationMode::Affine) {
      if (a == 2) {  // nvfp4's global scale G: the output is linear in it
        array y = dequantize(primals[0], primals[1], std::nullopt, group_size_, bits_, mode_str(mode_), primals[2],
                             float32);
        array t = multiply(y, divide(astype(tangents[k], float32), primals[2]));
        out = out ? add(*out, t) : t;
      }
      continue;
    }
    array t = weight_tangent(tangents[k], primals[0], primals[1], a == 2 ? 3 : 2, group_size_, bits_, mode_);
    out = out ? add(*out, t) : t;
  }
  if (!out) return {zeros(output_shapes(primals)[0], dtype_)};
  return {astype(*out, dtype_)};
}
Arrays Dequantize::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                       const Arrays&) {
  Arrays out;
  for (int a : argnums) {
    // The packed codes are integers: no derivative (zeros, as for other integer inputs).
    if (a == 0) {
      out.push_back(zeros_like(primals[0]));
      continue;
    }
    if (mode_ != QuantizationMode::Affine && a == 2) {  // nvfp4's global scale G
      array y = dequantize(primals[0], primals[1], std::nullopt, group_size_, bits_, mode_str(mode_), primals[2],
                           float32);
      array g = divide(sum(multiply(astype(cotangents[0], float32), y)), primals[2]);
      out.push_back(astype(reshape(g, primals[2].shape()), primals[2].dtype()));
      continue;
    }
    out.push_back(param_cotangent(astype(cotangents[0], wide(cotangents[0].dtype())), primals[0], primals[1], a == 2 ? 3 : 2,
                                  group_size_, bits_, mode_));
  }
  return out;
}
VmapResult Dequantize::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  bool affine = mode_ == QuantizationMode::Affine;
  std::optional<array> b, gs;
  if (inputs.size() > 2 && !affine) {
    if (axes[2] >= 0) throw std::invalid_argument("[dequantize] vmap over the global scale is not supported.");
    gs = inputs[2];
  }
  Arrays in;
  for (size_t i = 0; i < (gs ? 2 : inputs.size()); ++i) in.push_back(with_batch(inputs[i], axes[i], B));
  if (affine) b = in[2];
  return {{dequantize(in[0], in[1], b, group_size_, bits_, mode_str(mode_), gs, dtype_, stream())}, {0}};
}

// ---- QuantizedMatmul ----
namespace {
std::optional<array> biases_of(const Arrays& in, size_t n_params) {
  if (n_params > 3) return in[3];
  return std::nullopt;
}
}  // namespace

Arrays QuantizedMatmul::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  const array &x = primals[0], &w = primals[1], &s = primals[2];
  auto b = biases_of(primals, primals.size());
  std::optional<array> out;
  for (size_t k = 0; k < argnums.size(); ++k) {
    int a = argnums[k];
    std::optional<array> term;
    if (a == 0) {
      term = quantized_matmul(astype(tangents[k], x.dtype()), w, s, b, transpose_, group_size_, bits_, mode_str(mode_),
                              stream());
    } else if (a == 1) {
      no_weight_grad("QuantizedMatmul::jvp");
    } else if (mode_ == QuantizationMode::Affine) {
      array Wt = weight_tangent(tangents[k], w, s, a, group_size_, bits_, mode_);
      term = matmul(astype(x, float32), transpose_ ? swapaxes(Wt, -1, -2) : Wt);
    }
    if (term) out = out ? add(*out, *term) : *term;
  }
  Shape sh = output_shapes(primals)[0];
  Dtype od = mode_ == QuantizationMode::Affine ? promote_types(promote_types(x.dtype(), s.dtype()), b->dtype()) : x.dtype();
  if (!out) return {zeros(sh, od)};
  return {astype(*out, od)};
}

Arrays QuantizedMatmul::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                            const Arrays&) {
  const array &x = primals[0], &w = primals[1], &s = primals[2];
  auto b = biases_of(primals, primals.size());
  const array& g = cotangents[0];
  Arrays out;
  for (int a : argnums) {
    if (a == 0) {
      out.push_back(astype(quantized_matmul(g, w, s, b, !transpose_, group_size_, bits_, mode_str(mode_), stream()),
                           x.dtype()));
    } else if (a == 1) {
      no_weight_grad("QuantizedMatmul::vjp");
    } else {
      array xf = astype(x, float32), gf = astype(g, float32);
      array dW = transpose_ ? matmul(swapaxes(gf, -1, -2), xf) : matmul(swapaxes(xf, -1, -2), gf);
      if (w.ndim() == 2 && dW.ndim() > 2) {
        std::vector<int> lead;
        for (int i = 0; i < dW.ndim() - 2; ++i) lead.push_back(i);
        dW = sum(dW, lead);
      }
      out.push_back(param_cotangent(dW, w, s, a, group_size_, bits_, mode_));
    }
  }
  return out;
}

VmapResult QuantizedMatmul::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  const array& x = inputs[0];
  bool params_batched = false;
  for (size_t i = 1; i < inputs.size(); ++i) params_batched = params_batched || axes[i] >= 0;
  if (!params_batched) {
    array xb = batch_to_front(x, axes[0]);
    return {{quantized_matmul(xb, inputs[1], inputs[2], biases_of(inputs, inputs.size()), transpose_, group_size_,
                              bits_, mode_str(mode_), stream())},
            {0}};
  }
  int xbn = x.ndim() - 2 - (axes[0] >= 0 ? 1 : 0);  // x's own batch dims
  int wbn = inputs[1].ndim() - 2 - (axes[1] >= 0 ? 1 : 0);
  Arrays p;
  for (size_t i = 1; i < inputs.size(); ++i) {
    array a = with_batch(inputs[i], axes[i], B);
    if (wbn == 0 && xbn > 0) {
      Shape sh = a.shape();
      sh.insert(sh.begin() + 1, xbn, 1);
      a = reshape(a, sh);
    }
    p.push_back(a);
  }
  array xb = axes[0] >= 0 ? batch_to_front(x, axes[0]) : expand_dims(x, 0);
  std::optional<array> bb;
  if (p.size() > 2) bb = p[2];
  return {{quantized_matmul(xb, p[0], p[1], bb, transpose_, group_size_, bits_, mode_str(mode_), stream())}, {0}};
}

// ---- GatherQMM ----
Arrays GatherQMM::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  size_t n = primals.size();
  const array &x = primals[0], &w = primals[1], &s = primals[2], &lhs = primals[n - 2], &rhs = primals[n - 1];
  std::optional<array> b;
  if (n > 5) b = primals[3];
  std::optional<array> out;
  for (size_t k = 0; k < argnums.size(); ++k) {
    int a = argnums[k];
    std::optional<array> term;
    if (a == 0) {
      term = gather_qmm(astype(tangents[k], x.dtype()), w, s, b, lhs, rhs, transpose_, group_size_, bits_,
                        mode_str(mode_), std::nullopt, false, stream());
    } else if (a == 1) {
      no_weight_grad("GatherQMM::jvp");
    } else if (a < static_cast<int>(n) - 2 && mode_ == QuantizationMode::Affine) {
      array Wt = weight_tangent(tangents[k], w, s, a, group_size_, bits_, mode_);
      term = gather_mm(astype(x, float32), transpose_ ? swapaxes(Wt, -1, -2) : Wt, lhs, rhs);
    }
    if (term) out = out ? add(*out, *term) : *term;
  }
  Dtype od = mode_ == QuantizationMode::Affine ? promote_types(promote_types(x.dtype(), s.dtype()), b->dtype()) : x.dtype();
  if (!out) return {zeros(output_shapes(primals)[0], od)};
  return {astype(*out, od)};
}

Arrays GatherQMM::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                      const Arrays&) {
  size_t n = primals.size();
  const array &x = primals[0], &w = primals[1], &s = primals[2], &lhs = primals[n - 2], &rhs = primals[n - 1];
  std::optional<array> b;
  if (n > 5) b = primals[3];
  const array& g = cotangents[0];  // (I..., M, N)
  Arrays out;
  for (int a : argnums) {
    if (a == 0) {
      Shape ish(g.shape().begin(), g.shape().end() - 2);
      array own = reshape(arange(0.0, static_cast<double>(shape_size(ish)), uint32), ish);
      array per = gather_qmm(g, w, s, b, own, rhs, !transpose_, group_size_, bits_, mode_str(mode_), std::nullopt,
                             false, stream());
      out.push_back(astype(scatter_back(x, lhs, astype(per, x.dtype())), x.dtype()));
    } else if (a == 1) {
      no_weight_grad("GatherQMM::vjp");
    } else if (a >= static_cast<int>(n) - 2) {
      out.push_back(zeros_like(primals[a]));
    } else {
      array xg = astype(gathered(x, lhs), float32), gf = astype(g, float32);
      array per = transpose_ ? matmul(swapaxes(gf, -1, -2), xg) : matmul(swapaxes(xg, -1, -2), gf);
      Shape wsh = w.shape();
      wsh.back() = per.shape(-1);
      array dW = scatter_back(zeros(wsh, float32), rhs, per);
      out.push_back(param_cotangent(dW, w, s, a, group_size_, bits_, mode_));
    }
  }
  return out;
}

// Batched operands fold their batch axis into their matrix lists (indices offset by batch
// element * matrices per element), so one GatherQMM serves the whole batch.
VmapResult GatherQMM::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  size_t n = inputs.size();
  int B = batch_size(inputs, axes);
  auto fold = [&](const array& idx_in, int idx_ax, int64_t per, bool batched) {
    array idx = with_batch(idx_in, idx_ax, B);
    if (!batched) return idx;
    array pos = read_positions(idx, per);
    Shape off_shape(idx.ndim(), 1);
    off_shape[0] = B;
    array offset = reshape(multiply(arange(0.0, static_cast<double>(B), int64), array(per, int64)), off_shape);
    return add(pos, offset);
  };
  // x
  const array& x = inputs[0];
  array xm = x;
  int64_t xper = 1;
  if (axes[0] >= 0) {
    array xb = batch_to_front(x, axes[0]);
    xper = shape_size(Shape(xb.shape().begin() + 1, xb.shape().end() - 2));
    xm = reshape(xb, {-1, xb.shape(-2), xb.shape(-1)});
  }
  array lhs = fold(inputs[n - 2], axes[n - 2], xper, axes[0] >= 0);
  // w, scales, biases move together
  bool pb = false;
  for (size_t i = 1; i < n - 2; ++i) pb = pb || axes[i] >= 0;
  Arrays params;
  int64_t wper = 1;
  for (size_t i = 1; i < n - 2; ++i) {
    if (!pb) {
      params.push_back(inputs[i]);
      continue;
    }
    array a = with_batch(inputs[i], axes[i], B);
    wper = shape_size(Shape(a.shape().begin() + 1, a.shape().end() - 2));
    params.push_back(reshape(a, {-1, a.shape(-2), a.shape(-1)}));
  }
  array rhs = fold(inputs[n - 1], axes[n - 1], wper, pb);
  Shape ish = broadcast_shapes(lhs.shape(), rhs.shape());
  std::optional<array> bb;
  if (params.size() > 2) bb = params[2];
  return {{gather_qmm(xm, params[0], params[1], bb, broadcast_to(lhs, ish), broadcast_to(rhs, ish), transpose_,
                      group_size_, bits_, mode_str(mode_), std::nullopt, false, stream())},
          {0}};
}

}  // namespace kiln
