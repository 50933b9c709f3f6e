// compile: tracing, simplification, fusion, the graph cache and replay.
//
// A call looks up a cached graph for its input signature; on a miss, `fun` is traced on
// placeholder inputs (arrays without data), the nodes that depend on them are ordered
// (trace_between), equal nodes are merged, and chains of elementwise nodes become Compiled
// nodes. A call then replays the cached nodes on its inputs: new arrays with the cached
// primitives, so the per-call cost is one node per (fused) primitive and no Python.
#include "kiln/compile.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "kiln/backend/gpu_graph.h"
#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/trace.h"

namespace kiln {

using detail::str;

namespace {

std::atomic<bool> g_enabled{std::getenv("KILN_DISABLE_COMPILE") == nullptr};

struct Entry {
  std::vector<Shape> shapes;  // of the inputs (ranks only matter when shapeless)
  std::vector<Dtype> dtypes;
  std::vector<uint64_t> constants;
  std::vector<array> inputs;   // placeholders
  std::vector<array> outputs;  // traced outputs
  std::vector<array> tape;     // simplified and fused nodes that depend on the inputs, in order
  std::once_flag unit_once;
  gpu::GraphUnit unit;  // the tape as one GPU node (CUDA graphs), made on first use
};

std::mutex g_cache_mtx;
std::unordered_map<std::uintptr_t, std::vector<std::shared_ptr<Entry>>> g_cache;

bool matches(const Entry& e, const std::vector<array>& xs, bool shapeless, const std::vector<uint64_t>& constants) {
  if (e.dtypes.size() != xs.size() || e.constants != constants) return false;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].dtype() != e.dtypes[i]) return false;
    if (shapeless ? xs[i].ndim() != static_cast<int>(e.shapes[i].size()) : xs[i].shape() != e.shapes[i]) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- simplification

// Replaces every use of `from` (by id) with the mapped array, in node inputs and in `outputs`.
void remap_inputs(std::vector<array>& tape, std::vector<array>& outputs,
                  const std::unordered_map<std::uintptr_t, array>& map) {
  if (map.empty()) return;
  auto fix = [&](array& a) {
    auto it = map.find(a.id());
    if (it != map.end()) a = it->second;
  };
  for (auto& node : tape) {
    for (auto& in : node.inputs()) fix(in);
  }
  for (auto& o : outputs) fix(o);
}

// Makes equal scalar constants (the 2 of x * 2, each a separate leaf) one array, read directly or
// through a broadcast, so the node merging below can see the nodes that use them as equal.
void merge_equal_constants(std::vector<array>& tape) {
  std::map<std::tuple<int, std::string>, array> seen;  // (dtype, bytes)
  auto canonical = [&](array& a) {
    if (a.has_primitive() || !a.is_evaluated() || a.size() != 1 || a.ndim() != 0) return;
    std::string bytes(a.data<char>(), a.itemsize());
    auto [it, fresh] = seen.emplace(std::make_tuple(static_cast<int>(a.dtype().val), bytes), a);
    if (!fresh) a = it->second;
  };
  std::map<std::pair<std::uintptr_t, Shape>, array> broadcasts;  // (constant, shape)
  for (auto& node : tape) {
    for (auto& in : node.inputs()) {
      if (in.has_primitive() && dynamic_cast<Broadcast*>(&in.primitive()) && !in.inputs()[0].has_primitive()) {
        canonical(in.inputs()[0]);
        auto [it, fresh] = broadcasts.emplace(std::make_pair(in.inputs()[0].id(), in.shape()), in);
        if (!fresh) in = it->second;
      } else {
        canonical(in);
      }
    }
  }
}

// Merges nodes that compute the same function of the same inputs (common subexpressions).
void merge_equal_nodes(std::vector<array>& tape, std::vector<array>& outputs) {
  std::unordered_map<std::uintptr_t, array> replaced;
  std::multimap<std::pair<std::string, std::vector<std::uintptr_t>>, array> seen;
  std::vector<array> kept;
  for (auto& node : tape) {
    for (auto& in : node.inputs()) {
      auto it = replaced.find(in.id());
      if (it != replaced.end()) in = it->second;
    }
    std::vector<std::uintptr_t> ids;
    for (auto& in : node.inputs()) ids.push_back(in.id());
    auto key = std::make_pair(std::string(node.primitive().name()), ids);
    auto outs = node.outputs();
    bool merged = false;
    auto [lo, hi] = seen.equal_range(key);
    for (auto it = lo; it != hi && !merged; ++it) {
      const array& other = it->second;
      if (!other.primitive().is_equivalent(node.primitive())) continue;
      auto other_outs = other.outputs();
      if (other_outs.size() != outs.size()) continue;
      bool same = true;
      for (size_t j = 0; j < outs.size(); ++j) {
        same = same && outs[j].shape() == other_outs[j].shape() && outs[j].dtype() == other_outs[j].dtype();
      }
      if (!same) continue;
      for (size_t j = 0; j < outs.size(); ++j) replaced.emplace(outs[j].id(), other_outs[j]);
      merged = true;
    }
    if (merged) continue;
    seen.emplace(key, node);
    kept.push_back(node);
  }
  tape = std::move(kept);
  remap_inputs(tape, outputs, replaced);
}

// ---------------------------------------------------------------- fusion

bool fusable(const array& node) {
  if (node.outputs().size() != 1) return false;
  auto& p = node.primitive();
  return p.is_elementwise() || dynamic_cast<Broadcast*>(&p);
}

// Groups elementwise nodes into Compiled nodes. A group grows from its output backwards through
// inputs of the same shape whose every consumer is already in the group (and which are not
// outputs of the function), so no group depends on itself through an outside node. Broadcasts
// join only as the first step from an outside input (the kernel reads that input broadcast).
void fuse(std::vector<array>& tape, std::vector<array>& outputs) {
  std::unordered_map<std::uintptr_t, std::vector<std::uintptr_t>> consumers;  // by array id
  std::unordered_map<std::uintptr_t, size_t> position;
  for (size_t i = 0; i < tape.size(); ++i) {
    position[tape[i].id()] = i;
    for (auto& in : tape[i].inputs()) consumers[in.id()].push_back(tape[i].id());
  }
  std::unordered_set<std::uintptr_t> is_output;
  for (auto& o : outputs) is_output.insert(o.id());

  std::unordered_set<std::uintptr_t> grouped;
  std::unordered_map<std::uintptr_t, array> replaced;
  std::vector<std::pair<size_t, array>> fused_at;  // (position of the group's root, new node)
  for (size_t r = tape.size(); r-- > 0;) {
    const array& root = tape[r];
    if (grouped.count(root.id()) || !fusable(root) || dynamic_cast<Broadcast*>(&root.primitive())) continue;
    std::unordered_set<std::uintptr_t> members{root.id()};
    std::vector<array> constant_broadcasts;
    std::vector<array> frontier{root};
    while (!frontier.empty()) {
      array node = frontier.back();
      frontier.pop_back();
      if (dynamic_cast<Broadcast*>(&node.primitive())) continue;  // its input stays outside
      for (auto& in : node.inputs()) {
        auto pos = position.find(in.id());
        if (pos == position.end()) {
          // A broadcast of a constant (e.g. the 2 of x * 2) joins too, so the kernel reads the
          // constant itself: shapeless replays then broadcast it to the new shape.
          if (in.has_primitive() && dynamic_cast<Broadcast*>(&in.primitive()) && !in.inputs()[0].has_primitive() &&
              members.insert(in.id()).second) {
            constant_broadcasts.push_back(in);
          }
          continue;
        }
        if (members.count(in.id()) || grouped.count(in.id())) continue;
        if (is_output.count(in.id()) || !fusable(in) || in.shape() != root.shape()) continue;
        auto& cons = consumers[in.id()];
        bool all_inside = std::all_of(cons.begin(), cons.end(), [&](auto c) { return members.count(c) > 0; });
        if (!all_inside) continue;
        members.insert(in.id());
        frontier.push_back(in);
      }
    }
    // Worth a kernel: two computing nodes, or one that reads a broadcast operand.
    size_t compute = 0;
    for (auto id : members) {
      auto pos = position.find(id);
      compute += pos != position.end() && !dynamic_cast<Broadcast*>(&tape[pos->second].primitive());
    }
    if (compute < 2 && members.size() == compute) continue;
    if (compute == 0) continue;

    std::vector<array> ordered;
    for (auto id : members) {
      if (position.count(id)) ordered.push_back(tape[position[id]]);
    }
    std::sort(ordered.begin(), ordered.end(), [&](const array& a, const array& b) {
      return position[a.id()] < position[b.id()];
    });
    ordered.insert(ordered.begin(), constant_broadcasts.begin(), constant_broadcasts.end());
    std::vector<array> externals;
    std::unordered_set<std::uintptr_t> seen_ext;
    for (auto& m : ordered) {
      for (auto& in : m.inputs()) {
        if (!members.count(in.id()) && seen_ext.insert(in.id()).second) externals.push_back(in);
      }
    }
    auto prim = std::make_shared<Compiled>(root.primitive().stream(), externals, ordered);
    array fused(root.shape(), root.dtype(), prim, externals);
    grouped.insert(members.begin(), members.end());
    replaced.emplace(root.id(), fused);
    fused_at.emplace_back(r, fused);
  }
  if (fused_at.empty()) return;
  std::unordered_map<size_t, array> at;
  for (auto& [pos, node] : fused_at) at.emplace(pos, node);
  std::vector<array> out;
  for (size_t i = 0; i < tape.size(); ++i) {
    auto f = at.find(i);
    if (f != at.end()) out.push_back(f->second);
    else if (!grouped.count(tape[i].id())) out.push_back(tape[i]);
  }
  tape = std::move(out);
  // Nodes outside the groups, and new fused nodes (an external of one group may be the root of
  // another), now read the fused nodes. Members keep the traced arrays: code generation maps
  // them to inputs by the primitive's `externals`, which stay the traced ones.
  for (auto& node : tape) {
    for (auto& in : node.inputs()) {
      auto it = replaced.find(in.id());
      if (it != replaced.end()) in = it->second;
    }
  }
  for (auto& o : outputs) {
    auto it = replaced.find(o.id());
    if (it != replaced.end()) o = it->second;
  }
}

// ---------------------------------------------------------------- trace and replay

std::shared_ptr<Entry> trace_entry(const ArrayFn& fun, const std::vector<array>& xs,
                                   const std::vector<uint64_t>& constants) {
  auto e = std::make_shared<Entry>();
  e->constants = constants;
  for (auto& x : xs) {
    e->shapes.push_back(x.shape());
    e->dtypes.push_back(x.dtype());
    array p = array::placeholder(x.shape(), x.dtype());
    p.set_tracer(true);
    e->inputs.push_back(std::move(p));
  }
  {
    detail::TraceScope scope;
    e->outputs = fun(e->inputs);
  }
  e->tape = detail::trace_between(e->inputs, e->outputs, /*cut_at_stop=*/false).tape;
  detail::add_constant_broadcasts(e->tape, e->inputs);
  merge_equal_constants(e->tape);
  merge_equal_nodes(e->tape, e->outputs);
  fuse(e->tape, e->outputs);
  return e;
}

std::vector<array> replay(const Entry& e, const std::vector<array>& xs, bool shapeless) {
  std::unordered_map<std::uintptr_t, array> env;
  for (size_t i = 0; i < xs.size(); ++i) env.emplace(e.inputs[i].id(), xs[i]);
  auto lookup = [&](const array& a) {
    auto it = env.find(a.id());
    return it != env.end() ? it->second : a;
  };
  for (auto& node : e.tape) {
    std::vector<array> ins;
    for (auto& in : node.inputs()) ins.push_back(lookup(in));
    auto outs = node.outputs();
    auto prim = node.primitive_ptr();
    std::vector<Shape> shapes;
    std::vector<Dtype> dtypes;
    if (shapeless) {
      detail::rebroadcast_for_replay(*prim, ins);
      shapes = prim->output_shapes(ins);
    } else {
      for (auto& o : outs) shapes.push_back(o.shape());
    }
    for (auto& o : outs) dtypes.push_back(o.dtype());
    if (outs.size() == 1) {
      env.insert_or_assign(outs[0].id(), array(std::move(shapes[0]), dtypes[0], prim, std::move(ins)));
    } else {
      auto made = array::make_arrays(std::move(shapes), dtypes, prim, ins);
      for (size_t j = 0; j < outs.size(); ++j) env.insert_or_assign(outs[j].id(), made[j]);
    }
  }
  std::vector<array> result;
  for (auto& o : e.outputs) result.push_back(lookup(o));
  return result;
}

// CUDA graphs (backend/cuda/graph.cpp): on a GPU stream the whole replay becomes one node that
// runs the tape as a unit and, once warmed up, launches it as one captured CUDA graph. Traces
// in progress (grad or vmap of a compiled function, compile inside compile, export) get the
// node-by-node replay instead: they walk the graph. Shapeless entries too: a graph is per shape.
std::vector<array> replay_as_unit(Entry& e, const std::vector<array>& xs, bool shapeless) {
  if (shapeless || !gpu::graphs_enabled() || detail::in_tracing()) return {};
  std::call_once(e.unit_once, [&] { e.unit = gpu::make_graph_unit(e.inputs, e.tape, e.outputs); });
  if (!e.unit.primitive) return {};
  std::vector<array> ins = xs;
  ins.insert(ins.end(), e.unit.constants.begin(), e.unit.constants.end());
  return array::make_arrays(e.unit.shapes, e.unit.dtypes, e.unit.primitive, ins);
}

}  // namespace

ArrayFn compile(ArrayFn fun, std::uintptr_t fun_id, bool shapeless, std::vector<uint64_t> constants) {
  return [fun = std::move(fun), fun_id, shapeless, constants = std::move(constants)](const std::vector<array>& xs) {
    if (!compile_enabled()) return fun(xs);
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard<std::mutex> lk(g_cache_mtx);
      for (auto& e : g_cache[fun_id]) {
        if (matches(*e, xs, shapeless, constants)) {
          entry = e;
          break;
        }
      }
    }
    if (!entry) {
      entry = trace_entry(fun, xs, constants);
      std::lock_guard<std::mutex> lk(g_cache_mtx);
      g_cache[fun_id].push_back(entry);
    }
    auto outs = replay_as_unit(*entry, xs, shapeless);
    return outs.empty() ? replay(*entry, xs, shapeless) : outs;
  };
}

void compile_erase(std::uintptr_t fun_id) {
  std::lock_guard<std::mutex> lk(g_cache_mtx);
  g_cache.erase(fun_id);
}

void compile_clear_cache() {
  std::lock_guard<std::mutex> lk(g_cache_mtx);
  g_cache.clear();
}

void disable_compile() { g_enabled = false; }
void enable_compile() { g_enabled = true; }
bool compile_enabled() { return g_enabled; }

// ---------------------------------------------------------------- Compiled

std::vector<Shape> Compiled::output_shapes(const std::vector<array>& inputs) {
  std::vector<Shape> shapes;
  for (auto& in : inputs) shapes.push_back(in.shape());
  return {broadcast_shapes(shapes)};
}

void Compiled::print(std::ostream& os) const {
  os << "Compiled(";
  for (size_t i = 0; i < members_.size(); ++i) os << (i ? ", " : "") << members_[i].primitive().name();
  os << ")";
}

array Compiled::unfused(const std::vector<array>& inputs) const {
  std::unordered_map<std::uintptr_t, array> env;
  for (size_t i = 0; i < externals_.size(); ++i) env.emplace(externals_[i].id(), inputs[i]);
  // Shapes follow the actual inputs (a shapeless replay may differ from the trace): broadcasts
  // go to the node's output shape, elementwise members keep their inputs' shape.
  Shape target = const_cast<Compiled*>(this)->output_shapes(inputs)[0];
  array last;
  for (auto& m : members_) {
    std::vector<array> ins;
    for (auto& in : m.inputs()) {
      auto it = env.find(in.id());
      ins.push_back(it != env.end() ? it->second : in);
    }
    if (dynamic_cast<Broadcast*>(&m.primitive())) {
      last = broadcast_to(ins[0], target, stream());
    } else {
      Shape shape = m.primitive().output_shapes(ins)[0];
      last = array(std::move(shape), m.dtype(), m.primitive_ptr(), std::move(ins));
    }
    env.insert_or_assign(m.id(), last);
  }
  return last;
}

const void* Compiled::cached_kernel(const std::string& key) const {
  std::lock_guard<std::mutex> lk(kernels_mtx_);
  auto it = kernels_.find(key);
  return it != kernels_.end() ? it->second : nullptr;
}

void Compiled::cache_kernel(const std::string& key, const void* kernel) const {
  std::lock_guard<std::mutex> lk(kernels_mtx_);
  kernels_[key] = kernel;
}

std::vector<array> Compiled::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                                 const std::vector<int>& argnums) {
  std::vector<array> full;
  for (auto& p : primals) full.push_back(zeros_like(p));
  for (size_t k = 0; k < argnums.size(); ++k) full[argnums[k]] = tangents[k];
  auto fn = [this](const std::vector<array>& xs) { return std::vector<array>{unfused(xs)}; };
  return kiln::jvp(fn, primals, full).second;
}

std::vector<array> Compiled::vjp(const std::vector<array>& primals, const std::vector<array>& cotangents,
                                 const std::vector<int>& argnums, const std::vector<array>&) {
  auto fn = [this](const std::vector<array>& xs) { return std::vector<array>{unfused(xs)}; };
  auto all = kiln::vjp(fn, primals, cotangents).second;
  std::vector<array> out;
  for (int a : argnums) out.push_back(all[a]);
  return out;
}

std::pair<std::vector<array>, std::vector<int>> Compiled::vmap(const std::vector<array>& inputs,
                                                               const std::vector<int>& axes) {
  auto fn = [this](const std::vector<array>& xs) { return std::vector<array>{unfused(xs)}; };
  return {kiln::vmap(fn, axes)(inputs), {0}};
}

// ---------------------------------------------------------------- export_to_dot

void export_to_dot(std::ostream& os, const std::vector<array>& outputs) {
  os << "digraph {\n  rankdir=LR;\n";
  std::unordered_set<std::uintptr_t> seen;
  std::vector<array> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    array a = stack.back();
    stack.pop_back();
    if (!seen.insert(a.id()).second) continue;
    os << "  a" << a.id() << " [label=\"" << a.shape() << " " << a.dtype() << "\", shape=box];\n";
    if (!a.has_primitive()) continue;
    os << "  n" << a.node_id() << " [label=\"";
    a.primitive().print(os);
    os << "\"];\n  n" << a.node_id() << " -> a" << a.id() << ";\n";
    for (auto& in : a.inputs()) {
      os << "  a" << in.id() << " -> n" << a.node_id() << ";\n";
      stack.push_back(in);
    }
  }
  os << "}\n";
}

}  // namespace kiln
