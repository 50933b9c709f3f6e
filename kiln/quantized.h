// Quantized arrays: the quantize/dequantize ops, matrix products with quantized weights
// (quantized_matmul, gather_qmm) and with both operands quantized (qqmm, gather_qqmm), and the
// primitives behind them. Kept out of ops.h/primitives.h so that this family builds on its own.
//
// A quantized matrix packs each row's elements, `bits` at a time, into uint32 words from the
// least significant bit up (a row is one little-endian bit stream), with one scale (and, in
// affine mode, one bias) per `group_size` consecutive elements of the row:
//   affine  w = scale * q + bias          bits 1,2,3,4,5,6,8; group 32,64,128; scales in w's dtype
//   mxfp4   w = e2m1(q) * 2^(scale-127)   bits 4; group 32; scales uint8 (e8m0)
//   mxfp8   w = e4m3(q) * 2^(scale-127)   bits 8; group 32; scales uint8 (e8m0)
//   nvfp4   w = e2m1(q) * e4m3(scale)     bits 4; group 16; scales uint8 (e4m3)
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kiln/ops.h"
#include "kiln/primitives.h"

namespace kiln {

enum class QuantizationMode : int { Affine = 0, Mxfp4 = 1, Mxfp8 = 2, Nvfp4 = 3 };

/** The mode named `mode` ("affine", "mxfp4", "mxfp8", "nvfp4"); throws naming `op` otherwise. */
KILN_API QuantizationMode quantization_mode(const std::string& mode, const char* op = "quantize");
/** The name of a mode, as the Python API spells it. */
KILN_API const char* quantization_mode_name(QuantizationMode mode);

/** Quantizes the rows of `w` (ndim >= 2) in groups: returns (w_q, scales) and, in affine mode,
 *  biases as a third array. group_size/bits default per mode (affine: 64, 4). */
KILN_API std::vector<array> quantize(const array& w, std::optional<int> group_size = std::nullopt,
                                     std::optional<int> bits = std::nullopt, const std::string& mode = "affine",
                                     std::optional<array> global_scale = std::nullopt, StreamOrDevice s = {});

/** The float matrix `w` quantized with `scales` (and `biases` in affine mode) stands for; the
 *  dtype defaults to the scales' (affine) or bfloat16 (float modes). */
KILN_API array dequantize(const array& w, const array& scales, std::optional<array> biases = std::nullopt,
                          std::optional<int> group_size = std::nullopt, std::optional<int> bits = std::nullopt,
                          const std::string& mode = "affine", std::optional<array> global_scale = std::nullopt,
                          std::optional<Dtype> dtype = std::nullopt, StreamOrDevice s = {});

/** x @ dequantize(w).T (transpose) or x @ dequantize(w), without expanding w in memory. */
KILN_API array quantized_matmul(const array& x, const array& w, const array& scales,
                                std::optional<array> biases = std::nullopt, bool transpose = true,
                                std::optional<int> group_size = std::nullopt, std::optional<int> bits = std::nullopt,
                                const std::string& mode = "affine", StreamOrDevice s = {});

/** quantized_matmul of the matrices of x and w picked by lhs_indices/rhs_indices (as gather_mm). */
KILN_API array gather_qmm(const array& x, const array& w, const array& scales, std::optional<array> biases = std::nullopt,
                          std::optional<array> lhs_indices = std::nullopt,
                          std::optional<array> rhs_indices = std::nullopt, bool transpose = true,
                          std::optional<int> group_size = std::nullopt, std::optional<int> bits = std::nullopt,
                          const std::string& mode = "affine", std::optional<array> global_scale = std::nullopt,
                          bool sorted_indices = false, StreamOrDevice s = {});

/** quantize(x) @ w.T with w quantized too (on the fly when given as floats); float modes only. */
KILN_API array qqmm(const array& x, const array& w, std::optional<array> scales = std::nullopt,
                    std::optional<int> group_size = std::nullopt, std::optional<int> bits = std::nullopt,
                    const std::string& mode = "nvfp4", std::optional<array> global_scale_x = std::nullopt,
                    std::optional<array> global_scale_w = std::nullopt, StreamOrDevice s = {});

/** qqmm of the matrices picked by lhs_indices/rhs_indices (as gather_mm). */
KILN_API array gather_qqmm(const array& x, const array& w, std::optional<array> scales = std::nullopt,
                           std::optional<array> lhs_indices = std::nullopt,
                           std::optional<array> rhs_indices = std::nullopt, std::optional<int> group_size = std::nullopt,
                           std::optional<int> bits = std::nullopt, const std::string& mode = "nvfp4",
                           std::optional<array> global_scale_x = std::nullopt,
                           std::optional<array> global_scale_w = std::nullopt, bool sorted_indices = false,
                           StreamOrDevice s = {});

// ---- primitives ----

/** The quantization format every quantized primitive carries. */
struct QuantizationParams {
  int group_size_, bits_;
  QuantizationMode mode_;
};

/** Quantizes the rows of its input; outputs w_q (uint32), scales and, in affine mode, biases. */
class KILN_API Quantize : public Primitive, protected QuantizationParams {
 public:
  Quantize(Stream stream, int group_size, int bits, QuantizationMode mode)
      : Primitive(stream), QuantizationParams{group_size, bits, mode} {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Quantize)
  KILN_PRIMITIVE_STATE(Quantize, group_size_, bits_, mode_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

};
KILN_REGISTER_PRIMITIVE(Quantize)

/** Inputs w_q, scales[, biases]: the float matrix they encode, in `dtype`. */
class KILN_API Dequantize : public UnaryPrimitive, protected QuantizationParams {
 public:
  Dequantize(Stream stream, int group_size, int bits, QuantizationMode mode, Dtype dtype)
      : UnaryPrimitive(stream), QuantizationParams{group_size, bits, mode}, dtype_(dtype) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Dequantize)
  KILN_PRIMITIVE_STATE(Dequantize, group_size_, bits_, mode_, dtype_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  Dtype dtype_;
};
KILN_REGISTER_PRIMITIVE(Dequantize)

/** Inputs x (..., M, K), w, scales[, biases] with batch dims equal to x's or none:
 *  x @ dequantize(w).T (transpose) or x @ dequantize(w). */
class KILN_API QuantizedMatmul : public UnaryPrimitive, protected QuantizationParams {
 public:
  QuantizedMatmul(Stream stream, int group_size, int bits, QuantizationMode mode, bool transpose)
      : UnaryPrimitive(stream), QuantizationParams{group_size, bits, mode}, transpose_(transpose) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(QuantizedMatmul)
  KILN_PRIMITIVE_STATE(QuantizedMatmul, group_size_, bits_, mode_, transpose_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool transpose_;
};
KILN_REGISTER_PRIMITIVE(QuantizedMatmul)

/** Inputs x, w, scales[, biases], lhs_indices, rhs_indices (broadcast to one shape I):
 *  out[i] = x[lhs[i]] @ dequantize(w[rhs[i]]).T (or without .T), shape I + (M, N). */
class KILN_API GatherQMM : public UnaryPrimitive, protected QuantizationParams {
 public:
  GatherQMM(Stream stream, int group_size, int bits, QuantizationMode mode, bool transpose)
      : UnaryPrimitive(stream), QuantizationParams{group_size, bits, mode}, transpose_(transpose) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(GatherQMM)
  KILN_PRIMITIVE_STATE(GatherQMM, group_size_, bits_, mode_, transpose_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool transpose_;
};
KILN_REGISTER_PRIMITIVE(GatherQMM)

}  // namespace kiln
