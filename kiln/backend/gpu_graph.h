// CUDA graphs for compiled functions: the interface compile.cpp uses, implemented in
// backend/cuda/graph.cpp. No CUDA types here, so the core and builds without CUDA
// (backend/no_cuda/graph.cpp) include it too.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kiln/array.h"

namespace kiln {
class Primitive;
}

namespace kiln::gpu {

/** True when a GPU is present and KILN_DISABLE_CUDA_GRAPHS is unset (or "0"). */
KILN_API bool graphs_enabled();

/** A compiled tape packaged as one GPU node (see graph.cpp). `primitive` is null when the tape
 *  cannot run as a unit (nodes on several or non-GPU streams, an output that no node computes). */
struct GraphUnit {
  std::shared_ptr<Primitive> primitive;
  std::vector<array> constants;  // captured arrays the tape reads: node inputs after the call's inputs
  std::vector<Shape> shapes;     // of the outputs
  std::vector<Dtype> dtypes;
};

/** Packages `tape` (nodes in order, reading `sources` and captured constants) computing `outputs`. */
GraphUnit make_graph_unit(const std::vector<array>& sources, const std::vector<array>& tape,
                          const std::vector<array>& outputs);

/** Counters for tests and benchmarks. */
struct GraphStats {
  uint64_t runs = 0;       // unit evaluations launched kernel by kernel (warm-up, fallback)
  uint64_t captures = 0;   // graphs captured and instantiated
  uint64_t replays = 0;    // evaluations that launched a captured graph (the capturing one included)
  uint64_t fallbacks = 0;  // captures that failed: that unit and input layout run kernel by kernel
};
KILN_API GraphStats graph_stats();

}  // namespace kiln::gpu
