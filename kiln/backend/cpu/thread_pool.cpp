#include "kiln/backend/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::cpu {

namespace {

// Set inside pool work; a nested parallel_for then runs inline instead of deadlocking.
thread_local bool t_in_pool = false;

// Workers sleep on a condition variable; a job is published with a generation counter and
// chunks are taken with an atomic index, so uneven chunks balance themselves.
class ThreadPool {
 public:
  ThreadPool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("KILN_NUM_THREADS")) n = std::max(1, std::atoi(env));
    n = std::max(1, n);
    size_ = n;
    for (int i = 0; i + 1 < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lk(mtx_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const { return size_; }

  void run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& f) {
    // One job at a time; concurrent callers (several streams) serialize here.
    std::lock_guard<std::mutex> job_lock(job_mtx_);
    {
      std::lock_guard<std::mutex> lk(mtx_);
      fn_ = &f;
      n_ = n;
      chunk_ = chunk;
      next_.store(0);
      active_ = static_cast<int>(workers_.size());
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mtx_);
    done_cv_.wait(lk, [this] { return active_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    t_in_pool = true;
    struct Reset { ~Reset() { t_in_pool = false; } } reset;
    while (true) {
      int64_t begin = next_.fetch_add(chunk_);
      if (begin >= n_) break;
      int64_t end = std::min(n_, begin + chunk_);
      try {
        (*fn_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mtx_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lk(mtx_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mtx_);
        --active_;
      }
      done_cv_.notify_all();
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex job_mtx_;
  std::mutex mtx_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // leaked: kernels may run during static destruction
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  if (n <= 0) return;
  int threads = pool().size();
  if (threads == 1 || n <= grain || t_in_pool) {
    f(0, n);
    return;
  }
  int64_t parts = std::min<int64_t>(threads, (n + grain - 1) / grain);
  int64_t chunk = (n + parts - 1) / parts;
  pool().run(n, chunk, f);
}

}  // namespace kiln::cpu
