// Events: one-shot signals that order work across streams and threads.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "kiln/api.h"

namespace kiln {

/** A host event: `signal` once, `wait` from any thread. Copies share the same state. */
class KILN_API Event {
 public:
  Event();
  /** Marks the event done and wakes all waiters. */
  void signal();
  /** Blocks until signal() was called. */
  void wait() const;
  /** True once signal() was called. */
  bool is_signaled() const;

 private:
  struct State {
    std::mutex mtx;
    std::condition_variable cv;
    bool done = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace kiln
