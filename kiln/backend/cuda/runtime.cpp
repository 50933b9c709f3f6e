// Device detection, streams, the device allocator, host<->device migration and gpu::eval.
#include "kiln/backend/cuda/runtime.h"

#include <nvtx3/nvToolsExt.h>

#include <cstdint>
#include <cstring>
#include <limits>
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

// graph.cpp's check that allocations inside a stream capture are freed inside it.
thread_local int64_t* t_alloc_counter = nullptr;

// The cache is the device's stream-ordered memory pool kept from releasing memory to the
// driver: cudaFreeAsync returns a block to it, and the next cudaMallocAsync of that size class
// on the stream reuses it (the pool adds the cross-stream dependencies itself).
class DeviceAllocator {
 public:
  DeviceAllocator() {
    check(cudaDeviceGetDefaultMemPool(&pool_, 0), "allocator");
    uint64_t keep = std::numeric_limits<uint64_t>::max();
    check(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep), "allocator");
  }

  gpu::DeviceBuffer* malloc(size_t bytes, cudaStream_t stream) {
    auto* b = new gpu::DeviceBuffer{nullptr, bytes, stream, {}};
    if (bytes == 0) return b;
    size_t cls = size_class(bytes);
    cudaError_t err = cudaMallocAsync(&b->ptr, cls, pool_, stream);
    if (err == cudaErrorMemoryAllocation) {
      // Out of memory: give the cached blocks back to the driver and try once more.
      cudaGetLastError();
      cudaDeviceSynchronize();
      cudaMemPoolTrimTo(pool_, 0);
      err = cudaMallocAsync(&b->ptr, cls, pool_, stream);
    }
    if (err != cudaSuccess) {
      delete b;
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        throw std::runtime_error("[malloc] Out of GPU memory allocating " + std::to_string(bytes) + " bytes.");
      }
      check(err, "malloc");
    }
    if (t_alloc_counter) ++*t_alloc_counter;
    std::lock_guard<std::mutex> lk(mtx_);
    active_ += cls;
    if (active_ > peak_) peak_ = active_;
    return b;
  }

  // Never throws: runs from destructors, possibly while the process exits.
  void free(gpu::DeviceBuffer* b) {
    if (b->ptr) {
      for (cudaStream_t r : b->readers) {
        cudaEvent_t ev;
        if (cudaEventCreateWithFlags(&ev, cudaEventDisableTiming) == cudaSuccess) {
          cudaEventRecord(ev, r);
          cudaStreamWaitEvent(b->stream, ev, 0);
          cudaEventDestroy(ev);
        }
      }
      cudaFreeAsync(b->ptr, b->stream);
      cudaGetLastError();
      if (t_alloc_counter) --*t_alloc_counter;
      std::lock_guard<std::mutex> lk(mtx_);
      active_ -= size_class(b->size);
    }
    delete b;
  }

  size_t active() { std::lock_guard<std::mutex> lk(mtx_); return active_; }
  size_t peak() { std::lock_guard<std::mutex> lk(mtx_); return peak_; }
  void reset_peak() { std::lock_guard<std::mutex> lk(mtx_); peak_ = active_; }
  size_t cache() {
    uint64_t reserved = 0, used = 0;
    cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &reserved);
    cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &used);
    return reserved > used ? reserved - used : 0;
  }
  void clear() {
    cudaDeviceSynchronize();
    cudaMemPoolTrimTo(pool_, 0);
    cudaDeviceGraphMemTrim(0);  // memory of captured graphs (graph.cpp) that no live graph uses
    cudaGetLastError();
  }

 private:
  cudaMemPool_t pool_;
  std::mutex mtx_;
  size_t active_ = 0, peak_ = 0;
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
class Staging {
 public:
  static constexpr size_t kChunk = size_t(8) << 20;

  void download(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
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

// Makes `stream` wait for the work queued so far on `producer`.
void order_after(cudaStream_t stream, cudaStream_t producer) {
  if (producer == stream) return;
  cudaEvent_t ev;
  check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "stream wait");
  check(cudaEventRecord(ev, producer), "stream wait");
  check(cudaStreamWaitEvent(stream, ev, 0), "stream wait");
  cudaEventDestroy(ev);  // freed once the wait has been satisfied
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
  auto& p = arr.primitive();
  std::vector<array> outputs = arr.outputs();
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

}  // namespace kiln::gpu
