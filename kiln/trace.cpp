// Walking traced graphs: shared by the function transformations and compile.
#include "kiln/trace.h"

#include <algorithm>
#include <unordered_set>

#include "kiln/ops.h"
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

void add_constant_broadcasts(std::vector<array>& tape, const std::vector<array>& sources) {
  std::unordered_set<std::uintptr_t> known;
  for (auto& a : sources) known.insert(a.id());
  for (auto& n : tape) {
    for (auto& o : n.outputs()) known.insert(o.id());
  }
  std::vector<array> front;
  for (auto& n : tape) {
    for (auto& in : n.inputs()) {
      if (known.count(in.id()) || !in.has_primitive() || !dynamic_cast<const Broadcast*>(&in.primitive())) continue;
      if (in.inputs()[0].has_primitive()) continue;  // only a broadcast of a leaf constant
      known.insert(in.id());
      front.push_back(in);
    }
  }
  tape.insert(tape.begin(), front.begin(), front.end());
}

void rebroadcast_for_replay(const Primitive& p, std::vector<array>& ins) {
  if (!p.is_elementwise() || ins.size() < 2) return;
  bool same = std::all_of(ins.begin(), ins.end(), [&](const array& a) { return a.shape() == ins[0].shape(); });
  if (same) return;
  std::vector<array> sources;
  Shape target;
  for (auto& in : ins) {
    bool recorded_broadcast = in.has_primitive() && dynamic_cast<const Broadcast*>(&in.primitive());
    sources.push_back(recorded_broadcast ? in.inputs()[0] : in);
    target = sources.size() == 1 ? sources[0].shape() : broadcast_shapes(target, sources.back().shape());
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    ins[i] = sources[i].shape() == target ? sources[i] : broadcast_to(sources[i], target);
  }
}

}  // namespace kiln::detail
