// Graph evaluation (and, with the transforms issue, vjp/jvp/grad/vmap).
#pragma once

#include <vector>

#include "kiln/array.h"

namespace kiln {

/** Computes `outputs` and everything they depend on; returns when they are ready. */
KILN_API void eval(std::vector<array> outputs);
/** Schedules the computation of `outputs` on their streams and returns at once. */
KILN_API void async_eval(std::vector<array> outputs);

template <typename... Arrays>
void eval(Arrays&&... outputs) {
  eval(std::vector<array>{std::forward<Arrays>(outputs)...});
}

}  // namespace kiln
