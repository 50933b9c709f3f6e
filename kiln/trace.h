// Walking traced graphs: shared by the function transformations and compile. Internal.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "kiln/array.h"

namespace kiln {
class Primitive;
}

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

/** Puts the broadcasts of captured constants that `tape`'s nodes read (the 2 of x * 2, broadcast
 *  to the traced shape) at the front of the tape, so a replay re-broadcasts the small constant
 *  (to new shapes, in shapeless mode) instead of reading it at the traced shape. */
KILN_API void add_constant_broadcasts(std::vector<array>& tape, const std::vector<array>& sources);

/** Shapeless replays (compile, import_function): the inputs of an elementwise node broadcast to
 *  their common shape, reading through broadcasts recorded at trace time, whose stored shapes
 *  were the traced inputs' (the 2 of x * 2). Other nodes' inputs are left as they are. */
KILN_API void rebroadcast_for_replay(const Primitive& p, std::vector<array>& ins);

}  // namespace kiln::detail
