// eval_cpu of Compiled: a fused elementwise chain runs as C++ generated for it, built by the
// system compiler at run time and cached on disk.
//
// Why generated C++: each fused element is computed start to finish in registers by the same
// op functors the unfused kernels use (elementwise_ops.h, embedded in the library and handed to
// the compiler), so results match and GCC vectorizes the whole chain; an interpreter over blocks
// would still write and re-read every intermediate. The price is a compiler run (~1 s) the first
// time a chain (for one input layout and dtype signature) is seen on a machine; the .so then
// comes from the cache (KILN_CACHE_DIR, else ~/.cache/kiln). Without a working compiler, or with
// KILN_DISABLE_JIT set, the chain runs unfused.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "kiln/backend/common/jit_cache.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/compile.h"

namespace kiln {

namespace cpu::jit {
// The headers the generated kernels include (generated at build time from the sources).
extern const char* const kHeaderNames[];
extern const char* const kHeaderTexts[];
extern const int kHeaderCount;
}  // namespace cpu::jit

namespace {

namespace fs = std::filesystem;

// Dense kernels run over flat element ranges; strided ones over ranges of rows (all axes but
// the last), each input read at its own strides.
using DenseFn = void (*)(const void* const* in, void* out, int64_t begin, int64_t end);
using StridedFn = void (*)(const void* const* in, void* out, const int64_t* shape, const int64_t* strides, int ndim,
                           int64_t row_begin, int64_t row_end);

struct Kernel {
  void* fn = nullptr;  // a DenseFn or a StridedFn, as the layout key says
};

const char* storage_type(Dtype t) {
  switch (t) {
    case bool_: return "bool";
    case uint8: return "uint8_t";
    case uint16: return "uint16_t";
    case uint32: return "uint32_t";
    case uint64: return "uint64_t";
    case int8: return "int8_t";
    case int16: return "int16_t";
    case int32: return "int32_t";
    case int64: return "int64_t";
    case float16: return "float16_t";
    case bfloat16: return "bfloat16_t";
    case float32: return "float";
    case float64: return "double";
    case complex64: return "complex64_t";
    default: return nullptr;
  }
}

bool pass_through(const Primitive& p) {
  std::string n = p.name();
  return n == "Broadcast" || n == "Copy" || n == "Full" || n == "Identity" || n == "StopGradient";
}

// The element function of the chain: takes one value per external input (storage types) and
// returns the output's storage value, computing each member as its primitive's kernel would.
std::string element_function(const Compiled& c) {
  std::ostringstream os;
  std::unordered_map<std::uintptr_t, std::string> name;
  os << "static inline auto element(";
  for (size_t k = 0; k < c.externals().size(); ++k) {
    const array& e = c.externals()[k];
    os << (k ? ", " : "") << storage_type(e.dtype()) << " x" << k;
    name[e.id()] = std::string(1, 'x').append(std::to_string(k));
  }
  os << ") {\n";
  int v = 0;
  for (auto& m : c.members()) {
    std::string var = std::string(1, 'v').append(std::to_string(v++));
    std::string out_t = storage_type(m.dtype());
    auto& p = m.primitive();
    const auto& ins = m.inputs();
    os << "  " << out_t << " " << var << " = ";
    if (pass_through(p)) {
      os << name.at(ins[0].id());
    } else if (std::string(p.name()) == "AsType") {
      os << "cast_to<" << out_t << ">(" << name.at(ins[0].id()) << ")";
    } else {
      // Inputs are computed in the compute type of the operands' dtype (Select: of x and y).
      const array& typed = std::string(p.name()) == "Select" ? ins[1] : ins[0];
      std::string ct = std::string("compute_t<") + storage_type(typed.dtype()) + ">";
      os << "cast_to<" << out_t << ">(apply(" << p.name() << "Op{}";
      for (size_t i = 0; i < ins.size(); ++i) {
        bool cond = std::string(p.name()) == "Select" && i == 0;
        os << ", cast_to<" << (cond ? std::string("bool") : ct) << ">(" << name.at(ins[i].id()) << ")";
      }
      os << "))";
    }
    os << ";\n";
    name[m.id()] = var;
  }
  os << "  return v" << (v - 1) << ";\n}\n";
  return os.str();
}

// Full source for the chain and one input layout. `layout` has one letter per input and a
// final mode letter: dense mode 'D' reads input k at i ('c') or at 0 ('s'); strided mode 'S'
// walks rows, and in a row input k has stride 1 ('1'), 0 ('0') or any ('g').
std::string kernel_source(const Compiled& c, const std::string& layout) {
  std::ostringstream os;
  std::string out_t = storage_type(c.members().back().dtype());
  size_t n = c.externals().size();
  bool dense = layout.back() == 'D';
  os << "#include \"kiln/backend/cpu/elementwise_ops.h\"\n"
        "using namespace kiln;\nusing namespace kiln::cpu;\n"
        "template <class Op, class... C> static inline auto apply(const Op& op, C... x) {\n"
        "  if constexpr (requires { op.needs_fixup(x...); }) { if (op.needs_fixup(x...)) return op.fixup(x...); }\n"
        "  return op(x...);\n}\n"
        "template <class T> static inline T ld(const void* p, int64_t i) {\n"
        "  if constexpr (std::is_same_v<T, bool>) return static_cast<const uint8_t*>(p)[i] != 0;\n"
        "  else return static_cast<const T*>(p)[i];\n}\n";
  os << element_function(c);
  std::ostringstream args;
  for (size_t k = 0; k < n; ++k) {
    std::string ks = std::to_string(k), idx;
    switch (layout[k]) {
      case 'c': idx = "i"; break;
      case 's': idx = "0"; break;
      case '1': idx = "o" + ks + " + j"; break;
      case '0': idx = "o" + ks; break;
      default: idx = "o" + ks + " + j * s" + ks; break;
    }
    args << (k ? ", " : "") << "ld<" << storage_type(c.externals()[k].dtype()) << ">(in[" << k << "], " << idx << ")";
  }
  if (dense) {
    os << "extern \"C\" void kiln_kernel(const void* const* in, void* out, int64_t begin, int64_t end) {\n"
       << "  " << out_t << "* o = static_cast<" << out_t << "*>(out);\n"
       << "  for (int64_t i = begin; i < end; ++i) o[i] = element(" << args.str() << ");\n}\n";
    return os.str();
  }
  os << "extern \"C\" void kiln_kernel(const void* const* in, void* out, const int64_t* shape, const int64_t* "
        "strides, int ndim, int64_t row_begin, int64_t row_end) {\n"
     << "  " << out_t << "* o_ = static_cast<" << out_t << "*>(out);\n"
     << "  int64_t inner = shape[ndim - 1];\n";
  for (size_t k = 0; k < n; ++k) {
    if (layout[k] == 'g') os << "  int64_t s" << k << " = strides[" << k << " * ndim + ndim - 1];\n";
  }
  os << "  for (int64_t row = row_begin; row < row_end; ++row) {\n";
  for (size_t k = 0; k < n; ++k) os << "    int64_t o" << k << " = 0;\n";
  os << "    for (int64_t d = ndim - 2, r = row; d >= 0; --d) {\n"
        "      int64_t idx = r % shape[d];\n      r /= shape[d];\n";
  for (size_t k = 0; k < n; ++k) os << "      o" << k << " += idx * strides[" << k << " * ndim + d];\n";
  os << "    }\n    " << out_t << "* o = o_ + row * inner;\n"
     << "    for (int64_t j = 0; j < inner; ++j) o[j] = element(" << args.str() << ");\n  }\n}\n";
  return os.str();
}

// ---------------------------------------------------------------- building and loading

using jit::cache_dir;

std::string hex(size_t h) {
  std::ostringstream os;
  os << std::hex << h;
  return os.str();
}

// The library's own target (KILN_CPU_ARCH); no FMA contraction across the fused ops.
const char* kFlags = "-std=c++20 -O3 -march=" KILN_CPU_ARCH " -fPIC -shared -fno-trapping-math -fno-math-errno -ffp-contract=off";

// Writes the embedded headers once per distinct set (their hash names the folder).
fs::path header_dir() {
  static fs::path dir = [] {
    size_t h = 0;
    for (int i = 0; i < cpu::jit::kHeaderCount; ++i) {
      h ^= std::hash<std::string>{}(cpu::jit::kHeaderTexts[i]) + 0x9e3779b9 + (h << 6) + (h >> 2);
    }
    fs::path d = cache_dir() / ("include-" + hex(h));
    for (int i = 0; i < cpu::jit::kHeaderCount; ++i) {
      fs::path f = d / cpu::jit::kHeaderNames[i];
      if (fs::exists(f)) continue;
      fs::create_directories(f.parent_path());
      fs::path tmp = f;
      tmp += ".tmp" + std::to_string(getpid());
      std::ofstream(tmp) << cpu::jit::kHeaderTexts[i];
      fs::rename(tmp, f);
    }
    return d;
  }();
  return dir;
}

std::string quoted(const fs::path& p) {
  std::string s = "'";
  for (char ch : p.string()) {
    if (ch == '\'') s.append("'\\''");
    else s.push_back(ch);
  }
  s.push_back('\'');
  return s;
}

// Builds (or finds in the disk cache) and loads the kernel for `source`; null on failure.
Kernel* load_kernel(const std::string& source) {
  static std::mutex mtx;
  static std::unordered_map<std::string, std::unique_ptr<Kernel>> loaded;  // by source
  std::lock_guard<std::mutex> lk(mtx);
  auto it = loaded.find(source);
  if (it != loaded.end()) return it->second.get();
  std::unique_ptr<Kernel> kernel;
  try {
    fs::path inc = header_dir();
    std::string key = hex(std::hash<std::string>{}(source + kFlags + inc.string()));
    fs::path so = cache_dir() / ("kernel-" + key + ".so");
    bool from_cache = fs::exists(so);
    if (!from_cache) {
      std::string tag = std::to_string(getpid());
      fs::path src = cache_dir() / ("kernel-" + key + "." + tag + ".cpp");
      fs::path tmp = cache_dir() / ("kernel-" + key + "." + tag + ".so");
      fs::path log = cache_dir() / ("kernel-" + key + "." + tag + ".log");
      std::ofstream(src) << source;
      const char* cxx = std::getenv("KILN_CXX") ? std::getenv("KILN_CXX") : (std::getenv("CXX") ? std::getenv("CXX") : "c++");
      std::string cmd = std::string(cxx) + " " + kFlags + " -I" + quoted(inc) + " " + quoted(src) + " -o " + quoted(tmp) +
                        " > " + quoted(log) + " 2>&1";
      int rc = std::system(cmd.c_str());
      if (rc == 0) fs::rename(tmp, so);
      if (rc != 0 && std::getenv("KILN_JIT_VERBOSE")) {
        std::ifstream l(log);
        std::fprintf(stderr, "[compile] Building a fused kernel failed:\n%s\n",
                     std::string(std::istreambuf_iterator<char>(l), {}).c_str());
      }
      std::error_code ec;
      fs::remove(src, ec);
      fs::remove(log, ec);
      fs::remove(tmp, ec);
    }
    if (fs::exists(so)) {
      if (void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        kernel = std::make_unique<Kernel>();
        kernel->fn = dlsym(h, "kiln_kernel");
        if (!kernel->fn) kernel.reset();
        if (kernel && from_cache && jit::verbose()) {
          std::fprintf(stderr, "[compile] Loaded a fused kernel from the disk cache: %s\n", so.c_str());
        }
      }
    }
  } catch (const std::exception&) {
    kernel.reset();  // no cache directory, no compiler, ...: run unfused
  }
  Kernel* k = kernel.get();
  loaded.emplace(source, std::move(kernel));
  return k;
}

bool jit_disabled() { return jit::disabled(); }

bool supported(const Compiled& c) {
  for (auto& e : c.externals()) {
    if (!storage_type(e.dtype())) return false;
  }
  for (auto& m : c.members()) {
    if (!storage_type(m.dtype())) return false;
  }
  return true;
}

}  // namespace

void Compiled::eval_cpu(const std::vector<array>& inputs, array& out) {
  int64_t n = static_cast<int64_t>(out.size());
  // Dense when every input is a single value or row-major with the output's size.
  bool dense = true;
  for (auto& in : inputs) dense = dense && (in.data_size() == 1 || (in.flags().row_contiguous && in.size() == out.size()));
  // Otherwise the strides of each input seen with the output's shape (broadcast axes: 0).
  int nd = std::max(out.ndim(), 1);
  std::vector<int64_t> shape(nd, 1), strides;
  std::string layout;
  if (dense) {
    for (auto& in : inputs) layout += in.data_size() == 1 ? 's' : 'c';
    layout += 'D';
  } else {
    for (int d = 0; d < out.ndim(); ++d) shape[d] = out.shape(d);
    strides.assign(inputs.size() * nd, 0);
    for (size_t k = 0; k < inputs.size(); ++k) {
      const array& in = inputs[k];
      int lead = out.ndim() - in.ndim();
      for (int d = 0; d < in.ndim(); ++d) {
        if (in.shape(d) != 1) strides[k * nd + lead + d] = in.strides(d);
      }
      int64_t inner = strides[k * nd + nd - 1];
      layout += inner == 1 ? '1' : inner == 0 ? '0' : 'g';
    }
    layout += 'S';
  }

  const Kernel* kernel = nullptr;
  if (!jit_disabled() && supported(*this) && n > 0) {
    kernel = static_cast<const Kernel*>(cached_kernel(layout));
    if (!kernel) {
      kernel = load_kernel(kernel_source(*this, layout));
      cache_kernel(layout, kernel);  // null too: this chain then runs unfused without retrying
    }
  }
  if (!kernel) {
    array result = unfused(inputs);
    kiln::eval({result});
    out.copy_shared_buffer(result);
    return;
  }
  out.set_data(allocator::malloc(out.nbytes()));
  std::vector<const void*> ptrs;
  for (auto& in : inputs) ptrs.push_back(in.data<void>());
  void* o = out.data<void>();
  if (dense) {
    auto fn = reinterpret_cast<DenseFn>(kernel->fn);
    cpu::parallel_for(n, cpu::kElementwiseGrain, [&](int64_t b, int64_t e) { fn(ptrs.data(), o, b, e); });
    return;
  }
  auto fn = reinterpret_cast<StridedFn>(kernel->fn);
  int64_t rows = n / shape[nd - 1];
  int64_t grain = std::max<int64_t>(1, cpu::kElementwiseGrain / std::max<int64_t>(1, shape[nd - 1]));
  cpu::parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    fn(ptrs.data(), o, shape.data(), strides.data(), nd, b, e);
  });
}

}  // namespace kiln
