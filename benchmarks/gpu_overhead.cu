// Host cost of the CUDA runtime calls a tiny op can make, and the GPU round trip, to see where
// kiln's per-op time goes (benchmarks/NOTES_gpu.md, "per-op overhead and memory").
//
//   nvcc -O2 -std=c++17 -arch=sm_90 benchmarks/gpu_overhead.cu -o /tmp/gpu_overhead && /tmp/gpu_overhead
//
// Each row is the median over batches of the mean time per call, in microseconds, measured
// with the host clock on one non-blocking stream (as kiln's GPU streams).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#define CK(x)                                                                              \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      std::printf("%s failed: %s\n", #x, cudaGetErrorString(e_));                          \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

__global__ void empty_kernel() {}
__global__ void add_one(float* out, const float* in, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] + 1.0f;
}
__global__ void add_scalar(float* out, const float* in, float s, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] + s;
}

double per_call_us(const std::function<void()>& body, int calls = 2000, int batches = 9,
                   const std::function<void()>& after_batch = {}) {
  for (int i = 0; i < 200; ++i) body();
  if (after_batch) after_batch();
  std::vector<double> r;
  for (int b = 0; b < batches; ++b) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) body();
    if (after_batch) after_batch();
    auto t1 = std::chrono::steady_clock::now();
    r.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / calls);
  }
  std::sort(r.begin(), r.end());
  return r[r.size() / 2];
}

int main() {
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaMemPool_t pool;
  CK(cudaDeviceGetDefaultMemPool(&pool, 0));
  uint64_t keep = ~uint64_t(0);
  CK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  float *x, *y;
  CK(cudaMalloc(&x, 256));
  CK(cudaMalloc(&y, 256));
  CK(cudaMemset(x, 0, 256));
  void* pinned;
  CK(cudaHostAlloc(&pinned, 1 << 20, cudaHostAllocDefault));
  cudaEvent_t ev, staged;
  CK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  CK(cudaEventCreateWithFlags(&staged, cudaEventDisableTiming));
  CK(cudaEventRecord(staged, s));
  float host_val = 1.0f, host_out = 0.0f;
  auto sync = [&] { CK(cudaStreamSynchronize(s)); };

  struct Row {
    const char* what;
    double us;
  };
  std::vector<Row> rows;
  auto row = [&](const char* what, double us) {
    rows.push_back({what, us});
    std::printf("%-64s %8.2f us\n", what, us);
    std::fflush(stdout);
  };

  row("cudaGetLastError", per_call_us([&] { cudaGetLastError(); }));
  row("empty kernel launch (async, queue kept short)", per_call_us([&] { empty_kernel<<<1, 1, 0, s>>>(); }, 2000, 9, sync));
  row("x+1 kernel launch, 1 element, 3 pointer args", per_call_us([&] { add_one<<<1, 256, 0, s>>>(y, x, 1); }, 2000, 9, sync));
  row("x+s kernel launch, scalar by value", per_call_us([&] { add_scalar<<<1, 256, 0, s>>>(y, x, 1.0f, 1); }, 2000, 9, sync));
  row("cudaStreamSynchronize, idle stream", per_call_us([&] { CK(cudaStreamSynchronize(s)); }));
  row("ROUND TRIP: empty kernel launch + cudaStreamSynchronize",
      per_call_us([&] { empty_kernel<<<1, 1, 0, s>>>(); CK(cudaStreamSynchronize(s)); }, 500));
  row("ROUND TRIP: x+s launch + cudaStreamSynchronize",
      per_call_us([&] { add_scalar<<<1, 256, 0, s>>>(y, x, 1.0f, 1); CK(cudaStreamSynchronize(s)); }, 500));
  row("ROUND TRIP: launch + event record + cudaEventSynchronize",
      per_call_us([&] { empty_kernel<<<1, 1, 0, s>>>(); CK(cudaEventRecord(ev, s)); CK(cudaEventSynchronize(ev)); }, 500));
  row("cudaMallocAsync + cudaFreeAsync, 256 B (pool keeps memory)", per_call_us([&] {
        void* p;
        CK(cudaMallocAsync(&p, 256, pool, s));
        CK(cudaFreeAsync(p, s));
      }, 2000, 9, sync));
  row("cudaEventCreate + Record + StreamWaitEvent + Destroy", per_call_us([&] {
        cudaEvent_t e;
        CK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        CK(cudaEventRecord(e, s));
        CK(cudaStreamWaitEvent(s, e, 0));
        CK(cudaEventDestroy(e));
      }, 2000, 9, sync));
  row("cudaEventRecord + StreamWaitEvent (reused event)", per_call_us([&] {
        CK(cudaEventRecord(ev, s));
        CK(cudaStreamWaitEvent(s, ev, 0));
      }, 2000, 9, sync));
  row("4 B upload via pinned staging (event sync, memcpy, copy, record)", per_call_us([&] {
        CK(cudaEventSynchronize(staged));
        std::memcpy(pinned, &host_val, 4);
        CK(cudaMemcpyAsync(x, pinned, 4, cudaMemcpyHostToDevice, s));
        CK(cudaEventRecord(staged, s));
      }, 2000, 9, sync));
  row("4 B upload, cudaMemcpyAsync from pageable memory", per_call_us([&] {
        CK(cudaMemcpyAsync(x, &host_val, 4, cudaMemcpyHostToDevice, s));
      }, 2000, 9, sync));
  row("4 B download via pinned staging (copy, record, event sync, memcpy)", per_call_us([&] {
        CK(cudaMemcpyAsync(pinned, y, 4, cudaMemcpyDeviceToHost, s));
        CK(cudaEventRecord(staged, s));
        CK(cudaEventSynchronize(staged));
        std::memcpy(&host_out, pinned, 4);
      }, 500));
  row("4 B download, cudaMemcpyAsync into pageable memory", per_call_us([&] {
        CK(cudaMemcpyAsync(&host_out, y, 4, cudaMemcpyDeviceToHost, s));
      }, 500));
  // The per-op CUDA sequence of kiln before this change (x + 1, x resident on the device):
  // output malloc, scalar malloc, staged scalar upload, launch, launch check, two frees.
  row("OLD tiny op CUDA calls (2 malloc, staged upload, launch, 2 free)", per_call_us([&] {
        void *o, *c;
        CK(cudaMallocAsync(&o, 256, pool, s));
        CK(cudaMallocAsync(&c, 256, pool, s));
        CK(cudaEventSynchronize(staged));
        std::memcpy(pinned, &host_val, 4);
        CK(cudaMemcpyAsync(c, pinned, 4, cudaMemcpyHostToDevice, s));
        CK(cudaEventRecord(staged, s));
        add_one<<<1, 256, 0, s>>>(static_cast<float*>(o), static_cast<const float*>(c), 1);
        CK(cudaGetLastError());
        CK(cudaFreeAsync(c, s));
        CK(cudaFreeAsync(o, s));
      }, 2000, 9, sync));
  // After: the output comes from kiln's cache, the scalar rides in the kernel's parameters.
  row("NEW tiny op CUDA calls (launch with scalar arg, launch check)", per_call_us([&] {
        add_scalar<<<1, 256, 0, s>>>(y, x, 1.0f, 1);
        CK(cudaGetLastError());
      }, 2000, 9, sync));
  sync();
  std::printf("gpu_overhead: done\n");
  return 0;
}
