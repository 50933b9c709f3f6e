// Reduce kernels (sum, prod, min, max, and, or) over any layout (a ReduceLayout), every dtype.
//
// Two kernels cover every layout:
//   group: a warp or a block shares one output and strides over its reduced elements, with
//          16-byte loads when they are contiguous (the innermost dim is reduced);
//   lane:  one thread per output walks its reduced elements in order; consecutive threads take
//          consecutive outputs, so loads coalesce when the innermost dim is kept (columns).
// When the outputs are too few to fill the GPU, each output's reduced elements are split into
// `parts` slices that write partial results in the accumulation type W; a second launch of the
// same kernels over the partials (W in, T out) finishes.
//
// Accumulation follows the CPU: float sums and products in double (half types too), integer
// sums and products in uint32/uint64 (wrapping, so signedness does not matter and the kernels
// dispatch on the element size only), min/max of half types in float, NaN wins min/max.
#include <limits>
#include <string>

#include "kiln/backend/cuda/device/elementwise.cuh"
#include "kiln/backend/cuda/device/reduce.cuh"

namespace kiln::cuda {

namespace {

using kernels::kReduceThreads;
using kernels::Vec;

template <typename T>
using sum_acc_t =
    std::conditional_t<is_int_v<T>, std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>, double>;

template <typename T>
struct SumK {
  using W = sum_acc_t<T>;
  __device__ static W init() { return W(0); }
  __device__ static W apply(W a, W b) { return a + b; }
};

template <typename T>
struct ProdK {
  using W = sum_acc_t<T>;
  __device__ static W init() { return W(1); }
  __device__ static W apply(W a, W b) { return a * b; }
};

template <typename T, bool IsMax>
struct MinMaxK {
  using W = compute_t<T>;
  __device__ static W init() {
    if constexpr (std::is_floating_point_v<W>) {
      return IsMax ? -std::numeric_limits<W>::infinity() : std::numeric_limits<W>::infinity();
    } else {
      return IsMax ? std::numeric_limits<W>::lowest() : std::numeric_limits<W>::max();
    }
  }
  // Once an accumulator is NaN no comparison replaces it; a NaN element replaces anything.
  __device__ static W apply(W a, W b) {
    if constexpr (std::is_floating_point_v<W>) {
      return ((IsMax ? b > a : b < a) || b != b) ? b : a;
    } else {
      return (IsMax ? b > a : b < a) ? b : a;
    }
  }
};

template <bool IsAnd>
struct LogicK {
  using W = uint8_t;
  __device__ static W init() { return IsAnd ? 1 : 0; }
  __device__ static W apply(W a, W b) { return IsAnd ? (a & b) : (a | b); }
};

template <typename K, typename In>
__device__ __forceinline__ typename K::W load(In x) {
  return cast_to<typename K::W>(x);
}

// Combines the accumulators of a group (tpr threads: 32, or the whole block) into lane 0's.
template <typename K>
__device__ __forceinline__ typename K::W group_combine(typename K::W acc, int tpr) {
  using W = typename K::W;
#pragma unroll
  for (int m = 16; m >= 1; m >>= 1) acc = K::apply(acc, kernels::shfl_xor(acc, m));
  if (tpr > 32) {
    __shared__ W warps[kReduceThreads / 32];
    int w = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) warps[w] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int k = 1; k < kReduceThreads / 32; ++k) acc = K::apply(acc, warps[k]);
    }
  }
  return acc;
}

// Writes a result: a partial (W) at [part][o] or [o][part], or the final T at the output offset.
template <typename K, typename T>
__device__ __forceinline__ void write(void* out, typename K::W acc, int64_t o, int64_t out_off, int64_t n_out,
                                     int part, int parts, bool part_major) {
  if (parts > 1) {
    int64_t i = part_major ? part * n_out + o : o * parts + part;
    static_cast<typename K::W*>(out)[i] = acc;
  } else {
    static_cast<T*>(out)[out_off] = cast_to<T>(acc);
  }
}

template <typename K, typename In, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_group(const __grid_constant__ ReduceLayout l, const In* __restrict__ in, void* out, int tpr, bool part_major) {
  using W = typename K::W;
  int gpb = kReduceThreads / tpr;
  int64_t o = static_cast<int64_t>(blockIdx.x) * gpb + threadIdx.x / tpr;
  int lane = threadIdx.x % tpr;
  int part = blockIdx.y, parts = gridDim.y;
  bool active = o < l.n_out;  // only warp groups can be inactive: they return before any sync
  if (!active) return;
  int64_t b = l.n_red * part / parts, e = l.n_red * (part + 1) / parts;
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  W acc = K::init();
  if (l.nr == 0 && l.inner_is == 1) {
    // A contiguous run: aligned 16-byte loads, four in flight per thread.
    const In* p = in + in_off;
    constexpr int N = sizeof(In) >= 16 ? 1 : 16 / static_cast<int>(sizeof(In));
    auto addr = reinterpret_cast<uintptr_t>(p + b);
    int64_t head = static_cast<int64_t>((16 - addr % 16) % 16 / sizeof(In));
    if (head > e - b) head = e - b;
    if (lane < head) acc = K::apply(acc, load<K>(p[b + lane]));
    int64_t vb = b + head;
    int64_t nv = (e - vb) / N;
    const auto* vp = reinterpret_cast<const Vec<In, N>*>(p + vb);
    int64_t v = lane;
    for (; v + 3 * tpr < nv; v += 4 * tpr) {
      Vec<In, N> x0 = vp[v], x1 = vp[v + tpr], x2 = vp[v + 2 * tpr], x3 = vp[v + 3 * tpr];
#pragma unroll
      for (int j = 0; j < N; ++j) {
        acc = K::apply(acc, K::apply(K::apply(load<K>(x0.v[j]), load<K>(x1.v[j])),
                                     K::apply(load<K>(x2.v[j]), load<K>(x3.v[j]))));
      }
    }
    for (; v < nv; v += tpr) {
      Vec<In, N> x = vp[v];
#pragma unroll
      for (int j = 0; j < N; ++j) acc = K::apply(acc, load<K>(x.v[j]));
    }
    for (int64_t r = vb + nv * N + lane; r < e; r += tpr) acc = K::apply(acc, load<K>(p[r]));
  } else {
    for (int64_t r = b + lane; r < e; r += tpr) acc = K::apply(acc, load<K>(in[in_off + kernels::reduced_offset(l, r)]));
  }
  acc = group_combine<K>(acc, tpr);
  if (lane == 0) write<K, T>(out, acc, o, out_off, l.n_out, part, parts, part_major);
}

template <typename K, typename In, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_lane(const __grid_constant__ ReduceLayout l, const In* __restrict__ in, void* out, bool part_major) {
  using W = typename K::W;
  int64_t o = static_cast<int64_t>(blockIdx.x) * kReduceThreads + threadIdx.x;
  if (o >= l.n_out) return;
  int part = blockIdx.y, parts = gridDim.y;
  int64_t b = l.n_red * part / parts, e = l.n_red * (part + 1) / parts;
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  W acc = K::init();
  if (l.nr == 0 || (l.nr == 1 && l.inner_n == 1)) {
    // One stride: four independent loads per step.
    int64_t s = l.nr == 0 ? l.inner_is : l.ris[0];
    const In* p = in + in_off;
    int64_t r = b;
    for (; r + 4 <= e; r += 4) {
      In x0 = p[r * s], x1 = p[(r + 1) * s], x2 = p[(r + 2) * s], x3 = p[(r + 3) * s];
      acc = K::apply(acc, load<K>(x0));
      acc = K::apply(acc, load<K>(x1));
      acc = K::apply(acc, load<K>(x2));
      acc = K::apply(acc, load<K>(x3));
    }
    for (; r < e; ++r) acc = K::apply(acc, load<K>(p[r * s]));
  } else {
    for (int64_t r = b; r < e; ++r) acc = K::apply(acc, load<K>(in[in_off + kernels::reduced_offset(l, r)]));
  }
  write<K, T>(out, acc, o, out_off, l.n_out, part, parts, part_major);
}

// Columns read 16 bytes at a time: each thread takes N consecutive outputs of the innermost
// kept dim (stride 1), over one reduced dim (stride `l.ris[0]`), two rows in flight.
template <typename K, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_cols_vec(const __grid_constant__ ReduceLayout l, const T* __restrict__ in, void* out, int64_t last_os,
                    bool part_major) {
  using W = typename K::W;
  constexpr int N = 16 / static_cast<int>(sizeof(T));
  int64_t o = (static_cast<int64_t>(blockIdx.x) * kReduceThreads + threadIdx.x) * N;
  if (o >= l.n_out) return;
  int part = blockIdx.y, parts = gridDim.y;
  int64_t b = l.n_red * part / parts, e = l.n_red * (part + 1) / parts;
  int64_t in_off, out_off;
  kernels::kept_offsets(l, o, in_off, out_off);
  W acc[N];
#pragma unroll
  for (int j = 0; j < N; ++j) acc[j] = K::init();
  const T* p = in + in_off;
  int64_t s = l.ris[0];
  int64_t r = b;
  for (; r + 2 <= e; r += 2) {
    Vec<T, N> x0 = *reinterpret_cast<const Vec<T, N>*>(p + r * s);
    Vec<T, N> x1 = *reinterpret_cast<const Vec<T, N>*>(p + (r + 1) * s);
#pragma unroll
    for (int j = 0; j < N; ++j) acc[j] = K::apply(K::apply(acc[j], load<K>(x0.v[j])), load<K>(x1.v[j]));
  }
  if (r < e) {
    Vec<T, N> x = *reinterpret_cast<const Vec<T, N>*>(p + r * s);
#pragma unroll
    for (int j = 0; j < N; ++j) acc[j] = K::apply(acc[j], load<K>(x.v[j]));
  }
#pragma unroll
  for (int j = 0; j < N; ++j) write<K, T>(out, acc[j], o + j, out_off + j * last_os, l.n_out, part, parts, part_major);
}

// Whether the columns of `l` can be read N at a time with aligned 16-byte loads.
template <typename T>
bool cols_vec_ok(const ReduceLayout& l, const T* in) {
  constexpr int64_t N = 16 / sizeof(T);
  if (N < 2 || l.nk < 1 || l.nr != 1 || l.inner_n != 1 || l.kis[l.nk - 1] != 1) return false;
  if (l.kshape[l.nk - 1] % N != 0 || l.ris[0] % N != 0 || !kernels::aligned_to(in, 16)) return false;
  for (int d = 0; d + 1 < l.nk; ++d) {
    if (l.kis[d] % N != 0) return false;
  }
  return true;
}

// Launches one pass over layout `l`; `parts` > 1 writes partials (W) instead of T.
template <typename K, typename In, typename T>
void launch_pass(const char* name, const ReduceLayout& l, const In* in, void* out, int parts, bool part_major,
                 cudaStream_t s) {
  bool group = l.inner_n >= 32;
  if (group) {
    int tpr = l.n_red >= 2048 ? kReduceThreads : 32;
    int gpb = kReduceThreads / tpr;
    dim3 grid(static_cast<unsigned>((l.n_out + gpb - 1) / gpb), static_cast<unsigned>(parts));
    reduce_group<K, In, T><<<grid, kReduceThreads, 0, s>>>(l, in, out, tpr, part_major);
  } else {
    dim3 grid(static_cast<unsigned>((l.n_out + kReduceThreads - 1) / kReduceThreads), static_cast<unsigned>(parts));
    reduce_lane<K, In, T><<<grid, kReduceThreads, 0, s>>>(l, in, out, part_major);
  }
  check_launch(name);
}

template <typename K, typename T>
void run_reduce(const char* name, const ReduceLayout& l, const T* in, T* out, cudaStream_t s) {
  using W = typename K::W;
  bool group = l.inner_n >= 32;
  bool cols_vec = !group && cols_vec_ok(l, in);
  int64_t per_block = group ? kReduceThreads / (l.n_red >= 2048 ? kReduceThreads : 32)
                            : kReduceThreads * (cols_vec ? 16 / static_cast<int64_t>(sizeof(T)) : 1);
  int64_t blocks = (l.n_out + per_block - 1) / per_block;
  // Too few blocks for one wave over every SM (8 blocks of 256 threads each): split the
  // reduced elements into parts that make about one full wave.
  int64_t slots = static_cast<int64_t>(sm_count()) * 8;
  int64_t min_per_part = group ? 8 * kReduceThreads : 64;
  int64_t parts = 1;
  if (blocks < slots) {
    parts = std::min<int64_t>({slots / blocks, l.n_red / min_per_part, 65535});
    parts = std::max<int64_t>(parts, 1);
  }
  auto first_pass = [&](void* dst, int p, bool part_major) {
    if (cols_vec) {
      dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p));
      reduce_cols_vec<K, T><<<grid, kReduceThreads, 0, s>>>(l, in, dst, l.kos[l.nk - 1], part_major);
      check_launch(name);
    } else {
      launch_pass<K, T, T>(name, l, in, dst, p, part_major, s);
    }
  };
  if (parts == 1) {
    first_pass(out, 1, false);
    return;
  }
  // The finish reads [o][part] rows with a group kernel when there are many parts, else
  // [part][o] columns with the lane kernel (the layout launch_pass picks for each).
  bool finish_group = parts >= 32;
  Scratch partial(static_cast<size_t>(parts * l.n_out) * sizeof(W), s);
  first_pass(partial.get(), static_cast<int>(parts), !finish_group);
  ReduceLayout f;
  f.nk = l.nk;
  f.n_out = l.n_out;
  f.n_red = parts;
  f.inner_n = parts;
  int64_t stride = finish_group ? parts : 1;
  for (int d = l.nk - 1; d >= 0; --d) {
    f.kshape[d] = l.kshape[d];
    f.kos[d] = l.kos[d];
    f.kis[d] = stride;
    stride *= l.kshape[d];
  }
  f.inner_is = finish_group ? 1 : l.n_out;
  launch_pass<K, W, T>(name, f, static_cast<const W*>(partial.get()), out, 1, false, s);
}

template <typename T>
void reduce_typed(ReduceOp op, const char* name, Dtype t, const void* in, void* out, const ReduceLayout& l,
                  cudaStream_t s) {
  auto* i = static_cast<const T*>(in);
  auto* o = static_cast<T*>(out);
  switch (op) {
    case ReduceOp::Min: return run_reduce<MinMaxK<T, false>>(name, l, i, o, s);
    case ReduceOp::Max: return run_reduce<MinMaxK<T, true>>(name, l, i, o, s);
    default: throw_unsupported_dtype(name, t);
  }
}

// Sums and products: integers by element size (wrapping arithmetic ignores the sign).
template <typename T>
void sum_prod_typed(ReduceOp op, const char* name, const void* in, void* out, const ReduceLayout& l, cudaStream_t s) {
  auto* i = static_cast<const T*>(in);
  auto* o = static_cast<T*>(out);
  if (op == ReduceOp::Sum) {
    run_reduce<SumK<T>>(name, l, i, o, s);
  } else {
    run_reduce<ProdK<T>>(name, l, i, o, s);
  }
}

}  // namespace

void reduce(ReduceOp op, const char* name, Dtype t, const void* in, void* out, const ReduceLayout& l,
            cudaStream_t s) {
  if (l.n_out == 0) return;
  if (t == bool_) {
    // On booleans, sum and max are "any", prod and min are "all" (NumPy's bool arithmetic).
    bool all = op == ReduceOp::And || op == ReduceOp::Prod || op == ReduceOp::Min;
    auto* i = static_cast<const bool*>(in);
    auto* o = static_cast<bool*>(out);
    if (all) return run_reduce<LogicK<true>>(name, l, i, o, s);
    return run_reduce<LogicK<false>>(name, l, i, o, s);
  }
  if (op == ReduceOp::And || op == ReduceOp::Or) throw_unsupported_dtype(name, t);
  if (op == ReduceOp::Sum || op == ReduceOp::Prod) {
    switch (t.val) {
      case Dtype::Val::float16: return sum_prod_typed<__half>(op, name, in, out, l, s);
      case Dtype::Val::bfloat16: return sum_prod_typed<__nv_bfloat16>(op, name, in, out, l, s);
      case Dtype::Val::float32: return sum_prod_typed<float>(op, name, in, out, l, s);
      case Dtype::Val::float64: return sum_prod_typed<double>(op, name, in, out, l, s);
      case Dtype::Val::complex64:
        throw std::invalid_argument(std::string("[") + name + "] complex64 products have no GPU implementation yet.");
      default: break;
    }
    switch (size_of(t)) {
      case 1: return sum_prod_typed<uint8_t>(op, name, in, out, l, s);
      case 2: return sum_prod_typed<uint16_t>(op, name, in, out, l, s);
      case 4: return sum_prod_typed<uint32_t>(op, name, in, out, l, s);
      case 8: return sum_prod_typed<uint64_t>(op, name, in, out, l, s);
    }
    throw_unsupported_dtype(name, t);
  }
  dispatch_device_types(t, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64_d> || std::is_same_v<T, bool>) {
      throw std::invalid_argument(std::string("[") + name + "] Not supported for complex64 inputs.");
    } else {
      reduce_typed<T>(op, name, t, in, out, l, s);
    }
  });
}

}  // namespace kiln::cuda
