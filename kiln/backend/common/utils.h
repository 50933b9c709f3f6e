// Layout helpers shared by backends: dimension collapsing and strided index walking.
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "kiln/array.h"

namespace kiln {

/** Merges adjacent dimensions that are contiguous in every one of `strides` (and drops
 *  size-1 dims), so strided kernels loop over as few dimensions as possible. Returns the
 *  collapsed shape and one collapsed stride vector per input. */
std::pair<Shape, std::vector<Strides>> collapse_contiguous_dims(const Shape& shape,
                                                                const std::vector<Strides>& strides);
/** Same, for the layouts of several arrays that share a shape. */
std::pair<Shape, std::vector<Strides>> collapse_contiguous_dims(const std::vector<array>& arrays);

/** Element offset of linear (row-major) index `index` in an array with `shape` and `strides`. */
inline int64_t elem_to_loc(int64_t index, const Shape& shape, const Strides& strides) {
  int64_t loc = 0;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    loc += (index % shape[i]) * strides[i];
    index /= shape[i];
  }
  return loc;
}

/** Walks the offsets of a strided array in row-major order, one step at a time, without
 *  divisions. Start at any linear index with seek(). */
class StridedIterator {
 public:
  StridedIterator(const Shape& shape, const Strides& strides)
      : shape_(shape), strides_(strides), pos_(shape.size(), 0) {}
  void seek(int64_t index) {
    loc_ = 0;
    for (int i = static_cast<int>(shape_.size()) - 1; i >= 0; --i) {
      pos_[i] = static_cast<ShapeElem>(index % shape_[i]);
      loc_ += pos_[i] * strides_[i];
      index /= shape_[i];
    }
  }
  int64_t loc() const { return loc_; }
  void step() {
    for (int i = static_cast<int>(shape_.size()) - 1; i >= 0; --i) {
      loc_ += strides_[i];
      if (++pos_[i] < shape_[i]) return;
      loc_ -= strides_[i] * shape_[i];
      pos_[i] = 0;
    }
  }

 private:
  const Shape& shape_;
  const Strides& strides_;
  std::vector<ShapeElem> pos_;
  int64_t loc_ = 0;
};

/** Layout of an array whose strides are `strides`: is it dense (no holes), row-major, column-major? */
array::Flags layout_flags(const Shape& shape, const Strides& strides);
/** Elements spanned by a view with these strides (1 + max offset), for dense/broadcast views. */
size_t spanned_size(const Shape& shape, const Strides& strides);

/** One dimension of a reduction: size, input stride, output stride (0 when reduced). */
struct ReduceDim {
  int64_t n, is, os;
  bool reduced;
};

/** The dims of a reduction of `shape` (input strides `is`, output strides `os`) over `reduced`,
 *  in memory order: size-1 dims dropped, sorted by input stride (largest first) and merged where
 *  contiguous. `drop_broadcast` drops reduced dims of input stride 0 (idempotent reductions).
 *  Reversed dims are walked forwards: in_off/out_off receive the element offsets of the new
 *  origin. Shared by the CPU and GPU reduction planners. */
std::vector<ReduceDim> reduction_dims(const Shape& shape, const Strides& is, const Strides& os,
                                      const std::vector<bool>& reduced, bool drop_broadcast, int64_t& in_off,
                                      int64_t& out_off);

/** The strides and element offset of the region start:...:steps of `out` (a slice update's target). */
std::pair<Strides, int64_t> slice_region(const array& out, const Shape& start, const Shape& steps);

}  // namespace kiln
