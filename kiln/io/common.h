// Helpers shared by the file formats of kiln/io.h (internal).
#pragma once

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kiln/io.h"

namespace kiln::io {

static_assert(std::endian::native == std::endian::little, "kiln's file formats assume a little-endian host");

/** std::invalid_argument("[op] Malformed file <label>: what"). */
[[noreturn]] void malformed(const char* op, const std::string& label, const std::string& what);

/** `file` with `ext` (".npy") appended unless it already ends with it. */
std::string with_extension(std::string file, const std::string& ext);

/** `a` evaluated and row-major dense (a copy only when it is not already). */
array dense(array a);

/** An evaluated array of `shape` with an uninitialized buffer, for loaders to fill. */
array empty_array(const Shape& shape, Dtype dtype);

/** Checked product of dims times itemsize; throws via malformed() on overflow or negative dims. */
uint64_t checked_nbytes(const char* op, const std::string& label, const std::vector<int64_t>& dims, size_t itemsize,
                        Shape* shape_out);

/** Makes every byte of a bool array 0 or 1 (files may hold other nonzero bytes). */
void normalize_bools(array& a);

/** Reverses the byte order of `count` elements of `size` bytes in place. */
void byteswap(void* data, uint64_t count, size_t size);

/** Sequential reads from a Reader through a buffer, every length checked against the end. */
class Cursor {
 public:
  Cursor(Reader& r, const char* op, uint64_t start = 0, uint64_t end = UINT64_MAX)
      : r_(r), op_(op), pos_(start), end_(std::min<uint64_t>(end, r.size())) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }
  void seek(uint64_t p) {
    if (p > end_) fail("an offset lies past the end of the file");
    pos_ = p;
  }
  void read(void* out, uint64_t n, const char* what = "data");
  template <typename T>
  T get(const char* what = "a field") {
    T v;
    read(&v, sizeof(T), what);
    return v;
  }
  std::string string(uint64_t n, const char* what = "a string") {
    if (n > remaining()) fail(std::string(what) + " runs past the end of the file (truncated?)");
    std::string s(n, '\0');
    read(s.data(), n, what);
    return s;
  }
  [[noreturn]] void fail(const std::string& what) const { malformed(op_, r_.label(), what); }
  Reader& reader() { return r_; }

 private:
  Reader& r_;
  const char* op_;
  uint64_t pos_, end_;
  std::vector<char> buf_;
  uint64_t buf_start_ = 0;
};

/** A growable little-endian byte buffer. */
struct Bytes {
  std::vector<char> v;
  template <typename T>
  void put(T x) {
    const char* p = reinterpret_cast<const char*>(&x);
    v.insert(v.end(), p, p + sizeof(T));
  }
  void put(const std::string& s) { v.insert(v.end(), s.begin(), s.end()); }
  void put(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    v.insert(v.end(), c, c + n);
  }
};

// .npy pieces the .npz reader and writer share.
/** The .npy header (magic, version, dict, padding) for `a`. */
std::string npy_header(const array& a);
/** Reads a .npy array from bytes [start, end) of `in`; `label` names it in errors. */
array load_npy_at(Reader& in, uint64_t start, uint64_t end, const std::string& label);

}  // namespace kiln::io
