// Saving and loading arrays: NumPy's .npy and .npz, .safetensors and .gguf, as MLX's
// load / save / savez / savez_compressed / save_safetensors / save_gguf.
//
// I/O is eager: save evaluates its arrays and writes them before it returns, and load reads
// the file before it returns evaluated arrays. MLX's load is lazy (a Load primitive), but an
// eager load needs no primitive, reports a malformed file at the call that names it, and leaves
// no file open behind unevaluated arrays. Tensor data is read straight into the arrays' buffers.
//
// Every loader checks each length and offset against the size of its input before it allocates
// or reads, so a truncated or corrupt file raises std::invalid_argument (ValueError in Python)
// naming the file and the problem; files that cannot be opened raise std::runtime_error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/array.h"

namespace kiln {

/** Random-access bytes to load from: a file, memory, or a caller's stream. */
class KILN_API Reader {
 public:
  virtual ~Reader() = default;
  /** Total number of bytes. */
  virtual uint64_t size() = 0;
  /** Copies `n` bytes starting at `offset` to `out`; throws if fewer are available. */
  virtual void read(void* out, uint64_t n, uint64_t offset) = 0;
  /** What error messages call the input (a path, or "<stream>"). */
  virtual std::string label() const = 0;
};

/** A sequential byte sink to save to. */
class KILN_API Writer {
 public:
  virtual ~Writer() = default;
  /** Appends `n` bytes. */
  virtual void write(const void* data, uint64_t n) = 0;
  virtual std::string label() const = 0;
};

/** A file read with pread; std::runtime_error if it cannot be opened. */
class KILN_API FileReader : public Reader {
 public:
  explicit FileReader(std::string path);
  ~FileReader() override;
  uint64_t size() override { return size_; }
  void read(void* out, uint64_t n, uint64_t offset) override;
  std::string label() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

/** A file created (or truncated) for writing; std::runtime_error if it cannot be opened. */
class KILN_API FileWriter : public Writer {
 public:
  explicit FileWriter(std::string path);
  ~FileWriter() override;
  void write(const void* data, uint64_t n) override;
  std::string label() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/** Bytes held in memory (not copied: `data` must outlive the reader). */
class KILN_API MemoryReader : public Reader {
 public:
  MemoryReader(const void* data, uint64_t size, std::string label = "<memory>")
      : data_(static_cast<const char*>(data)), size_(size), label_(std::move(label)) {}
  uint64_t size() override { return size_; }
  void read(void* out, uint64_t n, uint64_t offset) override;
  std::string label() const override { return label_; }

 private:
  const char* data_;
  uint64_t size_;
  std::string label_;
};

/** Arrays by name (sorted by name). */
using ArrayMap = std::map<std::string, array>;
/** Safetensors metadata: string keys and values. */
using SafetensorsMetadata = std::map<std::string, std::string>;
/** One GGUF metadata value: a scalar or 1-D array (numbers, bools), a string, or strings. */
using GGUFMetaValue = std::variant<array, std::string, std::vector<std::string>>;
using GGUFMetadata = std::map<std::string, GGUFMetaValue>;

// ---- .npy ----

/** Writes `a` in .npy format (evaluating it first). */
KILN_API void save(Writer& out, array a);
/** Writes `a` to `file` in .npy format, appending ".npy" to a path that lacks it (as MLX). */
KILN_API void save(std::string file, array a);
/** Reads a .npy array (any byte order; Fortran order comes back as a column-major view). */
KILN_API array load(Reader& in);
/** Reads the .npy file at `file`. */
KILN_API array load(const std::string& file);

// ---- .npz ----

/** Writes a zip of `name.npy` entries: stored, or deflated with zlib when `compressed`. */
KILN_API void savez(Writer& out, const std::vector<std::pair<std::string, array>>& arrays, bool compressed = false);
/** Writes an .npz to `file`, appending ".npz" to a path that lacks it. */
KILN_API void savez(std::string file, const std::vector<std::pair<std::string, array>>& arrays,
                    bool compressed = false);
/** Reads every `.npy` entry of a zip (the name without ".npy" is the key). */
KILN_API ArrayMap load_npz(Reader& in);
KILN_API ArrayMap load_npz(const std::string& file);

// ---- .safetensors ----

/** Writes arrays and string metadata in .safetensors format. */
KILN_API void save_safetensors(Writer& out, const ArrayMap& arrays, const SafetensorsMetadata& metadata = {});
/** Writes to `file`, appending ".safetensors" to a path that lacks it. */
KILN_API void save_safetensors(std::string file, const ArrayMap& arrays, const SafetensorsMetadata& metadata = {});
/** Reads a .safetensors file: its arrays and its "__metadata__" (empty if absent). */
KILN_API std::pair<ArrayMap, SafetensorsMetadata> load_safetensors(Reader& in);
KILN_API std::pair<ArrayMap, SafetensorsMetadata> load_safetensors(const std::string& file);

// ---- .gguf ----

/** Writes a GGUF v3 file: float32, float16, bfloat16, float64 and signed integer arrays, with
 *  metadata (arrays must be scalars or 1-D of a numeric or bool dtype other than the 16-bit floats). */
KILN_API void save_gguf(Writer& out, const ArrayMap& arrays, const GGUFMetadata& metadata = {});
/** Writes to `file`, appending ".gguf" to a path that lacks it. */
KILN_API void save_gguf(std::string file, const ArrayMap& arrays, const GGUFMetadata& metadata = {});
/** Reads a GGUF v2/v3 file. F32, F16, BF16, F64 and integer tensors load as arrays; Q4_0, Q4_1
 *  and Q8_0 tensors load as MLX's affine-quantized triplet (`name`: uint32 packed values,
 *  `base.scales` and `base.biases`: float16, group size 32, 4 or 8 bits; `base` is `name` less a
 *  ".weight" suffix); Q2_K-Q6_K tensors are expanded to float16 (as MLX does for the types it
 *  reads); other types raise std::invalid_argument naming the type. */
KILN_API std::pair<ArrayMap, GGUFMetadata> load_gguf(Reader& in);
KILN_API std::pair<ArrayMap, GGUFMetadata> load_gguf(const std::string& file);

}  // namespace kiln
