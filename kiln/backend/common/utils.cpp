#include "kiln/backend/common/utils.h"

#include <algorithm>
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

}  // namespace kiln
