// Binary elementwise kernels: one functor per primitive (device/ops.cuh), every dtype it takes.
#include <cstring>
#include <string>

#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/device/ops.cuh"

namespace kiln::cuda {

namespace {

template <typename Op, typename In, typename Out>
struct BinaryFn {
  __device__ Out operator()(In a, In b) const {
    using C = compute_t<In>;
    return cast_to<Out>(Op{}(cast_to<C>(a), cast_to<C>(b)));
  }
};

// One operand comes by value (ScalarArg): `first` says whether it is a (else b). A runtime
// flag rather than a template parameter keeps it to one more kernel per op and dtype.
template <typename Op, typename In, typename Out>
struct BinaryScalarFn {
  In s;
  bool first;
  __device__ Out operator()(In x) const {
    using C = compute_t<In>;
    C cs = cast_to<C>(s), cx = cast_to<C>(x);
    return cast_to<Out>(first ? Op{}(cs, cx) : Op{}(cx, cs));
  }
};

template <typename Op>
void run_binary(const char* name, Dtype in_t, Dtype out_t, const void* a, const void* b, void* out, const Layout& l,
                cudaStream_t s, ScalarArg sc) {
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
      if (sc.index >= 0) {
        In v;
        std::memcpy(&v, &sc.bits, sizeof(In));
        const void* other = sc.index == 0 ? b : a;
        kernels::launch(name, l, s, BinaryScalarFn<Op, In, Out>{v, sc.index == 0}, static_cast<Out*>(out),
                        static_cast<const In*>(other));
      } else {
        kernels::launch(name, l, s, BinaryFn<Op, In, Out>{}, static_cast<Out*>(out), static_cast<const In*>(a),
                        static_cast<const In*>(b));
      }
    }
  });
}

}  // namespace

void binary(BinaryOp op, const char* name, Dtype in_t, Dtype out_t, const void* a, const void* b, void* out,
            const Layout& l, cudaStream_t s, ScalarArg sc) {
  switch (op) {
#define KILN_CUDA_CASE(Name) \
  case BinaryOp::Name: return run_binary<ops::Name>(name, in_t, out_t, a, b, out, l, s, sc);
    KILN_CUDA_BINARY_OPS(KILN_CUDA_CASE)
#undef KILN_CUDA_CASE
  }
}

}  // namespace kiln::cuda
