// What the core needs from the GPU backend; kiln/backend/cuda implements it, and
// kiln/backend/no_cuda provides the same symbols for builds without CUDA.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "kiln/array.h"

namespace kiln::gpu {

/** True if a usable GPU is present (and the build has CUDA); never throws. */
bool is_available();
/** Runs the primitive of `arr` (and its siblings) on its GPU stream. */
void eval(array& arr);
/** The same with `arr.outputs()` already at hand (the eval loop has them). */
void eval(array& arr, std::vector<array>& outputs);
/** Blocks until all GPU work on `s` has finished. */
void synchronize(const Stream& s);
/** Prepares `s` for use (creates the CUDA stream). */
void new_stream(const Stream& s);

// ---- device copies of array data (array::Data holds a DeviceBuffer*) ----
/** Bytes the device allocation was asked for. */
size_t buffer_size(const DeviceBuffer& b);
/** Copies the whole allocation to host memory `dst` after the work that wrote it finished. */
void copy_to_host(DeviceBuffer& b, void* dst);
/** Frees the allocation once the work queued on it has finished. */
void release(DeviceBuffer* b);

// ---- device memory statistics (zero without a GPU) ----
size_t active_memory();
size_t peak_memory();
void reset_peak_memory();
size_t cache_memory();
void clear_cache();
/** The device allocator's soft limit on active + cached device memory (capped at 95% of the
 *  device's memory) and its cache limit; the core passes MLX's one knob of each to both
 *  allocators. */
void set_memory_limit(size_t limit);
void set_cache_limit(size_t limit);

/** MLX's device_info keys for the GPU (device_name, architecture, memory_size, ...); empty
 *  without a GPU. */
std::map<std::string, std::variant<std::string, size_t>> device_info();

}  // namespace kiln::gpu
