// The array: a cheap handle to a shared descriptor (shape, strides, dtype, data or the
// computation that will produce it). See DESIGN.md "The array".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kiln/allocator.h"
#include "kiln/dtype.h"
#include "kiln/stream.h"

namespace kiln {

using ShapeElem = int32_t;
using Shape = std::vector<ShapeElem>;
using Strides = std::vector<int64_t>;

class Primitive;
class array;

namespace gpu {
/** A device allocation and the stream that last wrote it (defined by the CUDA backend). */
struct DeviceBuffer;
}  // namespace gpu

using Deleter = std::function<void(allocator::Buffer)>;

KILN_API std::ostream& operator<<(std::ostream& os, const Shape& s);
KILN_API std::ostream& operator<<(std::ostream& os, const Strides& s);

/** Row-major strides (in elements) of a dense array of `shape`. */
KILN_API Strides row_major_strides(const Shape& shape);
/** Number of elements of `shape`; throws if it overflows int64. */
KILN_API int64_t shape_size(const Shape& shape);

/** The computation shared by all outputs of one primitive application. */
struct Node;

class KILN_API array {
 public:
  /** Memory layout facts kernels dispatch on. */
  struct Flags {
    bool contiguous : 1;      // the elements fill [data_ptr, data_ptr + data_size) with no holes
    bool row_contiguous : 1;  // row-major dense
    bool col_contiguous : 1;  // column-major dense
  };

  enum class Status : uint8_t { unscheduled, scheduled, evaluated };

  /** An empty handle; most methods must not be called on it. */
  array() = default;

  /** A 0-d array holding `val`, evaluated at once. */
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T> || std::is_same_v<T, float16_t> ||
                                                    std::is_same_v<T, bfloat16_t> || std::is_same_v<T, complex64_t>>>
  explicit array(T val, Dtype dtype = TypeToDtype<T>::value);

  /** A 1-d array from values, evaluated at once. */
  template <typename T>
  array(std::initializer_list<T> data, Dtype dtype = TypeToDtype<T>::value);

  /** An array of `shape` from `size(shape)` values starting at `data`, evaluated at once. */
  template <typename It>
  array(It data, Shape shape, Dtype dtype = TypeToDtype<typename std::iterator_traits<It>::value_type>::value);

  /** Wraps an existing buffer (owned; released with `deleter`), row-major. */
  array(allocator::Buffer data, Shape shape, Dtype dtype, Deleter deleter = allocator::free);

  /** An unevaluated array: the output of `primitive` applied to `inputs`. */
  array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive, std::vector<array> inputs);

  /** The outputs of one multi-output primitive application (siblings of each other). */
  static std::vector<array> make_arrays(std::vector<Shape> shapes, const std::vector<Dtype>& dtypes,
                                        const std::shared_ptr<Primitive>& primitive,
                                        const std::vector<array>& inputs);

  // ---- metadata ----
  Dtype dtype() const { return desc_->dtype; }
  size_t itemsize() const { return size_of(dtype()); }
  size_t size() const { return desc_->size; }
  size_t nbytes() const { return size() * itemsize(); }
  int ndim() const { return static_cast<int>(desc_->shape.size()); }
  const Shape& shape() const { return desc_->shape; }
  /** Size of dimension `dim`; negative counts from the end. */
  ShapeElem shape(int dim) const;
  const Strides& strides() const { return desc_->strides; }
  int64_t strides(int dim) const;
  Flags flags() const { return desc_->flags; }
  /** Number of elements the buffer region spans (size for dense arrays, 1 for broadcast scalars). */
  size_t data_size() const { return desc_->data_size; }
  /** Identity of the descriptor (equal for copies of the handle). */
  std::uintptr_t id() const { return reinterpret_cast<std::uintptr_t>(desc_.get()); }
  bool valid() const { return desc_ != nullptr; }

  // ---- graph ----
  bool has_primitive() const;
  Primitive& primitive() const;
  std::shared_ptr<Primitive> primitive_ptr() const;
  const std::vector<array>& inputs() const;
  std::vector<array>& inputs();
  /** The other live outputs of this array's primitive application. */
  std::vector<array> siblings() const;
  /** All outputs of this array's primitive application, this one included, in order. */
  std::vector<array> outputs() const;
  /** Identity of the primitive application (shared by sibling outputs); null for leaves. */
  const void* node_id() const { return desc_->node.get(); }
  /** Index of this array among its primitive's outputs. */
  int output_index() const { return desc_->position; }
  /** Drops the primitive and inputs (after evaluation, or to cut a graph). */
  void detach();
  /** The stream the primitive runs on (the default stream for leaf arrays). */
  Stream stream() const;

  Status status() const { return desc_->status.load(std::memory_order_acquire); }
  void set_status(Status s) const { desc_->status.store(s, std::memory_order_release); }
  bool is_evaluated() const { return status() == Status::evaluated; }
  /** Atomically moves this array and its siblings from unscheduled to scheduled; false if
   *  it was not unscheduled (another evaluation owns it). */
  bool try_claim() const;

  /** Evaluates the array (and what it depends on). */
  void eval();
  /** Evaluates and returns the single element converted to T; the array must have size 1. */
  template <typename T>
  T item();

  // ---- data (valid once evaluated) ----
  /** Host pointer for reading: makes the host copy valid first (waits for the GPU and copies
   *  back when the valid copy lives on the device). One flag test when it is on the host. */
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(host_ptr(false));
  }
  /** Host pointer for writing: as data() const, and drops the device copy (it goes stale). */
  template <typename T>
  T* data() {
    return static_cast<T*>(host_ptr(true));
  }
  /** The host buffer (null while the only valid copy is on the device). */
  allocator::Buffer& buffer() { return desc_->data->buffer; }
  const allocator::Buffer& buffer() const { return desc_->data->buffer; }
  /** Byte offset of element 0 within the shared data (views start inside their input's data). */
  int64_t offset() const { return desc_->offset; }
  /** Identity of the shared data (equal for views of one buffer). */
  const void* data_id() const { return desc_->data.get(); }
  /** Bytes of the underlying allocation (may exceed nbytes for views). */
  size_t buffer_size() const;
  /** How many arrays share this buffer (1 means only this one). */
  long data_shared_count() const { return desc_->data.use_count(); }
  /** Whether this array (the handle) is referenced from one place only. */
  long use_count() const { return desc_.use_count(); }
  /** True if the buffer may be reused by a consumer: no other handle or view refers to it. */
  bool is_donatable() const {
    return desc_.use_count() == 1 && desc_->data && desc_->data.use_count() == 1;
  }

  /** Gives the array a fresh row-major buffer. */
  void set_data(allocator::Buffer buffer, Deleter deleter = allocator::free);
  /** Gives the array a buffer with an explicit layout. */
  void set_data(allocator::Buffer buffer, size_t data_size, Strides strides, Flags flags,
                Deleter deleter = allocator::free);
  /** Gives the array shared data (a device allocation, say) with a row-major layout. */
  struct Data;
  void set_data(std::shared_ptr<Data> data);
  /** Gives the array shared data with an explicit layout. */
  void set_data(std::shared_ptr<Data> data, size_t data_size, Strides strides, Flags flags);
  /** The shared data behind this array (null before evaluation). */
  const std::shared_ptr<Data>& data_shared() const { return desc_->data; }
  /** Makes this array a view of `other`'s buffer with the given layout and element offset. */
  void copy_shared_buffer(const array& other, const Strides& strides, Flags flags, size_t data_size,
                          int64_t offset = 0);
  /** Makes this array a view of `other`'s buffer with `other`'s layout. */
  void copy_shared_buffer(const array& other);
  /** Takes `other`'s buffer (donation); `other` must not be used for its data afterwards. */
  void move_shared_buffer(array other, const Strides& strides, Flags flags, size_t data_size,
                          int64_t offset = 0);
  void move_shared_buffer(array other);

  /** Same descriptor. */
  bool is_same(const array& o) const { return desc_ == o.desc_; }

  /** Whether this array is (or derives from) an input of a function transformation in progress;
   *  evaluation keeps such arrays' graphs so the transformation can walk them afterwards. */
  bool is_tracer() const;
  void set_tracer(bool t) { desc_->tracer = t; }
  /** An array with a shape and dtype but neither data nor a primitive: a stand-in for an input
   *  while vmap traces a function. Evaluating it (or anything built on it) is an error. */
  static array placeholder(Shape shape, Dtype dtype);
  bool is_placeholder() const { return desc_->node == nullptr && !desc_->data && status() != Status::evaluated; }

  /** Shared state behind a handle; kept public for the scheduler and backends. The elements
   *  live on the host, on the device, or both; `valid` says which copies are current, and
   *  each side migrates on demand (DESIGN.md "Memory"). */
  struct Data {
    static constexpr uint8_t kHost = 1, kDevice = 2;
    allocator::Buffer buffer;  // host copy (null while only the device copy exists)
    Deleter deleter;
    size_t nbytes = 0;  // bytes of element data (what a migration copies)
    gpu::DeviceBuffer* device = nullptr;  // owned; released through the GPU backend
    std::atomic<uint8_t> valid{kHost};
    std::mutex mtx;  // serializes migrations
    Data(allocator::Buffer b, size_t n, Deleter d) : buffer(b), deleter(std::move(d)), nbytes(n) {}
    /** Data that exists only on the device (the output of a GPU kernel). */
    Data(gpu::DeviceBuffer* dev, size_t n) : nbytes(n), device(dev), valid(kDevice) {}
    Data(const Data&) = delete;
    Data& operator=(const Data&) = delete;
    ~Data();
    /** Copies the device data back unless the host copy is current (waits for the GPU). */
    void make_host_valid();
    /** make_host_valid, then marks the device copy stale (the host is about to be written). */
    void make_host_exclusive();
  };
  struct ArrayDesc {
    Shape shape;
    Strides strides;
    size_t size = 0;
    Dtype dtype = float32;
    Flags flags{true, true, true};
    size_t data_size = 0;
    std::shared_ptr<Data> data;
    int64_t offset = 0;  // bytes from the start of data to element 0
    std::shared_ptr<Node> node;  // null for leaves and once evaluated
    int position = 0;
    bool tracer = false;
    std::atomic<Status> status{Status::unscheduled};
    ArrayDesc(Shape shape, Dtype dtype);
    ~ArrayDesc();
  };

 private:
  // The flag test is inline so CPU kernels pay one load and compare; migration is out of line.
  void* host_ptr(bool write) const {
    Data* d = desc_->data.get();
    if (d == nullptr) return nullptr;
    uint8_t v = d->valid.load(std::memory_order_acquire);
    if (v != Data::kHost) {
      if (write) {
        d->make_host_exclusive();
      } else if (!(v & Data::kHost)) {
        d->make_host_valid();
      }
    }
    return static_cast<char*>(d->buffer.ptr) + desc_->offset;
  }
  void init_leaf(Shape shape, Dtype dtype);
  template <typename It>
  void fill_from(It data);
  friend struct Node;
  std::shared_ptr<ArrayDesc> desc_;
};

struct Node {
  std::shared_ptr<Primitive> primitive;
  std::vector<array> inputs;
  // Weak, so outputs never keep each other alive (no cycles); an output dropped before
  // evaluation is recreated from its shape and dtype when the others are computed.
  std::vector<std::weak_ptr<array::ArrayDesc>> outputs;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  ~Node();
};

// ---- template definitions ----

template <typename It>
void array::fill_from(It data) {
  dispatch_all_types(dtype(), "array", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = this->data<T>();
    for (size_t i = 0; i < size(); ++i, ++data) {
      if constexpr (std::is_same_v<T, complex64_t>) {
        out[i] = static_cast<complex64_t>(*data);
      } else if constexpr (std::is_same_v<typename std::iterator_traits<It>::value_type, complex64_t>) {
        out[i] = static_cast<T>(std::real(*data));
      } else if constexpr (std::is_same_v<T, bool>) {
        out[i] = static_cast<float>(*data) != 0.0f;
      } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t> ||
                           std::is_same_v<typename std::iterator_traits<It>::value_type, bfloat16_t>) {
        out[i] = static_cast<T>(static_cast<float>(*data));  // one unambiguous path through float
      } else {
        out[i] = static_cast<T>(*data);
      }
    }
  });
}

template <typename T, typename>
array::array(T val, Dtype dtype) {
  init_leaf({}, dtype);
  const T* p = &val;
  fill_from(p);
}

template <typename T>
array::array(std::initializer_list<T> data, Dtype dtype) {
  init_leaf({static_cast<ShapeElem>(data.size())}, dtype);
  fill_from(data.begin());
}

template <typename It>
array::array(It data, Shape shape, Dtype dtype) {
  init_leaf(std::move(shape), dtype);
  fill_from(data);
}

template <typename T>
T array::item() {
  if (size() != 1) {
    throw std::invalid_argument("[item] Only size-1 arrays can be converted to scalars.");
  }
  eval();
  T result{};
  dispatch_all_types(dtype(), "item", [&](auto tag) {
    using S = typename decltype(tag)::type;
    S v = *std::as_const(*this).template data<S>();
    if constexpr (std::is_same_v<S, T>) {
      result = v;
    } else if constexpr (std::is_same_v<S, complex64_t>) {
      result = static_cast<T>(v.real());
    } else if constexpr (std::is_same_v<T, complex64_t>) {
      result = complex64_t(static_cast<float>(v));
    } else if constexpr (std::is_same_v<S, float16_t> || std::is_same_v<S, bfloat16_t>) {
      result = static_cast<T>(static_cast<float>(v));
    } else {
      result = static_cast<T>(v);
    }
  });
  return result;
}

}  // namespace kiln
