// eval_gpu of FFT through cuFFT, and of the other transforms of the family: Hadamard
// (hadamard.cu) and the e4m3 float8 conversions ToFP8/FromFP8 (fp8.cu).
//
// The transformed axes of the row-major data are grouped into runs of consecutive axes (at most
// three: cuFFT's largest rank); each run is one cuFFT plan over the array seen as
// (outer, run dims, inner). With inner == 1 the outer index is cuFFT's batch (distance: the
// run's size). Otherwise the run's elements are `inner` apart and one of outer/inner is the
// batch, the other a loop of executions (whichever is shorter): batch = inner (distance 1) and a
// loop over outer, or batch = outer and a loop over inner. Complex transforms run the first
// run out of place from a row-major complex64 input (no copy) and the rest in place in the
// output. Real forward transforms run the real axis (R2C) first, then the complex axes in
// place, as the CPU does; real inverse ones copy the half spectrum (the C2R transform
// overwrites its input), transform the complex axes in place, clear the imaginary parts of the
// DC and Nyquist terms (ignored by the CPU) and run C2R into the output. The norm's scale
// is one pass over the output at the end (skipped when 1).
//
// Plans are cached by layout, type and CUDA stream; their work areas come from kiln's device
// allocator (auto allocation off), stream-ordered, for the time of one execution.
#include <cufft.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "kiln/backend/common/hadamard.h"
#include "kiln/backend/common/utils.h"
#include "kiln/backend/common/views.h"
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/runtime.h"
#include "kiln/backend/cuda/transforms.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

const char* cufft_status(cufftResult r) {
  switch (r) {
    case CUFFT_INVALID_PLAN: return "invalid plan";
    case CUFFT_ALLOC_FAILED: return "allocation failed";
    case CUFFT_INVALID_VALUE: return "invalid value";
    case CUFFT_INTERNAL_ERROR: return "internal error";
    case CUFFT_EXEC_FAILED: return "execution failed";
    case CUFFT_SETUP_FAILED: return "setup failed";
    case CUFFT_INVALID_SIZE: return "invalid size";
    case CUFFT_NOT_SUPPORTED: return "not supported";
    default: return "error";
  }
}

void check_fft(cufftResult r, const char* what) {
  if (r != CUFFT_SUCCESS) {
    std::ostringstream msg;
    msg << "[FFT] cuFFT " << what << " failed: " << cufft_status(r) << " (" << static_cast<int>(r) << ").";
    throw std::runtime_error(msg.str());
  }
}

struct CufftPlan {
  cufftHandle handle = 0;
  size_t work = 0;
  cudaStream_t stream = nullptr;
  std::mutex mu;  // held while the work area is set and the plan executes
  ~CufftPlan() {
    // Executions queued on the stream may still read the plan's device data.
    cudaStreamSynchronize(stream);
    cufftDestroy(handle);
  }
};

// A transform over `rank` dims: logical lengths n (for real transforms, the real signal's),
// element counts of the input and output along them (inembed/onembed), and the advanced
// layout's strides and distances, all in elements.
struct PlanDesc {
  cufftType type;
  int rank;
  long long n[3], inembed[3], onembed[3];
  long long istride, idist, ostride, odist, batch;
};

std::shared_ptr<CufftPlan> get_plan(const PlanDesc& d, cudaStream_t s) {
  static std::mutex mu;
  // Never destroyed: plans outlive the CUDA context at exit otherwise.
  static auto* cache = new std::map<std::vector<long long>, std::shared_ptr<CufftPlan>>();
  std::vector<long long> key{static_cast<long long>(d.type), d.rank, d.istride, d.idist, d.ostride, d.odist,
                             d.batch, static_cast<long long>(reinterpret_cast<uintptr_t>(s))};
  for (int i = 0; i < d.rank; ++i) key.insert(key.end(), {d.n[i], d.inembed[i], d.onembed[i]});
  std::lock_guard<std::mutex> lk(mu);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  if (cache->size() >= 64) cache->clear();  // plans in use stay alive through their shared_ptr
  auto p = std::make_shared<CufftPlan>();
  p->stream = s;
  check_fft(cufftCreate(&p->handle), "plan creation");
  check_fft(cufftSetAutoAllocation(p->handle, 0), "plan creation");
  long long n[3], ie[3], oe[3];
  std::copy(d.n, d.n + 3, n);
  std::copy(d.inembed, d.inembed + 3, ie);
  std::copy(d.onembed, d.onembed + 3, oe);
  size_t work = 0;
  cufftResult r = cufftMakePlanMany64(p->handle, d.rank, n, ie, d.istride, d.idist, oe, d.ostride, d.odist, d.type,
                                      d.batch, &work);
  if (r != CUFFT_SUCCESS) {
    cufftDestroy(p->handle);
    p->handle = 0;
    p->stream = nullptr;
    check_fft(r, "plan creation");
  }
  p->work = work;
  check_fft(cufftSetStream(p->handle, s), "cufftSetStream");
  cache->emplace(key, p);
  return p;
}

// A run of consecutive transformed axes [first, first + rank) of a row-major array.
struct Run {
  int first, rank;
};

// Runs of consecutive axes (at most 3 each) among `axes` (sorted), skipping length-1 axes.
std::vector<Run> axis_runs(const std::vector<int>& axes, const Shape& shape) {
  std::vector<Run> runs;
  for (int a : axes) {
    if (shape[a] == 1) continue;
    if (!runs.empty() && runs.back().first + runs.back().rank == a && runs.back().rank < 3) {
      runs.back().rank++;
    } else {
      runs.push_back({a, 1});
    }
  }
  return runs;
}

// Executes one transform of the dims [first, first + rank) of row-major arrays `in` (shape
// `ishape`) and `out` (shape `oshape`, equal to ishape except along a real transform's axis);
// `n` holds the logical lengths.
// Real transforms (whose float pointers cuFFT wants 8-byte aligned) always loop over outer
// when inner > 1; with `outer_step` the outer slices of the real side are that many elements
// apart (even, see aligned_real), else they are packed (and their size is even).
void exec_run(cufftType type, int direction, int first, int rank, const long long* n, const Shape& ishape,
              const Shape& oshape, const void* in, void* out, cudaStream_t s, long long outer_step = 0) {
  PlanDesc d{};
  d.type = type;
  d.rank = rank;
  long long in_n = 1, out_n = 1, outer = 1, inner = 1;
  for (int i = 0; i < rank; ++i) {
    d.n[i] = n[i];
    d.inembed[i] = ishape[first + i];
    d.onembed[i] = oshape[first + i];
    in_n *= d.inembed[i];
    out_n *= d.onembed[i];
  }
  for (int i = 0; i < first; ++i) outer *= ishape[i];
  for (size_t i = first + rank; i < ishape.size(); ++i) inner *= ishape[i];
  long long loops, in_step, out_step;
  if (inner == 1) {
    d.istride = d.ostride = 1;
    d.idist = type == CUFFT_R2C && outer_step > 0 ? outer_step : in_n;
    d.odist = type == CUFFT_C2R && outer_step > 0 ? outer_step : out_n;
    d.batch = outer;
    loops = 1;
    in_step = out_step = 0;
  } else if (outer <= inner || type != CUFFT_C2C) {  // real pointers stay 8-byte aligned
    d.istride = d.ostride = inner;
    d.idist = d.odist = 1;
    d.batch = inner;
    loops = outer;
    in_step = type == CUFFT_R2C && outer_step > 0 ? outer_step : in_n * inner;
    out_step = type == CUFFT_C2R && outer_step > 0 ? outer_step : out_n * inner;
  } else {
    d.istride = d.ostride = inner;
    d.idist = in_n * inner;
    d.odist = out_n * inner;
    d.batch = outer;
    loops = inner;
    in_step = out_step = 1;
  }
  auto plan = get_plan(d, s);
  std::lock_guard<std::mutex> lk(plan->mu);
  std::unique_ptr<cuda::Scratch> work;
  if (plan->work > 0) {
    work = std::make_unique<cuda::Scratch>(plan->work, s);
    check_fft(cufftSetWorkArea(plan->handle, work->get()), "cufftSetWorkArea");
  }
  size_t isz = type == CUFFT_R2C ? sizeof(float) : sizeof(cufftComplex);
  size_t osz = type == CUFFT_C2R ? sizeof(float) : sizeof(cufftComplex);
  for (long long l = 0; l < loops; ++l) {
    auto* ip = const_cast<char*>(static_cast<const char*>(in)) + l * in_step * isz;
    auto* op = static_cast<char*>(out) + l * out_step * osz;
    cufftResult r;
    if (type == CUFFT_C2C) {
      r = cufftExecC2C(plan->handle, reinterpret_cast<cufftComplex*>(ip), reinterpret_cast<cufftComplex*>(op),
                       direction);
    } else if (type == CUFFT_R2C) {
      r = cufftExecR2C(plan->handle, reinterpret_cast<cufftReal*>(ip), reinterpret_cast<cufftComplex*>(op));
    } else {
      r = cufftExecC2R(plan->handle, reinterpret_cast<cufftComplex*>(ip), reinterpret_cast<cufftReal*>(op));
    }
    check_fft(r, "execution");
  }
}

// Complex transforms in place over `axes` (sorted) of the row-major complex64 array at `data`;
// the first run reads `src` instead when it is not null.
void complex_axes(const std::vector<int>& axes, const Shape& shape, int direction, const void* src, void* data,
                  cudaStream_t s) {
  for (const Run& r : axis_runs(axes, shape)) {
    long long n[3];
    for (int i = 0; i < r.rank; ++i) n[i] = shape[r.first + i];
    exec_run(CUFFT_C2C, direction, r.first, r.rank, n, shape, shape, src ? src : data, data, s);
    src = nullptr;
  }
}

// `in` as a row-major array of `dtype` (itself when it already is one).
array row_major_as(const char* name, const array& in, Dtype dtype, cudaStream_t s) {
  if (in.dtype() == dtype && in.flags().row_contiguous) return in;
  array tmp = array::placeholder(in.shape(), dtype);
  cuda::alloc_device(tmp, s);
  cuda::copy_gpu(name, in, tmp, s);
  return tmp;
}

// A real array of `shape` whose outer slices (the dims before `axis`) start 8-byte aligned:
// cuFFT rejects real pointers that are not. Its slices are `step` elements apart (the slice's
// size, rounded up to even); `view` is the array of `shape` inside it.
struct AlignedReal {
  array buf, view;
  long long step;
};

AlignedReal aligned_real(const Shape& shape, int axis, cudaStream_t s) {
  long long per = 1, outer = 1;
  for (int i = axis; i < static_cast<int>(shape.size()); ++i) per *= shape[i];
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  long long step = per + (per & 1);
  AlignedReal r{array::placeholder({static_cast<ShapeElem>(outer * step)}, float32), array::placeholder(shape, float32),
                step};
  cuda::alloc_device(r.buf, s);
  Strides st = row_major_strides(shape);
  long long run = step;
  for (int i = axis - 1; i >= 0; --i) {
    st[i] = run;
    run *= shape[i];
  }
  r.view.copy_shared_buffer(r.buf, st, layout_flags(shape, st), static_cast<size_t>(outer * step), 0);
  return r;
}

// Whether a real transform along `axis` of `shape` loops over outer slices that would start
// at odd element offsets (both outer and inner > 1 and an odd slice size).
bool needs_alignment(const Shape& shape, int axis) {
  long long per = 1, outer = 1;
  for (int i = axis; i < static_cast<int>(shape.size()); ++i) per *= shape[i];
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  return outer > 1 && per != shape[axis] && per % 2 == 1;
}

// The view a[..., :k, ...] along `axis`.
array head_view(const array& a, int axis, int64_t k) {
  Shape sh = a.shape();
  sh[axis] = static_cast<int>(k);
  array v = array::placeholder(sh, a.dtype());
  slice_view(a, v, Shape(a.ndim(), 0), Shape(a.ndim(), 1));
  return v;
}

}  // namespace

void FFT::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const array& in = inputs[0];
  void* dst = cuda::device_out(out);

  if (!real_) {
    bool direct = in.dtype() == complex64 && in.flags().row_contiguous &&
                  !axis_runs(axes_, out.shape()).empty();
    const void* src = nullptr;
    if (direct) {
      src = cuda::device_in(in, s);
    } else {
      cuda::copy_gpu(name(), in, out, s);
    }
    complex_axes(axes_, out.shape(), inverse_ ? CUFFT_INVERSE : CUFFT_FORWARD, src, dst, s);
  } else if (!inverse_) {
    array x = row_major_as(name(), in, float32, s);
    int ra = axes_.back();
    long long n = x.shape(ra);
    if (n == 1) {
      cuda::copy_gpu(name(), x, out, s);  // one point: the value itself, imaginary part 0
    } else {
      const void* src = cuda::device_in(x, s);
      long long step = 0;
      if (needs_alignment(x.shape(), ra) || reinterpret_cast<uintptr_t>(src) % 8 != 0) {
        AlignedReal a = aligned_real(x.shape(), ra, s);
        cuda::copy_gpu(name(), x, a.view, s);
        x = a.buf;  // kept alive until the transform is queued
        src = cuda::device_out(a.buf);
        step = a.step;
      }
      exec_run(CUFFT_R2C, 0, ra, 1, &n, in.shape(), out.shape(), src, dst, s, step);  // in's shape is x's
    }
    std::vector<int> others(axes_.begin(), axes_.end() - 1);
    complex_axes(others, out.shape(), CUFFT_FORWARD, nullptr, dst, s);
  } else {
    int ra = axes_.back();
    long long n = n_last_;
    int64_t h = n / 2 + 1;
    // A row-major copy of the half spectrum with exactly h points along the real axis.
    Shape hs = in.shape();
    hs[ra] = static_cast<int>(h);
    array half = array::placeholder(hs, complex64);
    cuda::alloc_device(half, s);
    if (in.shape(ra) == h) {
      cuda::copy_gpu(name(), in, half, s);
    } else {
      cuda::check(cudaMemsetAsync(cuda::device_out(half), 0, half.nbytes(), s), "FFT");
      int64_t k = std::min<int64_t>(in.shape(ra), h);
      if (k > 0) {
        array dv = head_view(half, ra, k);
        cuda::copy_gpu(name(), head_view(in, ra, k), dv, s);
      }
    }
    void* hp = cuda::device_out(half);
    std::vector<int> others(axes_.begin(), axes_.end() - 1);
    complex_axes(others, hs, CUFFT_INVERSE, nullptr, hp, s);
    if (n == 1) {
      cuda::copy_gpu(name(), half, out, s);  // the real part of the one term
    } else {
      int64_t outer = 1, inner = 1;
      for (int i = 0; i < ra; ++i) outer *= hs[i];
      for (int i = ra + 1; i < static_cast<int>(hs.size()); ++i) inner *= hs[i];
      cuda::zero_imag(hp, outer, h, inner, 0, s);
      if (n % 2 == 0) cuda::zero_imag(hp, outer, h, inner, n / 2, s);
      if (needs_alignment(out.shape(), ra)) {
        AlignedReal a = aligned_real(out.shape(), ra, s);
        exec_run(CUFFT_C2R, 0, ra, 1, &n, hs, out.shape(), hp, cuda::device_out(a.buf), s, a.step);
        cuda::copy_gpu(name(), a.view, out, s);
      } else {
        exec_run(CUFFT_C2R, 0, ra, 1, &n, hs, out.shape(), hp, dst, s);
      }
    }
  }
  float scale = static_cast<float>(scale_);
  if (scale != 1.0f) {
    cuda::scale_floats(static_cast<float*>(dst), static_cast<int64_t>(out.size()) * (out.dtype() == complex64 ? 2 : 1),
                       scale, s);
  }
}

void Hadamard::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const array& in = inputs[0];
  int64_t n = out.ndim() == 0 ? 1 : out.shape(-1);
  int m = 1;
  for (int q : {28, 20, 12}) {
    if (n % q == 0) {
      m = q;
      break;
    }
  }
  uint32_t signs[28] = {};
  if (const char* const* hm = hadamard_rows(m)) {
    for (int r = 0; r < m; ++r) {
      for (int c = 0; c < m; ++c) signs[r] |= hm[r][c] == '-' ? (1u << c) : 0u;
    }
  }
  // A strided input is copied into the output first and transformed in place (each block reads
  // all of its rows before it writes).
  const void* src;
  if (in.flags().row_contiguous && in.dtype() == out.dtype()) {
    src = cuda::device_in(in, s);
  } else {
    cuda::copy_gpu(name(), in, out, s);
    src = cuda::device_out(out);
  }
  cuda::hadamard(name(), out.dtype(), src, cuda::device_out(out), static_cast<int64_t>(out.size()) / n, n, m, signs,
                 scale_, s);
}

void ToFP8::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  const array& in = inputs[0];
  Dtype t = in.dtype();
  if (t != float16 && t != bfloat16 && t != float32 && t != float64) t = float32;
  array x = row_major_as(name(), in, t, s);
  cuda::to_fp8(name(), t, cuda::device_in(x, s), static_cast<uint8_t*>(cuda::device_out(out)),
               static_cast<int64_t>(out.size()), s);
}

void FromFP8::eval_gpu(const std::vector<array>& inputs, array& out) {
  cudaStream_t s = cuda::stream_of(stream());
  cuda::alloc_device(out, s);
  if (out.size() == 0) return;
  array x = row_major_as(name(), inputs[0], uint8, s);
  cuda::from_fp8(name(), out.dtype(), static_cast<const uint8_t*>(cuda::device_in(x, s)), cuda::device_out(out),
                 static_cast<int64_t>(out.size()), s);
}

}  // namespace kiln
