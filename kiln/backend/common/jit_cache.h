// The on-disk cache of kernels built at run time, shared by the CPU JIT (generated C++ built by
// the system compiler) and the CUDA one (NVRTC): one directory, stable content hashes, files
// written atomically so concurrent processes never see half a kernel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::jit {

/** KILN_CACHE_DIR/jit, else $XDG_CACHE_HOME/kiln/jit, else ~/.cache/kiln/jit (else a temp dir). */
std::filesystem::path cache_dir();

/** 64-bit FNV-1a of `s`, continuing from `h`: the same on every build and machine. */
uint64_t fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull);

/** `h` in hexadecimal. */
std::string hex(uint64_t h);

/** True if KILN_DISABLE_JIT is set: fused chains then run unfused. */
bool disabled();

/** True if KILN_JIT_VERBOSE is set: builds, cache hits and failures are reported on stderr. */
bool verbose();

/** The contents of `path`, or false if it cannot be read. */
bool read_file(const std::filesystem::path& path, std::string& out);

/** Writes `data` to `path` through a temporary file and a rename; false on any failure. */
bool write_file_atomic(const std::filesystem::path& path, const std::string& data);

}  // namespace kiln::jit
