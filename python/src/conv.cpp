// Bindings of the convolution ops: conv1d/2d/3d, conv_transpose1d/2d/3d, conv_general and
// convolve. Per-dimension arguments take an int (used for every dim) or a tuple.
#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_conv(nb::module_& m);

namespace {

// An int repeated n times, or a sequence of exactly n ints (TypeError otherwise, as MLX's
// signature check gives).
std::vector<int> dims(const IntOrVec& v, size_t n, const char* op, const char* what) {
  if (auto* i = std::get_if<int>(&v)) return std::vector<int>(n, *i);
  const auto& vec = std::get<std::vector<int>>(v);
  if (vec.size() != n) {
    std::string msg = std::string("[") + op + "] " + what + " must be an int or a tuple of " + std::to_string(n) +
                      " ints, got " + std::to_string(vec.size()) + " values.";
    throw nb::type_error(msg.c_str());
  }
  return vec;
}

std::pair<int, int> pair2(const IntOrVec& v, const char* op, const char* what) {
  auto d = dims(v, 2, op, what);
  return {d[0], d[1]};
}

// An int or a sequence (one value per spatial dim, or one for all).
std::vector<int> seq(const IntOrVec& v) {
  if (auto* i = std::get_if<int>(&v)) return {*i};
  return std::get<std::vector<int>>(v);
}

using Padding = std::variant<int, std::vector<int>, std::pair<std::vector<int>, std::vector<int>>>;

#define KILN_CONV_ARGS                                                                               \
  "\n\nArgs:\n    input (array): Input of shape ``(N, ..., C_in)``.\n    weight (array): Weight of " \
  "shape ``(C_out, ..., C_in / groups)``.\n"

}  // namespace

void init_conv(nb::module_& m) {
  m.def(
      "conv1d",
      [](const array& input, const array& weight, int stride, int padding, int dilation, int groups, StreamOrDevice s) {
        return kiln::conv1d(input, weight, stride, padding, dilation, groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1, nb::kw_only(),
      "stream"_a = nb::none(),
      "1-D convolution (cross-correlation) over ``(N, L, C_in)`` inputs." KILN_CONV_ARGS
      "    stride (int): Kernel stride.\n    padding (int): Zero padding on both sides.\n    dilation (int): "
      "Kernel dilation.\n    groups (int): Input feature groups.\n\nReturns:\n    array: ``(N, L_out, C_out)``.");
  m.def(
      "conv2d",
      [](const array& input, const array& weight, const IntOrVec& stride, const IntOrVec& padding,
         const IntOrVec& dilation, int groups, StreamOrDevice s) {
        const char* op = "conv2d";
        return kiln::conv2d(input, weight, pair2(stride, op, "stride"), pair2(padding, op, "padding"),
                            pair2(dilation, op, "dilation"), groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1, nb::kw_only(),
      "stream"_a = nb::none(),
      "2-D convolution over ``(N, H, W, C_in)`` inputs." KILN_CONV_ARGS
      "    stride (int or tuple(int, int)): Kernel stride.\n    padding (int or tuple(int, int)): Zero padding "
      "on both sides.\n    dilation (int or tuple(int, int)): Kernel dilation.\n    groups (int): Input "
      "feature groups.\n\nReturns:\n    array: ``(N, H_out, W_out, C_out)``.");
  m.def(
      "conv3d",
      [](const array& input, const array& weight, const IntOrVec& stride, const IntOrVec& padding,
         const IntOrVec& dilation, int groups, StreamOrDevice s) {
        const char* op = "conv3d";
        return kiln::conv3d(input, weight, dims(stride, 3, op, "stride"), dims(padding, 3, op, "padding"),
                            dims(dilation, 3, op, "dilation"), groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1, nb::kw_only(),
      "stream"_a = nb::none(),
      "3-D convolution over ``(N, D, H, W, C_in)`` inputs." KILN_CONV_ARGS
      "    stride (int or tuple(int, int, int)): Kernel stride.\n    padding (int or tuple(int, int, int)): "
      "Zero padding on both sides.\n    dilation (int or tuple(int, int, int)): Kernel dilation.\n    groups "
      "(int): Input feature groups.\n\nReturns:\n    array: ``(N, D_out, H_out, W_out, C_out)``.");
  m.def(
      "conv_transpose1d",
      [](const array& input, const array& weight, int stride, int padding, int dilation, int output_padding, int groups,
         StreamOrDevice s) {
        return kiln::conv_transpose1d(input, weight, stride, padding, dilation, output_padding, groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "output_padding"_a = 0, "groups"_a = 1,
      nb::kw_only(), "stream"_a = nb::none(),
      "1-D transposed convolution (the adjoint of :func:`conv1d`)." KILN_CONV_ARGS
      "    stride (int): Stride.\n    padding (int): Padding removed from both sides of the output.\n    "
      "dilation (int): Kernel dilation.\n    output_padding (int): Extra size added to one side of the "
      "output.\n    groups (int): Input feature groups.\n\nReturns:\n    array: The transposed convolution.");
  m.def(
      "conv_transpose2d",
      [](const array& input, const array& weight, const IntOrVec& stride, const IntOrVec& padding,
         const IntOrVec& dilation, const IntOrVec& output_padding, int groups, StreamOrDevice s) {
        const char* op = "conv_transpose2d";
        return kiln::conv_transpose2d(input, weight, pair2(stride, op, "stride"), pair2(padding, op, "padding"),
                                      pair2(dilation, op, "dilation"), pair2(output_padding, op, "output_padding"),
                                      groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "output_padding"_a = 0, "groups"_a = 1,
      nb::kw_only(), "stream"_a = nb::none(),
      "2-D transposed convolution (the adjoint of :func:`conv2d`)." KILN_CONV_ARGS
      "    stride (int or tuple(int, int)): Stride.\n    padding (int or tuple(int, int)): Padding removed "
      "from both sides of the output.\n    dilation (int or tuple(int, int)): Kernel dilation.\n    "
      "output_padding (int or tuple(int, int)): Extra size added to one side of the output.\n    groups "
      "(int): Input feature groups.\n\nReturns:\n    array: The transposed convolution.");
  m.def(
      "conv_transpose3d",
      [](const array& input, const array& weight, const IntOrVec& stride, const IntOrVec& padding,
         const IntOrVec& dilation, const IntOrVec& output_padding, int groups, StreamOrDevice s) {
        const char* op = "conv_transpose3d";
        return kiln::conv_transpose3d(input, weight, dims(stride, 3, op, "stride"), dims(padding, 3, op, "padding"),
                                      dims(dilation, 3, op, "dilation"), dims(output_padding, 3, op, "output_padding"),
                                      groups, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "output_padding"_a = 0, "groups"_a = 1,
      nb::kw_only(), "stream"_a = nb::none(),
      "3-D transposed convolution (the adjoint of :func:`conv3d`)." KILN_CONV_ARGS
      "    stride (int or tuple(int, int, int)): Stride.\n    padding (int or tuple(int, int, int)): Padding "
      "removed from both sides of the output.\n    dilation (int or tuple(int, int, int)): Kernel "
      "dilation.\n    output_padding (int or tuple(int, int, int)): Extra size added to one side of the "
      "output.\n    groups (int): Input feature groups.\n\nReturns:\n    array: The transposed convolution.");
  m.def(
      "conv_general",
      [](const array& input, const array& weight, const IntOrVec& stride, const Padding& padding,
         const IntOrVec& kernel_dilation, const IntOrVec& input_dilation, int groups, bool flip, StreamOrDevice s) {
        std::vector<int> lo, hi;
        if (auto* i = std::get_if<int>(&padding)) {
          lo = hi = {*i};
        } else if (auto* v = std::get_if<std::vector<int>>(&padding)) {
          lo = hi = *v;
        } else {
          auto& p = std::get<std::pair<std::vector<int>, std::vector<int>>>(padding);
          lo = p.first;
          hi = p.second;
        }
        return kiln::conv_general(input, weight, seq(stride), lo, hi, seq(kernel_dilation), seq(input_dilation), groups,
                                  flip, s);
      },
      "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "kernel_dilation"_a = 1, "input_dilation"_a = 1,
      "groups"_a = 1, "flip"_a = false, nb::kw_only(), "stream"_a = nb::none(),
      "General convolution over 1-3 spatial dimensions." KILN_CONV_ARGS
      "    stride (int or list(int)): Kernel stride.\n    padding (int, list(int) or tuple(list(int), "
      "list(int))): Zero padding; a pair of lists gives low and high padding separately.\n    "
      "kernel_dilation (int or list(int)): Kernel dilation.\n    input_dilation (int or list(int)): Input "
      "dilation (zeros inserted between input elements).\n    groups (int): Input feature groups.\n    flip "
      "(bool): Flip the kernel (convolution instead of cross-correlation).\n\nReturns:\n    array: The "
      "convolution.");
  m.def(
      "convolve",
      [](const array& a, const array& v, const std::string& mode, StreamOrDevice s) {
        return kiln::convolve(a, v, mode, s);
      },
      "a"_a, "v"_a, "mode"_a = "full", nb::kw_only(), "stream"_a = nb::none(),
      "Discrete convolution of 1-D arrays, as :func:`numpy.convolve`.\n\nArgs:\n    a (array): 1-D input.\n"
      "    v (array): 1-D input.\n    mode (str): ``'full'``, ``'same'`` or ``'valid'``.\n\nReturns:\n"
      "    array: The convolution.");
}
