// Graph evaluation and the function transformations: vjp, jvp, grad, vmap, custom_function,
// checkpoint. Transformations trace a function on marked inputs ("tracers"), then walk the
// recorded graph applying each primitive's rule (see Primitive::vjp/jvp/vmap).
#pragma once

#include <functional>
#include <optional>
#include <utility>
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

/** A function of arrays, the unit every transformation takes and returns. */
using ArrayFn = std::function<std::vector<array>(const std::vector<array>&)>;

/** Outputs of `fun(primals)` and the cotangents of the primals (reverse mode). */
KILN_API std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn& fun, const std::vector<array>& primals,
                                                               const std::vector<array>& cotangents);
/** Outputs of `fun(primals)` and their tangents given the primals' tangents (forward mode). */
KILN_API std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn& fun, const std::vector<array>& primals,
                                                               const std::vector<array>& tangents);

/** `fun`'s outputs and the gradients of its first (scalar) output w.r.t. the inputs in `argnums`. */
using ValueAndGradFn = std::function<std::pair<std::vector<array>, std::vector<array>>(const std::vector<array>&)>;
KILN_API ValueAndGradFn value_and_grad(const ArrayFn& fun, std::vector<int> argnums = {0});

/** `fun` mapped over axis `in_axes[i]` of input i (-1: not mapped; default all 0); outputs carry the
 *  mapped axis at `out_axes[j]` (default 0; negative counts from the end). Each primitive's vmap rule batches it; nothing loops over the batch. */
KILN_API ArrayFn vmap(const ArrayFn& fun, std::vector<int> in_axes = {}, std::vector<int> out_axes = {});

/** User rules for custom_function: each gets the primals and returns one array per input/output. */
using CustomVjpFn = std::function<std::vector<array>(const std::vector<array>& primals,
                                                     const std::vector<array>& cotangents,
                                                     const std::vector<array>& outputs)>;
using CustomJvpFn = std::function<std::vector<array>(const std::vector<array>& primals,
                                                     const std::vector<array>& tangents,
                                                     const std::vector<int>& argnums)>;
using CustomVmapFn = std::function<std::pair<std::vector<array>, std::vector<int>>(const std::vector<array>& inputs,
                                                                                  const std::vector<int>& axes)>;
/** `fun` whose transformations use the given rules where present (and differentiate `fun` where not). */
KILN_API ArrayFn custom_function(ArrayFn fun, std::optional<CustomVjpFn> vjp = std::nullopt,
                                 std::optional<CustomJvpFn> jvp = std::nullopt,
                                 std::optional<CustomVmapFn> vmap = std::nullopt);
/** `fun` that keeps no intermediates for the backward pass: its vjp recomputes them. */
KILN_API ArrayFn checkpoint(ArrayFn fun);

namespace detail {
/** True while some transformation traces a function (then tracer graphs survive evaluation). */
KILN_API bool in_tracing();
/** Marks a trace in progress for its lifetime. */
struct KILN_API TraceScope {
  TraceScope();
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
};
}  // namespace detail

}  // namespace kiln
