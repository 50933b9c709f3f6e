#include "kiln/array.h"

#include <limits>
#include <sstream>

#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"
#include "kiln/transforms.h"

namespace kiln {

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  return os << (s.size() == 1 ? ",)" : ")");
}

std::ostream& operator<<(std::ostream& os, const Strides& s) {
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << s[i] << (i + 1 < s.size() ? ", " : "");
  return os << ")";
}

Strides row_major_strides(const Shape& shape) {
  Strides strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) {
      std::ostringstream msg;
      msg << "[array] Negative dimension in shape " << shape << ".";
      throw std::invalid_argument(msg.str());
    }
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw std::invalid_argument("[array] Shape is too large: the element count overflows int64.");
    }
    n *= d;
  }
  return n;
}

namespace {
array::Flags row_major_flags(const Shape& shape) {
  int non_unit = 0;
  for (auto d : shape) non_unit += (d != 1);
  return array::Flags{true, true, non_unit <= 1};
}
}  // namespace

array::ArrayDesc::ArrayDesc(Shape s, Dtype t)
    : shape(std::move(s)), strides(row_major_strides(shape)), dtype(t) {
  size = static_cast<size_t>(shape_size(shape));
  flags = row_major_flags(shape);
  data_size = size;
}

array::ArrayDesc::~ArrayDesc() = default;

Node::~Node() {
  // Destroying a long unevaluated chain would recurse once per node; instead, steal the inputs
  // of every node that dies with us and release them from an explicit stack.
  std::vector<array> stack = std::move(inputs);
  while (!stack.empty()) {
    array a = std::move(stack.back());
    stack.pop_back();
    auto& desc = a.desc_;
    if (desc && desc.use_count() == 1 && desc->node && desc->node.use_count() == 1) {
      for (auto& in : desc->node->inputs) stack.push_back(std::move(in));
      desc->node->inputs.clear();
    }
  }
}

void array::init_leaf(Shape shape, Dtype dtype) {
  desc_ = std::make_shared<ArrayDesc>(std::move(shape), dtype);
  desc_->data = std::make_shared<Data>(allocator::malloc(desc_->size * size_of(dtype)), desc_->size * size_of(dtype),
                                       allocator::free);
  desc_->status.store(Status::evaluated);
}

array::array(allocator::Buffer data, Shape shape, Dtype dtype, Deleter deleter) {
  desc_ = std::make_shared<ArrayDesc>(std::move(shape), dtype);
  desc_->data = std::make_shared<Data>(data, desc_->size * size_of(dtype), std::move(deleter));
  desc_->status.store(Status::evaluated);
}

array::array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive, std::vector<array> inputs) {
  desc_ = std::make_shared<ArrayDesc>(std::move(shape), dtype);
  auto node = std::make_shared<Node>();
  node->primitive = std::move(primitive);
  node->inputs = std::move(inputs);
  node->outputs.push_back(desc_);
  for (auto& in : node->inputs) desc_->tracer |= in.desc_->tracer;
  desc_->node = std::move(node);
}

array array::placeholder(Shape shape, Dtype dtype) {
  array a;
  a.desc_ = std::make_shared<ArrayDesc>(std::move(shape), dtype);
  return a;
}

bool array::is_tracer() const { return desc_->tracer && detail::in_tracing(); }

std::vector<array> array::make_arrays(std::vector<Shape> shapes, const std::vector<Dtype>& dtypes,
                                      const std::shared_ptr<Primitive>& primitive,
                                      const std::vector<array>& inputs) {
  auto node = std::make_shared<Node>();
  node->primitive = primitive;
  node->inputs = inputs;
  node->shapes = shapes;
  node->dtypes = dtypes;
  bool tracer = false;
  for (auto& in : inputs) tracer |= in.desc_->tracer;
  std::vector<array> outs(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    outs[i].desc_ = std::make_shared<ArrayDesc>(std::move(shapes[i]), dtypes[i]);
    outs[i].desc_->node = node;
    outs[i].desc_->position = static_cast<int>(i);
    outs[i].desc_->tracer = tracer;
    node->outputs.push_back(outs[i].desc_);
  }
  return outs;
}

ShapeElem array::shape(int dim) const {
  int n = ndim();
  int d = dim < 0 ? dim + n : dim;
  if (d < 0 || d >= n) {
    throw std::out_of_range("[shape] Axis " + std::to_string(dim) + " is out of bounds for array with " +
                            std::to_string(n) + " dimensions.");
  }
  return desc_->shape[d];
}

int64_t array::strides(int dim) const {
  int n = ndim();
  int d = dim < 0 ? dim + n : dim;
  if (d < 0 || d >= n) {
    throw std::out_of_range("[strides] Axis " + std::to_string(dim) + " is out of bounds for array with " +
                            std::to_string(n) + " dimensions.");
  }
  return desc_->strides[d];
}

bool array::has_primitive() const { return desc_->node != nullptr; }

Primitive& array::primitive() const { return *desc_->node->primitive; }

std::shared_ptr<Primitive> array::primitive_ptr() const {
  return desc_->node ? desc_->node->primitive : nullptr;
}

namespace {
const std::vector<array>& no_inputs() {
  static const std::vector<array> empty;
  return empty;
}
}  // namespace

const std::vector<array>& array::inputs() const {
  return desc_->node ? desc_->node->inputs : no_inputs();
}

std::vector<array>& array::inputs() {
  if (!desc_->node) {
    thread_local std::vector<array> empty;
    empty.clear();
    return empty;
  }
  return desc_->node->inputs;
}

std::vector<array> array::outputs() const {
  if (!desc_->node) return {*this};
  auto& node = *desc_->node;
  std::vector<array> outs(node.outputs.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    auto d = node.outputs[i].lock();
    if (!d) {
      // Dropped by the user before evaluation; the kernel still writes it, so recreate it.
      d = std::make_shared<ArrayDesc>(node.shapes[i], node.dtypes[i]);
      d->node = desc_->node;
      d->position = static_cast<int>(i);
      d->tracer = desc_->tracer;
      d->status.store(status());
      node.outputs[i] = d;
    }
    outs[i].desc_ = std::move(d);
  }
  return outs;
}

std::vector<array> array::siblings() const {
  std::vector<array> out;
  if (!desc_->node) return out;
  for (auto& w : desc_->node->outputs) {
    auto d = w.lock();
    if (d && d != desc_) {
      array a;
      a.desc_ = std::move(d);
      out.push_back(std::move(a));
    }
  }
  return out;
}

void array::detach() { desc_->node.reset(); }

Stream array::stream() const {
  if (desc_->node) return desc_->node->primitive->stream();
  return default_stream(default_device());
}

bool array::try_claim() const {
  auto expected = Status::unscheduled;
  if (!desc_->status.compare_exchange_strong(expected, Status::scheduled)) return false;
  if (desc_->node && desc_->node->outputs.size() > 1) {
    for (auto& w : desc_->node->outputs) {
      if (auto d = w.lock(); d && d != desc_) d->status.store(Status::scheduled);
    }
  }
  return true;
}

void array::eval() {
  if (status() != Status::evaluated) kiln::eval({*this});
}

size_t array::buffer_size() const {
  if (!desc_->data) return 0;
  if (desc_->data->device) return gpu::buffer_size(*desc_->data->device);
  return allocator::size_of(desc_->data->buffer);
}

array::Data::~Data() {
  if (device) gpu::release(device);
  if (deleter) deleter(buffer);
}

void array::Data::make_host_valid() {
  std::lock_guard<std::mutex> lk(mtx);
  if (valid.load(std::memory_order_acquire) & kHost) return;
  // Only a GPU kernel makes host-invalid data, so `device` is set and the backend exists.
  if (!buffer.ptr) {
    buffer = allocator::malloc(nbytes);
    deleter = allocator::free;
  }
  gpu::copy_to_host(*device, buffer.ptr);
  valid.store(kHost | kDevice, std::memory_order_release);
}

void array::Data::make_host_exclusive() {
  make_host_valid();
  valid.store(kHost, std::memory_order_release);
}

void array::set_data(allocator::Buffer buffer, Deleter deleter) {
  set_data(std::make_shared<Data>(buffer, nbytes(), std::move(deleter)));
}

void array::set_data(std::shared_ptr<Data> data) {
  desc_->data = std::move(data);
  desc_->offset = 0;
  desc_->data_size = desc_->size;
  desc_->strides = row_major_strides(desc_->shape);
  desc_->flags = row_major_flags(desc_->shape);
}

void array::set_data(allocator::Buffer buffer, size_t data_size, Strides strides, Flags flags,
                     Deleter deleter) {
  desc_->data = std::make_shared<Data>(buffer, data_size * itemsize(), std::move(deleter));
  desc_->offset = 0;
  desc_->data_size = data_size;
  desc_->strides = std::move(strides);
  desc_->flags = flags;
}

void array::set_data(std::shared_ptr<Data> data, size_t data_size, Strides strides, Flags flags) {
  desc_->data = std::move(data);
  desc_->offset = 0;
  desc_->data_size = data_size;
  desc_->strides = std::move(strides);
  desc_->flags = flags;
}

void array::copy_shared_buffer(const array& other, const Strides& strides, Flags flags, size_t data_size,
                               int64_t offset) {
  desc_->data = other.desc_->data;
  desc_->offset = other.desc_->offset + offset * static_cast<int64_t>(other.itemsize());
  desc_->strides = strides;
  desc_->flags = flags;
  desc_->data_size = data_size;
}

void array::copy_shared_buffer(const array& other) {
  copy_shared_buffer(other, other.strides(), other.flags(), other.data_size());
}

void array::move_shared_buffer(array other, const Strides& strides, Flags flags, size_t data_size,
                               int64_t offset) {
  desc_->offset = other.desc_->offset + offset * static_cast<int64_t>(other.itemsize());
  desc_->data = std::move(other.desc_->data);
  desc_->strides = strides;
  desc_->flags = flags;
  desc_->data_size = data_size;
}

void array::move_shared_buffer(array other) {
  auto strides = other.strides();
  auto flags = other.flags();
  auto ds = other.data_size();
  move_shared_buffer(std::move(other), strides, flags, ds);
}

}  // namespace kiln
