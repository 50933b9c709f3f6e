// vjp / jvp / vmap of the shape and view primitives and of AsType. All are linear: jvp applies
// the primitive to the tangent, vjp applies its transpose to the cotangent. vmap moves the
// batch axis to the front and shifts the primitive's axes by one.
#include <numeric>

#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

// ---- AsType ----
Arrays AsType::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {astype(tangents[0], dtype_)};
}
Arrays AsType::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {astype(cotangents[0], primals[0].dtype())};
}
VmapResult AsType::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{astype(inputs[0], dtype_)}, {axes[0]}};
}

// ---- Reshape ----
Arrays Reshape::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {reshape(tangents[0], shape_)};
}
Arrays Reshape::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {reshape(cotangents[0], primals[0].shape())};
}
VmapResult Reshape::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  Shape sh = shape_;
  sh.insert(sh.begin(), x.shape(0));
  return {{reshape(x, sh)}, {0}};
}

// ---- Transpose ----
Arrays Transpose::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {transpose(tangents[0], axes_)};
}
Arrays Transpose::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  std::vector<int> inverse(axes_.size());
  for (size_t i = 0; i < axes_.size(); ++i) inverse[axes_[i]] = static_cast<int>(i);
  return {transpose(cotangents[0], inverse)};
}
VmapResult Transpose::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  std::vector<int> perm{0};
  for (int a : axes_) perm.push_back(a + 1);
  return {{transpose(batch_to_front(inputs[0], axes[0]), perm)}, {0}};
}

// ---- Broadcast ----
Arrays Broadcast::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {broadcast_to(tangents[0], shape_)};
}
Arrays Broadcast::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  // Sum over the axes broadcasting created: the new leading ones and the stretched size-1 ones.
  const Shape& in = primals[0].shape();
  int lead = static_cast<int>(shape_.size() - in.size());
  std::vector<int> axes;
  for (int i = 0; i < static_cast<int>(shape_.size()); ++i) {
    if (i < lead || (in[i - lead] == 1 && shape_[i] != 1)) axes.push_back(i);
  }
  array c = axes.empty() ? cotangents[0] : sum(cotangents[0], axes, true);
  return {reshape(c, in)};
}
VmapResult Broadcast::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  // Line the example axes up with the target's trailing axes, then broadcast behind the batch.
  Shape aligned(shape_.size() + 1, 1);
  aligned[0] = x.shape(0);
  std::copy(x.shape().begin() + 1, x.shape().end(), aligned.end() - (x.ndim() - 1));
  Shape target = shape_;
  target.insert(target.begin(), x.shape(0));
  return {{broadcast_to(reshape(x, aligned), target)}, {0}};
}

// ---- Slice ----
namespace {
// Stored bounds are normalized like slice.indices(); a negative step may store -1 as "before 0",
// which the slice ops would read as the last element: shift it below -n to keep its meaning.
Shape op_stop(const Shape& stop, const Shape& steps, const Shape& shape) {
  Shape out = stop;
  for (size_t i = 0; i < out.size(); ++i) {
    if (steps[i] < 0 && out[i] < 0) out[i] -= shape[i];
  }
  return out;
}
}  // namespace

Arrays Slice::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>&) {
  return {slice(tangents[0], start_, op_stop(stop_, steps_, primals[0].shape()), steps_)};
}
Arrays Slice::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  const array& x = primals[0];
  return {slice_update(zeros_like(x), cotangents[0], start_, op_stop(stop_, steps_, x.shape()), steps_)};
}
VmapResult Slice::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  array x = batch_to_front(inputs[0], axes[0]);
  Shape example(x.shape().begin() + 1, x.shape().end());
  Shape start = start_, stop = op_stop(stop_, steps_, example), steps = steps_;
  start.insert(start.begin(), 0);
  stop.insert(stop.begin(), x.shape(0));
  steps.insert(steps.begin(), 1);
  return {{slice(x, start, stop, steps)}, {0}};
}

// ---- ExpandDims / Squeeze ----
Arrays ExpandDims::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {expand_dims(tangents[0], axes_)};
}
Arrays ExpandDims::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {reshape(cotangents[0], primals[0].shape())};
}
VmapResult ExpandDims::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{expand_dims(batch_to_front(inputs[0], axes[0]), shifted(axes_))}, {0}};
}

Arrays Squeeze::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {squeeze(tangents[0], axes_)};
}
Arrays Squeeze::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {reshape(cotangents[0], primals[0].shape())};
}
VmapResult Squeeze::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{squeeze(batch_to_front(inputs[0], axes[0]), shifted(axes_))}, {0}};
}

// ---- Concatenate / Split ----
Arrays Concatenate::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  Arrays parts;
  for (auto& p : primals) parts.push_back(zeros_like(p));
  for (size_t k = 0; k < argnums.size(); ++k) parts[argnums[k]] = tangents[k];
  return {concatenate(parts, axis_)};
}
Arrays Concatenate::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                        const Arrays&) {
  Shape bounds;
  int at = 0;
  for (size_t i = 0; i + 1 < primals.size(); ++i) bounds.push_back(at += primals[i].shape(axis_));
  auto parts = split(cotangents[0], bounds, axis_);
  Arrays out;
  for (int a : argnums) out.push_back(parts[a]);
  return out;
}
VmapResult Concatenate::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int b = batch_size(inputs, axes);
  Arrays parts;
  for (size_t i = 0; i < inputs.size(); ++i) parts.push_back(with_batch(inputs[i], axes[i], b));
  return {{concatenate(parts, axis_ + 1)}, {0}};
}

Arrays Split::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return split(tangents[0], Shape(indices_.begin(), indices_.end()), axis_);
}
Arrays Split::vjp(const Arrays&, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {concatenate(cotangents, axis_)};
}
VmapResult Split::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  auto parts = split(batch_to_front(inputs[0], axes[0]), Shape(indices_.begin(), indices_.end()), axis_ + 1);
  return {parts, std::vector<int>(parts.size(), 0)};
}

}  // namespace kiln
