// Copies with type conversion between arrays of any layout: the CPU's workhorse for
// astype, contiguous copies, non-view reshapes and concatenation.
#pragma once

#include "kiln/array.h"

namespace kiln::cpu {

/** Copies `src` into `dst`, converting the dtype. `dst` already has its buffer and layout
 *  (it may be a strided view into a larger output); shapes must match. */
void copy_into(const array& src, array& dst);

/** Gives `out` a fresh buffer and copies `src` into it, converting the dtype. The copy is
 *  row-major, unless `keep_layout` and `src` is dense (then its strides are kept, so a
 *  transposed contiguous array copies as one linear pass). */
void copy_alloc(const array& src, array& out, bool keep_layout = false);

/** An evaluated array that views `base`'s buffer with the given shape, strides and element
 *  offset (for writing into part of an output). */
array make_view(const array& base, const Shape& shape, const Strides& strides, int64_t offset);

}  // namespace kiln::cpu
