// vjp / jvp / vmap of the indexing primitives (Gather, Scatter, SliceUpdate, AsStrided), the
// sorting ones (Sort, ArgSort, Partition, ArgPartition), Scan and RandomBits.
//
// Gather and Scatter are batched by moving every batch axis to the front and adding a leading
// index array arange(B) on the (new) axis 0, so each example reads/writes its own slice.
#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

namespace {

// The tangent of input `i`, or zeros when it has none.
array tangent_of(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums, int i) {
  for (size_t k = 0; k < argnums.size(); ++k) {
    if (argnums[k] == i) return tangents[k];
  }
  return zeros_like(primals[i]);
}

bool has_arg(const std::vector<int>& argnums, int i) {
  return std::find(argnums.begin(), argnums.end(), i) != argnums.end();
}

int norm_axis(int axis, int ndim) { return axis < 0 ? axis + ndim : axis; }

// Index `idx` on an axis of `size` for a slice of `ssize`: negative values wrapped (as int64).
array wrapped(const array& idx, int size) {
  array v = astype(idx, int64);
  return where(less(v, array(int64_t{0}, int64)), add(v, array(int64_t{size}, int64)), v);
}

// Gather's read position: wrapped, then clamped so the slice fits.
array clamped_index(const array& idx, int size, int ssize) {
  array v = wrapped(idx, size);
  return minimum(maximum(v, array(int64_t{0}, int64)), array(int64_t{size - ssize}, int64));
}

// Whether Scatter writes the slice at `idx` (out-of-range positions are skipped).
array valid_index(const array& idx, int size, int ssize) {
  array v = wrapped(idx, size);
  return logical_and(greater_equal(v, array(int64_t{0}, int64)), less_equal(v, array(int64_t{size - ssize}, int64)));
}

// A leading index array arange(B) of shape `shape` (whose first dim is B).
array batch_index(const Shape& shape) {
  Shape s(shape.size(), 1);
  s[0] = shape[0];
  return broadcast_to(reshape(arange(0, shape[0], int32), s), shape);
}

// zeros(shape) with `vals` added at `idx` along `axis` (idx and vals of one shape).
array add_along_axis(const Shape& shape, const array& idx, const array& vals, int axis) {
  int nd = static_cast<int>(shape.size());
  std::vector<array> ids;
  std::vector<int> axes(nd);
  std::iota(axes.begin(), axes.end(), 0);
  for (int d = 0; d < nd; ++d) {
    if (d == axis) {
      ids.push_back(idx);
    } else {
      Shape s(nd, 1);
      s[d] = idx.shape(d);
      ids.push_back(broadcast_to(reshape(arange(0, idx.shape(d), int32), s), idx.shape()));
    }
  }
  Shape us = idx.shape();
  us.insert(us.end(), nd, 1);
  return scatter_add(zeros(shape, vals.dtype()), ids, reshape(vals, us), axes);
}

// a[lo:hi] along `axis`.
array slice_axis(const array& a, int axis, int lo, int hi) {
  Shape start(a.ndim(), 0), stop = a.shape();
  start[axis] = lo;
  stop[axis] = hi;
  return slice(a, start, stop);
}

array zeros_row(const array& a, int axis) {
  Shape s = a.shape();
  s[axis] = 1;
  return zeros(s, a.dtype());
}

}  // namespace

// ---- Gather ----
Arrays Gather::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  if (!has_arg(argnums, 0)) return {zeros(output_shapes(primals)[0], primals[0].dtype())};
  std::vector<array> idx(primals.begin() + 1, primals.end());
  return {gather(tangents[0], idx, axes_, slice_sizes_)};
}
Arrays Gather::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                   const Arrays&) {
  Arrays out;
  for (int a : argnums) {
    if (a != 0) {
      out.push_back(zeros_like(primals[a]));
      continue;
    }
    const array& x = primals[0];
    // Gather clamps out-of-range reads: send the cotangent to the position actually read.
    std::vector<array> idx;
    for (size_t k = 0; k < axes_.size(); ++k) {
      idx.push_back(clamped_index(primals[k + 1], x.shape(axes_[k]), slice_sizes_[axes_[k]]));
    }
    out.push_back(scatter_add(zeros_like(x), idx, cotangents[0], axes_));
  }
  return out;
}
VmapResult Gather::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  bool x_batched = axes[0] >= 0;
  bool idx_batched = false;
  for (size_t i = 1; i < inputs.size(); ++i) idx_batched |= axes[i] >= 0;
  if (!idx_batched) {
    // Only x is batched: its batch axis becomes a full-size slice axis after the index dims.
    array x = batch_to_front(inputs[0], axes[0]);
    std::vector<array> idx(inputs.begin() + 1, inputs.end());
    Shape ss = slice_sizes_;
    ss.insert(ss.begin(), B);
    int nidx = idx.empty() ? 0 : idx[0].ndim();
    return {{gather(x, idx, shifted(axes_), ss)}, {nidx}};
  }
  std::vector<array> idx;
  for (size_t i = 1; i < inputs.size(); ++i) idx.push_back(with_batch(inputs[i], axes[i], B));
  if (!x_batched) return {{gather(inputs[0], idx, axes_, slice_sizes_)}, {0}};
  array x = batch_to_front(inputs[0], axes[0]);
  idx.insert(idx.begin(), batch_index(idx[0].shape()));
  std::vector<int> ax = shifted(axes_);
  ax.insert(ax.begin(), 0);
  Shape ss = slice_sizes_;
  ss.insert(ss.begin(), 1);
  int nidx = idx[0].ndim();
  return {{squeeze(gather(x, idx, ax, ss), nidx)}, {0}};
}

// ---- Scatter ----
Arrays Scatter::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  int n = static_cast<int>(primals.size());
  std::vector<array> idx(primals.begin() + 1, primals.end() - 1);
  array tx = tangent_of(primals, tangents, argnums, 0);
  array tu = tangent_of(primals, tangents, argnums, n - 1);
  switch (reduce_) {
    case None: return {scatter(tx, idx, tu, axes_)};
    case Sum: return {scatter_add(tx, idx, tu, axes_)};
    case Max:
    case Min: {
      // The output takes each element from whichever of x and the updates attains it.
      const array& x = primals[0];
      const array& u = primals[n - 1];
      array out = reduce_ == Max ? scatter_max(x, idx, u, axes_) : scatter_min(x, idx, u, axes_);
      Shape ss(u.shape().begin() + (u.ndim() - x.ndim()), u.shape().end());
      array hit_u = equal(u, gather(out, idx, axes_, ss));
      array from_x = multiply(tx, astype(equal(x, out), x.dtype()));
      return {scatter_add(from_x, idx, multiply(tu, astype(hit_u, u.dtype())), axes_)};
    }
    default:
      throw std::invalid_argument("[ScatterProd] jvp is not implemented (MLX does not differentiate scatter_prod either).");
  }
}
Arrays Scatter::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                    const Arrays& outputs) {
  int n = static_cast<int>(primals.size());
  if (reduce_ == Prod && (has_arg(argnums, 0) || has_arg(argnums, n - 1))) {
    throw std::invalid_argument("[ScatterProd] vjp is not implemented (MLX does not differentiate scatter_prod either).");
  }
  const array& x = primals[0];
  const array& u = primals[n - 1];
  const array& c = cotangents[0];
  std::vector<array> idx(primals.begin() + 1, primals.end() - 1);
  int nidx = u.ndim() - x.ndim();
  Shape ss(u.shape().begin() + nidx, u.shape().end());
  Arrays out;
  for (int a : argnums) {
    if (a == 0) {
      switch (reduce_) {
        case None: out.push_back(scatter(c, idx, zeros_like(u), axes_)); break;
        case Sum: out.push_back(c); break;
        default: out.push_back(multiply(c, astype(equal(x, outputs[0]), c.dtype())));
      }
    } else if (a == n - 1) {
      array g = gather(c, idx, axes_, ss);
      array mask;
      if (reduce_ == None) {
        // Only the update that is written last at a position reaches the output.
        array ids = reshape(arange(1, static_cast<double>(u.size()) + 1, int32), u.shape());
        array winner = scatter(zeros(x.shape(), int32), idx, ids, axes_);
        mask = equal(gather(winner, idx, axes_, ss), ids);
      } else {
        // Out-of-range updates are skipped.
        array valid = array(true);
        for (size_t k = 0; k < axes_.size(); ++k) {
          valid = logical_and(valid, valid_index(idx[k], x.shape(axes_[k]), ss[axes_[k]]));
        }
        Shape vs = valid.shape();
        vs.insert(vs.end(), x.ndim(), 1);
        mask = reshape(valid, vs);
        if (reduce_ != Sum) mask = logical_and(mask, equal(u, gather(outputs[0], idx, axes_, ss)));
      }
      out.push_back(multiply(g, astype(mask, g.dtype())));
    } else {
      out.push_back(zeros_like(primals[a]));
    }
  }
  return out;
}
VmapResult Scatter::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int n = static_cast<int>(inputs.size());
  int B = batch_size(inputs, axes);
  array x = with_batch(inputs[0], axes[0], B);
  array u = with_batch(inputs[n - 1], axes[n - 1], B);
  std::vector<array> idx;
  for (int i = 1; i < n - 1; ++i) idx.push_back(with_batch(inputs[i], axes[i], B));
  Shape ishape = idx.empty() ? Shape{B} : idx[0].shape();
  idx.insert(idx.begin(), batch_index(ishape));
  // Updates: (B, index dims..., slice...) -> (B, index dims..., 1, slice...).
  u = expand_dims(u, static_cast<int>(ishape.size()));
  std::vector<int> ax = shifted(axes_);
  ax.insert(ax.begin(), 0);
  array out = [&] {
    switch (reduce_) {
      case None: return scatter(x, idx, u, ax);
      case Sum: return scatter_add(x, idx, u, ax);
      case Prod: return scatter_prod(x, idx, u, ax);
      case Max: return scatter_max(x, idx, u, ax);
      default: return scatter_min(x, idx, u, ax);
    }
  }();
  return {{out}, {0}};
}

// ---- SliceUpdate ----
Arrays SliceUpdate::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  return {slice_update(tangent_of(primals, tangents, argnums, 0), tangent_of(primals, tangents, argnums, 1), start_,
                       stop_, strides_)};
}
Arrays SliceUpdate::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                        const Arrays&) {
  Arrays out;
  for (int a : argnums) {
    if (a == 0) {
      out.push_back(slice_update(cotangents[0], zeros_like(primals[1]), start_, stop_, strides_));
    } else {
      out.push_back(slice(cotangents[0], start_, stop_, strides_));
    }
  }
  return out;
}
VmapResult SliceUpdate::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  array x = with_batch(inputs[0], axes[0], B);
  array u = with_batch(inputs[1], axes[1], B);
  Shape start = start_, stop = stop_, strides = strides_;
  start.insert(start.begin(), 0);
  stop.insert(stop.begin(), B);
  strides.insert(strides.begin(), 1);
  return {{slice_update(x, u, start, stop, strides)}, {0}};
}

// ---- AsStrided (strides in elements of the row-major input) ----
Arrays AsStrided::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {as_strided(contiguous(tangents[0]), shape_, strides_, offset_)};
}
Arrays AsStrided::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  const array& x = primals[0];
  const array& c = cotangents[0];
  // The flat input position each output element reads, then a scatter-add of the cotangent.
  array pos = as_strided(arange(0, static_cast<double>(x.size()), int64), shape_, strides_, offset_);
  Shape us{static_cast<int>(c.size()), 1};
  array g = scatter_add(zeros({static_cast<int>(x.size())}, c.dtype()), {reshape(contiguous(pos), {-1})},
                        reshape(c, us), {0});
  return {reshape(g, x.shape())};
}
VmapResult AsStrided::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = contiguous(batch_to_front(inputs[0], axes[0]));
  int B = x.shape(0);
  int64_t per = B > 0 ? static_cast<int64_t>(x.size()) / B : 0;
  Shape sh = shape_;
  sh.insert(sh.begin(), B);
  Strides st = strides_;
  st.insert(st.begin(), per);
  return {{as_strided(x, sh, st, offset_)}, {0}};
}

// ---- Sort / Partition: permutations along the axis ----
Arrays Sort::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  int ax = norm_axis(axis_, primals[0].ndim());
  return {take_along_axis(tangents[0], argsort(primals[0], ax), ax)};
}
Arrays Sort::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  int ax = norm_axis(axis_, primals[0].ndim());
  array p = argsort(primals[0], ax);
  return {put_along_axis(zeros_like(cotangents[0]), p, cotangents[0], ax)};
}
VmapResult Sort::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{sort(x, norm_axis(axis_, x.ndim() - 1) + 1)}, {0}};
}

Arrays ArgSort::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  return {zeros(primals[0].shape(), uint32)};
}
Arrays ArgSort::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult ArgSort::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{argsort(x, norm_axis(axis_, x.ndim() - 1) + 1)}, {0}};
}

Arrays Partition::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  int ax = norm_axis(axis_, primals[0].ndim());
  return {take_along_axis(tangents[0], argpartition(primals[0], kth_, ax), ax)};
}
Arrays Partition::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  int ax = norm_axis(axis_, primals[0].ndim());
  array p = argpartition(primals[0], kth_, ax);
  return {put_along_axis(zeros_like(cotangents[0]), p, cotangents[0], ax)};
}
VmapResult Partition::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{partition(x, kth_, norm_axis(axis_, x.ndim() - 1) + 1)}, {0}};
}

Arrays ArgPartition::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  return {zeros(primals[0].shape(), uint32)};
}
Arrays ArgPartition::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult ArgPartition::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{argpartition(x, kth_, norm_axis(axis_, x.ndim() - 1) + 1)}, {0}};
}

// ---- Scan ----
// The exclusive scan is the inclusive one shifted by one step in the scan's direction (the
// first element being the constant identity), so the rules below work on the inclusive scan z
// and shift tangents forward / cotangents back.
namespace {

array scan_op(Scan::ScanType type, const array& x, int axis, bool reverse, bool inclusive) {
  switch (type) {
    case Scan::Sum: return cumsum(x, axis, reverse, inclusive);
    case Scan::Prod: return cumprod(x, axis, reverse, inclusive);
    case Scan::Max: return cummax(x, axis, reverse, inclusive);
    case Scan::Min: return cummin(x, axis, reverse, inclusive);
    default: return logcumsumexp(x, axis, reverse, inclusive);
  }
}

// Inclusive -> exclusive (applied to tangents).
array shift_forward(const array& t, int axis, bool reverse) {
  int n = t.shape(axis);
  if (n == 0) return t;
  if (!reverse) return concatenate({zeros_row(t, axis), slice_axis(t, axis, 0, n - 1)}, axis);
  return concatenate({slice_axis(t, axis, 1, n), zeros_row(t, axis)}, axis);
}
// Its transpose (applied to cotangents).
array shift_back(const array& c, int axis, bool reverse) {
  int n = c.shape(axis);
  if (n == 0) return c;
  if (!reverse) return concatenate({slice_axis(c, axis, 1, n), zeros_row(c, axis)}, axis);
  return concatenate({zeros_row(c, axis), slice_axis(c, axis, 0, n - 1)}, axis);
}

// For cummax/cummin: the position along `axis` of the element each inclusive result z takes
// (the latest one attaining it in the scan's direction).
array attaining_index(const array& x, const array& z, int axis, bool reverse) {
  int n = x.shape(axis);
  Shape s(x.ndim(), 1);
  s[axis] = n;
  array pos = broadcast_to(reshape(arange(0, n, int32), s), x.shape());
  array hit = equal(x, z);
  if (!reverse) return maximum(cummax(where(hit, pos, array(-1, int32)), axis), array(0, int32));
  return minimum(cummin(where(hit, pos, array(n, int32)), axis, true), array(n - 1, int32));
}


// For cumprod (inclusive, along `axis` in the scan's direction), zero-safe: positions before the
// first zero along the scan use z / x; the first zero's own terms use the scan with that zero
// replaced by one; everything after it has zero derivative.
struct ProdParts {
  array before, first, x_safe, z_first;
};
ProdParts prod_parts(const array& x, int axis, bool reverse) {
  array zero = array(0, x.dtype());
  array is_zero = equal(x, zero);
  array count = cumsum(astype(is_zero, int32), axis, reverse, true);
  array before = equal(count, array(0, int32));
  array first = logical_and(is_zero, equal(count, array(1, int32)));
  array x_safe = where(is_zero, array(1, x.dtype()), x);
  array z_first = cumprod(where(first, array(1, x.dtype()), x), axis, reverse, true);
  return {before, first, x_safe, z_first};
}

// For logcumsumexp: d z_i / d x_j = exp(x_j - z_i) (j in z_i's window) = exp(x_j - m) * exp(m - z_i)
// with m the (finite) max along the axis; windows with z = -inf (all -inf so far) contribute 0.
std::pair<array, array> lse_factors(const array& x, const array& z, int axis) {
  array m = stop_gradient(max(x, axis, true));
  m = where(isfinite(m), m, zeros_like(m));
  array ez = where(isneginf(z), zeros_like(z), exp(subtract(m, z)));
  return {exp(subtract(x, m)), ez};
}
}  // namespace

Arrays Scan::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  const array& x = primals[0];
  const array& t = tangents[0];
  int ax = norm_axis(axis_, x.ndim());
  array tz = [&] {
    if (type_ == Sum) return cumsum(t, ax, reverse_, true);
    array z = scan_op(type_, x, ax, reverse_, true);
    switch (type_) {
      case Prod: {
        ProdParts p = prod_parts(x, ax, reverse_);
        array t_first = sum(multiply(t, astype(p.first, t.dtype())), ax, true);
        return where(p.before, multiply(z, cumsum(divide(t, p.x_safe), ax, reverse_, true)),
                     multiply(t_first, p.z_first));
      }
      case Max:
      case Min: return take_along_axis(t, attaining_index(x, z, ax, reverse_), ax);
      default: {
        auto [ex, ez] = lse_factors(x, z, ax);
        return multiply(cumsum(multiply(t, ex), ax, reverse_, true), ez);
      }
    }
  }();
  return {inclusive_ ? tz : shift_forward(tz, ax, reverse_)};
}
Arrays Scan::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays& outputs) {
  const array& x = primals[0];
  int ax = norm_axis(axis_, x.ndim());
  array c = inclusive_ ? cotangents[0] : shift_back(cotangents[0], ax, reverse_);
  if (type_ == Sum) return {cumsum(c, ax, !reverse_, true)};
  array z = inclusive_ ? outputs[0] : scan_op(type_, x, ax, reverse_, true);
  switch (type_) {
    case Prod: {
      ProdParts p = prod_parts(x, ax, reverse_);
      array zero = zeros_like(c);
      return {where(p.before, divide(cumsum(multiply(c, z), ax, !reverse_, true), p.x_safe),
                    where(p.first, cumsum(multiply(c, p.z_first), ax, !reverse_, true), zero))};
    }
    case Max:
    case Min: return {add_along_axis(x.shape(), attaining_index(x, z, ax, reverse_), c, ax)};
    default: {
      auto [ex, ez] = lse_factors(x, z, ax);
      return {multiply(ex, cumsum(multiply(c, ez), ax, !reverse_, true))};
    }
  }
}
VmapResult Scan::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  return {{scan_op(type_, x, norm_axis(axis_, x.ndim() - 1) + 1, reverse_, inclusive_)}, {0}};
}

// ---- RandomBits: integer output, no derivative ----
Arrays RandomBits::jvp(const Arrays&, const Arrays&, const std::vector<int>&) {
  return {zeros(shape_, width_ == 1 ? uint8 : width_ == 2 ? uint16 : uint32)};
}
Arrays RandomBits::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult RandomBits::vmap(const Arrays&, const std::vector<int>&) {
  throw std::invalid_argument(
      "[RandomBits] vmap over a batched key is not supported: the primitive draws from a single "
      "(2,) uint32 key.");
}

}  // namespace kiln
