#include "kiln/backend/common/utils.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace kiln {

std::pair<Shape, std::vector<Strides>> collapse_contiguous_dims(const Shape& shape,
                                                                const std::vector<Strides>& strides) {
  Shape out_shape;
  std::vector<Strides> out_strides(strides.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    bool merge = !out_shape.empty();
    if (merge) {
      for (size_t k = 0; k < strides.size(); ++k) {
        if (out_strides[k].back() != strides[k][i] * shape[i]) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      out_shape.back() *= shape[i];
      for (size_t k = 0; k < strides.size(); ++k) out_strides[k].back() = strides[k][i];
    } else {
      out_shape.push_back(shape[i]);
      for (size_t k = 0; k < strides.size(); ++k) out_strides[k].push_back(strides[k][i]);
    }
  }
  return {out_shape, out_strides};
}

std::pair<Shape, std::vector<Strides>> collapse_contiguous_dims(const std::vector<array>& arrays) {
  std::vector<Strides> strides;
  for (auto& a : arrays) strides.push_back(a.strides());
  return collapse_contiguous_dims(arrays[0].shape(), strides);
}

array::Flags layout_flags(const Shape& shape, const Strides& strides) {
  int64_t size = 1;
  bool row = true, col = true;
  int64_t expected = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    size *= shape[i];
    if (shape[i] != 1) {
      if (strides[i] != expected) row = false;
      expected *= shape[i];
    }
  }
  expected = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != 1) {
      if (strides[i] != expected) col = false;
      expected *= shape[i];
    }
  }
  bool contiguous = row || col;
  if (!contiguous && size > 0) {
    // Dense in some other axis order (e.g. a transposed 3-d array): sort strides and check.
    std::vector<std::pair<int64_t, ShapeElem>> dims;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] != 1) dims.emplace_back(strides[i], shape[i]);
    }
    std::sort(dims.begin(), dims.end());
    int64_t e = 1;
    contiguous = true;
    for (auto& [st, sh] : dims) {
      if (st != e) {
        contiguous = false;
        break;
      }
      e *= sh;
    }
  }
  if (size == 0) row = col = contiguous = true;
  return array::Flags{contiguous, row, col};
}

size_t spanned_size(const Shape& shape, const Strides& strides) {
  int64_t span = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return 0;
    span += (shape[i] - 1) * std::abs(strides[i]);
  }
  return static_cast<size_t>(span);
}

std::vector<ReduceDim> reduction_dims(const Shape& shape, const Strides& is, const Strides& os,
                                      const std::vector<bool>& reduced, bool drop_broadcast, int64_t& in_off,
                                      int64_t& out_off) {
  in_off = out_off = 0;
  std::vector<ReduceDim> dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    ReduceDim d{shape[i], is[i], reduced[i] ? 0 : os[i], reduced[i]};
    if (d.reduced && d.is == 0 && drop_broadcast) continue;
    if (d.is < 0) {
      in_off += (d.n - 1) * d.is;
      out_off += (d.n - 1) * d.os;
      d.is = -d.is;
      d.os = -d.os;
    }
    dims.push_back(d);
  }
  auto key = [](const ReduceDim& d) { return d.is == 0 ? std::numeric_limits<int64_t>::max() : d.is; };
  std::stable_sort(dims.begin(), dims.end(), [&](const ReduceDim& a, const ReduceDim& b) { return key(a) > key(b); });
  std::vector<ReduceDim> merged;
  for (const ReduceDim& d : dims) {
    if (!merged.empty()) {
      ReduceDim& m = merged.back();
      if (m.reduced == d.reduced && m.is == d.is * d.n && m.os == d.os * d.n) {
        m.n *= d.n;
        m.is = d.is;
        m.os = d.os;
        continue;
      }
    }
    merged.push_back(d);
  }
  return merged;
}

std::pair<Strides, int64_t> slice_region(const array& out, const Shape& start, const Shape& steps) {
  Strides strides(out.ndim());
  int64_t offset = 0;
  for (int i = 0; i < out.ndim(); ++i) {
    strides[i] = out.strides()[i] * steps[i];
    offset += out.strides()[i] * start[i];
  }
  return {strides, offset};
}

}  // namespace kiln
