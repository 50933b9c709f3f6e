// Builds without CUDA: the GPU entry points exist and say clearly that there is no GPU.
#include <stdexcept>

#include "kiln/backend/gpu.h"

namespace kiln {

namespace gpu {
bool is_available() { return false; }
void eval(array&) { throw std::runtime_error("[eval] This build of kiln has no GPU backend."); }
void eval(array&, std::vector<array>&) { throw std::runtime_error("[eval] This build of kiln has no GPU backend."); }
void synchronize(const Stream&) {}
void new_stream(const Stream&) { throw std::runtime_error("[new_stream] This build of kiln has no GPU backend."); }
// No DeviceBuffer is ever made without CUDA, so these are never reached.
size_t buffer_size(const DeviceBuffer&) { return 0; }
void copy_to_host(DeviceBuffer&, void*) { throw std::runtime_error("[copy_to_host] This build of kiln has no GPU backend."); }
void release(DeviceBuffer*) {}
size_t active_memory() { return 0; }
size_t peak_memory() { return 0; }
void reset_peak_memory() {}
size_t cache_memory() { return 0; }
void clear_cache() {}
void set_memory_limit(size_t) {}
void set_cache_limit(size_t) {}
std::map<std::string, std::variant<std::string, size_t>> device_info() { return {}; }
}  // namespace gpu

}  // namespace kiln

// Every eval_gpu is a stub.
#include "kiln/backend/common/gpu_stubs.h"
