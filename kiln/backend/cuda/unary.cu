// Unary elementwise kernels: one functor per primitive (device/ops.cuh), every dtype it takes.
#include <string>

#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/device/ops.cuh"

namespace kiln::cuda {

namespace {

template <typename Op, typename In, typename Out>
struct UnaryFn {
  __device__ Out operator()(In x) const { return cast_to<Out>(Op{}(cast_to<compute_t<In>>(x))); }
};

template <typename Op>
void run_unary(const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l, cudaStream_t s) {
  dispatch_device_types(in_t, name, [&](auto tag) {
    using In = typename decltype(tag)::type;
    using C = compute_t<In>;
    if constexpr (!Op::template ok<C>) {
      throw_unsupported_dtype(name, in_t);
    } else {
      // The input's type, unless the op returns another (bool; float from complex abs/real/imag).
      using R = typename Op::template out<C>;
      using Out = std::conditional_t<std::is_same_v<R, C>, In, R>;
      if (out_t != dtype_of<Out>()) throw_unsupported_dtype(name, out_t);
      kernels::launch(name, l, s, UnaryFn<Op, In, Out>{}, static_cast<Out*>(out), static_cast<const In*>(in));
    }
  });
}

}  // namespace

void unary(UnaryOp op, const char* name, Dtype in_t, Dtype out_t, const void* in, void* out, const Layout& l,
           cudaStream_t s) {
  switch (op) {
#define KILN_CUDA_CASE(Name) \
  case UnaryOp::Name: return run_unary<ops::Name>(name, in_t, out_t, in, out, l, s);
    KILN_CUDA_UNARY_OPS(KILN_CUDA_CASE)
#undef KILN_CUDA_CASE
  }
}

}  // namespace kiln::cuda
