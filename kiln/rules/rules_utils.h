// Helpers shared by the transformation rules in kiln/rules/. Internal.
#pragma once

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

}  // namespace kiln::rules
