// Primitives: the nodes of the computation graph. Each class holds everything about one
// computation: its parameters, CPU and GPU evaluation, transformation rules and identity.
#pragma once

#include <ostream>
#include <typeinfo>
#include <utility>
#include <vector>

#include "kiln/array.h"
#include "kiln/stream.h"

namespace kiln {

class KILN_API Primitive {
 public:
  explicit Primitive(Stream stream) : stream_(stream) {}
  virtual ~Primitive() = default;
  Primitive(const Primitive&) = delete;
  Primitive& operator=(const Primitive&) = delete;

  /** The stream (and so the device) this primitive runs on. */
  const Stream& stream() const { return stream_; }

  /** Computes `outputs` from `inputs` on the CPU; outputs get their buffers here. */
  virtual void eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) = 0;
  /** Computes `outputs` from `inputs` on the GPU (throws in builds without CUDA). */
  virtual void eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) = 0;

  /** Forward-mode derivative: the tangents of the outputs. */
  virtual std::vector<array> jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                                 const std::vector<int>& argnums);
  /** Reverse-mode derivative: the cotangents of the inputs in `argnums`. */
  virtual std::vector<array> vjp(const std::vector<array>& primals, const std::vector<array>& cotangents,
                                 const std::vector<int>& argnums, const std::vector<array>& outputs);
  /** Batching rule: outputs and their batch axes for inputs batched along `axes` (-1: not batched). */
  virtual std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& inputs,
                                                               const std::vector<int>& axes);
  /** Shapes of the outputs for new inputs (used by shapeless compile). */
  virtual std::vector<Shape> output_shapes(const std::vector<array>& inputs);

  /** True if `other` computes the same function (same class and parameters). */
  virtual bool is_equivalent(const Primitive& other) const { return false; }
  /** Class name, as in error messages: "Add", "Reduce". */
  virtual const char* name() const = 0;
  /** Name with parameters, for graph printing. */
  virtual void print(std::ostream& os) const { os << name(); }

 private:
  Stream stream_;
};

/** A primitive with exactly one output. */
class KILN_API UnaryPrimitive : public Primitive {
 public:
  using Primitive::Primitive;
  virtual void eval_cpu(const std::vector<array>& inputs, array& out) = 0;
  virtual void eval_gpu(const std::vector<array>& inputs, array& out) = 0;
  void eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) final {
    eval_cpu(inputs, outputs[0]);
  }
  void eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) final {
    eval_gpu(inputs, outputs[0]);
  }
};

#define KILN_PRIMITIVE_EVAL                                              \
  void eval_cpu(const std::vector<array>& inputs, array& out) override; \
  void eval_gpu(const std::vector<array>& inputs, array& out) override;

#define KILN_PRIMITIVE_EVAL_MULTI                                                       \
  void eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) override; \
  void eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) override;

#define KILN_PRIMITIVE_NAME(Name) \
  const char* name() const override { return #Name; }

// Elementwise primitives have no parameters: any two instances of a class are equivalent,
// and the output has the (already broadcast) shape of the inputs.
#define KILN_ELEMENTWISE_PRIMITIVE(Name)                                           \
  class KILN_API Name : public UnaryPrimitive {                                    \
   public:                                                                         \
    explicit Name(Stream stream) : UnaryPrimitive(stream) {}                       \
    KILN_PRIMITIVE_EVAL                                                            \
    KILN_PRIMITIVE_NAME(Name)                                                      \
    bool is_equivalent(const Primitive& other) const override {                    \
      return typeid(other) == typeid(*this);                                       \
    }                                                                              \
    std::vector<Shape> output_shapes(const std::vector<array>& inputs) override {  \
      return {inputs[0].shape()};                                                  \
    }                                                                              \
  };

// ---- unary elementwise ----
KILN_ELEMENTWISE_PRIMITIVE(Abs)
KILN_ELEMENTWISE_PRIMITIVE(Negative)
KILN_ELEMENTWISE_PRIMITIVE(Sign)
KILN_ELEMENTWISE_PRIMITIVE(Sqrt)
KILN_ELEMENTWISE_PRIMITIVE(Rsqrt)
KILN_ELEMENTWISE_PRIMITIVE(Square)
KILN_ELEMENTWISE_PRIMITIVE(Exp)
KILN_ELEMENTWISE_PRIMITIVE(Expm1)
KILN_ELEMENTWISE_PRIMITIVE(Log)
KILN_ELEMENTWISE_PRIMITIVE(Log2)
KILN_ELEMENTWISE_PRIMITIVE(Log10)
KILN_ELEMENTWISE_PRIMITIVE(Log1p)
KILN_ELEMENTWISE_PRIMITIVE(Sin)
KILN_ELEMENTWISE_PRIMITIVE(Cos)
KILN_ELEMENTWISE_PRIMITIVE(Tan)
KILN_ELEMENTWISE_PRIMITIVE(ArcSin)
KILN_ELEMENTWISE_PRIMITIVE(ArcCos)
KILN_ELEMENTWISE_PRIMITIVE(ArcTan)
KILN_ELEMENTWISE_PRIMITIVE(Sinh)
KILN_ELEMENTWISE_PRIMITIVE(Cosh)
KILN_ELEMENTWISE_PRIMITIVE(Tanh)
KILN_ELEMENTWISE_PRIMITIVE(ArcSinh)
KILN_ELEMENTWISE_PRIMITIVE(ArcCosh)
KILN_ELEMENTWISE_PRIMITIVE(ArcTanh)
KILN_ELEMENTWISE_PRIMITIVE(Floor)
KILN_ELEMENTWISE_PRIMITIVE(Ceil)
KILN_ELEMENTWISE_PRIMITIVE(Round)
KILN_ELEMENTWISE_PRIMITIVE(Sigmoid)
KILN_ELEMENTWISE_PRIMITIVE(Erf)
KILN_ELEMENTWISE_PRIMITIVE(ErfInv)
KILN_ELEMENTWISE_PRIMITIVE(LogicalNot)
KILN_ELEMENTWISE_PRIMITIVE(BitwiseInvert)
KILN_ELEMENTWISE_PRIMITIVE(Conjugate)
KILN_ELEMENTWISE_PRIMITIVE(Real)
KILN_ELEMENTWISE_PRIMITIVE(Imag)

// ---- binary elementwise (inputs already broadcast to one shape and promoted to one dtype) ----
KILN_ELEMENTWISE_PRIMITIVE(Add)
KILN_ELEMENTWISE_PRIMITIVE(Subtract)
KILN_ELEMENTWISE_PRIMITIVE(Multiply)
KILN_ELEMENTWISE_PRIMITIVE(Divide)
KILN_ELEMENTWISE_PRIMITIVE(FloorDivide)
KILN_ELEMENTWISE_PRIMITIVE(Remainder)
KILN_ELEMENTWISE_PRIMITIVE(Power)
KILN_ELEMENTWISE_PRIMITIVE(Maximum)
KILN_ELEMENTWISE_PRIMITIVE(Minimum)
KILN_ELEMENTWISE_PRIMITIVE(Equal)
KILN_ELEMENTWISE_PRIMITIVE(NotEqual)
KILN_ELEMENTWISE_PRIMITIVE(Less)
KILN_ELEMENTWISE_PRIMITIVE(LessEqual)
KILN_ELEMENTWISE_PRIMITIVE(Greater)
KILN_ELEMENTWISE_PRIMITIVE(GreaterEqual)
KILN_ELEMENTWISE_PRIMITIVE(LogicalAnd)
KILN_ELEMENTWISE_PRIMITIVE(LogicalOr)
KILN_ELEMENTWISE_PRIMITIVE(LogAddExp)
KILN_ELEMENTWISE_PRIMITIVE(ArcTan2)
KILN_ELEMENTWISE_PRIMITIVE(BitwiseAnd)
KILN_ELEMENTWISE_PRIMITIVE(BitwiseOr)
KILN_ELEMENTWISE_PRIMITIVE(BitwiseXor)
KILN_ELEMENTWISE_PRIMITIVE(LeftShift)
KILN_ELEMENTWISE_PRIMITIVE(RightShift)

// ---- ternary ----
/** where(condition, x, y): inputs broadcast to one shape; x and y share a dtype. */
KILN_ELEMENTWISE_PRIMITIVE(Select)

/** Element type conversion. */
class KILN_API AsType : public UnaryPrimitive {
 public:
  AsType(Stream stream, Dtype dtype) : UnaryPrimitive(stream), dtype_(dtype) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(AsType)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  Dtype dtype() const { return dtype_; }

 private:
  Dtype dtype_;
};

/** A row-major copy of any (strided) input. */
KILN_ELEMENTWISE_PRIMITIVE(Copy)

/** Fills the output with its (broadcast) input: the base of full/zeros/ones. */
KILN_ELEMENTWISE_PRIMITIVE(Full)

/** start, start + step, ... below stop. */
class KILN_API Arange : public UnaryPrimitive {
 public:
  Arange(Stream stream, double start, double stop, double step)
      : UnaryPrimitive(stream), start_(start), stop_(stop), step_(step) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Arange)
  bool is_equivalent(const Primitive& other) const override;
  double start() const { return start_; }
  double step() const { return step_; }

 private:
  double start_, stop_, step_;
};

// ---- reductions ----
class KILN_API Reduce : public UnaryPrimitive {
 public:
  enum ReduceType { And, Or, Sum, Prod, Min, Max };
  /** Reduces over `axes` (sorted, unique); the output keeps them as size-1 dims. */
  Reduce(Stream stream, ReduceType type, std::vector<int> axes)
      : UnaryPrimitive(stream), type_(type), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  const char* name() const override;
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  ReduceType type() const { return type_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceType type_;
  std::vector<int> axes_;
};

/** Index (uint32) of the min or max along one axis, kept as a size-1 dim. */
class KILN_API ArgReduce : public UnaryPrimitive {
 public:
  enum ReduceType { ArgMin, ArgMax };
  ArgReduce(Stream stream, ReduceType type, int axis) : UnaryPrimitive(stream), type_(type), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  const char* name() const override { return type_ == ArgMin ? "ArgMin" : "ArgMax"; }
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  ReduceType type() const { return type_; }
  int axis() const { return axis_; }

 private:
  ReduceType type_;
  int axis_;
};

/** Softmax over the last axis; `precise` accumulates half inputs in float32. */
class KILN_API Softmax : public UnaryPrimitive {
 public:
  Softmax(Stream stream, bool precise) : UnaryPrimitive(stream), precise_(precise) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Softmax)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  bool precise() const { return precise_; }

 private:
  bool precise_;
};

/** log(sum(exp(x))) over the last axis, kept as a size-1 dim; stable for large inputs. */
class KILN_API LogSumExp : public UnaryPrimitive {
 public:
  explicit LogSumExp(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(LogSumExp)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};

// ---- shape and views ----
/** New shape of the same elements; a view when the strides allow it, else a copy. */
class KILN_API Reshape : public UnaryPrimitive {
 public:
  Reshape(Stream stream, Shape shape) : UnaryPrimitive(stream), shape_(std::move(shape)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Reshape)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>&) override { return {shape_}; }
  /** Strides that view `in` as `shape` without copying, if any exist. */
  static std::pair<bool, Strides> view_strides(const array& in, const Shape& shape);

 private:
  Shape shape_;
};

/** Permutes the axes (a view). */
class KILN_API Transpose : public UnaryPrimitive {
 public:
  Transpose(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Transpose)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  const std::vector<int>& axes() const { return axes_; }

 private:
  std::vector<int> axes_;
};

/** Broadcasts to a larger shape with zero strides (a view). */
class KILN_API Broadcast : public UnaryPrimitive {
 public:
  Broadcast(Stream stream, Shape shape) : UnaryPrimitive(stream), shape_(std::move(shape)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Broadcast)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>&) override { return {shape_}; }

 private:
  Shape shape_;
};

/** Strided slice [start, stop) with positive or negative steps (a view). */
class KILN_API Slice : public UnaryPrimitive {
 public:
  Slice(Stream stream, Shape start, Shape stop, Shape steps)
      : UnaryPrimitive(stream), start_(std::move(start)), stop_(std::move(stop)), steps_(std::move(steps)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Slice)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  Shape start_, stop_, steps_;
};

/** Inserts size-1 axes (a view). */
class KILN_API ExpandDims : public UnaryPrimitive {
 public:
  ExpandDims(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ExpandDims)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> axes_;  // sorted positions in the output
};

/** Removes size-1 axes (a view). */
class KILN_API Squeeze : public UnaryPrimitive {
 public:
  Squeeze(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Squeeze)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> axes_;  // sorted positions in the input
};

/** A view with explicit shape, strides and element offset. */
class KILN_API AsStrided : public UnaryPrimitive {
 public:
  AsStrided(Stream stream, Shape shape, Strides strides, size_t offset)
      : UnaryPrimitive(stream), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(AsStrided)
  bool is_equivalent(const Primitive& other) const override;

 private:
  Shape shape_;
  Strides strides_;
  size_t offset_;
};

/** Joins inputs of one dtype along an axis (a copy). */
class KILN_API Concatenate : public UnaryPrimitive {
 public:
  Concatenate(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Concatenate)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  int axis() const { return axis_; }

 private:
  int axis_;
};

/** Splits along an axis at `indices` into several outputs (views of the input). */
class KILN_API Split : public Primitive {
 public:
  Split(Stream stream, std::vector<int> indices, int axis)
      : Primitive(stream), indices_(std::move(indices)), axis_(axis) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Split)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> indices_;
  int axis_;
};

// ---- linear algebra ----
/** Batched matrix product of (..., M, K) and (..., K, N) with equal batch shapes. */
class KILN_API Matmul : public UnaryPrimitive {
 public:
  explicit Matmul(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Matmul)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};

// ---- sort_scan ----
/** Sorts along one axis (NaN last, complex lexicographic); the output is row-major. */
class KILN_API Sort : public UnaryPrimitive {
 public:
  Sort(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Sort)
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const Sort&>(other).axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

/** uint32 indices that sort along one axis, stable (equal elements keep their order). */
class KILN_API ArgSort : public UnaryPrimitive {
 public:
  ArgSort(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ArgSort)
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const ArgSort&>(other).axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

/** Reorders along one axis so element `kth` (non-negative) is where a sort would put it, with
 *  nothing larger before it and nothing smaller after it. */
class KILN_API Partition : public UnaryPrimitive {
 public:
  Partition(Stream stream, int kth, int axis) : UnaryPrimitive(stream), kth_(kth), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Partition)
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const Partition&>(other);
    return o.kth_ == kth_ && o.axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int kth() const { return kth_; }
  int axis() const { return axis_; }

 private:
  int kth_;
  int axis_;
};

/** uint32 indices that partition along one axis around element `kth` (see Partition). */
class KILN_API ArgPartition : public UnaryPrimitive {
 public:
  ArgPartition(Stream stream, int kth, int axis) : UnaryPrimitive(stream), kth_(kth), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ArgPartition)
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const ArgPartition&>(other);
    return o.kth_ == kth_ && o.axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int kth() const { return kth_; }
  int axis() const { return axis_; }

 private:
  int kth_;
  int axis_;
};

/** Cumulative sum/product/max/min/logaddexp along one axis; the input already has the output
 *  dtype. `inclusive` false shifts by one (the first element is the operation's identity). */
class KILN_API Scan : public UnaryPrimitive {
 public:
  enum ScanType { Sum, Prod, Max, Min, LogAddExp };
  Scan(Stream stream, ScanType type, int axis, bool reverse, bool inclusive)
      : UnaryPrimitive(stream), type_(type), axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  KILN_PRIMITIVE_EVAL
  const char* name() const override {
    switch (type_) {
      case Sum: return "CumSum";
      case Prod: return "CumProd";
      case Max: return "CumMax";
      case Min: return "CumMin";
      default: return "CumLogAddExp";
    }
  }
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const Scan&>(other);
    return o.type_ == type_ && o.axis_ == axis_ && o.reverse_ == reverse_ && o.inclusive_ == inclusive_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  ScanType type() const { return type_; }
  int axis() const { return axis_; }
  bool reverse() const { return reverse_; }
  bool inclusive() const { return inclusive_; }

 private:
  ScanType type_;
  int axis_;
  bool reverse_;
  bool inclusive_;
};

// ---- indexing ----
/** Gathers slices of inputs[0] at the positions given by inputs[1..] (integer arrays of one
 *  shape, one per axis in `axes`). The output has shape indices.shape + slice_sizes. Negative
 *  indices wrap; out-of-range indices are clamped (never read out of bounds). */
class KILN_API Gather : public UnaryPrimitive {
 public:
  Gather(Stream stream, std::vector<int> axes, Shape slice_sizes)
      : UnaryPrimitive(stream), axes_(std::move(axes)), slice_sizes_(std::move(slice_sizes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Gather)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  const std::vector<int>& axes() const { return axes_; }
  const Shape& slice_sizes() const { return slice_sizes_; }

 private:
  std::vector<int> axes_;
  Shape slice_sizes_;
};

/** A copy of inputs[0] with the slices at the positions given by inputs[1..n-1] (integer arrays
 *  of one shape, one per axis in `axes`) combined with inputs[n-1] (shape indices.shape + slice
 *  shape, input's dtype). Duplicate positions apply in order (None: the last wins). Negative
 *  indices wrap; out-of-range positions are skipped. */
class KILN_API Scatter : public UnaryPrimitive {
 public:
  enum ReduceType { None, Sum, Prod, Max, Min };
  Scatter(Stream stream, ReduceType reduce, std::vector<int> axes)
      : UnaryPrimitive(stream), reduce_(reduce), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  const char* name() const override;
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  ReduceType reduce_type() const { return reduce_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceType reduce_;
  std::vector<int> axes_;
};

/** A copy of inputs[0] with the region start:stop:strides (positive strides, clamped bounds)
 *  replaced by inputs[1] (the region's shape, the input's dtype). */
class KILN_API SliceUpdate : public UnaryPrimitive {
 public:
  SliceUpdate(Stream stream, Shape start, Shape stop, Shape strides)
      : UnaryPrimitive(stream), start_(std::move(start)), stop_(std::move(stop)), strides_(std::move(strides)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(SliceUpdate)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  Shape start_, stop_, strides_;
};

// ---- linalg (LAPACK factorizations; ops in kiln/linalg.h) ----
/** Inverse of each square matrix (..., N, N). With `tri`, the input is triangular (only the
 *  `upper` or lower triangle is read) and so is the result. */
class KILN_API Inverse : public UnaryPrimitive {
 public:
  Inverse(Stream stream, bool tri, bool upper) : UnaryPrimitive(stream), tri_(tri), upper_(upper) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Inverse)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  bool tri_, upper_;
};

/** Cholesky factor of each symmetric positive-definite matrix: L (lower) or U (`upper`),
 *  the other triangle zero. */
class KILN_API Cholesky : public UnaryPrimitive {
 public:
  Cholesky(Stream stream, bool upper) : UnaryPrimitive(stream), upper_(upper) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Cholesky)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  bool upper_;
};

/** LU factorization with partial pivoting of (..., M, N): outputs the packed L and U factors,
 *  the 0-based row pivots (..., min(M, N)) and the row permutation p (..., M) with
 *  A = (L @ U)[p], both uint32. */
class KILN_API LUF : public Primitive {
 public:
  explicit LUF(Stream stream) : Primitive(stream) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(LUF)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};

/** Reduced QR factorization of (..., M, N): Q (..., M, K) and R (..., K, N), K = min(M, N). */
class KILN_API QRF : public Primitive {
 public:
  explicit QRF(Stream stream) : Primitive(stream) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(QRF)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};

/** Singular values (..., K) of (..., M, N), descending; with `compute_uv` also U (..., M, M)
 *  before them and Vt (..., N, N) after them. */
class KILN_API SVD : public Primitive {
 public:
  SVD(Stream stream, bool compute_uv) : Primitive(stream), compute_uv_(compute_uv) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(SVD)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool compute_uv_;
};

/** Eigenvalues (ascending) of symmetric matrices, reading the `uplo` ('L' or 'U') triangle;
 *  with `compute_vectors` also the eigenvectors as columns. */
class KILN_API Eigh : public Primitive {
 public:
  Eigh(Stream stream, char uplo, bool compute_vectors)
      : Primitive(stream), uplo_(uplo), compute_vectors_(compute_vectors) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Eigh)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  char uplo_;
  bool compute_vectors_;
};

/** Eigenvalues of general square matrices as complex64; with `compute_vectors` also the
 *  (unit-norm) right eigenvectors as columns. */
class KILN_API Eig : public Primitive {
 public:
  Eig(Stream stream, bool compute_vectors) : Primitive(stream), compute_vectors_(compute_vectors) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Eig)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool compute_vectors_;
};

// ---- random ----
/** Counter-based random bits (Threefry-2x32, 20 rounds) from a uint32 key of shape (2,): the
 *  output (uint8/uint16/uint32 for `width` 1/2/4) is the byte stream of the words
 *  threefry(key, (j mod 2^32, j / 2^32)) for blocks j = 0, 1, ..., so every device gives the
 *  same numbers for the same key. */
class KILN_API RandomBits : public UnaryPrimitive {
 public:
  RandomBits(Stream stream, Shape shape, int width) : UnaryPrimitive(stream), shape_(std::move(shape)), width_(width) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(RandomBits)
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const RandomBits&>(other);
    return o.shape_ == shape_ && o.width_ == width_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>&) override { return {shape_}; }
  int width() const { return width_; }

 private:
  Shape shape_;
  int width_;
};

// ---- conv ----
/** N-D convolution with channels-last layouts: input (N, spatial..., C_in), weight
 *  (C_out, kernel..., C_in / groups), output (N, out spatial..., C_out). The input is dilated by
 *  `input_dilation` (transposed convolutions), padded by `padding_lo`/`padding_hi` (in dilated
 *  coordinates), then correlated with the kernel dilated by `kernel_dilation` at `stride`;
 *  `flip` reverses the kernel's spatial axes (true convolution). Inputs share one float dtype. */
class KILN_API Convolution : public UnaryPrimitive {
 public:
  Convolution(Stream stream, std::vector<int> stride, std::vector<int> padding_lo, std::vector<int> padding_hi,
              std::vector<int> kernel_dilation, std::vector<int> input_dilation, int groups, bool flip)
      : UnaryPrimitive(stream),
        stride_(std::move(stride)),
        padding_lo_(std::move(padding_lo)),
        padding_hi_(std::move(padding_hi)),
        kernel_dilation_(std::move(kernel_dilation)),
        input_dilation_(std::move(input_dilation)),
        groups_(groups),
        flip_(flip) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Convolution)
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const Convolution&>(other);
    return o.stride_ == stride_ && o.padding_lo_ == padding_lo_ && o.padding_hi_ == padding_hi_ &&
           o.kernel_dilation_ == kernel_dilation_ && o.input_dilation_ == input_dilation_ && o.groups_ == groups_ &&
           o.flip_ == flip_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> stride_, padding_lo_, padding_hi_, kernel_dilation_, input_dilation_;
  int groups_;
  bool flip_;
};

// ---- fft ----
/** Unnormalized DFT over `axes` (sorted, unique) of a row-major view of the input, any length.
 *  Complex: complex64 in and out, same shape (`inverse`: exponent sign +). `real` and not
 *  `inverse`: float32 in, complex64 out with the last of `axes` cut to n / 2 + 1. `real` and
 *  `inverse`: complex64 in (last axis n / 2 + 1) and float32 out with `n_last` points there.
 *  The result is multiplied by `scale` (the norm's 1/n or 1/sqrt(n), folded into the output pass). */
class KILN_API FFT : public UnaryPrimitive {
 public:
  FFT(Stream stream, std::vector<int> axes, bool inverse, bool real, int n_last = 0, double scale = 1.0)
      : UnaryPrimitive(stream), axes_(std::move(axes)), inverse_(inverse), real_(real), n_last_(n_last), scale_(scale) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(FFT)
  bool is_equivalent(const Primitive& other) const override {
    if (typeid(other) != typeid(*this)) return false;
    auto& o = static_cast<const FFT&>(other);
    return o.axes_ == axes_ && o.inverse_ == inverse_ && o.real_ == real_ && o.n_last_ == n_last_ && o.scale_ == scale_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override {
    Shape sh = inputs[0].shape();
    if (real_) sh[axes_.back()] = inverse_ ? n_last_ : sh[axes_.back()] / 2 + 1;
    return {sh};
  }

 private:
  std::vector<int> axes_;
  bool inverse_, real_;
  int n_last_;
  double scale_;
};

// ---- contractions ----
/** Walsh-Hadamard transform along the last axis of a float array, n = m * 2^k with m in
 *  {1, 12, 20, 28}: y = scale * kron(H_m, H_2^k) @ x for each row x. */
class KILN_API Hadamard : public UnaryPrimitive {
 public:
  Hadamard(Stream stream, double scale) : UnaryPrimitive(stream), scale_(scale) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Hadamard)
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const Hadamard&>(other).scale_ == scale_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  double scale_;
};

/** Inputs a (..., M, K), b (..., K, N) of one float dtype and integer indices lhs, rhs of one
 *  shape I: out[i] = a[lhs[i]] @ b[rhs[i]] (flat indices into the batch dims), shape I + (M, N). */
class KILN_API GatherMM : public UnaryPrimitive {
 public:
  explicit GatherMM(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(GatherMM)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override {
    Shape sh = inputs[2].shape();
    sh.push_back(inputs[0].shape(-2));
    sh.push_back(inputs[1].shape(-1));
    return {sh};
  }
};

// ---- api_misc ----
/** The input's bytes read as another dtype (shares the buffer when the input is row-major). */
class KILN_API View : public UnaryPrimitive {
 public:
  View(Stream stream, Dtype dtype) : UnaryPrimitive(stream), dtype_(dtype) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(View)
  bool is_equivalent(const Primitive& other) const override;

 private:
  Dtype dtype_;
};

/** Outputs that share the buffers of the first inputs; the other inputs are only dependencies. */
class KILN_API Depends : public Primitive {
 public:
  explicit Depends(Stream stream) : Primitive(stream) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Depends)
};

/** Float to e4m3 float8 bits (uint8), nearest-even, saturating at +-448 (NaN included). */
KILN_ELEMENTWISE_PRIMITIVE(ToFP8)
/** e4m3 float8 bits (uint8) to the output's float dtype. */
KILN_ELEMENTWISE_PRIMITIVE(FromFP8)

// ---- fft/perf ----
/** Solution X of A X = B for each square matrix A (..., N, N) and B (..., N, K) of the same
 *  batch shape, by LU factorization with partial pivoting (LAPACK gesv). */
class KILN_API Solve : public UnaryPrimitive {
 public:
  explicit Solve(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Solve)
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[1].shape()}; }
};

#undef KILN_ELEMENTWISE_PRIMITIVE

}  // namespace kiln
