// The CPU thread pool kernels split large loops over. Small loops run inline: starting
// threads for them costs more than it saves.
#pragma once

#include <cstdint>
#include <functional>

namespace kiln::cpu {

/** Number of threads (the caller included) parallel_for uses. */
int num_threads();

/** Calls f(begin, end) over [0, n) split into chunks of at least `grain` items, in parallel
 *  when n > grain. Blocks until all chunks are done; rethrows the first exception. */
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

/** Minimum elements per thread for memory-bound elementwise loops. */
inline constexpr int64_t kElementwiseGrain = 1 << 15;

}  // namespace kiln::cpu
