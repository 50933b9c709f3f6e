// Builds without CUDA: compiled functions never become graph units.
#include "kiln/backend/gpu_graph.h"

namespace kiln::gpu {
bool graphs_enabled() { return false; }
GraphUnit make_graph_unit(const std::vector<array>&, const std::vector<array>&, const std::vector<array>&) {
  return {};
}
GraphStats graph_stats() { return {}; }
}  // namespace kiln::gpu
