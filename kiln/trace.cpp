// Walking traced graphs: shared by the function transformations and compile.
#include "kiln/trace.h"

#include <unordered_set>

#include "kiln/primitives.h"

namespace kiln::detail {

Trace trace_between(const std::vector<array>& sources, const std::vector<array>& outputs, bool cut_at_stop) {
  Trace t;
  for (auto& s : sources) t.depends.insert(s.id());
  std::unordered_set<const void*> visited_nodes;
  std::vector<std::pair<array, size_t>> stack;
  auto push = [&](const array& a) {
    if (t.depends.count(a.id()) || !a.has_primitive()) return;
    const void* node = a.node_id();
    if (!visited_nodes.insert(node).second) return;
    stack.emplace_back(a, 0);
  };
  for (auto& o : outputs) push(o);
  while (!stack.empty()) {
    auto& [a, i] = stack.back();
    bool cut = cut_at_stop && dynamic_cast<StopGradient*>(&a.primitive()) != nullptr;
    if (!cut && i < a.inputs().size()) {
      array in = a.inputs()[i++];
      push(in);  // may reallocate `stack`
      continue;
    }
    array node = std::move(a);
    stack.pop_back();
    if (cut) continue;
    bool dep = false;
    for (auto& in : node.inputs()) dep |= t.depends_on_source(in);
    if (!dep) continue;
    for (auto& o : node.outputs()) t.depends.insert(o.id());
    t.tape.push_back(std::move(node));
  }
  return t;
}

}  // namespace kiln::detail
