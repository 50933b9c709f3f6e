// eval_gpu of Compiled: a fused elementwise chain runs as one CUDA kernel generated for it,
// built at run time by NVRTC and cached in memory and on disk (the CPU JIT's design,
// kiln/backend/cpu/compiled.cpp).
//
// The generated source includes device/ops.cuh, whose text (and that of what it includes) is
// embedded in the library at build time, so each member of the chain is computed by the same
// functor as its unfused kernel: one definition of every op. NVRTC builds machine code for the
// device's compute capability (CUBIN, loaded without the driver's JIT); when NVRTC does not know
// that architecture, or the CUBIN does not load, it builds PTX for the newest one it knows. The
// result is stored under the JIT cache directory (jit_cache.h), named by a hash of the source,
// the architecture, the NVRTC version, the options and the embedded headers, so a fresh process
// loads it without compiling. Loading goes through the runtime's library API
// (cudaLibraryLoadData), so libkiln needs no libcuda.so and imports on machines without a GPU.
//
// Kernels: a dense one (every input row-major with the output's size, or a single value read
// once), each thread computing a run of elements with 16-byte loads and stores where aligned;
// and a strided one for any other layout (broadcast, transposed, sliced inputs), whose shape and
// strides are kernel arguments, so shapeless replays with new shapes reuse it.
// KILN_DISABLE_JIT, or NVRTC without the CUDA headers, runs the chain unfused.
#include <cuda_runtime.h>
#include <nvrtc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/backend/common/jit_cache.h"
#include "kiln/backend/common/utils.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/compile.h"
#include "kiln/transforms.h"

namespace kiln {

namespace cuda::jit {
// device/types.cuh, complex.cuh and ops.cuh, embedded at build time (cmake/embed_headers.cmake).
extern const char* const kHeaderNames[];
extern const char* const kHeaderTexts[];
extern const int kHeaderCount;
}  // namespace cuda::jit

namespace {

namespace fs = std::filesystem;

constexpr int kBlock = 256;
constexpr int kMaxDims = cuda::kMaxDims;

const char* device_type(Dtype t) {
  switch (t.val) {
    case Dtype::Val::bool_: return "bool";
    case Dtype::Val::uint8: return "uint8_t";
    case Dtype::Val::uint16: return "uint16_t";
    case Dtype::Val::uint32: return "uint32_t";
    case Dtype::Val::uint64: return "uint64_t";
    case Dtype::Val::int8: return "int8_t";
    case Dtype::Val::int16: return "int16_t";
    case Dtype::Val::int32: return "int32_t";
    case Dtype::Val::int64: return "int64_t";
    case Dtype::Val::float16: return "__half";
    case Dtype::Val::bfloat16: return "__nv_bfloat16";
    case Dtype::Val::float32: return "float";
    case Dtype::Val::float64: return "double";
    case Dtype::Val::complex64: return "complex64_d";
  }
  return nullptr;
}

bool pass_through(const Primitive& p) {
  std::string n = p.name();
  return n == "Broadcast" || n == "Copy" || n == "Full" || n == "Identity" || n == "StopGradient";
}

// The element function: one value per external input (storage types) in, the output's storage
// value out; each member computed as its unfused kernel computes it (unary.cu, binary.cu).
std::string element_function(const Compiled& c) {
  std::ostringstream os;
  std::unordered_map<std::uintptr_t, std::string> name;
  os << "__device__ __forceinline__ " << device_type(c.members().back().dtype()) << " element(";
  for (size_t k = 0; k < c.externals().size(); ++k) {
    const array& e = c.externals()[k];
    os << (k ? ", " : "") << device_type(e.dtype()) << " x" << k;
    name[e.id()] = "x" + std::to_string(k);
  }
  os << ") {\n";
  int v = 0;
  for (auto& m : c.members()) {
    std::string var = "v" + std::to_string(v++);
    std::string out_t = device_type(m.dtype());
    auto& p = m.primitive();
    const auto& ins = m.inputs();
    std::string pname = p.name();
    os << "  " << out_t << " " << var << " = ";
    if (pass_through(p) || pname == "AsType") {
      os << "cast_to<" << out_t << ">(" << name.at(ins[0].id()) << ")";
    } else {
      // Operands in the compute type of their dtype (Select: of x and y; its condition is bool).
      const array& typed = pname == "Select" ? ins[1] : ins[0];
      std::string ct = std::string("compute_t<") + device_type(typed.dtype()) + ">";
      os << "cast_to<" << out_t << ">(ops::" << pname << "{}(";
      for (size_t i = 0; i < ins.size(); ++i) {
        bool cond = pname == "Select" && i == 0;
        os << (i ? ", " : "") << "cast_to<" << (cond ? std::string("bool") : ct) << ">(" << name.at(ins[i].id())
           << ")";
      }
      os << "))";
    }
    os << ";\n";
    name[m.id()] = var;
  }
  os << "  return v" << (v - 1) << ";\n}\n";
  return os.str();
}

// Elements per thread of the dense kernel: 16 bytes of the widest array it walks.
int elems_per_thread(const Compiled& c, const std::string& layout) {
  size_t widest = size_of(c.members().back().dtype());
  for (size_t k = 0; k < c.externals().size(); ++k) {
    if (layout[k] == 'c') widest = std::max(widest, size_of(c.externals()[k].dtype()));
  }
  return widest >= 16 ? 1 : static_cast<int>(16 / widest);
}

// The kernel `kiln_fused` for the chain and one input layout: one letter per input and a mode
// letter. Dense mode 'D': input k is read at i ('c') or is one value ('s'). Strided mode 'S':
// every input is read at its own strides (kernel arguments).
std::string kernel_source(const Compiled& c, const std::string& layout) {
  std::ostringstream os;
  size_t n = c.externals().size();
  std::string out_t = device_type(c.members().back().dtype());
  auto in_t = [&](size_t k) { return std::string(device_type(c.externals()[k].dtype())); };
  os << "#include \"kiln/backend/cuda/device/ops.cuh\"\n"
        "using namespace kiln::cuda;\n"
        "template <typename T, int N> struct alignas(sizeof(T) * N) V { T v[N]; };\n";
  os << element_function(c);
  std::ostringstream params;
  for (size_t k = 0; k < n; ++k) params << "const " << in_t(k) << "* __restrict__ in" << k << ", ";
  params << out_t << "* __restrict__ out, long long n";
  if (layout.back() == 'D') {
    int N = elems_per_thread(c, layout);
    std::ostringstream vec_args, tail_args;
    for (size_t k = 0; k < n; ++k) {
      std::string ks = std::to_string(k);
      vec_args << (k ? ", " : "") << (layout[k] == 'c' ? "a" + ks + ".v[j]" : "s" + ks);
      tail_args << (k ? ", " : "") << (layout[k] == 'c' ? "in" + ks + "[i]" : "s" + ks);
    }
    os << "extern \"C\" __global__ void __launch_bounds__(" << kBlock << ") kiln_fused(" << params.str()
       << ", int aligned) {\n"
       << "  constexpr int N = " << N << ";\n"
       << "  long long base = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) * N;\n"
       << "  if (base >= n) return;\n";
    for (size_t k = 0; k < n; ++k) {
      if (layout[k] == 's') os << "  " << in_t(k) << " s" << k << " = in" << k << "[0];\n";
    }
    os << "  if (aligned && base + N <= n) {\n";
    for (size_t k = 0; k < n; ++k) {
      if (layout[k] == 'c') {
        os << "    V<" << in_t(k) << ", N> a" << k << " = *reinterpret_cast<const V<" << in_t(k) << ", N>*>(in" << k
           << " + base);\n";
      }
    }
    os << "    V<" << out_t << ", N> r;\n"
       << "#pragma unroll\n"
       << "    for (int j = 0; j < N; ++j) r.v[j] = element(" << vec_args.str() << ");\n"
       << "    *reinterpret_cast<V<" << out_t << ", N>*>(out + base) = r;\n"
       << "  } else {\n"
       << "    for (long long i = base; i < n && i < base + N; ++i) out[i] = element(" << tail_args.str() << ");\n"
       << "  }\n}\n";
    return os.str();
  }
  // Strided: out is row-major, so the thread's linear index is its output offset.
  os << "struct Strides { int ndim; long long shape[" << kMaxDims << "]; long long s[" << std::max<size_t>(n, 1)
     << "][" << kMaxDims << "]; };\n"
     << "extern \"C\" __global__ void __launch_bounds__(" << kBlock
     << ") kiln_fused(const __grid_constant__ Strides st, " << params.str() << ") {\n"
     << "  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;\n"
     << "  if (i >= n) return;\n"
     << "  long long r = i";
  for (size_t k = 0; k < n; ++k) os << ", o" << k << " = 0";
  os << ";\n#pragma unroll\n"
     << "  for (int d = " << kMaxDims - 1 << "; d >= 0; --d) {\n"
     << "    if (d < st.ndim) {\n"
     << "      long long q = r / st.shape[d], c = r - q * st.shape[d];\n"
     << "      r = q;\n";
  for (size_t k = 0; k < n; ++k) os << "      o" << k << " += c * st.s[" << k << "][d];\n";
  os << "    }\n  }\n  out[i] = element(";
  for (size_t k = 0; k < n; ++k) os << (k ? ", " : "") << "in" << k << "[o" << k << "]";
  os << ");\n}\n";
  return os.str();
}

// ---------------------------------------------------------------- building and loading

struct Kernel {
  cudaKernel_t fn = nullptr;
  int elems = 1;  // per thread (dense kernels)
};

std::string nvrtc_version() {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

// The CUDA headers NVRTC needs (cuda_fp16.h, libcu++): KILN_CUDA_INCLUDE_DIR, CUDA_HOME,
// CUDA_PATH, the toolkit kiln was built with, /usr/local/cuda. Empty if none has them.
const std::vector<std::string>& include_options() {
  static const std::vector<std::string> opts = [] {
    std::vector<fs::path> candidates;
    if (const char* d = std::getenv("KILN_CUDA_INCLUDE_DIR")) candidates.emplace_back(d);
    if (const char* d = std::getenv("CUDA_HOME")) candidates.push_back(fs::path(d) / "include");
    if (const char* d = std::getenv("CUDA_PATH")) candidates.push_back(fs::path(d) / "include");
#ifdef KILN_CUDA_INCLUDE_DIR
    candidates.emplace_back(KILN_CUDA_INCLUDE_DIR);
#endif
    candidates.emplace_back("/usr/local/cuda/include");
    std::vector<std::string> out;
    for (auto& d : candidates) {
      std::error_code ec;
      if (!fs::exists(d / "cuda_fp16.h", ec)) continue;
      out.push_back("-I" + d.string());
      if (fs::exists(d / "cccl" / "cuda" / "std" / "type_traits", ec)) out.push_back("-I" + (d / "cccl").string());
      break;
    }
    return out;
  }();
  return opts;
}

// Hash of the embedded headers: a kernel built against other headers is another cache entry.
uint64_t headers_hash() {
  static const uint64_t h = [] {
    uint64_t x = jit::fnv1a("kiln-cuda-headers");
    for (int i = 0; i < cuda::jit::kHeaderCount; ++i) {
      x = jit::fnv1a(cuda::jit::kHeaderNames[i], x);
      x = jit::fnv1a(cuda::jit::kHeaderTexts[i], x);
    }
    return x;
  }();
  return h;
}

// Compute capability of the current device, as 90 for sm_90.
int device_arch() {
  int dev = 0, major = 0, minor = 0;
  cuda::check(cudaGetDevice(&dev), "Compiled");
  cuda::check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "Compiled");
  cuda::check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev), "Compiled");
  return major * 10 + minor;
}

// The newest virtual architecture NVRTC supports that the device can run.
int ptx_arch(int arch) {
  int count = 0;
  if (nvrtcGetNumSupportedArchs(&count) != NVRTC_SUCCESS || count <= 0) return arch;
  std::vector<int> archs(count);
  if (nvrtcGetSupportedArchs(archs.data()) != NVRTC_SUCCESS) return arch;
  int best = archs.front();
  for (int a : archs) {
    if (a <= arch) best = std::max(best, a);
  }
  return best;
}

std::vector<std::string> compile_options(const std::string& arch_flag) {
  // No FMA contraction across the fused ops: each member rounds as its unfused kernel does.
  std::vector<std::string> opts{"-std=c++20", arch_flag, "--fmad=false"};
  for (auto& i : include_options()) opts.push_back(i);
  return opts;
}

std::string options_text(const std::vector<std::string>& opts) {
  std::string s;
  for (auto& o : opts) s += o + " ";
  return s;
}

// NVRTC: source -> CUBIN (`cubin`) or PTX. Returns false with `status` set when the option is
// not supported (an architecture newer than this NVRTC); throws on compile errors.
bool nvrtc_build(const std::string& source, const std::vector<std::string>& opts, bool cubin, std::string& image,
                 nvrtcResult& status) {
  nvrtcProgram prog;
  status = nvrtcCreateProgram(&prog, source.c_str(), "kiln_fused.cu", cuda::jit::kHeaderCount, cuda::jit::kHeaderTexts,
                              cuda::jit::kHeaderNames);
  if (status != NVRTC_SUCCESS) {
    throw std::runtime_error(std::string("[Compiled] NVRTC could not create a program: ") + nvrtcGetErrorString(status));
  }
  std::unique_ptr<nvrtcProgram, void (*)(nvrtcProgram*)> guard(&prog, [](nvrtcProgram* p) { nvrtcDestroyProgram(p); });
  std::vector<const char*> argv;
  for (auto& o : opts) argv.push_back(o.c_str());
  status = nvrtcCompileProgram(prog, static_cast<int>(argv.size()), argv.data());
  if (status == NVRTC_ERROR_INVALID_OPTION) return false;
  if (status != NVRTC_SUCCESS) {
    size_t size = 0;
    nvrtcGetProgramLogSize(prog, &size);
    std::string log(size, '\0');
    if (size) nvrtcGetProgramLog(prog, log.data());
    std::string msg = std::string("[Compiled] NVRTC failed to compile a fused kernel (") +
                      nvrtcGetErrorString(status) + ", options " + options_text(opts) + "):\n" + log;
    if (jit::verbose()) msg += "\nsource:\n" + source;
    throw std::runtime_error(msg);
  }
  size_t size = 0;
  if (cubin) {
    nvrtcGetCUBINSize(prog, &size);
    image.resize(size);
    nvrtcGetCUBIN(prog, image.data());
  } else {
    nvrtcGetPTXSize(prog, &size);  // includes the terminating NUL the loader needs
    image.resize(size);
    nvrtcGetPTX(prog, image.data());
  }
  return true;
}

bool load_image(const std::string& image, Kernel& k) {
  cudaLibrary_t lib = nullptr;
  if (cudaLibraryLoadData(&lib, image.data(), nullptr, nullptr, 0, nullptr, nullptr, 0) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  if (cudaLibraryGetKernel(&k.fn, lib, "kiln_fused") != cudaSuccess) {
    cudaGetLastError();
    cudaLibraryUnload(lib);
    return false;
  }
  return true;  // the library stays loaded for the life of the process
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One image kind (CUBIN for sm_<arch>, or PTX for compute_<arch>): from the disk cache, else
// built and stored. False if NVRTC does not support the architecture or the image does not load.
bool build_or_load(const std::string& source, int arch, bool cubin, Kernel& k) {
  std::string flag = std::string(cubin ? "-arch=sm_" : "-arch=compute_") + std::to_string(arch);
  auto opts = compile_options(flag);
  uint64_t h = jit::fnv1a(source);
  h = jit::fnv1a(options_text(opts), h);
  h = jit::fnv1a(nvrtc_version(), h);
  h ^= headers_hash() * 1099511628211ull;
  std::string key = jit::hex(h);
  fs::path file = jit::cache_dir() / ("cuda-" + key + (cubin ? "-sm_" : "-compute_") + std::to_string(arch) +
                                      (cubin ? ".cubin" : ".ptx"));
  auto t0 = std::chrono::steady_clock::now();
  std::string image;
  if (jit::read_file(file, image) && !image.empty()) {
    if (load_image(image, k)) {
      if (jit::verbose()) {
        std::fprintf(stderr, "[compile] Loaded a fused CUDA kernel from the disk cache in %.1f ms: %s\n", ms_since(t0),
                     file.c_str());
      }
      return true;
    }
    std::error_code ec;
    fs::remove(file, ec);  // stale or damaged: build it again
  }
  nvrtcResult status;
  if (!nvrtc_build(source, opts, cubin, image, status)) return false;
  double build_ms = ms_since(t0);
  if (!load_image(image, k)) return false;
  jit::write_file_atomic(file, image);
  if (jit::verbose()) {
    std::fprintf(stderr, "[compile] NVRTC built a fused CUDA kernel (%s) in %.1f ms: %s\n", flag.c_str(), build_ms,
                 file.c_str());
  }
  return true;
}

// The kernel for `source`, built or loaded once per process; null when NVRTC cannot run here
// (no CUDA headers). Compile errors throw.
const Kernel* load_kernel(const std::string& source, int elems) {
  static std::mutex mtx;
  static auto* loaded = new std::unordered_map<std::string, std::unique_ptr<Kernel>>();  // never freed
  std::lock_guard<std::mutex> lk(mtx);
  int arch = device_arch();
  std::string mem_key = std::to_string(arch) + "\n" + source;
  auto it = loaded->find(mem_key);
  if (it != loaded->end()) return it->second.get();
  std::unique_ptr<Kernel> k;
  if (include_options().empty()) {
    static bool warned = false;
    if (!warned) {
      warned = true;
      std::fprintf(stderr,
                   "[compile] NVRTC needs the CUDA headers (cuda_fp16.h) to fuse kernels: set KILN_CUDA_INCLUDE_DIR "
                   "or CUDA_HOME. Compiled chains run unfused.\n");
    }
  } else {
    k = std::make_unique<Kernel>();
    k->elems = elems;
    if (!build_or_load(source, arch, true, *k) && !build_or_load(source, ptx_arch(arch), false, *k)) {
      throw std::runtime_error("[Compiled] The fused kernel built by NVRTC could not be loaded for sm_" +
                               std::to_string(arch) + ".");
    }
  }
  const Kernel* out = k.get();
  loaded->emplace(std::move(mem_key), std::move(k));
  return out;
}

void launch(const Kernel& k, int64_t threads, std::vector<void*>& args, cudaStream_t s) {
  if (threads <= 0) return;
  auto blocks = static_cast<unsigned>((threads + kBlock - 1) / kBlock);
  cuda::check(cudaLaunchKernel(reinterpret_cast<const void*>(k.fn), dim3(blocks), dim3(kBlock), args.data(), 0, s),
              "Compiled");
}

// Mirrors the generated `Strides` struct: ndim, shape, then per input its strides.
struct StridesArg {
  int ndim = 0;
  long long shape[kMaxDims] = {};
};

}  // namespace

void Compiled::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  int64_t n = static_cast<int64_t>(out.size());
  size_t nin = inputs.size();
  // Dense when every input is a single value or row-major with the output's size.
  bool dense = true;
  for (auto& in : inputs) dense = dense && (in.data_size() == 1 || (in.flags().row_contiguous && in.size() == out.size()));
  std::string layout;
  Shape shape;
  std::vector<Strides> strides;
  if (dense) {
    for (auto& in : inputs) layout += in.data_size() == 1 ? 's' : 'c';
    layout += 'D';
  } else {
    // Each input's strides seen with the output's shape (broadcast axes: 0), then collapsed
    // together with the output's row-major strides.
    std::vector<Strides> all{row_major_strides(out.shape())};
    for (auto& in : inputs) {
      Strides st(out.ndim(), 0);
      int lead = out.ndim() - in.ndim();
      for (int d = 0; d < in.ndim(); ++d) {
        if (in.shape(d) != 1) st[lead + d] = in.strides(d);
      }
      all.push_back(std::move(st));
    }
    std::tie(shape, strides) = collapse_contiguous_dims(out.shape(), all);
    layout = std::string(nin, 'g') + 'S';
  }

  bool fits = dense || shape.size() <= static_cast<size_t>(kMaxDims);
  const Kernel* kernel = nullptr;
  bool unfused_only = jit::disabled() || !fits || n == 0;
  for (auto& e : externals()) unfused_only = unfused_only || !device_type(e.dtype());
  if (!unfused_only) {
    std::string key = "cuda:" + layout;
    kernel = static_cast<const Kernel*>(cached_kernel(key));
    if (!kernel) {
      kernel = load_kernel(kernel_source(*this, layout), dense ? elems_per_thread(*this, layout) : 1);
      if (kernel) cache_kernel(key, kernel);
    }
  }
  if (!kernel) {
    if (n == 0) {
      cuda::alloc_device(out, s);
      return;
    }
    array result = unfused(inputs);
    kiln::eval({result});
    out.copy_shared_buffer(result);
    return;
  }

  cuda::alloc_device(out, s);
  std::vector<const void*> ptrs;
  for (auto& in : inputs) ptrs.push_back(cuda::device_in(in, s));
  void* o = cuda::device_out(out);
  long long count = n;
  std::vector<void*> args;
  if (dense) {
    int N = kernel->elems;
    auto aligned_to = [](const void* p, size_t b) { return reinterpret_cast<uintptr_t>(p) % b == 0; };
    int aligned = aligned_to(o, out.itemsize() * N);
    for (size_t k = 0; k < nin; ++k) {
      if (layout[k] == 'c') aligned = aligned && aligned_to(ptrs[k], inputs[k].itemsize() * N);
    }
    for (auto& p : ptrs) args.push_back(&p);
    args.push_back(&o);
    args.push_back(&count);
    args.push_back(&aligned);
    launch(*kernel, (n + N - 1) / N, args, s);
    return;
  }
  // The generated struct: int ndim, long long shape[kMaxDims], long long s[nin][kMaxDims].
  size_t bytes = sizeof(StridesArg) + sizeof(long long) * kMaxDims * std::max<size_t>(nin, 1);
  std::vector<long long> buf((bytes + sizeof(long long) - 1) / sizeof(long long), 0);
  auto* head = reinterpret_cast<StridesArg*>(buf.data());
  head->ndim = static_cast<int>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) head->shape[d] = shape[d];
  auto* per_input = reinterpret_cast<long long*>(reinterpret_cast<char*>(buf.data()) + sizeof(StridesArg));
  for (size_t k = 0; k < nin; ++k) {
    for (size_t d = 0; d < shape.size(); ++d) per_input[k * kMaxDims + d] = strides[k + 1][d];
  }
  args.push_back(buf.data());
  for (auto& p : ptrs) args.push_back(&p);
  args.push_back(&o);
  args.push_back(&count);
  launch(*kernel, n, args, s);
}

}  // namespace kiln
