#include "kiln/backend/cpu/copy.h"

#include <cstring>

#include "kiln/backend/common/utils.h"
#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/thread_pool.h"

namespace kiln::cpu {

namespace {

template <typename S, typename D>
void copy_linear(const S* src, D* dst, int64_t n) {
  if constexpr (std::is_same_v<S, D>) {
    parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, (e - b) * sizeof(S)); });
  } else {
    parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = cast_to<D>(src[i]);
    });
  }
}

template <typename S, typename D>
void fill_linear(S value, D* dst, int64_t n) {
  D v = cast_to<D>(value);
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, v); });
}

// Any layout to any layout: loop over the collapsed outer dimensions (split across threads),
// with a tight strided loop over the innermost one.
template <typename S, typename D>
void copy_strided(const S* src, D* dst, const Shape& shape, const Strides& s_strides, const Strides& d_strides) {
  int nd = static_cast<int>(shape.size());
  if (nd == 0) {
    *dst = cast_to<D>(*src);
    return;
  }
  int64_t inner = shape.back();
  int64_t s_in = s_strides.back(), d_in = d_strides.back();
  Shape outer_shape(shape.begin(), shape.end() - 1);
  Strides s_outer(s_strides.begin(), s_strides.end() - 1), d_outer(d_strides.begin(), d_strides.end() - 1);
  int64_t outer = 1;
  for (auto d : outer_shape) outer *= d;
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1));
  parallel_for(outer, grain, [&](int64_t b, int64_t e) {
    StridedIterator si(outer_shape, s_outer), di(outer_shape, d_outer);
    si.seek(b);
    di.seek(b);
    for (int64_t o = b; o < e; ++o) {
      const S* sp = src + si.loc();
      D* dp = dst + di.loc();
      if (s_in == 1 && d_in == 1) {
        for (int64_t i = 0; i < inner; ++i) dp[i] = cast_to<D>(sp[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) dp[i * d_in] = cast_to<D>(sp[i * s_in]);
      }
      si.step();
      di.step();
    }
  });
}

}  // namespace

void copy_into(const array& src, array& dst) {
  if (src.size() == 0) return;
  dispatch_all_types(src.dtype(), "copy", [&](auto stag) {
    using S = typename decltype(stag)::type;
    dispatch_all_types(dst.dtype(), "copy", [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      const S* sp = src.data<S>();
      D* dp = dst.data<D>();
      if (src.data_size() == 1 && dst.flags().row_contiguous) {
        fill_linear(*sp, dp, dst.size());
      } else if (src.flags().contiguous && dst.flags().contiguous && src.strides() == dst.strides()) {
        copy_linear(sp, dp, src.data_size());
      } else {
        auto [shape, strides] = collapse_contiguous_dims(src.shape(), {src.strides(), dst.strides()});
        copy_strided(sp, dp, shape, strides[0], strides[1]);
      }
    });
  });
}

void copy_alloc(const array& src, array& out, bool keep_layout) {
  if (keep_layout && src.flags().contiguous && src.data_size() == src.size()) {
    out.set_data(allocator::malloc(src.data_size() * out.itemsize()), src.data_size(), src.strides(), src.flags());
  } else {
    out.set_data(allocator::malloc(out.nbytes()));
  }
  copy_into(src, out);
}

array make_view(const array& base, const Shape& shape, const Strides& strides, int64_t offset) {
  array view(allocator::Buffer(nullptr), shape, base.dtype(), [](allocator::Buffer) {});
  auto flags = layout_flags(shape, strides);
  view.copy_shared_buffer(base, strides, flags, flags.contiguous ? view.size() : spanned_size(shape, strides), offset);
  return view;
}

}  // namespace kiln::cpu
