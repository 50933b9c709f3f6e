// The loop driver shared by the elementwise kernels (unary, binary, Select). An untyped driver
// picks the layout family (dense inputs sharing one layout, all inputs scalar, general strided),
// gives the output its buffer (donating an input's when it can) and splits the work over
// threads; a typed kernel per op runs vectorizable loops in which each operand is either read
// element by element or broadcast (a template parameter). Operands with other strides are
// gathered, and float16/bfloat16 ones widened to float32, a block at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/array.h"
#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/elementwise_ops.h"
#include "kiln/backend/cpu/half_blocks.h"
#include "kiln/backend/cpu/thread_pool.h"

namespace kiln::cpu {

/** Throws the error of an elementwise primitive that does not take dtype `t`. */
[[noreturn]] inline void throw_unsupported(const char* name, Dtype t) {
  if (t == complex64) throw std::invalid_argument(std::string("[") + name + "] Not supported for complex64.");
  throw_unsupported_dtype(name, t);
}

namespace detail {

// An op may redo, outside its vectorized pass, the rare inputs its fast path cannot handle
// (sin of huge arguments): it then has needs_fixup(x) and fixup(x).
template <typename Op, typename... C>
concept HasFixup = requires(const Op& op, C... x) {
  op.needs_fixup(x...);
  op.fixup(x...);
};

inline constexpr int64_t kBlock = 512;

// bool elements are read and written as bytes: GCC 12 vectorizes few operations on bool.
template <typename C>
inline C ld(const C* p, int64_t i) {
  if constexpr (std::is_same_v<C, bool>) return reinterpret_cast<const uint8_t*>(p)[i] != 0;
  else return p[i];
}
template <typename Out, typename R>
inline void st(Out* o, int64_t i, R v) {
  if constexpr (std::is_same_v<Out, bool>) reinterpret_cast<uint8_t*>(o)[i] = cast_to<bool>(v);
  else o[i] = cast_to<Out>(v);
}

// o[i] = op(p[i]...) for i < n, where an operand of kind 1 is read at i and one of kind 0 is
// a single value. Operands are in their compute types. One copy per op, types and kinds.
// An op may also supply run(o, n, p...) for dense runs it vectorizes by hand.
template <typename Op, typename Out, int... K, typename... C>
[[gnu::noinline]] void loop(Out* __restrict o, int64_t n, const C* __restrict... p) {
  constexpr Op op{};
  if constexpr (((K == 1) && ...) && requires { Op::run(o, n, p...); }) {
    Op::run(o, n, p...);
  } else if constexpr (HasFixup<Op, C...>) {
    // Checked before the block is written: the output may be a donated input.
    for (int64_t b = 0; b < n; b += kBlock) {
      int64_t e = std::min(n, b + kBlock);
      bool any = false;
      for (int64_t i = b; i < e; ++i) any |= op.needs_fixup(ld(p, K * i)...);
      if (!any) {
        for (int64_t i = b; i < e; ++i) st(o, i, op(ld(p, K * i)...));
      } else {
        for (int64_t i = b; i < e; ++i) {
          st(o, i, op.needs_fixup(ld(p, K * i)...) ? op.fixup(ld(p, K * i)...) : op(ld(p, K * i)...));
        }
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) st(o, i, op(ld(p, K * i)...));
  }
}

// Calls f(std::integer_sequence<int, K...>) where K[k] is bit k of `mask` (mask > 0).
template <size_t N, int M = 1, typename F>
inline void with_mask(int mask, F&& f) {
  if constexpr (M < (1 << N)) {
    if (mask == M) {
      [&]<size_t... I>(std::index_sequence<I...>) {
        f(std::integer_sequence<int, ((M >> I) & 1)...>{});
      }(std::make_index_sequence<N>{});
    } else {
      with_mask<N, M + 1>(mask, f);
    }
  }
}

// An operand run as the loop reads it: a pointer in the compute type and its kind (1: one
// value per element, 0: one value). Unit-stride runs of the compute type are used in place;
// half runs are widened and other strides gathered into `buf`.
template <typename T>
inline std::pair<const compute_t<T>*, int> stage(const T* src, int64_t stride, int64_t n, compute_t<T>* buf) {
  if constexpr (!is_half_v<T>) {
    if (stride == 0 || stride == 1) return {src, static_cast<int>(stride)};
  } else if (stride == 0) {
    buf[0] = static_cast<float>(src[0]);
    return {buf, 0};
  } else if (stride == 1) {
    to_float(src, buf, n);
    return {buf, 1};
  }
  for (int64_t i = 0; i < n; ++i) buf[i] = cast_to<compute_t<T>>(src[i * stride]);
  return {buf, 1};
}

// The typed part of an elementwise op, over `rows` rows of n elements: out[r * n + i] =
// op(in[k][r * row_strides[k] + i * strides[k]]...). Dispatch happens once per call, so short
// rows (small inner dimensions) cost little each.
template <typename Op, typename Out, typename... In>
void kernel(void* out_ptr, int64_t n, int64_t rows, const void* const* in_ptrs, const int64_t* strides,
            const int64_t* row_strides) {
  constexpr size_t N = sizeof...(In);
  using OutC = compute_t<Out>;
  Out* out = static_cast<Out*>(out_ptr);
  auto seq = std::index_sequence_for<In...>{};
  auto run_loop = [&]<int... K>(std::integer_sequence<int, K...>, OutC* o, int64_t m, const compute_t<In>*... p) {
    loop<Op, OutC, K...>(o, m, p...);
  };
  // Unit and zero strides of non-half types need no staging: one loop per row.
  if constexpr (!is_half_v<Out> && !(is_half_v<In> || ...)) {
    bool direct = true;
    int mask = 0;
    for (size_t k = 0; k < N; ++k) {
      direct = direct && (strides[k] == 0 || strides[k] == 1);
      mask |= (strides[k] != 0) << k;
    }
    if (direct && mask != 0) {
      with_mask<N>(mask, [&](auto kinds) {
        [&]<size_t... I>(std::index_sequence<I...>) {
          for (int64_t r = 0; r < rows; ++r) {
            run_loop(kinds, out + r * n, n, static_cast<const In*>(in_ptrs[I]) + r * row_strides[I]...);
          }
        }(seq);
      });
      return;
    }
  }
  // Block by block: stage the operands, compute (into a float buffer for half outputs), store.
  alignas(64) unsigned char bufs[N][kBlock * 8];  // uninitialized; 8 = the largest compute type
  alignas(64) OutC obuf[is_half_v<Out> ? kBlock : 1];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < n; b += kBlock) {
      int64_t m = std::min(kBlock, n - b);
      [&]<size_t... I>(std::index_sequence<I...>) {
        auto staged = std::make_tuple(stage(static_cast<const In*>(in_ptrs[I]) + r * row_strides[I] + b * strides[I],
                                            strides[I], m, reinterpret_cast<compute_t<In>*>(bufs[I]))...);
        int kinds = ((std::get<I>(staged).second << I) | ...);
        Out* dst = out + r * n + b;
        OutC* o = nullptr;
        if constexpr (is_half_v<Out>) o = obuf;
        else o = dst;
        if (kinds == 0) {
          // Every operand is one value: compute it once.
          run_loop(std::integer_sequence<int, ((void)I, 1)...>{}, o, 1, std::get<I>(staged).first...);
          std::fill(o + 1, o + m, o[0]);
        } else {
          with_mask<N>(kinds, [&](auto ks) { run_loop(ks, o, m, std::get<I>(staged).first...); });
        }
        if constexpr (is_half_v<Out>) from_float(obuf, dst, m);
      }(seq);
    }
  }
}

using Kernel = void (*)(void* out, int64_t n, int64_t rows, const void* const* in, const int64_t* strides,
                        const int64_t* row_strides);

// Equal strides on every dimension that is not of size 1.
inline bool same_layout(const array& a, const array& b) {
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) != 1 && a.strides()[i] != b.strides()[i]) return false;
  }
  return true;
}

inline bool is_dense(const array& x) { return x.flags().contiguous && x.data_size() == x.size(); }

// Gives `out` its buffer. Returns the dense input whose layout the output takes when every
// input is either a broadcast scalar or dense with that one layout (a linear loop then covers
// all), else null: the output is then row-major and the loop is strided. `all_scalar` is
// set when every input holds a single value. An input buffer nobody else holds, of the
// output's element size and laid out like the output, is reused (donated).
inline const array* prepare_output(const std::vector<array>& inputs, array& out, bool& all_scalar) {
  const array* lead = nullptr;
  bool dense = true;
  all_scalar = true;
  for (const auto& x : inputs) {
    if (x.data_size() == 1) continue;
    all_scalar = false;
    if (!is_dense(x) || (lead && !same_layout(*lead, x))) {
      dense = false;
      break;
    }
    if (!lead) lead = &x;
  }
  if (!dense) {
    all_scalar = false;
    lead = nullptr;
  }
  if (!all_scalar) {
    for (const auto& x : inputs) {
      if (x.is_donatable() && x.itemsize() == out.itemsize() && is_dense(x) &&
          (lead ? same_layout(x, *lead) : x.flags().row_contiguous)) {
        out.copy_shared_buffer(x);
        return lead;
      }
    }
  }
  if (lead) {
    out.set_data(allocator::malloc(out.size() * out.itemsize()), out.size(), lead->strides(), lead->flags());
  } else {
    out.set_data(allocator::malloc(out.nbytes()));
  }
  return lead;
}

// Copies element 0 over all `n` elements of size `itemsize`.
inline void broadcast_first(char* o, size_t itemsize, int64_t n) {
  auto fill = [&](auto tag) {
    using U = typename decltype(tag)::type;
    U* p = reinterpret_cast<U*>(o);
    U v = p[0];
    parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
  };
  switch (itemsize) {
    case 1: return fill(type_tag<uint8_t>{});
    case 2: return fill(type_tag<uint16_t>{});
    case 4: return fill(type_tag<uint32_t>{});
    default: return fill(type_tag<uint64_t>{});
  }
}

// The untyped driver: layout, output buffer, threads. Calls `kernel` on runs of elements.
inline void run_elementwise(const std::vector<array>& inputs, array& out, Kernel kernel) {
  constexpr size_t kMax = 3;
  size_t N = inputs.size();
  if (out.size() == 0) {
    out.set_data(allocator::malloc(0));
    return;
  }
  bool all_scalar = false;
  const array* lead = prepare_output(inputs, out, all_scalar);
  char* o = out.data<char>();
  size_t osize = out.itemsize();
  std::array<const char*, kMax> base{};
  std::array<int64_t, kMax> isize{};
  for (size_t k = 0; k < N; ++k) {
    base[k] = inputs[k].data<char>();
    isize[k] = static_cast<int64_t>(inputs[k].itemsize());
  }
  int64_t size = static_cast<int64_t>(out.size());

  // `rows` runs of `count` elements from output element out_offset; input k starts at element
  // offset loc[k] and steps s[k] within a run and rs[k] between runs.
  auto call = [&](int64_t out_offset, int64_t count, int64_t rows, const int64_t* loc, const int64_t* s,
                  const int64_t* rs) {
    std::array<const void*, kMax> ptrs{};
    for (size_t k = 0; k < N; ++k) ptrs[k] = base[k] + loc[k] * isize[k];
    kernel(o + out_offset * osize, count, rows, ptrs.data(), s, rs);
  };
  std::array<int64_t, kMax> s{}, rs{};

  if (all_scalar || lead) {
    // One linear pass over the data; scalar operands are broadcast.
    for (size_t k = 0; k < N; ++k) s[k] = inputs[k].data_size() == 1 ? 0 : 1;
    int64_t n = all_scalar ? 1 : size;
    parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      std::array<int64_t, kMax> loc{};
      for (size_t k = 0; k < N; ++k) loc[k] = b * s[k];
      call(b, e - b, 1, loc.data(), s.data(), rs.data());
    });
    if (all_scalar && size > 1) broadcast_first(o, osize, size);
    return;
  }

  // General strided, over the collapsed dimensions: the last is the kernel's run, the one
  // before its rows, and the others are walked here. Threads split the rows.
  std::vector<Strides> all_strides;
  for (const auto& x : inputs) all_strides.push_back(x.strides());
  all_strides.push_back(out.strides());
  auto [shape, strides] = collapse_contiguous_dims(out.shape(), all_strides);
  int nd = static_cast<int>(shape.size());
  int64_t inner = nd >= 1 ? shape[nd - 1] : 1;
  int64_t rows = nd >= 2 ? shape[nd - 2] : 1;
  for (size_t k = 0; k < N; ++k) {
    s[k] = nd >= 1 ? strides[k][nd - 1] : 0;
    rs[k] = nd >= 2 ? strides[k][nd - 2] : 0;
  }
  Shape outer_shape(shape.begin(), shape.begin() + std::max(nd - 2, 0));
  std::vector<Strides> outer_strides;
  for (size_t k = 0; k < N; ++k) {
    outer_strides.emplace_back(strides[k].begin(), strides[k].begin() + outer_shape.size());
  }
  int64_t total_rows = size / inner;
  if (total_rows == 1) {
    parallel_for(inner, kElementwiseGrain, [&](int64_t b, int64_t e) {
      std::array<int64_t, kMax> loc{};
      for (size_t k = 0; k < N; ++k) loc[k] = b * s[k];
      call(b, e - b, 1, loc.data(), s.data(), rs.data());
    });
    return;
  }
  parallel_for(total_rows, std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t b, int64_t e) {
    std::array<int64_t, kMax> loc{};
    while (b < e) {
      int64_t outer_index = b / rows, r = b % rows, count = std::min(rows - r, e - b);
      for (size_t k = 0; k < N; ++k) {
        loc[k] = elem_to_loc(outer_index, outer_shape, outer_strides[k]) + r * rs[k];
      }
      call(b * inner, inner, count, loc.data(), s.data(), rs.data());
      b += count;
    }
  });
}

}  // namespace detail

/**
 * out = op(inputs...) elementwise. Inputs have out's shape (possibly as broadcast or strided
 * views) and the element types In...; op takes compute_t<In>... and its result is converted to
 * Out. Size-0 outputs get an empty buffer.
 */
template <typename Out, typename... In, typename Op>
void elementwise(const Op&, const std::vector<array>& inputs, array& out) {
  static_assert(sizeof...(In) <= 3);
  detail::run_elementwise(inputs, out, &detail::kernel<Op, Out, In...>);
}

}  // namespace kiln::cpu
