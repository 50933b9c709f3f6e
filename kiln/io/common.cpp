// Byte sources and sinks (files, memory) and the helpers shared by the file formats.
#include "kiln/io/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "kiln/ops.h"
#include "kiln/transforms.h"

namespace kiln {

FileReader::FileReader(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("[load] Failed to open file " + path_ + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("[load] " + path_ + " is not a regular file.");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReader::read(void* out, uint64_t n, uint64_t offset) {
  if (n > size_ || offset > size_ - n) {
    io::malformed("load", path_, "a read runs past the end of the file (truncated?)");
  }
  char* p = static_cast<char*>(out);
  while (n > 0) {
    // pread moves at most ~2 GiB per call on Linux.
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1ull << 30));
    ssize_t got = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("[load] Error reading " + path_ + ": " + std::strerror(errno));
    if (got == 0) io::malformed("load", path_, "the file ended early (truncated while reading?)");
    p += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
}

FileWriter::FileWriter(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("[save] Failed to open file " + path_ + " for writing: " + std::strerror(errno));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWriter::write(const void* data, uint64_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1ull << 30));
    ssize_t put = ::write(fd_, p, chunk);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) throw std::runtime_error("[save] Error writing " + path_ + ": " + std::strerror(errno));
    p += put;
    n -= static_cast<uint64_t>(put);
  }
}

void MemoryReader::read(void* out, uint64_t n, uint64_t offset) {
  if (n > size_ || offset > size_ - n) io::malformed("load", label_, "a read runs past the end of the data (truncated?)");
  if (n) std::memcpy(out, data_ + offset, n);
}

namespace io {

void malformed(const char* op, const std::string& label, const std::string& what) {
  throw std::invalid_argument(std::string("[") + op + "] Malformed file " + label + ": " + what + ".");
}

std::string with_extension(std::string file, const std::string& ext) {
  if (file.size() < ext.size() || file.compare(file.size() - ext.size(), ext.size(), ext) != 0) file += ext;
  return file;
}

array dense(array a) {
  eval(a);
  if (a.flags().row_contiguous && a.data_size() == a.size()) return a;
  array c = copy(a);
  eval(c);
  return c;
}

array empty_array(const Shape& shape, Dtype dtype) {
  size_t n = static_cast<size_t>(shape_size(shape)) * size_of(dtype);
  array a(allocator::malloc(n), shape, dtype);
  return a;
}

uint64_t checked_nbytes(const char* op, const std::string& label, const std::vector<int64_t>& dims, size_t itemsize,
                        Shape* shape_out) {
  uint64_t n = 1;
  bool zero = false;
  Shape shape;
  for (int64_t d : dims) {
    if (d < 0) malformed(op, label, "a dimension is negative (" + std::to_string(d) + ")");
    if (d > std::numeric_limits<ShapeElem>::max()) {
      malformed(op, label, "a dimension (" + std::to_string(d) + ") exceeds what an array can hold");
    }
    shape.push_back(static_cast<ShapeElem>(d));
    if (d == 0) zero = true;
  }
  if (!zero) {
    for (int64_t d : dims) {
      if (n > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(d)) {
        malformed(op, label, "the shape's size overflows");
      }
      n *= static_cast<uint64_t>(d);
    }
  } else {
    n = 0;
  }
  if (shape_out) *shape_out = std::move(shape);
  return n * itemsize;
}

void normalize_bools(array& a) {
  if (a.dtype() != bool_) return;
  unsigned char* p = a.data<unsigned char>();
  for (size_t i = 0; i < a.size(); ++i) p[i] = p[i] != 0;
}

void byteswap(void* data, uint64_t count, size_t size) {
  char* p = static_cast<char*>(data);
  for (uint64_t i = 0; i < count; ++i, p += size) std::reverse(p, p + size);
}

void Cursor::read(void* out, uint64_t n, const char* what) {
  if (n > remaining()) fail(std::string(what) + " runs past the end of the file (truncated?)");
  // Small reads (header fields) go through a buffer; large ones straight to `out`.
  constexpr uint64_t kBuf = 1 << 20;
  if (n >= kBuf / 4) {
    r_.read(out, n, pos_);
    pos_ += n;
    return;
  }
  if (pos_ < buf_start_ || pos_ + n > buf_start_ + buf_.size()) {
    uint64_t len = std::min<uint64_t>(kBuf, end_ - pos_);
    buf_.resize(len);
    r_.read(buf_.data(), len, pos_);
    buf_start_ = pos_;
  }
  std::memcpy(out, buf_.data() + (pos_ - buf_start_), n);
  pos_ += n;
}

}  // namespace io
}  // namespace kiln
