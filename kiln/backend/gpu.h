// What the core needs from the GPU backend; kiln/backend/cuda implements it, and
// kiln/backend/no_cuda provides the same symbols for builds without CUDA.
#pragma once

#include <cstddef>

#include "kiln/array.h"

namespace kiln::gpu {

/** True if a usable GPU is present (and the build has CUDA); never throws. */
bool is_available();
/** Runs the primitive of `arr` (and its siblings) on its GPU stream. */
void eval(array& arr);
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

}  // namespace kiln::gpu
