#include "kiln/backend/common/jit_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace kiln::jit {

namespace fs = std::filesystem;

fs::path cache_dir() {
  if (const char* d = std::getenv("KILN_CACHE_DIR")) return fs::path(d) / "jit";
  if (const char* d = std::getenv("XDG_CACHE_HOME")) return fs::path(d) / "kiln" / "jit";
  if (const char* h = std::getenv("HOME")) return fs::path(h) / ".cache" / "kiln" / "jit";
  return fs::temp_directory_path() / "kiln-jit";
}

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t h) {
  std::ostringstream os;
  os << std::hex << h;
  return os.str();
}

bool disabled() {
  static const bool off = std::getenv("KILN_DISABLE_JIT") != nullptr;
  return off;
}

bool verbose() {
  static const bool on = std::getenv("KILN_JIT_VERBOSE") != nullptr;
  return on;
}

bool read_file(const fs::path& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), {});
  return !f.bad();
}

bool write_file_atomic(const fs::path& path, const std::string& data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return false;
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) {
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

}  // namespace kiln::jit
