// The CUDA runtime side of the backend: error checking, one CUDA stream per kiln GPU stream,
// the device allocator, and device access to array data (uploading host data on demand).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/array.h"
#include "kiln/backend/cuda/kernels.h"

namespace kiln::gpu {

/** A device allocation. `stream` is the CUDA stream whose queued work last wrote it; readers on
 *  other streams wait for that stream, and the allocation is freed in its order. */
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t size = 0;             // bytes asked for
  cudaStream_t stream = nullptr;
  std::vector<cudaStream_t> readers;  // other streams that read it (joined before the free)
};

}  // namespace kiln::gpu

namespace kiln::cuda {

/** The CUDA stream of kiln stream `s` (made by gpu::new_stream). */
cudaStream_t stream_of(const Stream& s);

/** Device memory for `bytes` bytes, stream-ordered on `stream`. */
gpu::DeviceBuffer* device_malloc(size_t bytes, cudaStream_t stream);

/** Gives `out` a fresh row-major device buffer written by work on `stream`. */
void alloc_device(array& out, cudaStream_t stream);
/** Like alloc_device, with an explicit layout (e.g. keeping a transposed input's strides). */
void alloc_device(array& out, cudaStream_t stream, size_t data_size, const Strides& strides, array::Flags flags);

/** Device address of element 0 of `a` for a kernel on `stream` that reads it: uploads the
 *  host copy if the device copy is stale, and orders `stream` after the stream that wrote it. */
const void* device_in(const array& a, cudaStream_t stream);
/** Device address of element 0 of an output allocated with alloc_device. */
void* device_out(array& a);

/** out <- in converted to out's dtype; out already has its device buffer and layout (it may
 *  be a view into a larger output). Defined with the copy primitives. */
void copy_gpu(const char* name, const array& in, array& out, cudaStream_t stream);

/** While `counter` is set, this thread's device allocations add 1 to it and its frees subtract
 *  1 (graph.cpp: nothing allocated inside a stream capture may outlive it). Null stops counting. */
void count_allocations(int64_t* counter);

/** The pinned-staging copy used for uploads and downloads. */
void upload(void* dst, const void* src, size_t bytes, cudaStream_t stream);

}  // namespace kiln::cuda
