// Memory: the host allocator with its buffer cache and MLX's memory statistics.
#pragma once

#include <cstddef>

#include "kiln/api.h"

namespace kiln {
namespace allocator {

/** Raw memory handed to arrays. `ptr` is null for zero-size buffers. */
struct KILN_API Buffer {
  void* ptr;
  explicit Buffer(void* p = nullptr) : ptr(p) {}
  void* raw_ptr() const { return ptr; }
};

/** Allocates `size` bytes (64-byte aligned), reusing a cached buffer of the same size class. */
KILN_API Buffer malloc(size_t size);
/** Returns a buffer to the cache (or the system, past the cache limit). */
KILN_API void free(Buffer buffer);
/** The usable size of a buffer from malloc(). */
KILN_API size_t size_of(Buffer buffer);

}  // namespace allocator

/** Bytes held by live arrays. */
KILN_API size_t get_active_memory();
/** Highest active memory since start or the last reset_peak_memory(). */
KILN_API size_t get_peak_memory();
KILN_API void reset_peak_memory();
/** Bytes held by the buffer cache (freed by arrays, kept for reuse). */
KILN_API size_t get_cache_memory();
/** Sets the soft limit on active + cached memory; returns the previous limit. */
KILN_API size_t set_memory_limit(size_t limit);
KILN_API size_t get_memory_limit();
/** Sets the most the cache may hold; returns the previous limit. 0 disables caching. */
KILN_API size_t set_cache_limit(size_t limit);
/** Releases every cached buffer to the system. */
KILN_API void clear_cache();

}  // namespace kiln
