// Bindings of kiln/quantized.h: quantize, dequantize, quantized_matmul, gather_qmm, qqmm,
// gather_qqmm, with MLX's names, keywords and defaults.
#include "kiln/quantized.h"

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_quantized(nb::module_& m);

namespace {

// MLX returns quantize's arrays as a list.
nb::list to_list(const std::vector<array>& v) {
  nb::list l;
  for (const auto& a : v) l.append(nb::cast(a));
  return l;
}

#define KILN_QMODES \
  "Modes (group sizes, bits, scale type): ``affine`` (32, 64*, 128; 1, 2, 3, 4*, 5, 6, 8; the input's dtype, " \
  "with biases), ``mxfp4`` (32; 4; e8m0), ``mxfp8`` (32; 8; e8m0), ``nvfp4`` (16; 4; e4m3); * marks defaults."

}  // namespace

void init_quantized(nb::module_& m) {
  m.def(
      "quantize",
      [](const array& w, std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
         std::optional<array> global_scale, StreamOrDevice s) {
        return to_list(kiln::quantize(w, group_size, bits, mode, global_scale, s));
      },
      "w"_a, "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "affine", nb::kw_only(),
      "global_scale"_a = nb::none(), "stream"_a = nb::none(),
      "Quantize the array ``w``.\n\nEvery ``group_size`` elements in a row of ``w`` are quantized "
                   "together, so the last dimension must be divisible by ``group_size``; ``w`` needs two or more "
                   "dimensions. Elements are packed into uint32 words from the lowest bits up.\n\n"
       KILN_QMODES
       "\n\nArgs:\n    w (array): Array to be quantized.\n    group_size (int, optional): Elements sharing a scale.\n"
       "    bits (int, optional): Bits per element.\n    mode (str, optional): The quantization mode. Default: "
       "``\"affine\"``.\n    global_scale (array, optional): nvfp4 per-tensor float32 scale G (block scales are relative to G / 2688).\n\nReturns:\n"
       "    list: ``[w_q, scales, biases]`` in affine mode, else ``[w_q, scales]``.");
  m.def(
      "dequantize",
      [](const array& w, const array& scales, std::optional<array> biases, std::optional<int> group_size,
         std::optional<int> bits, const std::string& mode, std::optional<array> global_scale,
         std::optional<Dtype> dtype, StreamOrDevice s) {
        return kiln::dequantize(w, scales, biases, group_size, bits, mode, global_scale, dtype, s);
      },
      "w"_a, "scales"_a, "biases"_a = nb::none(), "group_size"_a = nb::none(), "bits"_a = nb::none(),
      "mode"_a = "affine", "global_scale"_a = nb::none(), "dtype"_a = nb::none(), nb::kw_only(),
      "stream"_a = nb::none(),
      "Dequantize the matrix ``w`` using quantization parameters.\n\nAffine: ``w = scale * q + bias``; "
                   "float modes: ``w = value(q) * scale``.\n\n"
       KILN_QMODES
       "\n\nArgs:\n    w (array): Packed matrix.\n    scales (array): Scales per group.\n    biases (array, "
       "optional): Biases per group (affine).\n    group_size (int, optional)\n    bits (int, optional)\n"
       "    mode (str, optional): Default: ``\"affine\"``.\n    global_scale (array, optional): The nvfp4 global scale used by quantize.\n"
       "    dtype (Dtype, optional): Output dtype; from the scales and biases, else bfloat16.\n\nReturns:\n"
       "    array: The dequantized matrix.");
  m.def(
      "quantized_matmul",
      [](const array& x, const array& w, const array& scales, std::optional<array> biases, bool transpose,
         std::optional<int> group_size, std::optional<int> bits, const std::string& mode, StreamOrDevice s) {
        return kiln::quantized_matmul(x, w, scales, biases, transpose, group_size, bits, mode, s);
      },
      "x"_a, "w"_a, "scales"_a, "biases"_a = nb::none(), "transpose"_a = true, "group_size"_a = nb::none(),
      "bits"_a = nb::none(), "mode"_a = "affine", nb::kw_only(), "stream"_a = nb::none(),
      "Perform the matrix multiplication with the quantized matrix ``w``: ``x @ w.T`` (``transpose=True``) or "
      "``x @ w``, without expanding ``w``.\n\nArgs:\n    x (array): Input array.\n    w (array): Packed matrix.\n"
      "    scales (array): Scales per group.\n    biases (array, optional): Biases per group (affine).\n"
      "    transpose (bool, optional): Default: ``True``.\n    group_size (int, optional)\n    bits (int, optional)\n"
      "    mode (str, optional): Default: ``\"affine\"``.\n\nReturns:\n    array: The product.");
  m.def(
      "gather_qmm",
      [](const array& x, const array& w, const array& scales, std::optional<array> biases,
         std::optional<array> lhs_indices, std::optional<array> rhs_indices, bool transpose,
         std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
         std::optional<array> global_scale, bool sorted_indices, StreamOrDevice s) {
        return kiln::gather_qmm(x, w, scales, biases, lhs_indices, rhs_indices, transpose, group_size, bits, mode,
                                global_scale, sorted_indices, s);
      },
      "x"_a, "w"_a, "scales"_a, "biases"_a = nb::none(), "lhs_indices"_a = nb::none(), "rhs_indices"_a = nb::none(),
      "transpose"_a = true, "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "affine",
      "global_scale"_a = nb::none(), nb::kw_only(), "sorted_indices"_a = false, "stream"_a = nb::none(),
      "Perform quantized matrix multiplication with matrix-level gather (the quantized ``gather_mm``).\n\n"
      "``lhs_indices`` and ``rhs_indices`` are flat indices into the batch dimensions of ``x`` and ``w`` "
      "(``scales`` and ``biases`` share ``w``'s batch dimensions).\n\nArgs:\n    x (array): Input array.\n"
      "    w (array): Packed matrices.\n    scales (array)\n    biases (array, optional)\n"
      "    lhs_indices (array, optional)\n    rhs_indices (array, optional)\n    transpose (bool, optional): "
      "Default: ``True``.\n    group_size (int, optional)\n    bits (int, optional)\n    mode (str, optional)\n"
      "    global_scale (array, optional): Not supported on the CPU (as MLX).\n    sorted_indices (bool, optional): A hint.\n\n"
      "Returns:\n    array: The gathered products.");
  m.def(
      "qqmm",
      [](const array& x, const array& w, std::optional<array> scales, std::optional<int> group_size,
         std::optional<int> bits, const std::string& mode, std::optional<array> gx, std::optional<array> gw,
         StreamOrDevice s) { return kiln::qqmm(x, w, scales, group_size, bits, mode, gx, gw, s); },
      "x"_a, "w"_a, "scales"_a = nb::none(), "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "nvfp4",
      "global_scale_x"_a = nb::none(), "global_scale_w"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Matrix multiplication ``quantize(x) @ w.T`` with ``x`` quantized on the fly and ``w`` used as given "
      "when already quantized (uint32 with ``scales``), else quantized on the fly too. Gradients pass straight "
      "through the quantization of float operands.\n\nArgs:\n    x (array): Input array.\n    w (array): Weight "
      "matrix, quantized or not.\n    scales (array, optional): Scales of a quantized ``w``.\n    group_size (int, "
      "optional)\n    bits (int, optional)\n    mode (str, optional): ``nvfp4`` (default), ``mxfp8`` or ``mxfp4``.\n"
      "    global_scale_x (array, optional): nvfp4 global scale of x.\n    global_scale_w (array, optional): "
      "nvfp4 global scale of w.\n\nReturns:\n    array: The product.");
  m.def(
      "gather_qqmm",
      [](const array& x, const array& w, std::optional<array> scales, std::optional<array> lhs,
         std::optional<array> rhs, std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
         std::optional<array> gx, std::optional<array> gw, bool sorted, StreamOrDevice s) {
        return kiln::gather_qqmm(x, w, scales, lhs, rhs, group_size, bits, mode, gx, gw, sorted, s);
      },
      "x"_a, "w"_a, "scales"_a = nb::none(), "lhs_indices"_a = nb::none(), "rhs_indices"_a = nb::none(),
      "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "nvfp4", "global_scale_x"_a = nb::none(),
      "global_scale_w"_a = nb::none(), nb::kw_only(), "sorted_indices"_a = false, "stream"_a = nb::none(),
      "Fused :func:`qqmm` with matrix-level gather (as :func:`gather_mm`).\n\nArgs:\n    x (array): Input array.\n"
      "    w (array): Weight matrices, quantized or not.\n    scales (array, optional)\n    lhs_indices (array, "
      "optional)\n    rhs_indices (array, optional)\n    group_size (int, optional)\n    bits (int, optional)\n"
      "    mode (str, optional): Default: ``\"nvfp4\"``.\n    global_scale_x (array, optional)\n    global_scale_w "
      "(array, optional)\n    sorted_indices (bool, optional): A hint.\n\nReturns:\n    array: The products.");
}
