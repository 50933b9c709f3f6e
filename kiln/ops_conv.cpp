// Convolutions: conv_general builds the Convolution primitive; conv1d/2d/3d, the transposed
// convolutions and convolve are thin wrappers over it.
#include <sstream>
#include <string>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::str;

// A per-dimension parameter: empty means `fill` in every dim, one value is repeated.
std::vector<int> per_dim(std::vector<int> v, int nd, int fill, const char* what, const char* op) {
  if (v.empty()) return std::vector<int>(nd, fill);
  if (v.size() == 1 && nd > 1) return std::vector<int>(nd, v[0]);
  if (static_cast<int>(v.size()) != nd) {
    throw std::invalid_argument(
        str("[", op, "] Expected ", nd, " ", what, " values for ", nd, " spatial dimensions but got ", v, "."));
  }
  return v;
}

// Output size along one spatial dim, or a negative value if the window does not fit.
int64_t out_size(int64_t in, int64_t k, int s, int lo, int hi, int kd, int id) {
  int64_t din = in > 0 ? (in - 1) * id + 1 : 0;
  int64_t span = (k - 1) * kd + 1;
  int64_t padded = din + lo + hi;
  if (padded < span) return -1;
  return (padded - span) / s + 1;
}

array conv_impl(const char* op, const array& input, const array& weight, std::vector<int> stride,
                std::vector<int> padding_lo, std::vector<int> padding_hi, std::vector<int> kernel_dilation,
                std::vector<int> input_dilation, int groups, bool flip, StreamOrDevice s) {
  if (input.ndim() < 3 || input.ndim() > 5) {
    throw std::invalid_argument(str("[", op, "] Only 1-3 spatial dimensions are supported: the input must be ",
                                    "(N, ..., C_in) with 3 to 5 dimensions, got shape ", input.shape(), "."));
  }
  if (weight.ndim() != input.ndim()) {
    throw std::invalid_argument(str("[", op, "] The weight must have as many dimensions as the input (", input.ndim(),
                                    "), got weight shape ", weight.shape(), "."));
  }
  int nd = input.ndim() - 2;
  Dtype t = promote_types(input.dtype(), weight.dtype());
  if (!is_floating_point(t)) {
    throw std::invalid_argument(str("[", op, "] Convolution supports only floating point types, got input ",
                                    input.dtype(), " and weight ", weight.dtype(), "."));
  }
  if (groups < 1) {
    throw std::invalid_argument(str("[", op, "] groups must be positive, got ", groups, "."));
  }
  int64_t cin = input.shape(-1), cout = weight.shape(0);
  if (cin % groups != 0) {
    throw std::invalid_argument(str("[", op, "] The input channels must be divisible by the number of groups. Got ",
                                    "input with shape ", input.shape(), " and ", groups, " groups."));
  }
  if (cout % groups != 0) {
    throw std::invalid_argument(str("[", op, "] The output channels must be divisible by the number of groups. Got ",
                                    cout, " output channels and ", groups, " groups."));
  }
  if (weight.shape(-1) * groups != cin) {
    throw std::invalid_argument(str("[", op, "] Expected the input channels (", cin, ") to equal the weight's last ",
                                    "dimension times groups, got input shape ", input.shape(), ", weight shape ",
                                    weight.shape(), " and ", groups, " groups."));
  }
  stride = per_dim(std::move(stride), nd, 1, "stride", op);
  padding_lo = per_dim(std::move(padding_lo), nd, 0, "padding", op);
  padding_hi = per_dim(std::move(padding_hi), nd, 0, "padding", op);
  kernel_dilation = per_dim(std::move(kernel_dilation), nd, 1, "kernel dilation", op);
  input_dilation = per_dim(std::move(input_dilation), nd, 1, "input dilation", op);
  for (int d = 0; d < nd; ++d) {
    if (stride[d] < 1) throw std::invalid_argument(str("[", op, "] Strides must be positive, got ", stride, "."));
    if (kernel_dilation[d] < 1 || input_dilation[d] < 1) {
      throw std::invalid_argument(str("[", op, "] Dilations must be positive, got kernel dilation ", kernel_dilation,
                                      " and input dilation ", input_dilation, "."));
    }
  }
  Shape out_shape{input.shape(0)};
  for (int d = 0; d < nd; ++d) {
    int64_t o = out_size(input.shape(d + 1), weight.shape(d + 1), stride[d], padding_lo[d], padding_hi[d],
                         kernel_dilation[d], input_dilation[d]);
    if (o < 0) {
      throw std::invalid_argument(str("[", op, "] The (dilated, padded) input is smaller than the (dilated) kernel ",
                                      "along spatial axis ", d, ": input shape ", input.shape(), ", padding ",
                                      padding_lo, " / ", padding_hi, ", weight shape ", weight.shape(), "."));
    }
    out_shape.push_back(static_cast<ShapeElem>(o));
  }
  out_shape.push_back(cout);
  Stream st = to_stream(s);
  return array(
      out_shape, t,
      std::make_shared<Convolution>(st, stride, padding_lo, padding_hi, kernel_dilation, input_dilation, groups, flip),
      {astype(input, t, st), astype(weight, t, st)});
}

void check_ndim(const char* op, const array& input, int want) {
  if (input.ndim() != want) {
    throw std::invalid_argument(
        str("[", op, "] Expected a ", want, "-D input (N, ..., C_in), got shape ", input.shape(), "."));
  }
}

void check_len(const char* op, const std::vector<int>& v, const char* what) {
  if (v.size() != 3) throw std::invalid_argument(str("[", op, "] Expected 3 ", what, " values, got ", v, "."));
}

// A transposed convolution is the adjoint of a convolution: the input dilated by the stride,
// padded so every kernel tap reaches it, correlated with the flipped kernel.
array conv_transpose_impl(const char* op, const array& input, const array& weight, const std::vector<int>& stride,
                          const std::vector<int>& padding, const std::vector<int>& dilation,
                          const std::vector<int>& output_padding, int groups, StreamOrDevice s) {
  int nd = static_cast<int>(stride.size());
  check_ndim(op, input, nd + 2);
  if (weight.ndim() != nd + 2) {
    throw std::invalid_argument(str("[", op, "] Expected a ", nd + 2, "-D weight, got shape ", weight.shape(), "."));
  }
  std::vector<int> lo(nd), hi(nd);
  for (int d = 0; d < nd; ++d) {
    if (padding[d] < 0 || output_padding[d] < 0) {
      throw std::invalid_argument(str("[", op, "] padding and output_padding must be non-negative, got ", padding,
                                      " and ", output_padding, "."));
    }
    int span = dilation[d] * (static_cast<int>(weight.shape(d + 1)) - 1);
    lo[d] = span - padding[d];
    hi[d] = span - padding[d] + output_padding[d];
  }
  return conv_impl(op, input, weight, std::vector<int>(nd, 1), lo, hi, dilation, stride, groups, true, s);
}

}  // namespace

std::vector<Shape> Convolution::output_shapes(const std::vector<array>& inputs) {
  const array& in = inputs[0];
  const array& w = inputs[1];
  Shape out{in.shape(0)};
  for (size_t d = 0; d < stride_.size(); ++d) {
    out.push_back(static_cast<ShapeElem>(out_size(in.shape(d + 1), w.shape(d + 1), stride_[d], padding_lo_[d],
                                                  padding_hi_[d], kernel_dilation_[d], input_dilation_[d])));
  }
  out.push_back(w.shape(0));
  return {out};
}

array conv_general(const array& input, const array& weight, std::vector<int> stride, std::vector<int> padding_lo,
                   std::vector<int> padding_hi, std::vector<int> kernel_dilation, std::vector<int> input_dilation,
                   int groups, bool flip, StreamOrDevice s) {
  if (padding_hi.empty()) padding_hi = padding_lo;
  return conv_impl("conv_general", input, weight, std::move(stride), std::move(padding_lo), std::move(padding_hi),
                   std::move(kernel_dilation), std::move(input_dilation), groups, flip, s);
}

array conv1d(const array& input, const array& weight, int stride, int padding, int dilation, int groups,
             StreamOrDevice s) {
  check_ndim("conv1d", input, 3);
  return conv_impl("conv1d", input, weight, {stride}, {padding}, {padding}, {dilation}, {1}, groups, false, s);
}

array conv2d(const array& input, const array& weight, const std::pair<int, int>& stride,
             const std::pair<int, int>& padding, const std::pair<int, int>& dilation, int groups, StreamOrDevice s) {
  check_ndim("conv2d", input, 4);
  std::vector<int> p{padding.first, padding.second};
  return conv_impl("conv2d", input, weight, {stride.first, stride.second}, p, p, {dilation.first, dilation.second},
                   {1, 1}, groups, false, s);
}

array conv3d(const array& input, const array& weight, const std::vector<int>& stride, const std::vector<int>& padding,
             const std::vector<int>& dilation, int groups, StreamOrDevice s) {
  check_ndim("conv3d", input, 5);
  check_len("conv3d", stride, "stride");
  check_len("conv3d", padding, "padding");
  check_len("conv3d", dilation, "dilation");
  return conv_impl("conv3d", input, weight, stride, padding, padding, dilation, {1, 1, 1}, groups, false, s);
}

array conv_transpose1d(const array& input, const array& weight, int stride, int padding, int dilation,
                       int output_padding, int groups, StreamOrDevice s) {
  return conv_transpose_impl("conv_transpose1d", input, weight, {stride}, {padding}, {dilation}, {output_padding},
                             groups, s);
}

array conv_transpose2d(const array& input, const array& weight, const std::pair<int, int>& stride,
                       const std::pair<int, int>& padding, const std::pair<int, int>& dilation,
                       const std::pair<int, int>& output_padding, int groups, StreamOrDevice s) {
  return conv_transpose_impl("conv_transpose2d", input, weight, {stride.first, stride.second},
                             {padding.first, padding.second}, {dilation.first, dilation.second},
                             {output_padding.first, output_padding.second}, groups, s);
}

array conv_transpose3d(const array& input, const array& weight, const std::vector<int>& stride,
                       const std::vector<int>& padding, const std::vector<int>& dilation,
                       const std::vector<int>& output_padding, int groups, StreamOrDevice s) {
  const char* op = "conv_transpose3d";
  check_len(op, stride, "stride");
  check_len(op, padding, "padding");
  check_len(op, dilation, "dilation");
  check_len(op, output_padding, "output_padding");
  return conv_transpose_impl(op, input, weight, stride, padding, dilation, output_padding, groups, s);
}

array convolve(const array& a_in, const array& v_in, const std::string& mode, StreamOrDevice s) {
  if (a_in.ndim() != 1 || v_in.ndim() != 1) {
    throw std::invalid_argument(
        str("[convolve] Inputs must be 1-D, got shapes ", a_in.shape(), " and ", v_in.shape(), "."));
  }
  if (a_in.size() == 0 || v_in.size() == 0) {
    throw std::invalid_argument("[convolve] Inputs cannot be empty.");
  }
  // Convolution is commutative: slide the shorter one over the longer.
  const array& a = a_in.size() >= v_in.size() ? a_in : v_in;
  const array& v = a_in.size() >= v_in.size() ? v_in : a_in;
  int m = static_cast<int>(v.size());
  int lo, hi;
  if (mode == "full") {
    lo = hi = m - 1;
  } else if (mode == "same") {
    hi = (m - 1) / 2;
    lo = m - 1 - hi;
  } else if (mode == "valid") {
    lo = hi = 0;
  } else {
    throw std::invalid_argument(str("[convolve] mode must be 'full', 'same' or 'valid', got '", mode, "'."));
  }
  Stream st = to_stream(s);
  array x = reshape(a, {1, a.shape(0), 1}, st);
  array w = reshape(v, {1, v.shape(0), 1}, st);
  array out = conv_impl("convolve", x, w, {1}, {lo}, {hi}, {1}, {1}, 1, true, st);
  return reshape(out, {out.shape(1)}, st);
}

}  // namespace kiln
