// Structured matrix products: the Walsh-Hadamard transform, matrix products of operands
// picked by index (gather_mm), products split along K (segmented_mm) and block-masked
// products (block_masked_mm). The last two are composed from where/matmul.
#include <cmath>
#include <memory>
#include <utility>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

using detail::str;

bool is_power_of_2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// The promoted dtype of a matrix product, which must be a real floating type.
Dtype float_product_type(const char* op, const array& a, const array& b) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (!is_floating_point(t)) {
    throw std::invalid_argument(str("[", op, "] Only real floating point types are supported but ", a.dtype(), " and ",
                                    b.dtype(), " were provided which results in ", t,
                                    ", which is not a real floating point type."));
  }
  return t;
}

// a and b as matrices (1-d operands get a unit dim, as in matmul) of dtype t, checked for K.
std::pair<array, array> matrix_operands(const char* op, const array& a_in, const array& b_in, Dtype t, Stream st) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw std::invalid_argument(str("[", op, "] Got 0 dimension input. Inputs must have at least one dimension."));
  }
  array a = astype(a_in.ndim() == 1 ? reshape(a_in, {1, a_in.shape(0)}, st) : a_in, t, st);
  array b = astype(b_in.ndim() == 1 ? reshape(b_in, {b_in.shape(0), 1}, st) : b_in, t, st);
  if (a.shape(-1) != b.shape(-2)) {
    throw std::invalid_argument(str("[", op, "] Last dimension of first input with shape ", a_in.shape(),
                                    " must match second to last dimension of second input with shape ", b_in.shape(),
                                    "."));
  }
  return {a, b};
}

// Undoes the unit dims matrix_operands added for 1-d inputs.
array squeeze_vectors(array out, const array& a_in, const array& b_in, Stream st) {
  if (a_in.ndim() == 1) out = squeeze(out, -2, st);
  if (b_in.ndim() == 1) out = squeeze(out, -1, st);
  return out;
}

Shape batch_of(const array& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

}  // namespace

array hadamard_transform(const array& a_in, std::optional<float> scale, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.size() == 0) throw std::invalid_argument("[hadamard_transform] Does not support empty arrays.");
  // float64 is kept (MLX rejects it); other non-float types are transformed in float32.
  array a = is_floating_point(a_in.dtype()) ? a_in : astype(a_in, float32, st);
  int64_t n = a.ndim() == 0 ? 1 : a.shape(-1);
  bool ok = false;
  for (int64_t m : {1, 12, 20, 28}) ok = ok || (n % m == 0 && is_power_of_2(n / m));
  if (!ok) {
    throw std::invalid_argument(
        str("[hadamard_transform] Only supports n = m*2^k where m in (1, 12, 20, 28); got n = ", n, "."));
  }
  double sc = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(n));
  return array(a.shape(), a.dtype(), std::make_shared<Hadamard>(st, sc), {a});
}

array gather_mm(const array& a_in, const array& b_in, std::optional<array> lhs_indices,
                std::optional<array> rhs_indices, bool sorted_indices, StreamOrDevice s) {
  (void)sorted_indices;  // a hint for GPU kernels; the CPU result does not depend on it
  Stream st = to_stream(s);
  Dtype t = float_product_type("gather_mm", a_in, b_in);
  auto [a, b] = matrix_operands("gather_mm", a_in, b_in, t, st);
  // Without indices an operand's matrices are taken in order, laid out as its batch dims.
  auto indices = [&](const std::optional<array>& idx, const array& x) {
    if (!idx) return reshape(arange(0.0, static_cast<double>(shape_size(batch_of(x))), uint32, st), batch_of(x), st);
    if (!is_integral(idx->dtype())) {
      throw std::invalid_argument("[gather_mm] Got indices with invalid dtype. Indices must be integral.");
    }
    if (shape_size(batch_of(x)) == 0 && idx->size() > 0) {
      throw std::invalid_argument("[gather_mm] Cannot gather matrices from an operand with an empty batch.");
    }
    return *idx;
  };
  array lhs = indices(lhs_indices, a), rhs = indices(rhs_indices, b);
  Shape ishape = broadcast_shapes(lhs.shape(), rhs.shape());
  lhs = broadcast_to(lhs, ishape, st);
  rhs = broadcast_to(rhs, ishape, st);
  Shape out_shape = ishape;
  out_shape.push_back(a.shape(-2));
  out_shape.push_back(b.shape(-1));
  array out(out_shape, t, std::make_shared<GatherMM>(st), {a, b, lhs, rhs});
  return squeeze_vectors(out, a_in, b_in, st);
}

array segmented_mm(const array& a_in, const array& b_in, const array& segments, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.ndim() != 2 || b_in.ndim() != 2) throw std::invalid_argument("[segmented_mm] Batched matmul not supported");
  Dtype t = float_product_type("segmented_mm", a_in, b_in);
  auto [a, b] = matrix_operands("segmented_mm", a_in, b_in, t, st);
  if (!is_integral(segments.dtype())) {
    throw std::invalid_argument("[segmented_mm] Got segments with invalid dtype. Segments must be integral.");
  }
  if (segments.ndim() == 0 || segments.shape(-1) != 2) {
    throw std::invalid_argument(
        str("[segmented_mm] The segments should have shape (..., 2) but ", segments.shape(), " was provided."));
  }
  // Segment i keeps the columns k of a with start_i <= k < end_i: (..., 1, K) masks.
  int64_t K = a.shape(-1);
  Shape first(segments.ndim(), 0), stop = segments.shape();
  stop.back() = 1;
  array start = slice(segments, first, stop, st);
  first.back() = 1;
  stop.back() = 2;
  array end = slice(segments, first, stop, st);
  array k = arange(0.0, static_cast<double>(K), int64, st);
  array keep = logical_and(greater_equal(k, start, st), less(k, end, st), st);
  array masked = where(expand_dims(keep, -2, st), a, array(0.0, t), st);
  return matmul(masked, b, st);
}

array block_masked_mm(const array& a_in, const array& b_in, int block_size, std::optional<array> mask_out,
                      std::optional<array> mask_lhs, std::optional<array> mask_rhs, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype t = float_product_type("block_masked_mm", a_in, b_in);
  auto [a, b] = matrix_operands("block_masked_mm", a_in, b_in, t, st);
  if (!mask_out && !mask_lhs && !mask_rhs) return squeeze_vectors(matmul(a, b, st), a_in, b_in, st);
  if (block_size != 32 && block_size != 64) {
    throw std::invalid_argument(
        str("[block_masked_mm] Only block_sizes 32, 64 are supported. Got block size ", block_size, "."));
  }
  Shape batch = broadcast_shapes(batch_of(a), batch_of(b));
  int bs = block_size;
  // A mask of (..., ceil(rows / bs), ceil(cols / bs)) blocks applied to x (..., rows, cols):
  // boolean masks zero the masked blocks (whatever they hold), others multiply them.
  auto apply = [&](const array& x, const array& mask) {
    int64_t rows = x.shape(-2), cols = x.shape(-1);
    Shape blocks = batch;
    blocks.push_back((rows + bs - 1) / bs);
    blocks.push_back((cols + bs - 1) / bs);
    array m = broadcast_to(mask, blocks, st);
    Shape tiled = blocks, full = blocks;
    tiled.insert(tiled.end() - 1, bs);
    tiled.push_back(bs);
    full[full.size() - 2] *= bs;
    full.back() *= bs;
    m = reshape(broadcast_to(expand_dims(m, {-3, -1}, st), tiled, st), full, st);
    Shape start(full.size(), 0), stop = full;
    stop[stop.size() - 2] = rows;
    stop.back() = cols;
    m = slice(m, start, stop, st);
    return m.dtype() == bool_ ? where(m, x, array(0.0, t), st) : multiply(x, astype(m, t, st), st);
  };
  if (mask_lhs) a = apply(a, *mask_lhs);
  if (mask_rhs) b = apply(b, *mask_rhs);
  array out = matmul(a, b, st);
  if (mask_out) out = apply(out, *mask_out);
  return squeeze_vectors(out, a_in, b_in, st);
}

}  // namespace kiln
