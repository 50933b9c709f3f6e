// Bindings of kiln/allocator.h: memory statistics and limits, as in MLX.
#include "utils.h"

using namespace kiln;

void init_memory(nb::module_& m) {
  m.def("get_active_memory", &get_active_memory, "Bytes held by live arrays.\n\nReturns:\n    int");
  m.def("get_peak_memory", &get_peak_memory,
        "The highest active memory since start or the last :func:`reset_peak_memory`.\n\nReturns:\n    int");
  m.def("reset_peak_memory", &reset_peak_memory, "Resets the peak memory to the current active memory.");
  m.def("get_cache_memory", &get_cache_memory,
        "Bytes held by the buffer cache (freed by arrays, kept for reuse).\n\nReturns:\n    int");
  m.def("set_memory_limit", &set_memory_limit, "limit"_a,
        "Sets the soft limit on active plus cached memory.\n\n"
        "Args:\n    limit (int): The limit in bytes.\n\nReturns:\n    int: The previous limit.");
  m.def("get_memory_limit", &get_memory_limit, "The memory limit in bytes.\n\nReturns:\n    int");
  m.def("set_cache_limit", &set_cache_limit, "limit"_a,
        "Sets the most memory the buffer cache may hold; 0 disables caching.\n\n"
        "Args:\n    limit (int): The limit in bytes.\n\nReturns:\n    int: The previous limit.");
  m.def("clear_cache", &clear_cache, "Releases every cached buffer to the system.");
}
