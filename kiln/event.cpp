#include "kiln/event.h"

namespace kiln {

Event::Event() : state_(std::make_shared<State>()) {}

void Event::signal() {
  {
    std::lock_guard<std::mutex> lk(state_->mtx);
    state_->done = true;
  }
  state_->cv.notify_all();
}

void Event::wait() const {
  std::unique_lock<std::mutex> lk(state_->mtx);
  state_->cv.wait(lk, [this] { return state_->done; });
}

bool Event::is_signaled() const {
  std::lock_guard<std::mutex> lk(state_->mtx);
  return state_->done;
}

}  // namespace kiln
