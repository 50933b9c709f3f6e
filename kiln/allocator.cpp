#include "kiln/allocator.h"

#include "kiln/backend/gpu.h"

#include <sys/sysinfo.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace kiln {
namespace allocator {

namespace {

// Each allocation carries a 64-byte header holding its size class, so free() needs no lookup
// and the user pointer stays 64-byte aligned for vector loads.
constexpr size_t kHeader = 64;

size_t size_class(size_t size) {
  if (size <= 4096) return (size + 63) & ~size_t(63);
  if (size <= (size_t(1) << 20)) return (size + 4095) & ~size_t(4095);
  // Large buffers: round to 1/16 of the next power of two, so a slightly different size hits.
  size_t p = 1;
  while (p < size) p <<= 1;
  size_t step = p / 16;
  return (size + step - 1) / step * step;
}

size_t total_system_memory() {
  struct sysinfo info;
  if (sysinfo(&info) == 0) return static_cast<size_t>(info.totalram) * info.mem_unit;
  return size_t(16) << 30;
}

class HostAllocator {
 public:
  HostAllocator() {
    memory_limit_ = total_system_memory() * 3 / 4;
    cache_limit_ = memory_limit_;
  }

  void* malloc(size_t size) {
    if (size == 0) return nullptr;
    size_t cls = size_class(size);
    {
      std::lock_guard<std::mutex> lk(mtx_);
      auto it = cache_.find(cls);
      if (it != cache_.end() && !it->second.empty()) {
        char* base = it->second.back();
        it->second.pop_back();
        cache_memory_ -= cls;
        add_active(cls);
        return base + kHeader;
      }
      // Over the limit: give the cache back before asking the system for more.
      if (active_memory_ + cache_memory_ + cls > memory_limit_) release_cache_locked(cls);
    }
    char* base = static_cast<char*>(std::aligned_alloc(64, cls + kHeader));
    if (base == nullptr) {
      std::lock_guard<std::mutex> lk(mtx_);
      release_cache_locked(cache_memory_);
      base = static_cast<char*>(std::aligned_alloc(64, cls + kHeader));
      if (base == nullptr) throw std::bad_alloc();
    }
    *reinterpret_cast<size_t*>(base) = cls;
    std::lock_guard<std::mutex> lk(mtx_);
    add_active(cls);
    return base + kHeader;
  }

  void free(void* ptr) {
    if (ptr == nullptr) return;
    char* base = static_cast<char*>(ptr) - kHeader;
    size_t cls = *reinterpret_cast<size_t*>(base);
    std::lock_guard<std::mutex> lk(mtx_);
    active_memory_ -= cls;
    if (cache_memory_ + cls <= cache_limit_) {
      cache_[cls].push_back(base);
      cache_memory_ += cls;
    } else {
      std::free(base);
    }
  }

  size_t size_of(void* ptr) {
    if (ptr == nullptr) return 0;
    return *reinterpret_cast<size_t*>(static_cast<char*>(ptr) - kHeader);
  }

  size_t active() { std::lock_guard<std::mutex> lk(mtx_); return active_memory_; }
  size_t peak() { std::lock_guard<std::mutex> lk(mtx_); return peak_memory_; }
  void reset_peak() { std::lock_guard<std::mutex> lk(mtx_); peak_memory_ = active_memory_; }
  size_t cache() { std::lock_guard<std::mutex> lk(mtx_); return cache_memory_; }
  size_t memory_limit() { std::lock_guard<std::mutex> lk(mtx_); return memory_limit_; }

  size_t set_memory_limit(size_t limit) {
    std::lock_guard<std::mutex> lk(mtx_);
    size_t old = memory_limit_;
    memory_limit_ = limit;
    return old;
  }
  size_t set_cache_limit(size_t limit) {
    std::lock_guard<std::mutex> lk(mtx_);
    size_t old = cache_limit_;
    cache_limit_ = limit;
    if (cache_memory_ > cache_limit_) release_cache_locked(cache_memory_ - cache_limit_);
    return old;
  }
  void clear() {
    std::lock_guard<std::mutex> lk(mtx_);
    release_cache_locked(cache_memory_);
  }

 private:
  void add_active(size_t n) {
    active_memory_ += n;
    if (active_memory_ > peak_memory_) peak_memory_ = active_memory_;
  }
  // Frees cached buffers until at least `bytes` were released or the cache is empty.
  void release_cache_locked(size_t bytes) {
    size_t released = 0;
    for (auto it = cache_.begin(); it != cache_.end() && released < bytes;) {
      auto& vec = it->second;
      while (!vec.empty() && released < bytes) {
        std::free(vec.back());
        vec.pop_back();
        released += it->first;
      }
      it = vec.empty() ? cache_.erase(it) : std::next(it);
    }
    cache_memory_ -= released;
  }

  std::mutex mtx_;
  std::unordered_map<size_t, std::vector<char*>> cache_;
  size_t active_memory_ = 0;
  size_t peak_memory_ = 0;
  size_t cache_memory_ = 0;
  size_t memory_limit_;
  size_t cache_limit_;
};

HostAllocator& host_allocator() {
  // Leaked on purpose: arrays freed during static destruction must still find it.
  static HostAllocator* a = new HostAllocator();
  return *a;
}

}  // namespace

Buffer malloc(size_t size) { return Buffer(host_allocator().malloc(size)); }
void free(Buffer buffer) { host_allocator().free(buffer.ptr); }
size_t size_of(Buffer buffer) { return host_allocator().size_of(buffer.ptr); }

}  // namespace allocator

// With a GPU the statistics count host and device memory together (device memory is zero
// in CPU-only builds and on machines without a GPU).
size_t get_active_memory() { return allocator::host_allocator().active() + gpu::active_memory(); }
size_t get_peak_memory() { return allocator::host_allocator().peak() + gpu::peak_memory(); }
void reset_peak_memory() {
  allocator::host_allocator().reset_peak();
  gpu::reset_peak_memory();
}
size_t get_cache_memory() { return allocator::host_allocator().cache() + gpu::cache_memory(); }
// One memory limit and one cache limit, as in MLX, applied to each device's allocator: the
// host's against host memory, the GPU's against device memory (capped there at what the
// device has), so a value read back restores both.
size_t set_memory_limit(size_t limit) {
  gpu::set_memory_limit(limit);
  return allocator::host_allocator().set_memory_limit(limit);
}
size_t get_memory_limit() { return allocator::host_allocator().memory_limit(); }
size_t set_cache_limit(size_t limit) {
  gpu::set_cache_limit(limit);
  return allocator::host_allocator().set_cache_limit(limit);
}
void clear_cache() {
  allocator::host_allocator().clear();
  gpu::clear_cache();
}

}  // namespace kiln
