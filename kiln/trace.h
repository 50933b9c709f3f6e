// Walking traced graphs: shared by the function transformations and compile. Internal.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "kiln/array.h"

namespace kiln::detail {

/** The nodes of a traced graph that depend on its sources, in evaluation order. */
struct Trace {
  std::vector<array> tape;                     // one output array per node, inputs before consumers
  std::unordered_set<std::uintptr_t> depends;  // ids of arrays that depend on a source

  bool depends_on_source(const array& a) const { return depends.count(a.id()) > 0; }
};

/** The nodes between `sources` and `outputs` that consume a source (transitively). With
 *  `cut_at_stop` (derivatives), StopGradient ends the walk. */
KILN_API Trace trace_between(const std::vector<array>& sources, const std::vector<array>& outputs,
                             bool cut_at_stop = true);

}  // namespace kiln::detail
