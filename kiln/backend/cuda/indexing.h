// Host-side entry points of indexing.cu (Gather, Scatter), sort.cu (Sort, ArgSort, Partition,
// ArgPartition) and random.cu (RandomBits). Like kernels.h: raw device pointers and collapsed
// layouts, so nvcc compiles no graph code.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/backend/cuda/kernels.h"

namespace kiln::cuda {

/** Most index arrays one gather or scatter takes (one per indexed axis). */
constexpr int kMaxIndexArrays = 8;

/** One index array of a gather/scatter: its values pick positions along one axis. */
struct IndexArray {
  const void* ptr = nullptr;
  int dtype = 0;        // Dtype::Val of the (integer) index values
  int64_t size = 0;     // length of the indexed axis (negative indices wrap by it)
  int64_t stride = 0;   // elements between positions along that axis
  int64_t limit = 0;    // valid indices are [0, limit): axis length - slice length + 1
  int64_t strides[kMaxDims] = {};  // over the (collapsed) index shape
};

/** Where the slices of a gather/scatter are: position i (row-major over the index shape) starts
 *  at sum_k index_k[i] * stride_k; element j of a slice is at the row-major unravel of j over
 *  slice_shape times slice_strides. */
struct IndexLayout {
  int count = 0;
  IndexArray a[kMaxIndexArrays];
  int ndim = 0;
  int64_t shape[kMaxDims] = {};  // collapsed index shape
  int64_t n = 1;                 // positions
  int slice_ndim = 0;
  int64_t slice_shape[kMaxDims] = {};
  int64_t slice_strides[kMaxDims] = {};
  int64_t slice_n = 1;
};

/** out[i, j] = src[slice i, element j]; out-of-range indices clamp. Moves `itemsize`-byte
 *  elements. */
void gather(const char* name, size_t itemsize, const void* src, void* out, const IndexLayout& l, cudaStream_t s);

/** Combines the row-major updates `upd` into the row-major `out` (a copy of the input already);
 *  positions with an out-of-range index are skipped. reduce: 0 none (the last duplicate wins,
 *  through `winner`, out.size() words of scratch, or null when no duplicates are possible),
 *  1 sum, 2 prod, 3 max, 4 min. */
void scatter(const char* name, Dtype t, int reduce, void* out, const void* upd, const IndexLayout& l,
             void* winner, int64_t out_size, cudaStream_t s);

/** Rows along one axis of a sort: row r (row-major over the other dims) of the input starts at
 *  the unravel of r over shape/strides and steps by in_stride; the output is row-major with the
 *  axis in place (row r starts at (r / inner) * n * inner + r % inner and steps by inner). */
struct SortLayout {
  int64_t rows = 0, n = 0, in_stride = 0, inner = 1;
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

/** Sorts rows (values, or with `indices` the stable uint32 sorting indices) in the CPU's order:
 *  NaN last, complex by real then imaginary part. */
void sort(const char* name, Dtype t, bool indices, const void* in, void* out, const SortLayout& l, cudaStream_t s);

/** The RandomBits stream for the key at key[0], key[key_stride]: `width`-byte elements. */
void random_bits(const char* name, int width, const void* key, int64_t key_stride, void* out, int64_t n,
                 cudaStream_t s);

}  // namespace kiln::cuda
