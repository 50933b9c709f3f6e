#include "kiln/stream.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kiln/backend/gpu.h"
#include "kiln/scheduler.h"

namespace kiln {

namespace {

// A CPU stream's worker thread, started on the first task submitted to it.
class StreamWorker {
 public:
  ~StreamWorker() {
    {
      std::lock_guard<std::mutex> lk(mtx_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void enqueue(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lk(mtx_);
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      tasks_.push_back(std::move(task));
      ++pending_;
    }
    cv_.notify_all();
  }

  bool idle() {
    std::lock_guard<std::mutex> lk(mtx_);
    return pending_ == 0;
  }

  void wait() {
    std::unique_lock<std::mutex> lk(mtx_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
  }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lk(mtx_);
        cv_.wait(lk, [this] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
      {
        std::lock_guard<std::mutex> lk(mtx_);
        --pending_;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> tasks_;
  int pending_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

struct StreamRegistry {
  std::mutex mtx;
  std::vector<Stream> streams;
  std::vector<std::unique_ptr<StreamWorker>> workers;
  int default_cpu;
  int default_gpu = -1;

  StreamRegistry() { default_cpu = add(Device(Device::cpu)); }

  int add(Device d) {
    int idx = static_cast<int>(streams.size());
    streams.emplace_back(idx, d);
    workers.push_back(std::make_unique<StreamWorker>());
    return idx;
  }
};

StreamRegistry& registry() {
  // Leaked on purpose: worker threads must not be joined during static destruction while
  // Python may still hold arrays whose tasks are queued.
  static StreamRegistry* r = new StreamRegistry();
  return *r;
}

StreamWorker& worker(const Stream& s) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  return *r.workers.at(s.index);
}

}  // namespace

Stream default_stream(Device d) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  if (d.type == Device::cpu) return r.streams[r.default_cpu];
  if (r.default_gpu < 0) {
    if (!gpu::is_available()) {
      throw std::invalid_argument("[default_stream] Device gpu is not available in this build or on this machine.");
    }
    r.default_gpu = r.add(d);
    gpu::new_stream(r.streams[r.default_gpu]);
  }
  return r.streams[r.default_gpu];
}

void set_default_stream(Stream s) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  if (s.device.type == Device::cpu) {
    r.default_cpu = s.index;
  } else {
    r.default_gpu = s.index;
  }
}

Stream new_stream(Device d) {
  if (d.type == Device::gpu && !gpu::is_available()) {
    throw std::invalid_argument("[new_stream] Device gpu is not available in this build or on this machine.");
  }
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  int idx = r.add(d);
  if (d.type == Device::gpu) gpu::new_stream(r.streams[idx]);
  return r.streams[idx];
}

Stream get_stream(int index) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  if (index < 0 || index >= static_cast<int>(r.streams.size())) {
    throw std::out_of_range("[get_stream] No stream with index " + std::to_string(index) + ".");
  }
  return r.streams[index];
}

void synchronize(Stream s) {
  scheduler::wait_for(s);
  if (s.device.type == Device::gpu) gpu::synchronize(s);
}

void synchronize() { synchronize(default_stream(default_device())); }

std::ostream& operator<<(std::ostream& os, const Stream& s) {
  return os << "Stream(" << (s.device.type == Device::cpu ? "cpu" : "gpu") << ", " << s.index << ")";
}

namespace {
std::atomic<int> next_thread_local_id{0};
thread_local std::unordered_map<int, Stream> thread_local_streams;
}  // namespace

Stream ThreadLocalStream::get() const {
  auto it = thread_local_streams.find(id);
  if (it == thread_local_streams.end()) it = thread_local_streams.emplace(id, new_stream(device)).first;
  return it->second;
}

ThreadLocalStream new_thread_local_stream(Device d) {
  if (d.type == Device::gpu && !gpu::is_available()) {
    throw std::invalid_argument("[new_thread_local_stream] Device gpu is not available in this build or on this machine.");
  }
  return {d, next_thread_local_id++};
}

Stream new_thread_unsafe_stream(Device d) { return new_stream(d); }

void clear_streams() {
  for (auto& [id, s] : thread_local_streams) synchronize(s);
  thread_local_streams.clear();
}

Stream to_stream(StreamOrDevice s) {
  if (std::holds_alternative<Stream>(s)) return std::get<Stream>(s);
  if (std::holds_alternative<Device>(s)) return default_stream(std::get<Device>(s));
  return default_stream(default_device());
}

namespace scheduler {
void enqueue(const Stream& s, std::function<void()> task) { worker(s).enqueue(std::move(task)); }
bool is_idle(const Stream& s) { return worker(s).idle(); }
void wait_for(const Stream& s) { worker(s).wait(); }
int num_streams() {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mtx);
  return static_cast<int>(r.streams.size());
}
}  // namespace scheduler

}  // namespace kiln
