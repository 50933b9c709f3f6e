// Sort, ArgSort, Partition and ArgPartition on the GPU. Each row along the axis (any input
// layout) becomes a contiguous run of radix keys (device/radix_key.cuh: the CPU's order), sorted
// by CUB's LSD radix sorts, which are stable, so index sorts break ties by index as the CPU
// does; then the keys (or the indices moved with them) are written back along the axis.
// One row, or a few long ones: cub::DeviceRadixSort per row (onesweep, the whole device on a
// row). Many rows: cub::DeviceSegmentedRadixSort, one block per row.
// Partitions are full sorts (a sorted row is a valid partition); see eval_gpu.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <string>

#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/device/radix_key.cuh"
#include "kiln/backend/cuda/indexing.h"

namespace kiln::cuda {

namespace {

// Stream-ordered scratch from the device's default pool (the allocator's pool).
struct Scratch {
  void* p = nullptr;
  cudaStream_t s;
  Scratch(size_t bytes, cudaStream_t s_, const char* name) : s(s_) {
    if (bytes) check(cudaMallocAsync(&p, bytes, s), name);
  }
  ~Scratch() {
    if (p) cudaFreeAsync(p, s);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

__device__ __forceinline__ int64_t row_start(const SortLayout& l, int64_t r) {
  int64_t loc = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < l.ndim) {
      loc += (r % l.shape[d]) * l.strides[d];
      r /= l.shape[d];
    }
  }
  return loc;
}

template <typename T>
__global__ void __launch_bounds__(kernels::kBlock)
    make_keys(const T* in, key_t<T>* keys, uint32_t* idx, const __grid_constant__ SortLayout l, int64_t first_row,
              int64_t total, bool canonical) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t r = e / l.n, j = e - r * l.n;
  keys[e] = to_key(in[row_start(l, first_row + r) + j * l.in_stride], canonical);
  if (idx) idx[e] = static_cast<uint32_t>(j);
}

template <typename T>
__global__ void __launch_bounds__(kernels::kBlock)
    write_values(const key_t<T>* keys, T* out, const __grid_constant__ SortLayout l, int64_t first_row, int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t r = first_row + e / l.n, j = e % l.n;
  out[(r / l.inner) * l.n * l.inner + r % l.inner + j * l.inner] = from_key<T>(keys[e]);
}

__global__ void __launch_bounds__(kernels::kBlock)
    write_indices(const uint32_t* idx, uint32_t* out, const __grid_constant__ SortLayout l, int64_t first_row,
                  int64_t total) {
  int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  int64_t r = first_row + e / l.n, j = e % l.n;
  out[(r / l.inner) * l.n * l.inner + r % l.inner + j * l.inner] = idx[e];
}

__global__ void row_offsets(int* off, int rows, int n) {
  int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r <= rows) off[r] = r * n;
}

unsigned grid_for(int64_t n) { return static_cast<unsigned>((n + kernels::kBlock - 1) / kernels::kBlock); }

// Sorts rows [first, first + count) of the layout; keys (and indices) of all of them at once.
template <typename T>
void sort_rows(const char* name, bool indices, const T* in, void* out, const SortLayout& l, int64_t first,
               int64_t count, cudaStream_t s) {
  using U = key_t<T>;
  constexpr int bits = RadixKey<T>::bits;
  const int64_t total = count * l.n;
  Scratch keys(2 * total * sizeof(U), s, name);
  Scratch idx(indices ? 2 * total * sizeof(uint32_t) : 0, s, name);
  make_keys<T><<<grid_for(total), kernels::kBlock, 0, s>>>(in, keys.as<U>(), indices ? idx.as<uint32_t>() : nullptr,
                                                           l, first, total, indices);
  check_launch(name);
  cub::DoubleBuffer<U> kb(keys.as<U>(), keys.as<U>() + total);
  cub::DoubleBuffer<uint32_t> vb(idx.as<uint32_t>(), indices ? idx.as<uint32_t>() + total : nullptr);
  // Few rows long enough to fill the device on their own: one device-wide sort per row.
  bool per_row = count == 1 || (l.n >= (int64_t(1) << 18) && count <= 16) || total > INT_MAX;
  if (per_row) {
    size_t temp = 0;
    if (indices) {
      check(cub::DeviceRadixSort::SortPairs(nullptr, temp, kb, vb, l.n, 0, bits, s), name);
    } else {
      check(cub::DeviceRadixSort::SortKeys(nullptr, temp, kb, l.n, 0, bits, s), name);
    }
    Scratch t(temp, s, name);
    for (int64_t r = 0; r < count; ++r) {
      cub::DoubleBuffer<U> rk(kb.d_buffers[0] + r * l.n, kb.d_buffers[1] + r * l.n);
      if (indices) {
        cub::DoubleBuffer<uint32_t> rv(vb.d_buffers[0] + r * l.n, vb.d_buffers[1] + r * l.n);
        check(cub::DeviceRadixSort::SortPairs(t.p, temp, rk, rv, l.n, 0, bits, s), name);
        // Both double buffers flip together; bring this row to buffer 0 if it ended in 1.
        if (rv.selector) {
          check(cudaMemcpyAsync(vb.d_buffers[0] + r * l.n, rv.Current(), l.n * sizeof(uint32_t),
                                cudaMemcpyDeviceToDevice, s), name);
        }
      } else {
        check(cub::DeviceRadixSort::SortKeys(t.p, temp, rk, l.n, 0, bits, s), name);
        if (rk.selector) {
          check(cudaMemcpyAsync(kb.d_buffers[0] + r * l.n, rk.Current(), l.n * sizeof(U), cudaMemcpyDeviceToDevice, s),
                name);
        }
      }
    }
  } else {
    Scratch off((count + 1) * sizeof(int), s, name);
    row_offsets<<<grid_for(count + 1), kernels::kBlock, 0, s>>>(off.as<int>(), static_cast<int>(count),
                                                                 static_cast<int>(l.n));
    check_launch(name);
    int* b = off.as<int>();
    size_t temp = 0;
    int nt = static_cast<int>(total), nr = static_cast<int>(count);
    if (indices) {
      check(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, temp, kb, vb, nt, nr, b, b + 1, 0, bits, s), name);
    } else {
      check(cub::DeviceSegmentedRadixSort::SortKeys(nullptr, temp, kb, nt, nr, b, b + 1, 0, bits, s), name);
    }
    Scratch t(temp, s, name);
    if (indices) {
      check(cub::DeviceSegmentedRadixSort::SortPairs(t.p, temp, kb, vb, nt, nr, b, b + 1, 0, bits, s), name);
    } else {
      check(cub::DeviceSegmentedRadixSort::SortKeys(t.p, temp, kb, nt, nr, b, b + 1, 0, bits, s), name);
    }
    // Every segment ends in the same buffer.
    if (kb.selector) {
      if (indices) {
        check(cudaMemcpyAsync(vb.d_buffers[0], vb.Current(), total * sizeof(uint32_t), cudaMemcpyDeviceToDevice, s),
              name);
      } else {
        check(cudaMemcpyAsync(kb.d_buffers[0], kb.Current(), total * sizeof(U), cudaMemcpyDeviceToDevice, s), name);
      }
    }
  }
  if (indices) {
    write_indices<<<grid_for(total), kernels::kBlock, 0, s>>>(vb.d_buffers[0], static_cast<uint32_t*>(out), l, first,
                                                               total);
  } else {
    write_values<T><<<grid_for(total), kernels::kBlock, 0, s>>>(kb.d_buffers[0], static_cast<T*>(out), l, first,
                                                                total);
  }
  check_launch(name);
}

}  // namespace

void sort(const char* name, Dtype t, bool indices, const void* in, void* out, const SortLayout& l, cudaStream_t s) {
  if (l.rows == 0 || l.n == 0) return;
  if (l.n > UINT32_MAX) throw std::invalid_argument(std::string("[") + name + "] Rows longer than 2^32 elements.");
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Row batches small enough for the segmented sort's int sizes (and for scratch memory).
    int64_t batch = std::max<int64_t>(1, (int64_t(1) << 28) / l.n);
    for (int64_t first = 0; first < l.rows; first += batch) {
      sort_rows<T>(name, indices, static_cast<const T*>(in), out, l, first, std::min(batch, l.rows - first), s);
    }
  });
}

}  // namespace kiln::cuda
