// Copies with dtype conversion between any layouts (Copy, AsType, Full, non-view Reshape,
// Concatenate), Select, and Arange.
#include <cmath>
#include <cstring>

#include "kiln/backend/cuda/device/elementwise.cuh"

namespace kiln::cuda {

namespace {

template <typename In, typename Out>
struct CastFn {
  __device__ Out operator()(In x) const { return cast_to<Out>(x); }
};

template <typename T>
struct SelectFn {
  __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

// Select with x (is_x) or y given by value.
template <typename T>
struct SelectScalarFn {
  T v;
  bool is_x;
  __device__ T operator()(bool c, T other) const { return c == is_x ? v : other; }
};

template <typename T>
struct FillFn {
  T v;
  __device__ T operator()() const { return v; }
};

template <typename T>
__global__ void arange_kernel(T* out, int64_t n, double start, double step, bool exact_int) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if constexpr (std::is_integral_v<T>) {
    if (exact_int) {
      out[i] = static_cast<T>(static_cast<int64_t>(start) + i * static_cast<int64_t>(step));
      return;
    }
  }
  out[i] = cast_to<T>(start + static_cast<double>(i) * step);
}

}  // namespace

void copy(const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l, cudaStream_t s) {
  // Same dtype: copy bits, so one kernel per element size serves every dtype of that size.
  if (in_t == out_t) {
    auto bits = [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::launch(name, l, s, CastFn<T, T>{}, static_cast<T*>(out), static_cast<const T*>(in));
    };
    switch (size_of(in_t)) {
      case 1: return bits(tag<uint8_t>{});
      case 2: return bits(tag<uint16_t>{});
      case 4: return bits(tag<uint32_t>{});
      case 8: return bits(tag<uint64_t>{});
    }
  }
  dispatch_device_types(in_t, name, [&](auto in_tag) {
    using In = typename decltype(in_tag)::type;
    dispatch_device_types(out_t, name, [&](auto out_tag) {
      using Out = typename decltype(out_tag)::type;
      kernels::launch(name, l, s, CastFn<In, Out>{}, static_cast<Out*>(out), static_cast<const In*>(in));
    });
  });
}

void select(const char* name, Dtype t, const void* cond, const void* x, const void* y, void* out, const Layout& l,
            cudaStream_t s, ScalarArg sc) {
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (sc.index == 1 || sc.index == 2) {
      T v;
      std::memcpy(&v, &sc.bits, sizeof(T));
      kernels::launch(name, l, s, SelectScalarFn<T>{v, sc.index == 1}, static_cast<T*>(out),
                      static_cast<const bool*>(cond), static_cast<const T*>(sc.index == 1 ? y : x));
      return;
    }
    kernels::launch(name, l, s, SelectFn<T>{}, static_cast<T*>(out), static_cast<const bool*>(cond),
                    static_cast<const T*>(x), static_cast<const T*>(y));
  };
  // Select moves elements without arithmetic: dispatch on the element size only.
  switch (size_of(t)) {
    case 1: return run(tag<uint8_t>{});
    case 2: return run(tag<uint16_t>{});
    case 4: return run(tag<uint32_t>{});
    case 8: return run(tag<uint64_t>{});
  }
  throw_unsupported_dtype(name, t);
}

void fill(const char* name, Dtype t, uint64_t bits, void* out, int64_t n, cudaStream_t s) {
  Layout l;
  l.ndim = 1;
  l.size = n;
  l.shape[0] = n;
  l.contiguous = true;
  // Bits only: one kernel per element size serves every dtype.
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    kernels::launch(name, l, s, FillFn<T>{v}, static_cast<T*>(out));
  };
  switch (size_of(t)) {
    case 1: return run(tag<uint8_t>{});
    case 2: return run(tag<uint16_t>{});
    case 4: return run(tag<uint32_t>{});
    case 8: return run(tag<uint64_t>{});
  }
  throw_unsupported_dtype(name, t);
}

void arange(const char* name, Dtype t, double start, double step, bool exact_int, void* out, int64_t n,
            cudaStream_t s) {
  if (n == 0) return;
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, complex64_d>) {
      throw_unsupported_dtype(name, t);
    } else {
      auto blocks = static_cast<unsigned>((n + kernels::kBlock - 1) / kernels::kBlock);
      arange_kernel<T><<<blocks, kernels::kBlock, 0, s>>>(static_cast<T*>(out), n, start, step, exact_int);
      check_launch(name);
    }
  });
}

}  // namespace kiln::cuda
