// The quantization ops: argument checks (worded as MLX words them), defaults per mode, and the
// graph: Quantize/Dequantize/QuantizedMatmul/GatherQMM nodes; qqmm and gather_qqmm compose them.
#include <algorithm>
#include <memory>

#include "kiln/quantized.h"
// after the headers that declare operator<< for shapes and dtypes
#include "kiln/ops_utils.h"

namespace kiln {

namespace {

using detail::str;

struct QSpec {
  int group_size;
  int bits;
  QuantizationMode mode;
};

bool is_half_or_float(Dtype t) { return t == float32 || t == float16 || t == bfloat16; }

QSpec quant_spec(const char* op, std::optional<int> group_size, std::optional<int> bits, const std::string& mode_name) {
  QuantizationMode mode = quantization_mode(mode_name, op);
  QSpec q{0, 0, mode};
  if (mode == QuantizationMode::Affine) {
    q.group_size = group_size.value_or(64);
    q.bits = bits.value_or(4);
    if (q.group_size != 32 && q.group_size != 64 && q.group_size != 128) {
      throw std::invalid_argument(str("[", op, "] The requested group size ", q.group_size,
                                      " is not supported. The supported group sizes are 32, 64, and 128."));
    }
    if (q.bits < 1 || q.bits > 8 || q.bits == 7) {
      throw std::invalid_argument(str("[", op, "] The requested number of bits ", q.bits,
                                      " is not supported. The supported bits are 1, 2, 3, 4, 5, 6 and 8."));
    }
    return q;
  }
  int want_group = mode == QuantizationMode::Nvfp4 ? 16 : 32;
  int want_bits = mode == QuantizationMode::Mxfp8 ? 8 : 4;
  q.group_size = group_size.value_or(want_group);
  q.bits = bits.value_or(want_bits);
  if (q.group_size != want_group) {
    throw std::invalid_argument(str("[", op, "] ", mode_name, " quantization requires group size ", want_group,
                                    " but got ", q.group_size, "."));
  }
  if (q.bits != want_bits) {
    throw std::invalid_argument(str("[", op, "] ", mode_name, " quantization requires bits to be ", want_bits,
                                    " but got ", q.bits, "."));
  }
  return q;
}

void no_global_scale(const char* op, const std::optional<array>& gs, const QSpec& q) {
  if (!gs) return;
  if (q.mode != QuantizationMode::Nvfp4) {
    throw std::invalid_argument(str("[", op, "] Global scale is only supported for 'nvfp4' quantization mode."));
  }
  throw std::invalid_argument(str("[", op, "] A global scale is only supported by quantize, dequantize and qqmm."));
}

// The nvfp4 global scale as a float32 scalar (checked like no_global_scale for other modes).
std::optional<array> global_scale_input(const char* op, const std::optional<array>& gs, const QSpec& q, Stream st) {
  if (!gs) return std::nullopt;
  if (q.mode != QuantizationMode::Nvfp4) {
    throw std::invalid_argument(str("[", op, "] Global scale is only supported for 'nvfp4' quantization mode."));
  }
  if (gs->size() != 1 || !is_floating_point(gs->dtype())) {
    throw std::invalid_argument(str("[", op, "] The global scale must be a single floating point value but has shape ",
                                    gs->shape(), " and type ", gs->dtype(), "."));
  }
  return astype(reshape(*gs, {}, st), float32, st);
}

// Checks the scales (and biases) against the packed matrix w and the mode.
void check_params(const char* op, const array& w, const array& scales, const std::optional<array>& biases,
                  const QSpec& q) {
  if (w.dtype() != uint32) {
    throw std::invalid_argument(str("[", op, "] The weight matrix should be uint32 but received ", w.dtype()));
  }
  if (q.mode == QuantizationMode::Affine) {
    if (!biases) throw std::invalid_argument(str("[", op, "] Biases must be provided for affine quantization."));
    if (biases->shape() != scales.shape()) {
      throw std::invalid_argument(str("[", op, "] Scales and biases should have the same shape. Received scales with shape ",
                                      scales.shape(), " and biases with ", biases->shape()));
    }
    if (!is_floating_point(scales.dtype()) || !is_floating_point(biases->dtype())) {
      throw std::invalid_argument(str("[", op, "] Scales and biases must be floating point but received ",
                                      scales.dtype(), " and ", biases->dtype(), "."));
    }
  } else {
    if (biases) {
      throw std::invalid_argument(str("[", op, "] Biases must be null for quantization mode '",
                                      quantization_mode_name(q.mode), "'."));
    }
    if (scales.dtype() != uint8) {
      throw std::invalid_argument(str("[", op, "] Scale type must be uint8 but received type ", scales.dtype(), "."));
    }
  }
}

// The expected scales shape for a packed matrix of shape `w`.
bool scales_match(const array& w, const array& scales, const QSpec& q) {
  if (scales.ndim() != w.ndim()) return false;
  for (int i = 0; i < w.ndim() - 1; ++i) {
    if (scales.shape(i) != w.shape(i)) return false;
  }
  int64_t bitsum = static_cast<int64_t>(w.shape(-1)) * 32;
  if (bitsum % q.bits != 0 || (bitsum / q.bits) % q.group_size != 0) return false;
  return scales.shape(-1) == bitsum / q.bits / q.group_size;
}


Shape batch_of(const array& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

// Validated operands of a quantized product; returns the result dtype and sets K, N.
Dtype check_qmm(const char* op, const array& x, const array& w, const array& scales, const std::optional<array>& biases,
                bool transpose, const QSpec& q, int& K, int& N) {
  if (x.ndim() == 0) throw std::invalid_argument(str("[", op, "] The input x must have at least one dimension."));
  if (w.ndim() < 2) {
    throw std::invalid_argument(str("[", op, "] The quantized matrix must have at least 2 dimensions but w has shape ",
                                    w.shape(), "."));
  }
  check_params(op, w, scales, biases, q);
  if (batch_of(w) != Shape(scales.shape().begin(), scales.shape().end() - std::min<int>(2, scales.ndim()))) {
    Shape wb = batch_of(w);
    Shape sb(scales.shape().begin(), scales.shape().end() - std::min<int>(2, scales.ndim()));
    throw std::invalid_argument(str("[", op, "] Weight and scales should have the same batch shape. Received weight with shape ",
                                    wb, ", scales with ", sb, "."));
  }
  if (!scales_match(w, scales, q)) {
    throw std::invalid_argument(str("[", op, "] The shapes of the weight and scales are incompatible based on bits and group_size. w.shape() == ",
                                    w.shape(), " and scales.shape() == ", scales.shape(), " with group_size=", q.group_size,
                                    " and bits=", q.bits));
  }
  int wide = static_cast<int>(static_cast<int64_t>(w.shape(-1)) * 32 / q.bits);
  K = transpose ? wide : w.shape(-2);
  N = transpose ? w.shape(-2) : wide;
  if (x.shape(-1) != K) {
    throw std::invalid_argument(str("[", op, "] Last dimension of first input with shape (..., ", x.shape(-1),
                                    ") does not match the expanded quantized matrix (", K, ", ", N,
                                    ") computed from shape ", w.shape(), " with group_size=", q.group_size,
                                    ", bits=", q.bits, " and transpose=", transpose ? "true" : "false"));
  }
  Dtype t = x.dtype();
  if (q.mode == QuantizationMode::Affine) {
    t = promote_types(promote_types(t, scales.dtype()), biases->dtype());
  }
  if (!is_half_or_float(t) && t != float64) {
    throw std::invalid_argument(str("[", op, "] Only real floating point results are supported but x has type ",
                                    x.dtype(), " and the result would have type ", t, "."));
  }
  return t;
}

std::vector<array> qparams(const array& w, const array& scales, const std::optional<array>& biases) {
  std::vector<array> v{w, scales};
  if (biases) v.push_back(*biases);
  return v;
}

}  // namespace

QuantizationMode quantization_mode(const std::string& mode, const char* op) {
  if (mode == "affine") return QuantizationMode::Affine;
  if (mode == "mxfp4") return QuantizationMode::Mxfp4;
  if (mode == "mxfp8") return QuantizationMode::Mxfp8;
  if (mode == "nvfp4") return QuantizationMode::Nvfp4;
  throw std::invalid_argument(str("[", op, "] Invalid quantization mode '", mode, "'."));
}

const char* quantization_mode_name(QuantizationMode mode) {
  switch (mode) {
    case QuantizationMode::Affine: return "affine";
    case QuantizationMode::Mxfp4: return "mxfp4";
    case QuantizationMode::Mxfp8: return "mxfp8";
    case QuantizationMode::Nvfp4: return "nvfp4";
  }
  return "?";
}

std::vector<array> quantize(const array& w, std::optional<int> group_size, std::optional<int> bits,
                            const std::string& mode, std::optional<array> global_scale, StreamOrDevice s) {
  QSpec q = quant_spec("quantize", group_size, bits, mode);
  Stream st = to_stream(s);
  std::optional<array> gs = global_scale_input("quantize", global_scale, q, st);
  if (!is_floating_point(w.dtype())) {
    throw std::invalid_argument(str("[quantize] Only real floating types can be quantized but w has type ", w.dtype(), "."));
  }
  if (w.ndim() < 2) {
    throw std::invalid_argument(str("[quantize] The matrix to be quantized must have at least 2 dimension but it has only ",
                                    w.ndim(), "."));
  }
  if (w.shape(-1) % q.group_size != 0) {
    throw std::invalid_argument(str("[quantize] The last dimension of the matrix needs to be divisible by the quantization group size ",
                                    q.group_size, ". However the provided  matrix has shape ", w.shape()));
  }
  if ((static_cast<int64_t>(w.shape(-1)) * q.bits) % 32 != 0) {
    throw std::invalid_argument(str("[quantize] The last dimension ", w.shape(-1), " times bits=", q.bits,
                                    " must fill whole 32-bit words."));
  }
  auto prim = std::make_shared<Quantize>(st, q.group_size, q.bits, q.mode);
  std::vector<array> in{w};
  if (gs) in.push_back(*gs);
  std::vector<Shape> shapes = prim->output_shapes(in);
  Dtype sd = q.mode == QuantizationMode::Affine ? w.dtype() : uint8;
  std::vector<Dtype> dtypes{uint32, sd};
  if (q.mode == QuantizationMode::Affine) dtypes.push_back(sd);
  return array::make_arrays(shapes, dtypes, prim, in);
}

array dequantize(const array& w, const array& scales, std::optional<array> biases, std::optional<int> group_size,
                 std::optional<int> bits, const std::string& mode, std::optional<array> global_scale,
                 std::optional<Dtype> dtype, StreamOrDevice s) {
  QSpec q = quant_spec("dequantize", group_size, bits, mode);
  std::optional<array> gs = global_scale_input("dequantize", global_scale, q, to_stream(s));
  if (w.ndim() < 2) {
    throw std::invalid_argument(str("[dequantize] The matrix to be dequantized must have at least 2 dimension but it has only ",
                                    w.ndim(), "."));
  }
  check_params("dequantize", w, scales, biases, q);
  if (!scales_match(w, scales, q)) {
    throw std::invalid_argument(str("[dequantize] Shape of scales and biases does not match the matrix given the quantization parameters. Provided matrix of shape ",
                                    w.shape(), " and scales/biases of shape ", scales.shape(), " with group_size=",
                                    q.group_size, " and bits=", q.bits, "."));
  }
  // With a (float32) global scale MLX returns float32 by default.
  Dtype t = q.mode == QuantizationMode::Affine ? promote_types(scales.dtype(), biases->dtype())
            : gs                               ? float32
                                               : bfloat16;
  if (dtype) t = *dtype;
  if (!is_floating_point(t) || t == complex64) {
    throw std::invalid_argument(str("[dequantize] Only real floating types are supported but output dtype == ", t, "."));
  }
  Shape out = w.shape();
  out.back() = static_cast<int>(static_cast<int64_t>(w.shape(-1)) * 32 / q.bits);
  std::vector<array> in = qparams(w, scales, biases);
  if (gs) in.push_back(*gs);  // nvfp4 only, so it never follows biases
  return array(out, t, std::make_shared<Dequantize>(to_stream(s), q.group_size, q.bits, q.mode, t), in);
}

array quantized_matmul(const array& x_in, const array& w_in, const array& scales_in, std::optional<array> biases_in,
                       bool transpose, std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
                       StreamOrDevice s) {
  const char* op = "quantized_matmul";
  QSpec q = quant_spec(op, group_size, bits, mode);
  int K = 0, N = 0;
  Dtype t = check_qmm(op, x_in, w_in, scales_in, biases_in, transpose, q, K, N);
  Stream st = to_stream(s);
  if (t == float64) {
    // float64 (which MLX rejects) runs as a product with the dequantized matrix.
    array wd = dequantize(w_in, scales_in, biases_in, q.group_size, q.bits, mode, std::nullopt, float64, st);
    return matmul(astype(x_in, float64, st), transpose ? swapaxes(wd, -1, -2, st) : wd, st);
  }
  array x = x_in.ndim() == 1 ? reshape(x_in, {1, K}, st) : x_in;
  array w = w_in, sc = scales_in;
  std::optional<array> bi = biases_in;
  Shape out_shape;
  if (w.ndim() > 2) {
    // Batched weights: x and w take the broadcast batch shape (views, no copies).
    Shape xb = batch_of(x), wb = batch_of(w);
    Shape b = broadcast_shapes(xb, wb);
    auto with_batch = [&](const array& a) {
      Shape sh = b;
      sh.push_back(a.shape(-2));
      sh.push_back(a.shape(-1));
      return broadcast_to(a, sh, st);
    };
    x = with_batch(x);
    w = with_batch(w);
    sc = with_batch(sc);
    if (bi) bi = with_batch(*bi);
  }
  out_shape = x.shape();
  out_shape.back() = N;
  array out(out_shape, t, std::make_shared<QuantizedMatmul>(st, q.group_size, q.bits, q.mode, transpose),
            [&] {
              std::vector<array> v{x};
              for (auto& a : qparams(w, sc, bi)) v.push_back(a);
              return v;
            }());
  return x_in.ndim() == 1 ? squeeze(out, -2, st) : out;
}

array gather_qmm(const array& x_in, const array& w, const array& scales, std::optional<array> biases,
                 std::optional<array> lhs_indices, std::optional<array> rhs_indices, bool transpose,
                 std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
                 std::optional<array> global_scale, bool sorted_indices, StreamOrDevice s) {
  (void)sorted_indices;  // the CPU groups products by weight matrix whatever the order
  const char* op = "gather_qmm";
  QSpec q = quant_spec(op, group_size, bits, mode);
  no_global_scale(op, global_scale, q);
  int K = 0, N = 0;
  Dtype t = check_qmm(op, x_in, w, scales, biases, transpose, q, K, N);
  Stream st = to_stream(s);
  if (t == float64) {
    array wd = dequantize(w, scales, biases, q.group_size, q.bits, mode, std::nullopt, float64, st);
    return gather_mm(astype(x_in, float64, st), transpose ? swapaxes(wd, -1, -2, st) : wd, lhs_indices, rhs_indices,
                     sorted_indices, st);
  }
  array x = x_in.ndim() == 1 ? reshape(x_in, {1, K}, st) : x_in;
  auto indices = [&](const std::optional<array>& idx, const array& a) {
    if (!idx) return reshape(arange(0.0, static_cast<double>(shape_size(batch_of(a))), uint32, st), batch_of(a), st);
    if (!is_integral(idx->dtype())) {
      throw std::invalid_argument(str("[", op, "] Got indices with invalid dtype. Indices must be integral."));
    }
    if (shape_size(batch_of(a)) == 0 && idx->size() > 0) {
      throw std::invalid_argument(str("[", op, "] Cannot gather matrices from an operand with an empty batch."));
    }
    return *idx;
  };
  array lhs = indices(lhs_indices, x), rhs = indices(rhs_indices, w);
  Shape ishape = broadcast_shapes(lhs.shape(), rhs.shape());
  lhs = broadcast_to(lhs, ishape, st);
  rhs = broadcast_to(rhs, ishape, st);
  Shape out_shape = ishape;
  out_shape.push_back(x.shape(-2));
  out_shape.push_back(N);
  std::vector<array> in{x};
  for (auto& a : qparams(w, scales, biases)) in.push_back(a);
  in.push_back(lhs);
  in.push_back(rhs);
  array out(out_shape, t, std::make_shared<GatherQMM>(st, q.group_size, q.bits, q.mode, transpose), in);
  return x_in.ndim() == 1 ? squeeze(out, -2, st) : out;
}

namespace {

// x replaced by what its quantization encodes; the gradient passes straight through.
array fake_quantize(const array& x, const QSpec& q, const std::string& mode, Stream st,
                    std::optional<array> gs = std::nullopt) {
  if (x.ndim() == 0 || x.shape(-1) % q.group_size != 0) {
    throw std::invalid_argument(str("[qqmm] The last dimension of x (", x.ndim() ? x.shape(-1) : 0,
                                    ") must be divisible by the group size ", q.group_size, "."));
  }
  array x2 = x.ndim() == 1 ? reshape(x, {1, x.shape(0)}, st) : x;
  auto qx = quantize(x2, q.group_size, q.bits, mode, gs, st);
  array dq = dequantize(qx[0], qx[1], std::nullopt, q.group_size, q.bits, mode, gs, x.dtype(), st);
  if (x.ndim() == 1) dq = reshape(dq, x.shape(), st);
  return add(x, stop_gradient(subtract(dq, x, st), st), st);
}

// The float weights qqmm multiplies by: w itself quantized on the fly, or w_q dequantized.
array qq_weights(const char* op, const array& w, const std::optional<array>& scales, const QSpec& q,
                 const std::string& mode, Dtype t, Stream st, const std::optional<array>& gw) {
  if (w.dtype() == uint32) {
    if (!scales) throw std::invalid_argument(str("[", op, "] Scales must be provided if second argument is quantized."));
    if (w.ndim() < 2) throw std::invalid_argument(str("[", op, "] The quantized matrix must have at least 2 dimensions."));
    check_params(op, w, *scales, std::nullopt, q);
    if (!scales_match(w, *scales, q)) {
      throw std::invalid_argument(str("[", op, "] The shapes of the weight and scales are incompatible based on bits and group_size. w.shape() == ",
                                      w.shape(), " and scales.shape() == ", scales->shape(), " with group_size=",
                                      q.group_size, " and bits=", q.bits));
    }
    return dequantize(w, *scales, std::nullopt, q.group_size, q.bits, mode, gw, t, st);
  }
  if (!is_half_or_float(w.dtype())) {
    throw std::invalid_argument(str("[", op, "] Non-quantized inputs must be float32, float16 or bfloat16 but w has type ",
                                    w.dtype(), "."));
  }
  if (w.ndim() < 2) throw std::invalid_argument(str("[", op, "] The weight matrix must have at least 2 dimensions."));
  return astype(fake_quantize(w, q, mode, st, gw), t, st);
}

QSpec qq_spec(const char* op, std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
              const std::optional<array>& gx, const std::optional<array>& gw) {
  QSpec q = quant_spec(op, group_size, bits, mode);
  if (q.mode == QuantizationMode::Affine) {
    throw std::invalid_argument(str("[", op, "] Only the 'nvfp4', 'mxfp8' and 'mxfp4' modes are supported but got 'affine'."));
  }
  if ((gx || gw) && q.mode != QuantizationMode::Nvfp4) no_global_scale(op, gx ? gx : gw, q);
  return q;
}

void check_qq_x(const char* op, const array& x, const array& wf) {
  if (!is_half_or_float(x.dtype())) {
    throw std::invalid_argument(str("[", op, "] Only float32, float16 and bfloat16 inputs are supported but x has type ",
                                    x.dtype(), "."));
  }
  if (x.ndim() == 0 || x.shape(-1) != wf.shape(-1)) {
    throw std::invalid_argument(str("[", op, "] Last dimension of first input with shape ", x.shape(),
                                    " must match last dimension of second input with shape ", wf.shape(), "."));
  }
}

}  // namespace

array qqmm(const array& x, const array& w, std::optional<array> scales, std::optional<int> group_size,
           std::optional<int> bits, const std::string& mode, std::optional<array> global_scale_x,
           std::optional<array> global_scale_w, StreamOrDevice s) {
  QSpec q = qq_spec("qqmm", group_size, bits, mode, global_scale_x, global_scale_w);
  Stream st = to_stream(s);
  if (!is_half_or_float(x.dtype())) check_qq_x("qqmm", x, x);
  array wf = qq_weights("qqmm", w, scales, q, mode, x.dtype(), st, global_scale_w);
  check_qq_x("qqmm", x, wf);
  return matmul(fake_quantize(x, q, mode, st, global_scale_x), swapaxes(wf, -1, -2, st), st);
}

array gather_qqmm(const array& x, const array& w, std::optional<array> scales, std::optional<array> lhs_indices,
                  std::optional<array> rhs_indices, std::optional<int> group_size, std::optional<int> bits,
                  const std::string& mode, std::optional<array> global_scale_x, std::optional<array> global_scale_w,
                  bool sorted_indices, StreamOrDevice s) {
  QSpec q = qq_spec("gather_qqmm", group_size, bits, mode, global_scale_x, global_scale_w);
  Stream st = to_stream(s);
  if (!is_half_or_float(x.dtype())) check_qq_x("gather_qqmm", x, x);
  array wf = qq_weights("gather_qqmm", w, scales, q, mode, x.dtype(), st, global_scale_w);
  check_qq_x("gather_qqmm", x, wf);
  return gather_mm(fake_quantize(x, q, mode, st, global_scale_x), swapaxes(wf, -1, -2, st), lhs_indices, rhs_indices,
                   sorted_indices, st);
}

}  // namespace kiln
