// User-facing operations: each validates its arguments, applies type promotion and
// broadcasting, and builds graph nodes from primitives. Names and semantics follow mlx.core.
#pragma once

#include <optional>
#include <vector>

#include "kiln/array.h"
#include "kiln/stream.h"

namespace kiln {

// ---------------------------------------------------------------- creation
/** Values from start toward stop (exclusive) by step. */
KILN_API array arange(double start, double stop, double step, Dtype dtype, StreamOrDevice s = {});
KILN_API array arange(double start, double stop, double step, StreamOrDevice s = {});
KILN_API array arange(double start, double stop, Dtype dtype, StreamOrDevice s = {});
KILN_API array arange(double start, double stop, StreamOrDevice s = {});
KILN_API array arange(double stop, Dtype dtype, StreamOrDevice s = {});
KILN_API array arange(double stop, StreamOrDevice s = {});
/** Integer overloads: int32 results, as in MLX. */
KILN_API array arange(int start, int stop, int step, StreamOrDevice s = {});
KILN_API array arange(int start, int stop, StreamOrDevice s = {});
KILN_API array arange(int stop, StreamOrDevice s = {});
/** `num` evenly spaced values from start to stop inclusive. */
KILN_API array linspace(double start, double stop, int num = 50, Dtype dtype = float32, StreamOrDevice s = {});
/** An array of `shape` filled with `vals` (broadcast), converted to `dtype`. */
KILN_API array full(Shape shape, array vals, Dtype dtype, StreamOrDevice s = {});
KILN_API array full(Shape shape, array vals, StreamOrDevice s = {});
template <typename T>
array full(Shape shape, T val, Dtype dtype, StreamOrDevice s = {}) {
  return full(std::move(shape), array(val, dtype), s);
}
template <typename T>
array full(Shape shape, T val, StreamOrDevice s = {}) {
  return full(std::move(shape), array(val), s);
}
KILN_API array zeros(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});
KILN_API array zeros_like(const array& a, StreamOrDevice s = {});
KILN_API array ones(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});
KILN_API array ones_like(const array& a, StreamOrDevice s = {});
KILN_API array full_like(const array& a, array vals, StreamOrDevice s = {});
/** n x m matrix with ones on diagonal k. */
KILN_API array eye(int n, int m, int k = 0, Dtype dtype = float32, StreamOrDevice s = {});
KILN_API array eye(int n, Dtype dtype = float32, StreamOrDevice s = {});
KILN_API array identity(int n, Dtype dtype = float32, StreamOrDevice s = {});

// ---------------------------------------------------------------- conversion and copies
KILN_API array astype(array a, Dtype dtype, StreamOrDevice s = {});
/** A row-major copy. */
KILN_API array copy(array a, StreamOrDevice s = {});
/** A view with the given shape, strides and element offset (no checks, as in MLX). */
KILN_API array as_strided(array a, Shape shape, Strides strides, size_t offset, StreamOrDevice s = {});

// ---------------------------------------------------------------- shape
KILN_API array reshape(const array& a, Shape shape, StreamOrDevice s = {});
KILN_API array flatten(const array& a, int start_axis, int end_axis = -1, StreamOrDevice s = {});
KILN_API array flatten(const array& a, StreamOrDevice s = {});
KILN_API array squeeze(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array squeeze(const array& a, int axis, StreamOrDevice s = {});
KILN_API array squeeze(const array& a, StreamOrDevice s = {});
KILN_API array expand_dims(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array expand_dims(const array& a, int axis, StreamOrDevice s = {});
/** a[start:stop:strides] per axis (bounds are clamped as in Python). */
KILN_API array slice(const array& a, Shape start, Shape stop, Shape strides, StreamOrDevice s = {});
KILN_API array slice(const array& a, Shape start, Shape stop, StreamOrDevice s = {});
/** Splits into `num_splits` equal parts along axis. */
KILN_API std::vector<array> split(const array& a, int num_splits, int axis, StreamOrDevice s = {});
KILN_API std::vector<array> split(const array& a, int num_splits, StreamOrDevice s = {});
/** Splits before each of `indices` along axis. */
KILN_API std::vector<array> split(const array& a, const Shape& indices, int axis, StreamOrDevice s = {});
KILN_API std::vector<array> split(const array& a, const Shape& indices, StreamOrDevice s = {});
KILN_API array concatenate(std::vector<array> arrays, int axis, StreamOrDevice s = {});
/** Concatenates the flattened arrays. */
KILN_API array concatenate(std::vector<array> arrays, StreamOrDevice s = {});
KILN_API array stack(const std::vector<array>& arrays, int axis, StreamOrDevice s = {});
KILN_API array stack(const std::vector<array>& arrays, StreamOrDevice s = {});
KILN_API array transpose(const array& a, std::vector<int> axes, StreamOrDevice s = {});
KILN_API array transpose(const array& a, StreamOrDevice s = {});
KILN_API array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s = {});
KILN_API array moveaxis(const array& a, int source, int destination, StreamOrDevice s = {});
KILN_API array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s = {});
KILN_API std::vector<array> broadcast_arrays(const std::vector<array>& inputs, StreamOrDevice s = {});
/** The shape two shapes broadcast to; throws naming both if they can't. */
KILN_API Shape broadcast_shapes(const Shape& a, const Shape& b);
KILN_API Shape broadcast_shapes(const std::vector<Shape>& shapes);

// ---------------------------------------------------------------- unary elementwise
KILN_API array abs(const array& a, StreamOrDevice s = {});
KILN_API array negative(const array& a, StreamOrDevice s = {});
KILN_API array sign(const array& a, StreamOrDevice s = {});
KILN_API array logical_not(const array& a, StreamOrDevice s = {});
KILN_API array bitwise_invert(const array& a, StreamOrDevice s = {});
KILN_API array reciprocal(const array& a, StreamOrDevice s = {});
KILN_API array square(const array& a, StreamOrDevice s = {});
KILN_API array sqrt(const array& a, StreamOrDevice s = {});
KILN_API array rsqrt(const array& a, StreamOrDevice s = {});
KILN_API array exp(const array& a, StreamOrDevice s = {});
KILN_API array expm1(const array& a, StreamOrDevice s = {});
KILN_API array log(const array& a, StreamOrDevice s = {});
KILN_API array log2(const array& a, StreamOrDevice s = {});
KILN_API array log10(const array& a, StreamOrDevice s = {});
KILN_API array log1p(const array& a, StreamOrDevice s = {});
KILN_API array sin(const array& a, StreamOrDevice s = {});
KILN_API array cos(const array& a, StreamOrDevice s = {});
KILN_API array tan(const array& a, StreamOrDevice s = {});
KILN_API array arcsin(const array& a, StreamOrDevice s = {});
KILN_API array arccos(const array& a, StreamOrDevice s = {});
KILN_API array arctan(const array& a, StreamOrDevice s = {});
KILN_API array sinh(const array& a, StreamOrDevice s = {});
KILN_API array cosh(const array& a, StreamOrDevice s = {});
KILN_API array tanh(const array& a, StreamOrDevice s = {});
KILN_API array arcsinh(const array& a, StreamOrDevice s = {});
KILN_API array arccosh(const array& a, StreamOrDevice s = {});
KILN_API array arctanh(const array& a, StreamOrDevice s = {});
KILN_API array floor(const array& a, StreamOrDevice s = {});
KILN_API array ceil(const array& a, StreamOrDevice s = {});
/** Rounds half to even, to `decimals` places. */
KILN_API array round(const array& a, int decimals = 0, StreamOrDevice s = {});
KILN_API array sigmoid(const array& a, StreamOrDevice s = {});
KILN_API array erf(const array& a, StreamOrDevice s = {});
KILN_API array erfinv(const array& a, StreamOrDevice s = {});
KILN_API array conjugate(const array& a, StreamOrDevice s = {});
KILN_API array real(const array& a, StreamOrDevice s = {});
KILN_API array imag(const array& a, StreamOrDevice s = {});
KILN_API array isnan(const array& a, StreamOrDevice s = {});
KILN_API array isinf(const array& a, StreamOrDevice s = {});
KILN_API array isfinite(const array& a, StreamOrDevice s = {});
KILN_API array isposinf(const array& a, StreamOrDevice s = {});
KILN_API array isneginf(const array& a, StreamOrDevice s = {});
KILN_API array stop_gradient(const array& a, StreamOrDevice s = {});

// ---------------------------------------------------------------- binary elementwise
KILN_API array add(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array subtract(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array multiply(const array& a, const array& b, StreamOrDevice s = {});
/** True division: integer inputs give float32. */
KILN_API array divide(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array floor_divide(const array& a, const array& b, StreamOrDevice s = {});
/** Remainder with the sign of the divisor (Python's %). */
KILN_API array remainder(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array power(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array maximum(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array minimum(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array equal(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array not_equal(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array less(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array less_equal(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array greater(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array greater_equal(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array logical_and(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array logical_or(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array logaddexp(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array arctan2(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array bitwise_and(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array bitwise_or(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array bitwise_xor(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array left_shift(const array& a, const array& b, StreamOrDevice s = {});
KILN_API array right_shift(const array& a, const array& b, StreamOrDevice s = {});
/** Elementwise choice: x where condition is true, else y (all three broadcast). */
KILN_API array where(const array& condition, const array& x, const array& y, StreamOrDevice s = {});

// ---------------------------------------------------------------- reductions
KILN_API array all(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array all(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array all(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array any(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array any(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array any(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array sum(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array sum(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array sum(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array prod(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array prod(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array prod(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array max(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array max(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array max(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array min(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array min(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array min(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array mean(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array mean(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array mean(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array var(const array& a, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array var(const array& a, const std::vector<int>& axes, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array var(const array& a, int axis, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array std(const array& a, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array std(const array& a, const std::vector<int>& axes, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array std(const array& a, int axis, bool keepdims = false, int ddof = 0, StreamOrDevice s = {});
KILN_API array argmax(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array argmax(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array argmin(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array argmin(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array logsumexp(const array& a, bool keepdims = false, StreamOrDevice s = {});
KILN_API array logsumexp(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array logsumexp(const array& a, int axis, bool keepdims = false, StreamOrDevice s = {});
KILN_API array softmax(const array& a, const std::vector<int>& axes, bool precise = false, StreamOrDevice s = {});
KILN_API array softmax(const array& a, int axis, bool precise = false, StreamOrDevice s = {});
KILN_API array softmax(const array& a, bool precise = false, StreamOrDevice s = {});

// ---------------------------------------------------------------- linear algebra
/** Matrix product with NumPy's rules: 1-D operands are promoted and the added axis removed,
 *  batch dimensions broadcast. */
KILN_API array matmul(const array& a, const array& b, StreamOrDevice s = {});

// ---- sort_scan ----
/** Sorted along `axis` (NaN last); without an axis, the flattened array sorted. */
KILN_API array sort(const array& a, int axis, StreamOrDevice s = {});
KILN_API array sort(const array& a, StreamOrDevice s = {});
/** uint32 indices that sort along `axis` (stable); without an axis, of the flattened array. */
KILN_API array argsort(const array& a, int axis, StreamOrDevice s = {});
KILN_API array argsort(const array& a, StreamOrDevice s = {});
/** Partitioned along `axis` around element `kth` (negative counts from the end). */
KILN_API array partition(const array& a, int kth, int axis, StreamOrDevice s = {});
KILN_API array partition(const array& a, int kth, StreamOrDevice s = {});
/** uint32 indices that partition along `axis` around element `kth`. */
KILN_API array argpartition(const array& a, int kth, int axis, StreamOrDevice s = {});
KILN_API array argpartition(const array& a, int kth, StreamOrDevice s = {});
/** The `k` largest elements along `axis`, in no particular order. */
KILN_API array topk(const array& a, int k, int axis, StreamOrDevice s = {});
KILN_API array topk(const array& a, int k, StreamOrDevice s = {});
/** Cumulative sum along `axis` (bool gives int32); without an axis, of the flattened array. */
KILN_API array cumsum(const array& a, int axis, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
KILN_API array cumsum(const array& a, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
/** Cumulative product along `axis`; without an axis, of the flattened array. */
KILN_API array cumprod(const array& a, int axis, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
KILN_API array cumprod(const array& a, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
/** Cumulative maximum along `axis` (NaN propagates); without an axis, of the flattened array. */
KILN_API array cummax(const array& a, int axis, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
KILN_API array cummax(const array& a, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
/** Cumulative minimum along `axis` (NaN propagates); without an axis, of the flattened array. */
KILN_API array cummin(const array& a, int axis, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
KILN_API array cummin(const array& a, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});
/** Cumulative log(sum(exp(a))) along `axis` (integers give float32). */
KILN_API array logcumsumexp(const array& a, int axis, bool reverse = false, bool inclusive = true,
                            StreamOrDevice s = {});
KILN_API array logcumsumexp(const array& a, bool reverse = false, bool inclusive = true, StreamOrDevice s = {});

// ---- indexing ----
/** MLX's gather: slices of `a` of size `slice_sizes` at the positions given by `indices` (one
 *  integer array per axis in `axes`, broadcast together); shape indices.shape + slice_sizes. */
KILN_API array gather(const array& a, const std::vector<array>& indices, const std::vector<int>& axes,
                      const Shape& slice_sizes, StreamOrDevice s = {});
KILN_API array gather(const array& a, const array& indices, int axis, const Shape& slice_sizes, StreamOrDevice s = {});
/** Elements of `a` along `axis` at `indices` (negative indices wrap). */
KILN_API array take(const array& a, const array& indices, int axis, StreamOrDevice s = {});
/** Elements of the flattened `a` at `indices`. */
KILN_API array take(const array& a, const array& indices, StreamOrDevice s = {});
KILN_API array take(const array& a, int index, int axis, StreamOrDevice s = {});
KILN_API array take(const array& a, int index, StreamOrDevice s = {});
/** Values at `indices` along `axis`; indices broadcast with `a` in the other axes. */
KILN_API array take_along_axis(const array& a, const array& indices, int axis, StreamOrDevice s = {});
KILN_API array take_along_axis(const array& a, const array& indices, StreamOrDevice s = {});
/** A copy of `a` with `values` put at `indices` along `axis`. */
KILN_API array put_along_axis(const array& a, const array& indices, const array& values, int axis,
                              StreamOrDevice s = {});
KILN_API array put_along_axis(const array& a, const array& indices, const array& values, StreamOrDevice s = {});
/** MLX's scatter family: a copy of `a` with `updates` (shape indices.shape + slice shape, cast to
 *  a's dtype) written at / combined into the positions given by `indices` on `axes`. Duplicate
 *  positions accumulate for the reducing forms; for scatter the last one wins. */
KILN_API array scatter(const array& a, const std::vector<array>& indices, const array& updates,
                       const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array scatter_add(const array& a, const std::vector<array>& indices, const array& updates,
                           const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array scatter_prod(const array& a, const std::vector<array>& indices, const array& updates,
                            const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array scatter_max(const array& a, const std::vector<array>& indices, const array& updates,
                           const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array scatter_min(const array& a, const std::vector<array>& indices, const array& updates,
                           const std::vector<int>& axes, StreamOrDevice s = {});
/** A copy of `a` with a[start:stop:strides] replaced by `update` (broadcast to the region). */
KILN_API array slice_update(const array& a, const array& update, Shape start, Shape stop, Shape strides,
                            StreamOrDevice s = {});
KILN_API array slice_update(const array& a, const array& update, Shape start, Shape stop, StreamOrDevice s = {});

// ---- conv ----
/** Convolution with channels-last layouts (input (N, spatial..., C_in), weight (C_out, kernel...,
 *  C_in / groups)) and full control: per-dim stride, low/high padding, kernel and input
 *  dilation, groups, and `flip` (reverse the kernel: true convolution instead of correlation). */
KILN_API array conv_general(const array& input, const array& weight, std::vector<int> stride = {},
                            std::vector<int> padding_lo = {}, std::vector<int> padding_hi = {},
                            std::vector<int> kernel_dilation = {}, std::vector<int> input_dilation = {},
                            int groups = 1, bool flip = false, StreamOrDevice s = {});
/** 1-D convolution (cross-correlation) of (N, L, C_in) with (C_out, K, C_in / groups). */
KILN_API array conv1d(const array& input, const array& weight, int stride = 1, int padding = 0, int dilation = 1,
                      int groups = 1, StreamOrDevice s = {});
/** 2-D convolution of (N, H, W, C_in) with (C_out, KH, KW, C_in / groups); per-dim parameters. */
KILN_API array conv2d(const array& input, const array& weight, const std::pair<int, int>& stride = {1, 1},
                      const std::pair<int, int>& padding = {0, 0}, const std::pair<int, int>& dilation = {1, 1},
                      int groups = 1, StreamOrDevice s = {});
/** 3-D convolution of (N, D, H, W, C_in) with (C_out, KD, KH, KW, C_in / groups). */
KILN_API array conv3d(const array& input, const array& weight, const std::vector<int>& stride = {1, 1, 1},
                      const std::vector<int>& padding = {0, 0, 0}, const std::vector<int>& dilation = {1, 1, 1},
                      int groups = 1, StreamOrDevice s = {});
/** 1-D transposed convolution (the adjoint of conv1d) with weight (C_out, K, C_in / groups). */
KILN_API array conv_transpose1d(const array& input, const array& weight, int stride = 1, int padding = 0,
                                int dilation = 1, int output_padding = 0, int groups = 1, StreamOrDevice s = {});
/** 2-D transposed convolution with weight (C_out, KH, KW, C_in / groups). */
KILN_API array conv_transpose2d(const array& input, const array& weight, const std::pair<int, int>& stride = {1, 1},
                                const std::pair<int, int>& padding = {0, 0},
                                const std::pair<int, int>& dilation = {1, 1},
                                const std::pair<int, int>& output_padding = {0, 0}, int groups = 1,
                                StreamOrDevice s = {});
/** 3-D transposed convolution with weight (C_out, KD, KH, KW, C_in / groups). */
KILN_API array conv_transpose3d(const array& input, const array& weight,
                                const std::vector<int>& stride = {1, 1, 1},
                                const std::vector<int>& padding = {0, 0, 0},
                                const std::vector<int>& dilation = {1, 1, 1},
                                const std::vector<int>& output_padding = {0, 0, 0}, int groups = 1,
                                StreamOrDevice s = {});
/** Discrete 1-D convolution of `a` and `v` as np.convolve: mode "full", "same" or "valid". */
KILN_API array convolve(const array& a, const array& v, const std::string& mode = "full", StreamOrDevice s = {});

// ---- misc ----
/** Number of non-zero elements over `axes` (all when empty), as int32. */
KILN_API array count_nonzero(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array count_nonzero(const array& a, bool keepdims = false, StreamOrDevice s = {});
/** Indices where `values` would be inserted into the 1-D `sorted_sequence` to keep it sorted
 *  (before equal elements when !right, after them when right), as uint32. */
KILN_API array searchsorted(const array& sorted_sequence, const array& values, bool right = false, StreamOrDevice s = {});
/** Rounds toward zero (integers pass through). */
KILN_API array trunc(const array& a, StreamOrDevice s = {});
/** Median over `axes` (all when empty); integer inputs give float32. */
KILN_API array median(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
KILN_API array median(const array& a, bool keepdims = false, StreamOrDevice s = {});
/** Lower-triangular mask of shape (n, m): ones where column <= row + k. */
KILN_API array tri(int n, int m, int k, Dtype dtype, StreamOrDevice s = {});
KILN_API array tri(int n, Dtype dtype, StreamOrDevice s = {});
/** The array with entries above the k-th diagonal of the last two axes zeroed. */
KILN_API array tril(array x, int k = 0, StreamOrDevice s = {});
/** The array with entries below the k-th diagonal of the last two axes zeroed. */
KILN_API array triu(array x, int k = 0, StreamOrDevice s = {});
/** Window functions of length m (float32). */
KILN_API array bartlett(int m, StreamOrDevice s = {});
KILN_API array hanning(int m, StreamOrDevice s = {});
KILN_API array hamming(int m, StreamOrDevice s = {});
KILN_API array blackman(int m, StreamOrDevice s = {});
/** Coordinate grids of 1-D inputs ("xy": Cartesian, "ij": matrix indexing). */
KILN_API std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse = false,
                                     const std::string& indexing = "xy", StreamOrDevice s = {});
/** NaN and infinities replaced by finite values (the dtype's extremes unless given). */
KILN_API array nan_to_num(const array& a, float nan = 0.0f, std::optional<float> posinf = std::nullopt,
                          std::optional<float> neginf = std::nullopt, StreamOrDevice s = {});
/** Elements reversed along the given axes (all axes without them). */
KILN_API array flip(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array flip(const array& a, StreamOrDevice s = {});
/** Elements shifted cyclically along axes (the flattened array without them). */
KILN_API array roll(const array& a, const Shape& shifts, const std::vector<int>& axes, StreamOrDevice s = {});
KILN_API array roll(const array& a, int shift, StreamOrDevice s = {});
/** Each element repeated along an axis (of the flattened array without one). */
KILN_API array repeat(const array& a, int repeats, int axis, StreamOrDevice s = {});
KILN_API array repeat(const array& a, int repeats, StreamOrDevice s = {});
/** The array repeated reps[i] times along each axis. */
KILN_API array tile(const array& a, Shape reps, StreamOrDevice s = {});
/** Padding of `axes` by low/high elements; mode "constant", "edge", "reflect" or "symmetric". */
KILN_API array pad(const array& a, const std::vector<int>& axes, const Shape& low, const Shape& high,
                   const array& pad_value, const std::string& mode = "constant", StreamOrDevice s = {});
/** One axis split into several of the given shape (one entry may be -1). */
KILN_API array unflatten(const array& a, int axis, Shape shape, StreamOrDevice s = {});
/** The slices of an array along an axis. */
KILN_API std::vector<array> unstack(const array& a, int axis = 0, StreamOrDevice s = {});
/** The diagonal of the axis1/axis2 planes, as the last axis. */
KILN_API array diagonal(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1, StreamOrDevice s = {});
/** A 2-D array's k-th diagonal, or a 2-D array with a 1-D array on its k-th diagonal. */
KILN_API array diag(const array& a, int k = 0, StreamOrDevice s = {});
/** Sum along a diagonal. */
KILN_API array trace(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1,
                     std::optional<Dtype> dtype = std::nullopt, StreamOrDevice s = {});
/** The n-th discrete difference along an axis. */
KILN_API array diff(const array& a, int n = 1, int axis = -1, StreamOrDevice s = {});
/** A row-major copy of the array. */
KILN_API array contiguous(const array& a, bool allow_col_major = false, StreamOrDevice s = {});
/** Sum of products over the paired axes of a and b. */
KILN_API array tensordot(const array& a, const array& b, const std::vector<int>& axes_a,
                         const std::vector<int>& axes_b, StreamOrDevice s = {});
KILN_API array tensordot(const array& a, const array& b, int axes = 2, StreamOrDevice s = {});
/** Inner product over the last axes. */
KILN_API array inner(const array& a, const array& b, StreamOrDevice s = {});
/** Outer product of the flattened inputs. */
KILN_API array outer(const array& a, const array& b, StreamOrDevice s = {});
/** Dot product along an axis (the first input conjugated). */
KILN_API array vecdot(const array& a, const array& b, int axis = -1, StreamOrDevice s = {});
/** Kronecker product. */
KILN_API array kron(const array& a, const array& b, StreamOrDevice s = {});
/** alpha * (a @ b) + beta * c. */
KILN_API array addmm(const array& c, const array& a, const array& b, float alpha = 1.0f, float beta = 1.0f,
                     StreamOrDevice s = {});
/** Einstein summation, contracting pairs greedily (smallest intermediate first). */
KILN_API array einsum(const std::string& subscripts, const std::vector<array>& operands, StreamOrDevice s = {});
/** The pairwise contraction order einsum uses, and a description of it. */
KILN_API std::pair<std::vector<std::vector<int>>, std::string> einsum_path(const std::string& subscripts,
                                                                           const std::vector<array>& operands);

// ---- contractions ----
/** Walsh-Hadamard transform along the last axis (n = m * 2^k, m in {1, 12, 20, 28}), scaled by
 *  `scale` (default 1 / sqrt(n)). */
KILN_API array hadamard_transform(const array& a, std::optional<float> scale = std::nullopt, StreamOrDevice s = {});
/** Matrix products of a's and b's matrices picked by flat batch indices (broadcast together). */
KILN_API array gather_mm(const array& a, const array& b, std::optional<array> lhs_indices = std::nullopt,
                         std::optional<array> rhs_indices = std::nullopt, bool sorted_indices = false,
                         StreamOrDevice s = {});
/** a (M, K) @ b (K, N) restricted to each segment [start, end) of K: shape segments[:-1] + (M, N). */
KILN_API array segmented_mm(const array& a, const array& b, const array& segments, StreamOrDevice s = {});
/** a @ b with blocks of a, b and the output masked (boolean) or scaled (numeric) per block. */
KILN_API array block_masked_mm(const array& a, const array& b, int block_size = 64,
                               std::optional<array> mask_out = std::nullopt, std::optional<array> mask_lhs = std::nullopt,
                               std::optional<array> mask_rhs = std::nullopt, StreamOrDevice s = {});

// ---- api_misc ----
/** Sorted unique elements of the flattened `a`, truncated or padded to `size` (padding:
 *  `fill_value`, default the smallest element), with the index of each one's first occurrence
 *  (uint32), the inverse (uint32, a's shape) and the counts (int32, 0 for padding), in that order. */
KILN_API std::vector<array> unique(const array& a, int size, std::optional<array> fill_value = std::nullopt,
                                   StreamOrDevice s = {});
/** The bytes of `a` read as `dtype`; the last axis scales by the ratio of the item sizes. */
KILN_API array view(const array& a, Dtype dtype, StreamOrDevice s = {});
/** `inputs` unchanged (sharing their buffers) but computed only after `dependencies`. */
KILN_API std::vector<array> depends(const std::vector<array>& inputs, const std::vector<array>& dependencies);
/** mx.slice with array starts: the `slice_size` region starting at `start` on `axes` (0 on the
 *  others); negative starts count from the end, then starts are clamped into the array. */
KILN_API array dynamic_slice(const array& a, const array& start, std::vector<int> axes, Shape slice_size,
                             StreamOrDevice s = {});
/** mx.slice_update with array starts: `a` with the region at `start` on `axes` replaced by
 *  `update` (missing leading axes span the array, or 1 on `axes`); starts as dynamic_slice. */
KILN_API array dynamic_slice_update(const array& a, const array& update, const array& start, std::vector<int> axes,
                                    StreamOrDevice s = {});
/** e4m3 float8 bits (uint8) of a float array: nearest-even rounding, saturating at +-448 (NaN too). */
KILN_API array to_fp8(const array& x, StreamOrDevice s = {});
/** Float array of `dtype` from e4m3 float8 bits (uint8). */
KILN_API array from_fp8(const array& x, Dtype dtype = bfloat16, StreamOrDevice s = {});

// ---------------------------------------------------------------- operators
KILN_API array operator-(const array& a);
KILN_API array operator!(const array& a);
KILN_API array operator~(const array& a);
KILN_API array operator+(const array& a, const array& b);
KILN_API array operator-(const array& a, const array& b);
KILN_API array operator*(const array& a, const array& b);
KILN_API array operator/(const array& a, const array& b);
KILN_API array operator%(const array& a, const array& b);
KILN_API array operator==(const array& a, const array& b);
KILN_API array operator!=(const array& a, const array& b);
KILN_API array operator<(const array& a, const array& b);
KILN_API array operator<=(const array& a, const array& b);
KILN_API array operator>(const array& a, const array& b);
KILN_API array operator>=(const array& a, const array& b);
KILN_API array operator&&(const array& a, const array& b);
KILN_API array operator||(const array& a, const array& b);
KILN_API array operator&(const array& a, const array& b);
KILN_API array operator|(const array& a, const array& b);
KILN_API array operator^(const array& a, const array& b);
KILN_API array operator<<(const array& a, const array& b);
KILN_API array operator>>(const array& a, const array& b);

/** Scalars on either side take the array's dtype when the kinds allow it (weak typing). */
KILN_API array scalar_like(double v, bool is_float, const array& other);

#define KILN_SCALAR_OPERATOR(OP)                                                               \
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>                  \
  array operator OP(const array& a, T b) { return a OP scalar_like(static_cast<double>(b), std::is_floating_point_v<T>, a); } \
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>                  \
  array operator OP(T a, const array& b) { return scalar_like(static_cast<double>(a), std::is_floating_point_v<T>, b) OP b; }
KILN_SCALAR_OPERATOR(+)
KILN_SCALAR_OPERATOR(-)
KILN_SCALAR_OPERATOR(*)
KILN_SCALAR_OPERATOR(/)
KILN_SCALAR_OPERATOR(==)
KILN_SCALAR_OPERATOR(!=)
KILN_SCALAR_OPERATOR(<)
KILN_SCALAR_OPERATOR(<=)
KILN_SCALAR_OPERATOR(>)
KILN_SCALAR_OPERATOR(>=)
#undef KILN_SCALAR_OPERATOR

}  // namespace kiln
