// compile: trace a function once per input signature into a graph, simplify it (common
// subexpressions), fuse chains of elementwise primitives into single Compiled nodes, cache it,
// and replay the cached graph on later calls. See DESIGN.md "Transforms and compile" and
// docs in kiln/backend/cpu/compiled.cpp for how the CPU runs fused nodes.
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/primitives.h"
#include "kiln/transforms.h"

namespace kiln {

/** `fun` compiled. `fun_id` names its cache entries (one per distinct input shapes and dtypes,
 *  or ranks when `shapeless`, and `constants`: values of non-array arguments the caller folds
 *  into the key). Calls with compile disabled run `fun` directly. */
KILN_API ArrayFn compile(ArrayFn fun, std::uintptr_t fun_id, bool shapeless = false,
                         std::vector<uint64_t> constants = {});
/** Drops the cached graphs of `fun_id` (when the compiled function goes away). */
KILN_API void compile_erase(std::uintptr_t fun_id);
/** Drops every cached graph. */
KILN_API void compile_clear_cache();

/** Turns compile off (compiled functions then run uncompiled) or back on. The environment
 *  variable KILN_DISABLE_COMPILE set at start-up turns it off too. */
KILN_API void disable_compile();
KILN_API void enable_compile();
KILN_API bool compile_enabled();

/** Writes the graph below `outputs` in Graphviz dot form. */
KILN_API void export_to_dot(std::ostream& os, const std::vector<array>& outputs);

/** A fused chain of elementwise primitives, evaluated as one kernel that reads each input once
 *  and writes its output once. `members` are the fused nodes of the traced graph in evaluation
 *  order (the last is the output); `externals` the traced arrays the chain reads, in the order
 *  of this node's inputs. Its transformation rules replay the members unfused. */
class KILN_API Compiled : public UnaryPrimitive {
 public:
  Compiled(Stream stream, std::vector<array> externals, std::vector<array> members)
      : UnaryPrimitive(stream), externals_(std::move(externals)), members_(std::move(members)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Compiled)
  KILN_PRIMITIVE_TRANSFORMS
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  void print(std::ostream& os) const override;

  const std::vector<array>& externals() const { return externals_; }
  const std::vector<array>& members() const { return members_; }
  /** The members applied to `inputs` (in place of the externals) as ordinary, unfused nodes. */
  array unfused(const std::vector<array>& inputs) const;

  /** The kernel a backend built for this chain and an input layout `key` (null: none yet). */
  const void* cached_kernel(const std::string& key) const;
  void cache_kernel(const std::string& key, const void* kernel) const;

 private:
  std::vector<array> externals_, members_;
  mutable std::mutex kernels_mtx_;
  mutable std::unordered_map<std::string, const void*> kernels_;  // owned by the backend's loader
};

}  // namespace kiln
