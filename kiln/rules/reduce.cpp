// vjp / jvp / vmap of the reductions (Reduce, ArgReduce, Softmax, LogSumExp) and of Matmul.
// Reductions keep their reduced axes as size-1 dims, so cotangents broadcast back directly.
#include <algorithm>

#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

namespace {

// d prod(x over axes) / dx without dividing by x (zeros are fine): the product of the other
// elements is the exclusive cumulative product from the left times the one from the right.
array prod_partial(const array& x, const std::vector<int>& axes) {
  std::vector<int> keep, perm;
  for (int i = 0; i < x.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) keep.push_back(i);
  }
  perm = keep;
  perm.insert(perm.end(), axes.begin(), axes.end());
  array t = transpose(x, perm);
  Shape flat;
  for (int i : keep) flat.push_back(x.shape(i));
  flat.push_back(-1);
  Shape permuted = t.shape();
  t = reshape(t, flat);
  array others = multiply(cumprod(t, -1, false, false), cumprod(t, -1, true, false));
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int>(i);
  return transpose(reshape(others, permuted), inverse);
}

// d out / dx for min/max: the cotangent is shared equally among the elements equal to the result.
array extremum_partial(const array& x, const array& out, const std::vector<int>& axes) {
  array mask = astype(equal(x, out), x.dtype());
  return divide(mask, sum(mask, axes, true));
}

array reduce_like(Reduce::ReduceType type, const array& x, const std::vector<int>& axes) {
  switch (type) {
    case Reduce::And: return all(x, axes, true);
    case Reduce::Or: return any(x, axes, true);
    case Reduce::Sum: return sum(x, axes, true);
    case Reduce::Prod: return prod(x, axes, true);
    case Reduce::Min: return min(x, axes, true);
    case Reduce::Max: return max(x, axes, true);
  }
  return x;
}

}  // namespace

// ---- Reduce ----
Arrays Reduce::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& x = primals[0];
  const array& t = tangents[0];
  switch (type_) {
    case Sum: return {sum(t, axes_, true)};
    case Prod: return {sum(multiply(t, prod_partial(x, axes_)), axes_, true)};
    case Min:
    case Max: return {sum(multiply(t, extremum_partial(x, reduce_like(type_, x, axes_), axes_)), axes_, true)};
    default: return {zeros(sum(t, axes_, true).shape(), bool_)};
  }
}
Arrays Reduce::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& x = primals[0];
  array c = broadcast_to(cotangents[0], x.shape());
  switch (type_) {
    case Sum: return {c};
    case Prod: return {multiply(c, prod_partial(x, axes_))};
    case Min:
    case Max: return {multiply(c, extremum_partial(x, outputs[0], axes_))};
    default: return {zeros_like(x)};
  }
}
VmapResult Reduce::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{reduce_like(type_, batch_to_front(inputs[0], axes[0]), shifted(axes_))}, {0}};
}

// ---- ArgReduce: integer output, no derivative ----
Arrays ArgReduce::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  Shape sh = primals[0].shape();
  sh[axis_] = 1;
  return {zeros(sh, uint32)};
}
Arrays ArgReduce::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult ArgReduce::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{type_ == ArgMax ? argmax(x, axis_ + 1, true) : argmin(x, axis_ + 1, true)}, {0}};
}

// ---- Softmax (last axis) ----
Arrays Softmax::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  array s = softmax(primals[0], -1, precise_);
  const array& t = tangents[0];
  return {multiply(s, subtract(t, sum(multiply(t, s), -1, true)))};
}
Arrays Softmax::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& s = outputs[0];
  const array& c = cotangents[0];
  return {multiply(s, subtract(c, sum(multiply(c, s), -1, true)))};
}
VmapResult Softmax::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{softmax(batch_to_front(inputs[0], axes[0]), -1, precise_)}, {0}};
}

// ---- LogSumExp (last axis, kept) ----
Arrays LogSumExp::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& x = primals[0];
  array w = exp(subtract(x, logsumexp(x, -1, true)));
  return {sum(multiply(tangents[0], w), -1, true)};
}
Arrays LogSumExp::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  return {multiply(cotangents[0], exp(subtract(primals[0], outputs[0])))};
}
VmapResult LogSumExp::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{logsumexp(batch_to_front(inputs[0], axes[0]), -1, true)}, {0}};
}

// ---- Matmul (inputs already broadcast to one batch shape) ----
Arrays Matmul::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  array out;
  for (size_t k = 0; k < argnums.size(); ++k) {
    array term = argnums[k] == 0 ? matmul(tangents[k], primals[1]) : matmul(primals[0], tangents[k]);
    out = k == 0 ? term : add(out, term);
  }
  return {out};
}
Arrays Matmul::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums, const Arrays&) {
  Arrays out;
  const array& c = cotangents[0];
  for (int a : argnums) {
    out.push_back(a == 0 ? matmul(c, swapaxes(primals[1], -1, -2)) : matmul(swapaxes(primals[0], -1, -2), c));
  }
  return out;
}
VmapResult Matmul::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  // matmul broadcasts batch dims, so an unbatched operand just gains a size-1 front axis.
  array a = axes[0] >= 0 ? batch_to_front(inputs[0], axes[0]) : expand_dims(inputs[0], 0);
  array b = axes[1] >= 0 ? batch_to_front(inputs[1], axes[1]) : expand_dims(inputs[1], 0);
  return {{matmul(a, b)}, {0}};
}

}  // namespace kiln
