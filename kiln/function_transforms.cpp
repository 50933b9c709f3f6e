// The function transformations of transforms.h: each traces `fun` on tracer inputs, orders the
// nodes that depend on them, and applies the primitives' vjp/jvp/vmap rules along that order.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"
#include "kiln/trace.h"
#include "kiln/transforms.h"

namespace kiln {

using detail::str;
using detail::trace_between;

namespace detail {

namespace {
std::atomic<int> g_trace_depth{0};
}

bool in_tracing() { return g_trace_depth.load(std::memory_order_relaxed) > 0; }
TraceScope::TraceScope() { g_trace_depth.fetch_add(1); }
TraceScope::~TraceScope() { g_trace_depth.fetch_sub(1); }

}  // namespace detail

namespace {

// Fresh nodes standing for `primals` while `fun` is traced.
std::vector<array> make_tracers(const std::vector<array>& primals) {
  std::vector<array> tracers;
  tracers.reserve(primals.size());
  for (auto& p : primals) {
    array t(p.shape(), p.dtype(), std::make_shared<Identity>(p.has_primitive() ? p.primitive().stream() : p.stream()),
            {p});
    t.set_tracer(true);
    tracers.push_back(std::move(t));
  }
  return tracers;
}

std::vector<array> trace(const ArrayFn& fun, const std::vector<array>& inputs) {
  detail::TraceScope scope;
  return fun(inputs);
}

void check_rule_output(const Primitive& p, const char* rule, const array& got, const array& like) {
  if (got.shape() != like.shape()) {
    throw std::runtime_error(str("[", rule, "] The ", rule, " rule of ", p.name(), " returned shape ", got.shape(),
                                 " where ", like.shape(), " was expected."));
  }
}

// Reverse mode; the cotangents are made from the traced outputs (grad seeds with ones of the
// output's dtype, which is known only after tracing).
using SeedFn = std::function<std::vector<array>(const std::vector<array>& outputs)>;

std::pair<std::vector<array>, std::vector<array>> vjp_seeded(const ArrayFn& fun, const std::vector<array>& primals,
                                                             const SeedFn& seed) {
  auto tracers = make_tracers(primals);
  auto outputs = trace(fun, tracers);
  auto cotangents = seed(outputs);
  if (cotangents.size() > outputs.size()) {
    throw std::invalid_argument(str("[vjp] Got ", cotangents.size(), " cotangents for ", outputs.size(), " outputs."));
  }
  std::unordered_map<std::uintptr_t, array> cotan;
  auto accumulate = [&](const array& target, array c) {
    if (c.dtype() != target.dtype()) c = astype(c, target.dtype());
    auto [it, fresh] = cotan.try_emplace(target.id(), c);
    if (!fresh) it->second = add(it->second, c);
  };
  for (size_t i = 0; i < cotangents.size(); ++i) {
    if (cotangents[i].shape() != outputs[i].shape()) {
      throw std::invalid_argument(str("[vjp] Cotangent ", i, " has shape ", cotangents[i].shape(),
                                      " but the output has shape ", outputs[i].shape(), "."));
    }
    accumulate(outputs[i], cotangents[i]);
  }

  auto t = trace_between(tracers, outputs);
  for (auto it = t.tape.rbegin(); it != t.tape.rend(); ++it) {
    auto outs = it->outputs();
    std::vector<array> cts;
    bool any = false;
    for (auto& o : outs) {
      auto c = cotan.find(o.id());
      any |= c != cotan.end();
      cts.push_back(c != cotan.end() ? c->second : zeros_like(o));
    }
    if (!any) continue;
    for (auto& o : outs) cotan.erase(o.id());
    const auto& inputs = it->inputs();
    std::vector<int> argnums;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (t.depends_on_source(inputs[i])) argnums.push_back(static_cast<int>(i));
    }
    auto& p = it->primitive();
    auto grads = p.vjp(inputs, cts, argnums, outs);
    for (size_t k = 0; k < argnums.size(); ++k) {
      const array& in = inputs[argnums[k]];
      check_rule_output(p, "vjp", grads[k], in);
      accumulate(in, grads[k]);
    }
  }

  std::vector<array> result;
  for (size_t i = 0; i < tracers.size(); ++i) {
    auto c = cotan.find(tracers[i].id());
    result.push_back(c != cotan.end() ? c->second : zeros_like(primals[i]));
  }
  return {outputs, result};
}

}  // namespace

std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn& fun, const std::vector<array>& primals,
                                                      const std::vector<array>& cotangents) {
  return vjp_seeded(fun, primals, [&](const std::vector<array>&) { return cotangents; });
}

std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn& fun, const std::vector<array>& primals,
                                                      const std::vector<array>& tangents) {
  if (tangents.size() != primals.size()) {
    throw std::invalid_argument(str("[jvp] Got ", tangents.size(), " tangents for ", primals.size(), " primals."));
  }
  for (size_t i = 0; i < primals.size(); ++i) {
    if (tangents[i].shape() != primals[i].shape()) {
      throw std::invalid_argument(str("[jvp] Tangent ", i, " has shape ", tangents[i].shape(),
                                      " but the primal has shape ", primals[i].shape(), "."));
    }
  }
  auto tracers = make_tracers(primals);
  auto outputs = trace(fun, tracers);
  std::unordered_map<std::uintptr_t, array> tan;
  for (size_t i = 0; i < tracers.size(); ++i) {
    array ti = tangents[i].dtype() == primals[i].dtype() ? tangents[i] : astype(tangents[i], primals[i].dtype());
    tan.emplace(tracers[i].id(), ti);
  }

  auto t = trace_between(tracers, outputs);
  for (auto& node : t.tape) {
    const auto& inputs = node.inputs();
    std::vector<int> argnums;
    std::vector<array> tans;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto it = tan.find(inputs[i].id());
      if (it == tan.end()) continue;
      argnums.push_back(static_cast<int>(i));
      tans.push_back(it->second);
    }
    if (argnums.empty()) continue;
    auto& p = node.primitive();
    auto outs = node.outputs();
    auto out_tans = p.jvp(inputs, tans, argnums);
    for (size_t j = 0; j < outs.size(); ++j) {
      check_rule_output(p, "jvp", out_tans[j], outs[j]);
      array ot = out_tans[j].dtype() == outs[j].dtype() ? out_tans[j] : astype(out_tans[j], outs[j].dtype());
      tan.insert_or_assign(outs[j].id(), ot);
    }
  }

  std::vector<array> result;
  for (auto& o : outputs) {
    auto it = tan.find(o.id());
    result.push_back(it != tan.end() ? it->second : zeros_like(o));
  }
  return {outputs, result};
}

ValueAndGradFn value_and_grad(const ArrayFn& fun, std::vector<int> argnums) {
  if (argnums.empty()) throw std::invalid_argument("[grad] Must differentiate with respect to at least one argument.");
  std::vector<int> sorted = argnums;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw std::invalid_argument("[grad] Repeat argument index in argnums.");
  }
  return [fun, argnums](const std::vector<array>& inputs) {
    for (int a : argnums) {
      if (a < 0 || a >= static_cast<int>(inputs.size())) {
        throw std::invalid_argument(str("[grad] Invalid argument number ", a, " for a function called with ",
                                        inputs.size(), " arguments."));
      }
    }
    std::vector<array> primals;
    for (int a : argnums) primals.push_back(inputs[a]);
    auto partial = [&](const std::vector<array>& diff) {
      std::vector<array> args = inputs;
      for (size_t k = 0; k < argnums.size(); ++k) args[argnums[k]] = diff[k];
      return fun(args);
    };
    auto seed = [](const std::vector<array>& outs) {
      if (outs.empty()) throw std::invalid_argument("[grad] The function must return at least one array.");
      if (outs[0].ndim() != 0) {
        throw std::invalid_argument(str("[grad] The function must return a scalar array; got shape ", outs[0].shape(),
                                        "."));
      }
      return std::vector<array>{ones_like(outs[0])};
    };
    return vjp_seeded(partial, primals, seed);
  };
}

ArrayFn vmap(const ArrayFn& fun, std::vector<int> in_axes, std::vector<int> out_axes) {
  return [fun, in_axes, out_axes](const std::vector<array>& inputs) {
    std::vector<int> axes = in_axes.empty() ? std::vector<int>(inputs.size(), 0) : in_axes;
    if (axes.size() != inputs.size()) {
      throw std::invalid_argument(str("[vmap] Got ", axes.size(), " input axes for ", inputs.size(), " inputs."));
    }
    int batch = -1;
    std::vector<array> tracers;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (axes[i] == -1) {
        tracers.push_back(inputs[i]);
        continue;
      }
      const array& in = inputs[i];
      int ax = axes[i];
      if (ax < 0 || ax >= in.ndim()) {
        throw std::invalid_argument(str("[vmap] Axis ", axes[i], " is out of bounds for input ", i, " with ",
                                        in.ndim(), " dimensions."));
      }
      if (batch != -1 && in.shape(ax) != batch) {
        throw std::invalid_argument(str("[vmap] Inconsistent sizes along the mapped axes: ", batch, " and ",
                                        in.shape(ax), " (input ", i, ")."));
      }
      batch = in.shape(ax);
      axes[i] = ax;
      Shape sh = in.shape();
      sh.erase(sh.begin() + ax);
      tracers.push_back(array::placeholder(sh, in.dtype()));
      tracers.back().set_tracer(true);
    }
    if (batch == -1) throw std::invalid_argument("[vmap] At least one input must be mapped (in_axes all None).");

    auto outputs = trace(fun, tracers);
    std::vector<array> sources;
    std::unordered_map<std::uintptr_t, std::pair<array, int>> batched;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (axes[i] == -1) continue;
      sources.push_back(tracers[i]);
      batched.emplace(tracers[i].id(), std::make_pair(inputs[i], axes[i]));
    }
    auto t = trace_between(sources, outputs, /*cut_at_stop=*/false);
    for (auto& node : t.tape) {
      std::vector<array> ins;
      std::vector<int> in_ax;
      for (auto& in : node.inputs()) {
        auto it = batched.find(in.id());
        ins.push_back(it != batched.end() ? it->second.first : in);
        in_ax.push_back(it != batched.end() ? it->second.second : -1);
      }
      auto& p = node.primitive();
      auto [outs, o_ax] = p.vmap(ins, in_ax);
      auto originals = node.outputs();
      for (size_t j = 0; j < originals.size(); ++j) batched.insert_or_assign(originals[j].id(), std::make_pair(outs[j], o_ax[j]));
    }

    std::vector<int> oaxes = out_axes.empty() ? std::vector<int>(outputs.size(), 0) : out_axes;
    if (oaxes.size() != outputs.size()) {
      throw std::invalid_argument(str("[vmap] Got ", oaxes.size(), " output axes for ", outputs.size(), " outputs."));
    }
    std::vector<array> result;
    for (size_t j = 0; j < outputs.size(); ++j) {
      auto it = batched.find(outputs[j].id());
      array v = it != batched.end() ? it->second.first : outputs[j];
      int ax = it != batched.end() ? it->second.second : -1;
      int nd = v.ndim() + (ax == -1 ? 1 : 0);
      int oax = oaxes[j] < 0 ? oaxes[j] + nd : oaxes[j];
      if (oax < 0 || oax >= nd) {
        throw std::invalid_argument(str("[vmap] Output axis ", oaxes[j], " is out of bounds for output ", j,
                                        " with ", nd, " dimensions."));
      }
      if (ax == -1) {  // does not depend on a mapped input: the same value for every batch element
        Shape sh = v.shape();
        sh.insert(sh.begin() + oax, batch);
        result.push_back(broadcast_to(expand_dims(v, oax), sh));
      } else {
        result.push_back(ax == oax ? v : moveaxis(v, ax, oax));
      }
    }
    return result;
  };
}

ArrayFn custom_function(ArrayFn fun, std::optional<CustomVjpFn> vjp_fn, std::optional<CustomJvpFn> jvp_fn,
                        std::optional<CustomVmapFn> vmap_fn) {
  return [=](const std::vector<array>& inputs) {
    auto outputs = fun(inputs);
    std::vector<array> node_inputs = inputs;
    std::vector<Shape> shapes;
    std::vector<Dtype> dtypes;
    for (auto& o : outputs) {
      node_inputs.push_back(stop_gradient(o));
      shapes.push_back(o.shape());
      dtypes.push_back(o.dtype());
    }
    Stream s = outputs.empty() ? default_stream(default_device()) : outputs[0].stream();
    auto p = std::make_shared<CustomTransforms>(s, static_cast<int>(inputs.size()), fun,
                                                vjp_fn ? *vjp_fn : CustomTransforms::VjpFn{},
                                                jvp_fn ? *jvp_fn : CustomTransforms::JvpFn{},
                                                vmap_fn ? *vmap_fn : CustomTransforms::VmapFn{});
    return array::make_arrays(std::move(shapes), dtypes, p, node_inputs);
  };
}

ArrayFn checkpoint(ArrayFn fun) {
  // The backward pass runs `fun` again on the primals instead of keeping its intermediates.
  CustomVjpFn recompute = [fun](const std::vector<array>& primals, const std::vector<array>& cotangents,
                                const std::vector<array>&) { return vjp(fun, primals, cotangents).second; };
  return custom_function(fun, recompute);
}

}  // namespace kiln
