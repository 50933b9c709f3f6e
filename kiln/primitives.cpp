// Backend-independent parts of the primitives: identity, output shapes and the
// "not implemented yet" defaults of the transformation rules.
#include "kiln/primitives.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace kiln {

std::vector<array> Primitive::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&) {
  throw std::runtime_error(std::string("[") + name() + "] jvp is not implemented yet.");
}

std::vector<array> Primitive::vjp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                                  const std::vector<array>&) {
  throw std::runtime_error(std::string("[") + name() + "] vjp is not implemented yet.");
}

std::pair<std::vector<array>, std::vector<int>> Primitive::vmap(const std::vector<array>&, const std::vector<int>&) {
  throw std::runtime_error(std::string("[") + name() + "] vmap is not implemented yet.");
}

std::vector<Shape> Primitive::output_shapes(const std::vector<array>&) {
  throw std::invalid_argument(std::string("[") + name() + "] Cannot infer output shapes.");
}

namespace {
template <typename T>
const T* same_class(const Primitive& self, const Primitive& other) {
  return typeid(self) == typeid(other) ? static_cast<const T*>(&other) : nullptr;
}
}  // namespace

bool AsType::is_equivalent(const Primitive& other) const {
  auto o = same_class<AsType>(*this, other);
  return o && o->dtype_ == dtype_;
}

bool Arange::is_equivalent(const Primitive& other) const {
  auto o = same_class<Arange>(*this, other);
  return o && o->start_ == start_ && o->stop_ == stop_ && o->step_ == step_;
}

const char* Reduce::name() const {
  switch (type_) {
    case And: return "All";
    case Or: return "Any";
    case Sum: return "Sum";
    case Prod: return "Prod";
    case Min: return "Min";
    case Max: return "Max";
  }
  return "Reduce";
}

bool Reduce::is_equivalent(const Primitive& other) const {
  auto o = same_class<Reduce>(*this, other);
  return o && o->type_ == type_ && o->axes_ == axes_;
}

std::vector<Shape> Reduce::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  for (int ax : axes_) s[ax] = 1;
  return {s};
}

bool ArgReduce::is_equivalent(const Primitive& other) const {
  auto o = same_class<ArgReduce>(*this, other);
  return o && o->type_ == type_ && o->axis_ == axis_;
}

std::vector<Shape> ArgReduce::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  s[axis_] = 1;
  return {s};
}

bool Softmax::is_equivalent(const Primitive& other) const {
  auto o = same_class<Softmax>(*this, other);
  return o && o->precise_ == precise_;
}

std::vector<Shape> LogSumExp::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  s.back() = 1;
  return {s};
}

bool Reshape::is_equivalent(const Primitive& other) const {
  auto o = same_class<Reshape>(*this, other);
  return o && o->shape_ == shape_;
}

bool Transpose::is_equivalent(const Primitive& other) const {
  auto o = same_class<Transpose>(*this, other);
  return o && o->axes_ == axes_;
}

std::vector<Shape> Transpose::output_shapes(const std::vector<array>& inputs) {
  Shape s;
  for (int ax : axes_) s.push_back(inputs[0].shape(ax));
  return {s};
}

bool Broadcast::is_equivalent(const Primitive& other) const {
  auto o = same_class<Broadcast>(*this, other);
  return o && o->shape_ == shape_;
}

bool Slice::is_equivalent(const Primitive& other) const {
  auto o = same_class<Slice>(*this, other);
  return o && o->start_ == start_ && o->stop_ == stop_ && o->steps_ == steps_;
}

std::vector<Shape> Slice::output_shapes(const std::vector<array>&) {
  Shape s;
  for (size_t i = 0; i < start_.size(); ++i) {
    int64_t b = start_[i], e = stop_[i], st = steps_[i];
    s.push_back(static_cast<ShapeElem>(st > 0 ? (e > b ? (e - b + st - 1) / st : 0) : (b > e ? (b - e - st - 1) / (-st) : 0)));
  }
  return {s};
}

bool ExpandDims::is_equivalent(const Primitive& other) const {
  auto o = same_class<ExpandDims>(*this, other);
  return o && o->axes_ == axes_;
}

std::vector<Shape> ExpandDims::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  for (int ax : axes_) s.insert(s.begin() + ax, 1);
  return {s};
}

bool Squeeze::is_equivalent(const Primitive& other) const {
  auto o = same_class<Squeeze>(*this, other);
  return o && o->axes_ == axes_;
}

std::vector<Shape> Squeeze::output_shapes(const std::vector<array>& inputs) {
  Shape s;
  for (int i = 0; i < inputs[0].ndim(); ++i) {
    if (!std::binary_search(axes_.begin(), axes_.end(), i)) s.push_back(inputs[0].shape(i));
  }
  return {s};
}

bool AsStrided::is_equivalent(const Primitive& other) const {
  auto o = same_class<AsStrided>(*this, other);
  return o && o->shape_ == shape_ && o->strides_ == strides_ && o->offset_ == offset_;
}

bool Concatenate::is_equivalent(const Primitive& other) const {
  auto o = same_class<Concatenate>(*this, other);
  return o && o->axis_ == axis_;
}

std::vector<Shape> Concatenate::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  for (size_t i = 1; i < inputs.size(); ++i) s[axis_] += inputs[i].shape(axis_);
  return {s};
}

bool Split::is_equivalent(const Primitive& other) const {
  auto o = same_class<Split>(*this, other);
  return o && o->indices_ == indices_ && o->axis_ == axis_;
}

std::vector<Shape> Split::output_shapes(const std::vector<array>& inputs) {
  std::vector<Shape> shapes;
  int prev = 0, n = inputs[0].shape(axis_);
  for (size_t k = 0; k <= indices_.size(); ++k) {
    int end = k < indices_.size() ? indices_[k] : n;
    Shape sh = inputs[0].shape();
    sh[axis_] = std::max(end - prev, 0);
    shapes.push_back(sh);
    prev = std::max(prev, end);
  }
  return shapes;
}

std::vector<Shape> Matmul::output_shapes(const std::vector<array>& inputs) {
  Shape s = inputs[0].shape();
  s.back() = inputs[1].shape(-1);
  return {s};
}

}  // namespace kiln
