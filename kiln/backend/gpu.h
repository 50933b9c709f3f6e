// What the core needs from the GPU backend; kiln/backend/cuda implements it, and
// kiln/backend/no_cuda provides the same symbols for builds without CUDA.
#pragma once

#include "kiln/array.h"

namespace kiln::gpu {

/** True if a usable GPU is present (and the build has CUDA). */
bool is_available();
/** Runs the primitive of `arr` (and its siblings) on its GPU stream. */
void eval(array& arr);
/** Blocks until all GPU work on `s` has finished. */
void synchronize(const Stream& s);
/** Prepares `s` for use (creates the CUDA stream). */
void new_stream(const Stream& s);

}  // namespace kiln::gpu
