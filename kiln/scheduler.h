// CPU stream workers: each stream runs its tasks in order on a thread of its own.
#pragma once

#include <functional>

#include "kiln/stream.h"

namespace kiln::scheduler {

/** Runs `task` after every task submitted to `s` before it. */
void enqueue(const Stream& s, std::function<void()> task);
/** True if `s` has no queued or running task. */
bool is_idle(const Stream& s);
/** Blocks until every task submitted to `s` has finished. */
void wait_for(const Stream& s);
/** Number of streams created so far. */
int num_streams();

}  // namespace kiln::scheduler
