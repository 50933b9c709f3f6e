// Helpers shared by the transformation rules in kiln/rules/. Internal.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "kiln/ops.h"

namespace kiln::rules {

using Arrays = std::vector<array>;
using VmapResult = std::pair<std::vector<array>, std::vector<int>>;

/** `x` with its batch axis `ax` moved to the front (unchanged if it is there already). */
inline array batch_to_front(const array& x, int ax) { return ax > 0 ? moveaxis(x, ax, 0) : x; }

/** `x` with a front batch axis of size `batch`: moved there if `ax` >= 0, else broadcast. */
inline array with_batch(const array& x, int ax, int batch) {
  if (ax >= 0) return batch_to_front(x, ax);
  Shape sh = x.shape();
  sh.insert(sh.begin(), batch);
  return broadcast_to(expand_dims(x, 0), sh);
}

/** The batch size: the size of the first mapped input's batch axis. */
inline int batch_size(const Arrays& inputs, const std::vector<int>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i] >= 0) return inputs[i].shape(axes[i]);
  }
  return 1;
}

/** `axes` shifted by one, for an op applied to arrays with a batch axis in front. */
inline std::vector<int> shifted(std::vector<int> axes) {
  for (auto& a : axes) a += 1;
  return axes;
}

// ---- operands read by matrix index (GatherMM, GatherQMM) ----

/** The matrices of x (..., R, C) as one batch axis: (count, R, C). */
inline array flat_matrices(const array& x) { return reshape(x, {-1, x.shape(-2), x.shape(-1)}); }

/** Matrix indices as the gather kernels read them: negatives wrap once, then clamp into
 *  [0, count). */
inline array read_positions(const array& idx, int64_t count) {
  array i = astype(idx, int64);
  i = where(less(i, array(int64_t{0}, int64)), add(i, array(count, int64)), i);
  return minimum(maximum(i, array(int64_t{0}, int64)), array(std::max<int64_t>(count - 1, 0), int64));
}

/** The cotangent of operand x (..., R, C) from per-product cotangents g (I..., R, C) of the
 *  matrices read at positions idx (I...): duplicates add up. */
inline array scatter_back(const array& x, const array& idx, const array& g) {
  array flat = flat_matrices(x);
  array pos = read_positions(idx, flat.shape(0));
  Shape upd = g.shape();
  upd.insert(upd.end() - 2, 1);  // the gathered axis keeps size 1 in scatter updates
  return reshape(scatter_add(zeros_like(flat), {pos}, reshape(g, upd), {0}), x.shape());
}

/** The matrices of x read at positions idx: (I..., R, C). */
inline array gathered(const array& x, const array& idx) {
  array flat = flat_matrices(x);
  return take(flat, read_positions(idx, flat.shape(0)), 0);
}

}  // namespace kiln::rules
