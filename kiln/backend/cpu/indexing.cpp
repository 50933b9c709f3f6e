// eval_cpu of the indexing primitives: Gather, Scatter, SliceUpdate.
#include <cmath>
#include <cstring>
#include <deque>
#include <type_traits>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

namespace {

// Element offsets (in `strides` units) of the slices selected by `indices` (all of shape
// `index_shape`, possibly broadcast views), one per index position. Negative indices wrap;
// indices still out of range are clamped when `clamp`, else mark the position with -1 (skip).
// Offsets are relative to the array's data pointer, so a negative stride can give a negative
// offset: the skip mark is kept in a separate flag vector then.
std::vector<int64_t> index_offsets(const std::vector<array>& indices, const Shape& index_shape,
                                   const std::vector<int>& axes, const Shape& shape, const Strides& strides,
                                   const Shape& slice_shape, bool clamp, std::vector<uint8_t>& valid) {
  int64_t n = 1;
  for (auto d : index_shape) n *= d;
  std::vector<int64_t> offsets(n, 0);
  valid.assign(n, 1);
  for (size_t k = 0; k < indices.size(); ++k) {
    const array& idx = indices[k];
    int64_t size = shape[axes[k]], stride = strides[axes[k]];
    // A slice wider than one element must also end inside the axis.
    int64_t limit = size - slice_shape[axes[k]] + 1;
    dispatch_all_types(idx.dtype(), "gather", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        const T* p = idx.data<T>();
        StridedIterator it(idx.shape(), idx.strides());
        for (int64_t i = 0; i < n; ++i, it.step()) {
          int64_t v = static_cast<int64_t>(p[it.loc()]);
          if (v < 0) v += size;
          if (v < 0 || v >= limit) {
            if (clamp) {
              v = v < 0 ? 0 : limit - 1;
            } else {
              valid[i] = 0;
              continue;
            }
          }
          offsets[i] += v * stride;
        }
      } else {
        throw_unsupported_dtype("gather", idx.dtype());
      }
    });
  }
  return offsets;
}

// Gather moves bytes: dispatch on the element size only.
template <typename F>
void dispatch_by_size(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(type_tag<uint8_t>{});
    case 2: return f(type_tag<uint16_t>{});
    case 4: return f(type_tag<uint32_t>{});
    default: return f(type_tag<uint64_t>{});
  }
}

// A row-major version of `a` (itself when it already is one).
array row_major(const array& a) {
  if (a.flags().row_contiguous && a.data_size() == a.size()) return a;
  array tmp(allocator::malloc(a.nbytes()), a.shape(), a.dtype());
  cpu::copy_into(a, tmp);
  return tmp;
}

// Gives `out` a row-major copy of `in`, reusing `in`'s buffer when nothing else holds it.
void copy_or_donate(const array& in, array& out) {
  if (in.is_donatable() && in.flags().row_contiguous && in.data_size() == in.size() && in.size() > 0) {
    out.copy_shared_buffer(in);
  } else {
    cpu::copy_alloc(in, out);
  }
}

template <typename T>
using compute_t = std::conditional_t<std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>, float, T>;

template <typename T>
bool greater_than(T a, T b) {
  if constexpr (std::is_same_v<T, complex64_t>) {
    return a.real() > b.real() || (a.real() == b.real() && a.imag() > b.imag());
  } else {
    return a > b;
  }
}

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_same_v<T, complex64_t>) {
    return std::isnan(v.real()) || std::isnan(v.imag());
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

template <typename T>
T combine(Scatter::ReduceType r, T o, T u) {
  using C = compute_t<T>;
  C a = static_cast<C>(o), b = static_cast<C>(u);
  switch (r) {
    case Scatter::None:
      return u;
    case Scatter::Sum:
      if constexpr (std::is_same_v<T, bool>) return o || u;
      else return cpu::cast_to<T>(static_cast<C>(a + b));
    case Scatter::Prod:
      if constexpr (std::is_same_v<T, bool>) return o && u;
      else return cpu::cast_to<T>(static_cast<C>(a * b));
    case Scatter::Max:
      // NaN propagates, as in np.maximum.
      if (is_nan(a)) return o;
      return (is_nan(b) || greater_than(b, a)) ? u : o;
    case Scatter::Min:
      if (is_nan(a)) return o;
      return (is_nan(b) || greater_than(a, b)) ? u : o;
  }
  return u;
}

// `combine` with the reduction fixed at compile time (the update loops dispatch it once).
template <Scatter::ReduceType R, typename T>
inline T combine_r(T o, T u) {
  using C = compute_t<T>;
  if constexpr (R == Scatter::None) {
    return u;
  } else if constexpr (R == Scatter::Sum) {
    if constexpr (std::is_same_v<T, bool>) return o || u;
    else if constexpr (std::is_same_v<T, C>) return o + u;
    else return cpu::cast_to<T>(static_cast<C>(static_cast<C>(o) + static_cast<C>(u)));
  } else if constexpr (R == Scatter::Prod) {
    if constexpr (std::is_same_v<T, bool>) return o && u;
    else if constexpr (std::is_same_v<T, C>) return o * u;
    else return cpu::cast_to<T>(static_cast<C>(static_cast<C>(o) * static_cast<C>(u)));
  } else {
    return combine<T>(R, o, u);
  }
}

template <typename F>
void dispatch_reduce(Scatter::ReduceType r, F&& f) {
  switch (r) {
    case Scatter::None: return f(std::integral_constant<Scatter::ReduceType, Scatter::None>{});
    case Scatter::Sum: return f(std::integral_constant<Scatter::ReduceType, Scatter::Sum>{});
    case Scatter::Prod: return f(std::integral_constant<Scatter::ReduceType, Scatter::Prod>{});
    case Scatter::Max: return f(std::integral_constant<Scatter::ReduceType, Scatter::Max>{});
    case Scatter::Min: return f(std::integral_constant<Scatter::ReduceType, Scatter::Min>{});
  }
}

// Walks the index arrays of a scatter in order, a chunk of positions at a time, giving each
// position's element offset into a row-major output (offsets are then >= 0; -1 marks a
// position with an out-of-range index, which is skipped). Nothing of size n is materialised.
class IndexWalker {
 public:
  IndexWalker(const std::vector<array>& indices, const std::vector<int>& axes, const Shape& shape,
              const Strides& strides, const Shape& slice_shape)
      : indices_(indices) {
    for (size_t k = 0; k < indices.size(); ++k) {
      const array& idx = indices[k];
      int ax = axes[k];
      size_.push_back(shape[ax]);
      stride_.push_back(strides[ax]);
      limit_.push_back(shape[ax] - slice_shape[ax] + 1);
      contiguous_.push_back(idx.flags().row_contiguous && idx.data_size() == idx.size());
      its_.emplace_back(idx.shape(), idx.strides());
    }
  }
  // Offsets of positions [start, start + count), in order (calls must go through them in order).
  void fill(int64_t start, int64_t count, int64_t* off) {
    std::fill(off, off + count, int64_t{0});
    for (size_t k = 0; k < indices_.size(); ++k) {
      const array& idx = indices_[k];
      int64_t size = size_[k], stride = stride_[k];
      uint64_t limit = static_cast<uint64_t>(std::max<int64_t>(limit_[k], 0));
      dispatch_all_types(idx.dtype(), "scatter", [&](auto tag) {
        using I = typename decltype(tag)::type;
        if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>) {
          const I* p = idx.data<I>();
          auto one = [&](int64_t i, I raw) {
            int64_t v = static_cast<int64_t>(raw);
            if (v < 0) v += size;
            if (static_cast<uint64_t>(v) >= limit || off[i] < 0) {
              off[i] = -1;
            } else {
              off[i] += v * stride;
            }
          };
          if (contiguous_[k]) {
            p += start;
            for (int64_t i = 0; i < count; ++i) one(i, p[i]);
          } else {
            auto& it = its_[k];
            for (int64_t i = 0; i < count; ++i, it.step()) one(i, p[it.loc()]);
          }
        } else {
          throw_unsupported_dtype("scatter", idx.dtype());
        }
      });
    }
  }

 private:
  const std::vector<array>& indices_;
  std::vector<int64_t> size_, stride_, limit_;
  std::vector<bool> contiguous_;
  std::deque<StridedIterator> its_;  // they hold references to the index arrays' shapes
};

}  // namespace

void Gather::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_data(allocator::malloc(out.nbytes()));
  if (out.size() == 0) return;
  const array& a = inputs[0];
  std::vector<array> indices(inputs.begin() + 1, inputs.end());
  Shape index_shape(out.shape().begin(), out.shape().end() - a.ndim());
  std::vector<uint8_t> valid;
  auto offsets = index_offsets(indices, index_shape, axes_, a.shape(), a.strides(), slice_sizes_, true, valid);
  auto [sshape, sstrides] = collapse_contiguous_dims(slice_sizes_, {a.strides()});
  const Strides& ss = sstrides[0];
  int64_t slice_n = 1;
  for (auto d : slice_sizes_) slice_n *= d;
  int64_t n = static_cast<int64_t>(offsets.size());
  dispatch_by_size(a.itemsize(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = a.data<T>();
    T* dst = out.data<T>();
    int64_t grain = std::max<int64_t>(1, cpu::kElementwiseGrain / std::max<int64_t>(slice_n, 1));
    cpu::parallel_for(n, grain, [&](int64_t b, int64_t e) {
      if (sshape.empty()) {
        for (int64_t i = b; i < e; ++i) dst[i] = src[offsets[i]];
        return;
      }
      int nd = static_cast<int>(sshape.size());
      int64_t inner = sshape.back(), istride = ss.back();
      Shape oshape(sshape.begin(), sshape.end() - 1);
      Strides ostrides(ss.begin(), ss.end() - 1);
      int64_t outer = slice_n / std::max<int64_t>(inner, 1);
      for (int64_t i = b; i < e; ++i) {
        const T* s = src + offsets[i];
        T* d = dst + i * slice_n;
        if (nd == 1 && istride == 1) {
          std::memcpy(d, s, inner * sizeof(T));
          continue;
        }
        StridedIterator it(oshape, ostrides);
        for (int64_t o = 0; o < outer; ++o, it.step()) {
          const T* sp = s + it.loc();
          for (int64_t j = 0; j < inner; ++j) d[j] = sp[j * istride];
          d += inner;
        }
      }
    });
  });
}

void Scatter::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  copy_or_donate(a, out);  // row-major: every offset below is >= 0
  array upd = row_major(inputs.back());
  std::vector<array> indices(inputs.begin() + 1, inputs.end() - 1);
  int index_nd = upd.ndim() - a.ndim();
  Shape index_shape(upd.shape().begin(), upd.shape().begin() + index_nd);
  Shape slice_shape(upd.shape().begin() + index_nd, upd.shape().end());
  int64_t slice_n = 1;
  for (auto d : slice_shape) slice_n *= d;
  int64_t n = 1;
  for (auto d : index_shape) n *= d;
  if (out.size() == 0 || upd.size() == 0) return;
  IndexWalker walker(indices, axes_, out.shape(), out.strides(), slice_shape);
  auto [sshape, sstrides] = collapse_contiguous_dims(slice_shape, {out.strides()});
  const Strides& ss = sstrides[0];
  int snd = static_cast<int>(sshape.size());
  int64_t inner = snd ? sshape.back() : 1, istride = snd ? ss.back() : 0;
  Shape oshape(sshape.begin(), sshape.end() - (snd ? 1 : 0));
  Strides ostrides(ss.begin(), ss.end() - (snd ? 1 : 0));
  constexpr int64_t kChunk = 2048;
  int64_t off[kChunk];
  dispatch_all_types(out.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    const T* u = upd.data<T>();
    dispatch_reduce(reduce_, [&](auto rc) {
      constexpr Scatter::ReduceType R = decltype(rc)::value;
      // Positions apply one after another (duplicates combine in order); the elements of one
      // slice are distinct and may be split across threads.
      for (int64_t c = 0; c < n; c += kChunk) {
        int64_t cn = std::min(kChunk, n - c);
        walker.fill(c, cn, off);
        if (slice_n == 1) {
          const T* uc = u + c;
          for (int64_t i = 0; i < cn; ++i) {
            if (off[i] < 0) continue;
            T* p = o + off[i];
            *p = combine_r<R>(*p, uc[i]);
          }
          continue;
        }
        for (int64_t i = 0; i < cn; ++i) {
          if (off[i] < 0) continue;
          T* base = o + off[i];
          const T* ub = u + (c + i) * slice_n;
          // Rows of `inner` elements, [b, e) counted in rows.
          auto body = [&](int64_t b, int64_t e) {
            if (oshape.empty()) {
              for (int64_t j = 0; j < inner; ++j) base[j * istride] = combine_r<R>(base[j * istride], ub[j]);
              return;
            }
            StridedIterator it(oshape, ostrides);
            it.seek(b);
            for (int64_t row = b; row < e; ++row, it.step()) {
              T* bp = base + it.loc();
              const T* up = ub + row * inner;
              if (istride == 1) {
                for (int64_t j = 0; j < inner; ++j) bp[j] = combine_r<R>(bp[j], up[j]);
              } else {
                for (int64_t j = 0; j < inner; ++j) bp[j * istride] = combine_r<R>(bp[j * istride], up[j]);
              }
            }
          };
          int64_t rows = slice_n / inner;
          if (slice_n >= cpu::kElementwiseGrain && rows > 1) {
            cpu::parallel_for(rows, std::max<int64_t>(1, cpu::kElementwiseGrain / inner), body);
          } else if (slice_n >= cpu::kElementwiseGrain) {
            cpu::parallel_for(inner, cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
              for (int64_t j = b; j < e; ++j) base[j * istride] = combine_r<R>(base[j * istride], ub[j]);
            });
          } else {
            body(0, rows);
          }
        }
      }
    });
  });
}

void SliceUpdate::eval_cpu(const std::vector<array>& inputs, array& out) {
  copy_or_donate(inputs[0], out);
  const array& upd = inputs[1];
  if (upd.size() == 0) return;
  auto [strides, offset] = slice_region(out, start_, strides_);
  array dst = cpu::make_view(out, upd.shape(), strides, offset);
  cpu::copy_into(upd, dst);
}

}  // namespace kiln
