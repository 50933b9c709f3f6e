// Device detection, streams, the device allocator, host<->device migration and gpu::eval.
#include "kiln/backend/cuda/runtime.h"

#include <nvtx3/nvToolsExt.h>

#include <cstdint>
#include <cstring>
#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"

namespace kiln::cuda {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the next call does not see it again
    throw std::runtime_error(std::string("[") + what + "] CUDA error: " + cudaGetErrorName(err) + ": " +
                             cudaGetErrorString(err));
  }
}

namespace {

// Same classes as the host allocator: sizes that differ slightly land in one bucket of the
// pool, so a repeated graph reuses its buffers.
size_t size_class(size_t size) {
  if (size <= 4096) return (size + 255) & ~size_t(255);
  if (size <= (size_t(1) << 20)) return (size + 4095) & ~size_t(4095);
  size_t p = 1;
  while (p < size) p <<= 1;
  size_t step = p / 16;
  return (size + step - 1) / step * step;
}

// A thread's reusable event for stream-to-stream ordering: cudaStreamWaitEvent captures the
// event's state at the time of the call, so the same event can be recorded again right after
// (no cudaEventCreate/Destroy per wait). Never destroyed: one small object per thread.
cudaEvent_t order_event() {
  thread_local cudaEvent_t ev = [] {
    cudaEvent_t e;
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "stream wait");
    return e;
  }();
  return ev;
}

// Makes `stream` wait for the work queued so far on `producer`.
void order_after(cudaStream_t stream, cudaStream_t producer) {
  if (producer == stream) return;
  cudaEvent_t ev = order_event();
  check(cudaEventRecord(ev, producer), "stream wait");
  check(cudaStreamWaitEvent(stream, ev, 0), "stream wait");
}

size_t device_total_memory() {
  size_t free_b = 0, total = 0;
  if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) {
    cudaGetLastError();
    return size_t(80) << 30;
  }
  return total;
}

// The limits last set through the core (the allocator is made on first use, with these).
struct PendingLimits {
  std::mutex mtx;
  size_t memory = std::numeric_limits<size_t>::max();
  size_t cache = std::numeric_limits<size_t>::max();
};
PendingLimits& pending_limits() {
  static auto* p = new PendingLimits();
  return *p;
}

// graph.cpp's count of the allocations made inside a stream capture (null when not capturing).
thread_local int64_t* t_alloc_counter = nullptr;

// Device memory: kiln's buffer cache (MLX's accounting and limits) on top of the device's
// stream-ordered pool.
//
// - Freed buffers go into the cache by size class, tagged with the stream in whose order they
//   were freed. A malloc on that stream takes one back with no CUDA call at all (stream order
//   already puts the new writer after every use of the old one); a malloc on another stream
//   takes one after an event wait. Repeated graphs and per-op temporaries (a tiny op's output)
//   thus cost no cudaMallocAsync/cudaFreeAsync.
// - Cache misses come from cudaMallocAsync on the default pool; buffers leaving the cache go
//   back with cudaFreeAsync. The pool keeps nothing beyond the cache (release threshold 0), so
//   get_cache_memory() is exactly what clear_cache() and set_cache_limit() release.
// - set_memory_limit: before a miss would take active + cache past the limit, the cache is
//   released; if the pool still holds memory freed in stream order (work still queued), the
//   device is synchronized and the pool trimmed before allocating, as MLX waits for queued work
//   to release memory. The limit is a guideline: the allocation then proceeds (an error comes only
//   when the device is really out of memory, after the whole cache was given back).
//
// While a CUDA graph is being captured on this thread (graph.cpp sets t_alloc_counter), the
// cache is bypassed: a captured allocation must become the graph's own (cudaMallocAsync and
// cudaFreeAsync inside the capture), never a cached address that the graph would keep writing
// after the cache handed it to someone else.
class DeviceAllocator {
 public:
  DeviceAllocator() {
    check(cudaDeviceGetDefaultMemPool(&pool_, 0), "allocator");
    uint64_t keep = 0;
    check(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep), "allocator");
    device_limit_ = device_total_memory() / 100 * 95;
    auto& p = pending_limits();
    std::lock_guard<std::mutex> lk(p.mtx);
    user_limit_ = p.memory;
    cache_limit_ = p.cache;
  }

  gpu::DeviceBuffer* malloc(size_t bytes, cudaStream_t stream) {
    auto* b = new gpu::DeviceBuffer{nullptr, bytes, stream, {}};
    if (bytes == 0) return b;
    size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lk(mtx_);
    if (t_alloc_counter) return malloc_captured_locked(b, cls, stream);
    if (take_cached_locked(cls, stream, b)) {
      add_active_locked(cls);
      return b;
    }
    size_t limit = effective_limit_locked();
    if (active_ + cache_bytes_ + cls > limit) release_cache_locked(active_ + cache_bytes_ + cls - limit);
    if (reserved() + cls > limit) {
      // Memory freed in stream order is still held by the pool until the queued work ran.
      cudaDeviceSynchronize();
      cudaMemPoolTrimTo(pool_, 0);
      cudaGetLastError();
    }
    cudaError_t err = cudaMallocAsync(&b->ptr, cls, pool_, stream);
    if (err == cudaErrorMemoryAllocation) {
      // Out of memory: give the whole cache back to the driver and try once more.
      cudaGetLastError();
      release_cache_locked(cache_bytes_);
      cudaDeviceSynchronize();
      cudaMemPoolTrimTo(pool_, 0);
      cudaGetLastError();
      err = cudaMallocAsync(&b->ptr, cls, pool_, stream);
    }
    if (err != cudaSuccess) {
      delete b;
      cudaGetLastError();
      if (err == cudaErrorMemoryAllocation) {
        throw std::runtime_error("[malloc] Out of GPU memory allocating " + std::to_string(bytes) +
                                 " bytes (active " + std::to_string(active_) + " bytes).");
      }
      check(err, "malloc");
    }
    add_active_locked(cls);
    return b;
  }

  // Never throws: runs from destructors, possibly while the process exits.
  void free(gpu::DeviceBuffer* b) {
    if (b->ptr) {
      // The buffer is reused (or freed) in b->stream's order: first join the other readers.
      for (cudaStream_t r : b->readers) {
        if (r == b->stream) continue;
        cudaEvent_t ev = nullptr;
        try {
          ev = order_event();
        } catch (...) {
          continue;
        }
        if (cudaEventRecord(ev, r) == cudaSuccess) cudaStreamWaitEvent(b->stream, ev, 0);
      }
      cudaGetLastError();
      size_t cls = size_class(b->size);
      std::lock_guard<std::mutex> lk(mtx_);
      active_ -= cls;
      if (t_alloc_counter) {  // inside a capture: the graph frees its own allocation
        --*t_alloc_counter;
        cudaFreeAsync(b->ptr, b->stream);
        cudaGetLastError();
      } else if (cache_bytes_ + cls <= cache_limit_) {
        cache_[cls].push_back({b->ptr, b->stream});
        cache_bytes_ += cls;
      } else {
        cudaFreeAsync(b->ptr, b->stream);
        cudaGetLastError();
      }
    }
    delete b;
  }

  size_t active() { std::lock_guard<std::mutex> lk(mtx_); return active_; }
  size_t peak() { std::lock_guard<std::mutex> lk(mtx_); return peak_; }
  void reset_peak() { std::lock_guard<std::mutex> lk(mtx_); peak_ = active_; }
  size_t cache() { std::lock_guard<std::mutex> lk(mtx_); return cache_bytes_; }
  void set_memory_limit(size_t limit) { std::lock_guard<std::mutex> lk(mtx_); user_limit_ = limit; }
  void set_cache_limit(size_t limit) {
    std::lock_guard<std::mutex> lk(mtx_);
    cache_limit_ = limit;
    if (cache_bytes_ > cache_limit_) release_cache_locked(cache_bytes_ - cache_limit_);
  }
  // Gives every cached buffer and the pool's free memory back to the driver.
  void clear() {
    std::lock_guard<std::mutex> lk(mtx_);
    release_cache_locked(cache_bytes_);
    cudaDeviceSynchronize();
    cudaMemPoolTrimTo(pool_, 0);
    cudaDeviceGraphMemTrim(0);  // memory of captured graphs (graph.cpp) that no live graph uses
    cudaGetLastError();
  }

 private:
  struct Cached {
    void* ptr;
    cudaStream_t stream;  // freed in this stream's order
  };

  // The most recently freed block of the class, preferring one freed on `stream`.
  bool take_cached_locked(size_t cls, cudaStream_t stream, gpu::DeviceBuffer* b) {
    auto it = cache_.find(cls);
    if (it == cache_.end() || it->second.empty()) return false;
    auto& v = it->second;
    size_t pick = v.size() - 1;
    for (size_t k = v.size(); k-- > 0;) {
      if (v[k].stream == stream) {
        pick = k;
        break;
      }
    }
    Cached c = v[pick];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(pick));
    cache_bytes_ -= cls;
    if (c.stream != stream) order_after(stream, c.stream);
    b->ptr = c.ptr;
    return true;
  }

  // Frees cached blocks (largest classes first) until `bytes` were released or none is left.
  void release_cache_locked(size_t bytes) {
    size_t released = 0;
    while (released < bytes && !cache_.empty()) {
      auto it = std::prev(cache_.end());
      auto& v = it->second;
      while (!v.empty() && released < bytes) {
        cudaFreeAsync(v.back().ptr, v.back().stream);
        v.pop_back();
        released += it->first;
      }
      if (v.empty()) cache_.erase(it);
    }
    cudaGetLastError();
    cache_bytes_ -= released;
  }

  // An allocation inside a stream capture: the graph's own (no cache, no limit handling, which
  // may synchronize the device, illegal while capturing).
  gpu::DeviceBuffer* malloc_captured_locked(gpu::DeviceBuffer* b, size_t cls, cudaStream_t stream) {
    cudaError_t err = cudaMallocAsync(&b->ptr, cls, pool_, stream);
    if (err != cudaSuccess) {
      delete b;
      cudaGetLastError();
      check(err, "malloc");
    }
    ++*t_alloc_counter;
    add_active_locked(cls);
    return b;
  }
  void add_active_locked(size_t n) {
    active_ += n;
    if (active_ > peak_) peak_ = active_;
  }
  size_t effective_limit_locked() const { return std::min(user_limit_, device_limit_); }
  size_t reserved() {
    uint64_t r = 0;
    cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &r);
    return r;
  }

  cudaMemPool_t pool_;
  std::mutex mtx_;
  std::map<size_t, std::vector<Cached>> cache_;  // size class -> blocks, ordered for release
  size_t active_ = 0, peak_ = 0, cache_bytes_ = 0;
  size_t device_limit_;  // 95% of the device's memory
  size_t user_limit_ = std::numeric_limits<size_t>::max();
  size_t cache_limit_ = std::numeric_limits<size_t>::max();
};

std::mutex g_alloc_mtx;
DeviceAllocator* g_alloc = nullptr;  // leaked on purpose: arrays may die during static destruction

DeviceAllocator& device_allocator() {
  std::lock_guard<std::mutex> lk(g_alloc_mtx);
  if (!g_alloc) g_alloc = new DeviceAllocator();
  return *g_alloc;
}

DeviceAllocator* allocator_if_made() {
  std::lock_guard<std::mutex> lk(g_alloc_mtx);
  return g_alloc;
}

// Streams: kiln stream index -> CUDA stream.
std::mutex g_stream_mtx;
std::unordered_map<int, cudaStream_t>& streams() {
  static auto* m = new std::unordered_map<int, cudaStream_t>();
  return *m;
}

// Two pinned buffers for chunked host<->device copies: the host-side memcpy of one chunk
// overlaps the DMA of the other. One copy at a time uses them.
//
// Small copies skip the staging buffers: cudaMemcpyAsync from pageable host memory returns once
// the driver has taken the source (so the host buffer may change right after), and into
// pageable memory it returns once the copy is complete. That is one CUDA call instead of an
// event wait, a memcpy, the copy and an event record (kiln's host buffers are never pinned).
class Staging {
 public:
  static constexpr size_t kChunk = size_t(8) << 20;
  static constexpr size_t kDirect = size_t(256) << 10;

  void download(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    if (bytes <= kDirect) {
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "copy_to_host");
      return;
    }
    std::lock_guard<std::mutex> lk(mtx_);
    init();
    size_t n = (bytes + kChunk - 1) / kChunk;
    auto chunk = [&](size_t k) { return std::min(kChunk, bytes - k * kChunk); };
    for (size_t k = 0; k < n; ++k) {
      check(cudaMemcpyAsync(buf_[k % 2], static_cast<const char*>(src) + k * kChunk, chunk(k),
                            cudaMemcpyDeviceToHost, stream), "copy_to_host");
      check(cudaEventRecord(ev_[k % 2], stream), "copy_to_host");
      if (k > 0) finish_download(dst, k - 1, chunk(k - 1));
    }
    if (n > 0) finish_download(dst, n - 1, chunk(n - 1));
  }

  void upload(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    if (bytes <= kDirect) {
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "upload");
      return;
    }
    std::lock_guard<std::mutex> lk(mtx_);
    init();
    size_t n = (bytes + kChunk - 1) / kChunk;
    for (size_t k = 0; k < n; ++k) {
      size_t c = std::min(kChunk, bytes - k * kChunk);
      check(cudaEventSynchronize(ev_[k % 2]), "upload");  // the last DMA out of this buffer is done
      std::memcpy(buf_[k % 2], static_cast<const char*>(src) + k * kChunk, c);
      check(cudaMemcpyAsync(static_cast<char*>(dst) + k * kChunk, buf_[k % 2], c, cudaMemcpyHostToDevice, stream),
            "upload");
      check(cudaEventRecord(ev_[k % 2], stream), "upload");
    }
  }

 private:
  void init() {
    if (buf_[0]) return;
    for (int i = 0; i < 2; ++i) {
      check(cudaHostAlloc(&buf_[i], kChunk, cudaHostAllocDefault), "pinned staging");
      check(cudaEventCreateWithFlags(&ev_[i], cudaEventDisableTiming), "pinned staging");
      check(cudaEventRecord(ev_[i], 0), "pinned staging");
    }
  }
  void finish_download(void* dst, size_t k, size_t c) {
    check(cudaEventSynchronize(ev_[k % 2]), "copy_to_host");
    std::memcpy(static_cast<char*>(dst) + k * kChunk, buf_[k % 2], c);
  }

  std::mutex mtx_;
  void* buf_[2] = {nullptr, nullptr};
  cudaEvent_t ev_[2];
};

Staging& staging() {
  static auto* s = new Staging();
  return *s;
}

}  // namespace

cudaStream_t stream_of(const Stream& s) {
  std::lock_guard<std::mutex> lk(g_stream_mtx);
  auto it = streams().find(s.index);
  if (it == streams().end()) {
    throw std::runtime_error("[stream] Stream " + std::to_string(s.index) + " is not a GPU stream.");
  }
  return it->second;
}

gpu::DeviceBuffer* device_malloc(size_t bytes, cudaStream_t stream) {
  return device_allocator().malloc(bytes, stream);
}

void alloc_device(array& out, cudaStream_t stream) {
  out.set_data(std::make_shared<array::Data>(device_malloc(out.nbytes(), stream), out.nbytes()));
}

void alloc_device(array& out, cudaStream_t stream, size_t data_size, const Strides& strides, array::Flags flags) {
  size_t bytes = data_size * out.itemsize();
  out.set_data(std::make_shared<array::Data>(device_malloc(bytes, stream), bytes), data_size, strides, flags);
}

const void* device_in(const array& a, cudaStream_t stream) {
  array::Data* d = a.data_shared().get();
  if (d == nullptr) return nullptr;
  if (!(d->valid.load(std::memory_order_acquire) & array::Data::kDevice)) {
    std::lock_guard<std::mutex> lk(d->mtx);
    if (!(d->valid.load(std::memory_order_acquire) & array::Data::kDevice)) {
      if (!d->device) {
        d->device = device_malloc(d->nbytes, stream);
      } else {
        // The host copy changed: overwrite the stale device copy after the work that used it.
        order_after(stream, d->device->stream);
        for (cudaStream_t r : d->device->readers) order_after(stream, r);
        d->device->readers.clear();
        d->device->stream = stream;
      }
      if (d->nbytes) upload(d->device->ptr, d->buffer.ptr, d->nbytes, stream);
      d->valid.store(array::Data::kHost | array::Data::kDevice, std::memory_order_release);
    }
  }
  gpu::DeviceBuffer* b = d->device;
  if (b->stream != stream) {
    std::lock_guard<std::mutex> lk(d->mtx);
    order_after(stream, b->stream);
    bool known = false;
    for (auto r : b->readers) known |= (r == stream);
    if (!known) b->readers.push_back(stream);
  }
  return static_cast<const char*>(b->ptr) + a.offset();
}

void* device_out(array& a) {
  array::Data* d = a.data_shared().get();
  if (d == nullptr || d->device == nullptr) return nullptr;
  return static_cast<char*>(d->device->ptr) + a.offset();
}

void count_allocations(int64_t* counter) { t_alloc_counter = counter; }

void upload(void* dst, const void* src, size_t bytes, cudaStream_t stream) { staging().upload(dst, src, bytes, stream); }

int sm_count() {
  static const int n = [] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess || v <= 0) {
      cudaGetLastError();
      v = 132;
    }
    return v;
  }();
  return n;
}

Scratch::Scratch(size_t bytes, cudaStream_t stream) : buf_(device_malloc(bytes, stream)) {}
Scratch::~Scratch() { device_allocator().free(static_cast<gpu::DeviceBuffer*>(buf_)); }
void* Scratch::get() const { return static_cast<gpu::DeviceBuffer*>(buf_)->ptr; }

}  // namespace kiln::cuda

namespace kiln::gpu {

bool is_available() {
  // Asked once: no driver, no device or a broken install all mean "no GPU", never an error.
  static const bool available = [] {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return n > 0;
  }();
  return available;
}

void new_stream(const Stream& s) {
  if (!is_available()) throw std::runtime_error("[new_stream] No GPU is available.");
  std::lock_guard<std::mutex> lk(cuda::g_stream_mtx);
  auto& m = cuda::streams();
  if (m.count(s.index)) return;
  cudaStream_t cs;
  cuda::check(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking), "new_stream");
  m[s.index] = cs;
}

void synchronize(const Stream& s) { cuda::check(cudaStreamSynchronize(cuda::stream_of(s)), "synchronize"); }

namespace {
// An NVTX range for the lifetime of one eval_gpu, closed on every exit (exceptions too).
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
};
}  // namespace

void eval(array& arr) {
  std::vector<array> outputs = arr.outputs();
  eval(arr, outputs);
}

void eval(array& arr, std::vector<array>& outputs) {
  auto& p = arr.primitive();
  NvtxRange range(p.name());
  try {
    p.eval_gpu(arr.inputs(), outputs);
  } catch (const std::runtime_error& e) {
    // CUDA failures inside a kernel family name the call that failed; say which primitive too.
    std::string prefix = std::string("[") + p.name() + "]";
    if (std::string(e.what()).rfind(prefix, 0) == 0) throw;
    throw std::runtime_error(prefix + " " + e.what());
  }
}

size_t buffer_size(const DeviceBuffer& b) { return b.size; }

void copy_to_host(DeviceBuffer& b, void* dst) {
  if (b.size) cuda::staging().download(dst, b.ptr, b.size, b.stream);
}

void release(DeviceBuffer* b) { cuda::device_allocator().free(b); }

size_t active_memory() {
  auto* a = cuda::allocator_if_made();
  return a ? a->active() : 0;
}
size_t peak_memory() {
  auto* a = cuda::allocator_if_made();
  return a ? a->peak() : 0;
}
void reset_peak_memory() {
  if (auto* a = cuda::allocator_if_made()) a->reset_peak();
}
size_t cache_memory() {
  auto* a = cuda::allocator_if_made();
  return a ? a->cache() : 0;
}
void clear_cache() {
  if (auto* a = cuda::allocator_if_made()) a->clear();
}

void set_memory_limit(size_t limit) {
  auto& p = cuda::pending_limits();
  {
    std::lock_guard<std::mutex> lk(p.mtx);
    p.memory = limit;
  }
  if (auto* a = cuda::allocator_if_made()) a->set_memory_limit(limit);
}
void set_cache_limit(size_t limit) {
  auto& p = cuda::pending_limits();
  {
    std::lock_guard<std::mutex> lk(p.mtx);
    p.cache = limit;
  }
  if (auto* a = cuda::allocator_if_made()) a->set_cache_limit(limit);
}

std::map<std::string, std::variant<std::string, size_t>> device_info() {
  std::map<std::string, std::variant<std::string, size_t>> info;
  if (!is_available()) return info;
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
    cudaGetLastError();
    return info;
  }
  size_t free_b = 0, total = 0;
  if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) {
    cudaGetLastError();
    total = p.totalGlobalMem;
  }
  info["device_name"] = std::string(p.name);
  info["architecture"] = "sm_" + std::to_string(p.major * 10 + p.minor);
  info["compute_capability_major"] = static_cast<size_t>(p.major);
  info["compute_capability_minor"] = static_cast<size_t>(p.minor);
  info["memory_size"] = static_cast<size_t>(p.totalGlobalMem);
  info["total_memory"] = static_cast<size_t>(total);
  info["free_memory"] = free_b;
  info["multi_processor_count"] = static_cast<size_t>(p.multiProcessorCount);
  info["max_buffer_length"] = static_cast<size_t>(p.totalGlobalMem);
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof(bus), 0) == cudaSuccess) {
    info["pci_bus_id"] = std::string(bus);
  } else {
    cudaGetLastError();
  }
  static const char* hex = "0123456789abcdef";
  std::string uuid = "GPU-";
  for (int i = 0; i < 16; ++i) {
    auto byte = static_cast<unsigned char>(p.uuid.bytes[i]);
    uuid += hex[byte >> 4];
    uuid += hex[byte & 15];
    if (i == 3 || i == 5 || i == 7 || i == 9) uuid += '-';
  }
  info["uuid"] = uuid;
  return info;
}

}  // namespace kiln::gpu
