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

#undef KILN_ELEMENTWISE_PRIMITIVE

}  // namespace kiln
