// Primitives: the nodes of the computation graph. Each class holds everything about one
// computation: its parameters, CPU and GPU evaluation, transformation rules and identity.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "kiln/array.h"
#include "kiln/serialize.h"
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

  /** True if each output element depends only on the input elements at the same index (after
   *  broadcasting): compile fuses chains of such primitives into one kernel. */
  virtual bool is_elementwise() const { return false; }
  /** True if `other` computes the same function (same class and parameters). */
  virtual bool is_equivalent(const Primitive& other) const { return false; }
  /** Class name, as in error messages: "Add", "Reduce". */
  virtual const char* name() const = 0;
  /** Name with parameters, for graph printing. */
  virtual void print(std::ostream& os) const { os << name(); }
  /** Writes the parameters for export_function (KILN_PRIMITIVE_STATE defines it); the default
   *  raises: the primitive cannot be exported. */
  virtual void write_state(StateWriter& w) const;
  /** The class's name for import_function (name() may tell variants apart, e.g. Sum/Max). */
  virtual const char* class_name() const { return name(); }

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

// Transformation rules; their definitions live in kiln/rules/<family>.cpp.
#define KILN_PRIMITIVE_GRADS                                                                    \
  std::vector<array> jvp(const std::vector<array>& primals, const std::vector<array>& tangents, \
                         const std::vector<int>& argnums) override;                             \
  std::vector<array> vjp(const std::vector<array>& primals, const std::vector<array>& cotangents, \
                         const std::vector<int>& argnums, const std::vector<array>& outputs) override;

#define KILN_PRIMITIVE_VMAP                                                                       \
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& inputs, \
                                                       const std::vector<int>& axes) override;

#define KILN_PRIMITIVE_TRANSFORMS KILN_PRIMITIVE_GRADS KILN_PRIMITIVE_VMAP

// The parameters of class Name, in the order of its constructor after the stream: exported by
// export_function, and passed back to that constructor by import_function once the class is
// registered with KILN_REGISTER_PRIMITIVE(Name) after its definition.
#define KILN_PRIMITIVE_STATE(Name, ...)                                         \
  auto state() const { return std::make_tuple(__VA_ARGS__); }                \
  const char* class_name() const override { return #Name; }                  \
  void write_state(StateWriter& w) const override { w.write_tuple(state()); }

#define KILN_REGISTER_PRIMITIVE(Name)                                                                       \
  inline const bool kiln_registered_##Name = ::kiln::detail::register_primitive(                          \
      #Name, [](Stream s, StateReader& r) -> std::shared_ptr<Primitive> {                                 \
        using State = decltype(std::declval<const Name&>().state());                                      \
        return std::apply([&](auto&&... xs) { return std::make_shared<Name>(s, std::move(xs)...); },       \
                          r.read_tuple<State>());                                                         \
      });

// Elementwise primitives have no parameters: any two instances of a class are equivalent,
// and the output has the (already broadcast) shape of the inputs.
#define KILN_ELEMENTWISE_PRIMITIVE(Name)                                           \
  class KILN_API Name : public UnaryPrimitive {                                    \
   public:                                                                         \
    explicit Name(Stream stream) : UnaryPrimitive(stream) {}                       \
    KILN_PRIMITIVE_EVAL                                                            \
    KILN_PRIMITIVE_NAME(Name)                                                      \
    KILN_PRIMITIVE_TRANSFORMS                                                      \
    bool is_elementwise() const override { return true; }                          \
    KILN_PRIMITIVE_STATE(Name)                                                     \
    bool is_equivalent(const Primitive& other) const override {                    \
      return typeid(other) == typeid(*this);                                       \
    }                                                                              \
    std::vector<Shape> output_shapes(const std::vector<array>& inputs) override {  \
      return {inputs[0].shape()};                                                  \
    }                                                                              \
  };                                                                               \
  KILN_REGISTER_PRIMITIVE(Name)

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
  KILN_PRIMITIVE_STATE(AsType, dtype_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(AsType)
  bool is_elementwise() const override { return true; }
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  Dtype dtype() const { return dtype_; }

 private:
  Dtype dtype_;
};
KILN_REGISTER_PRIMITIVE(AsType)

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
  KILN_PRIMITIVE_STATE(Arange, start_, stop_, step_)
  KILN_PRIMITIVE_NAME(Arange)
  bool is_equivalent(const Primitive& other) const override;
  double start() const { return start_; }
  double step() const { return step_; }

 private:
  double start_, stop_, step_;
};
KILN_REGISTER_PRIMITIVE(Arange)

// ---- transforms (kiln/transforms.h) ----
/** Shares its input's buffer. Marks the inputs of a transformation, so that nested
 *  transformations see them as ordinary nodes of the enclosing graph. */
KILN_ELEMENTWISE_PRIMITIVE(Identity)

/** Shares its input's buffer; derivatives do not flow through it. */
KILN_ELEMENTWISE_PRIMITIVE(StopGradient)

/** The node custom_function puts after `fun`: inputs are fun's `num_inputs` arguments followed by
 *  its outputs (behind stop_gradient), and the outputs share those outputs' buffers. The rules are
 *  the user's, or fun's own derivatives where the user gave none. */
class KILN_API CustomTransforms : public Primitive {
 public:
  using Fun = std::function<std::vector<array>(const std::vector<array>&)>;
  using VjpFn = std::function<std::vector<array>(const std::vector<array>&, const std::vector<array>&,
                                                 const std::vector<array>&)>;
  using JvpFn = std::function<std::vector<array>(const std::vector<array>&, const std::vector<array>&,
                                                 const std::vector<int>&)>;
  using VmapFn = std::function<std::pair<std::vector<array>, std::vector<int>>(const std::vector<array>&,
                                                                              const std::vector<int>&)>;
  CustomTransforms(Stream stream, int num_inputs, Fun fun, VjpFn vjp, JvpFn jvp, VmapFn vmap)
      : Primitive(stream), num_inputs_(num_inputs), fun_(std::move(fun)), vjp_(std::move(vjp)),
        jvp_(std::move(jvp)), vmap_(std::move(vmap)) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(CustomTransforms)
  KILN_PRIMITIVE_TRANSFORMS
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  int num_inputs_;
  Fun fun_;
  VjpFn vjp_;
  JvpFn jvp_;
  VmapFn vmap_;
};

// ---- reductions ----
class KILN_API Reduce : public UnaryPrimitive {
 public:
  enum ReduceType { And, Or, Sum, Prod, Min, Max };
  /** Reduces over `axes` (sorted, unique); the output keeps them as size-1 dims. */
  Reduce(Stream stream, ReduceType type, std::vector<int> axes)
      : UnaryPrimitive(stream), type_(type), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Reduce, type_, axes_)
  KILN_PRIMITIVE_TRANSFORMS
  const char* name() const override;
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  ReduceType type() const { return type_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceType type_;
  std::vector<int> axes_;
};
KILN_REGISTER_PRIMITIVE(Reduce)

/** Index (uint32) of the min or max along one axis, kept as a size-1 dim. */
class KILN_API ArgReduce : public UnaryPrimitive {
 public:
  enum ReduceType { ArgMin, ArgMax };
  ArgReduce(Stream stream, ReduceType type, int axis) : UnaryPrimitive(stream), type_(type), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(ArgReduce, type_, axis_)
  KILN_PRIMITIVE_TRANSFORMS
  const char* name() const override { return type_ == ArgMin ? "ArgMin" : "ArgMax"; }
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  ReduceType type() const { return type_; }
  int axis() const { return axis_; }

 private:
  ReduceType type_;
  int axis_;
};
KILN_REGISTER_PRIMITIVE(ArgReduce)

/** Softmax over the last axis; `precise` accumulates half inputs in float32. */
class KILN_API Softmax : public UnaryPrimitive {
 public:
  Softmax(Stream stream, bool precise) : UnaryPrimitive(stream), precise_(precise) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Softmax, precise_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Softmax)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  bool precise() const { return precise_; }

 private:
  bool precise_;
};
KILN_REGISTER_PRIMITIVE(Softmax)

/** log(sum(exp(x))) over the last axis, kept as a size-1 dim; stable for large inputs. */
class KILN_API LogSumExp : public UnaryPrimitive {
 public:
  explicit LogSumExp(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(LogSumExp)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(LogSumExp)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};
KILN_REGISTER_PRIMITIVE(LogSumExp)

// ---- shape and views ----
/** New shape of the same elements; a view when the strides allow it, else a copy. */
class KILN_API Reshape : public UnaryPrimitive {
 public:
  Reshape(Stream stream, Shape shape) : UnaryPrimitive(stream), shape_(std::move(shape)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Reshape, shape_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Reshape)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>&) override { return {shape_}; }
  /** Strides that view `in` as `shape` without copying, if any exist. */
  static std::pair<bool, Strides> view_strides(const array& in, const Shape& shape);

 private:
  Shape shape_;
};
KILN_REGISTER_PRIMITIVE(Reshape)

/** Permutes the axes (a view). */
class KILN_API Transpose : public UnaryPrimitive {
 public:
  Transpose(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Transpose, axes_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Transpose)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  const std::vector<int>& axes() const { return axes_; }

 private:
  std::vector<int> axes_;
};
KILN_REGISTER_PRIMITIVE(Transpose)

/** Broadcasts to a larger shape with zero strides (a view). */
class KILN_API Broadcast : public UnaryPrimitive {
 public:
  Broadcast(Stream stream, Shape shape) : UnaryPrimitive(stream), shape_(std::move(shape)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Broadcast, shape_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Broadcast)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>&) override { return {shape_}; }

 private:
  Shape shape_;
};
KILN_REGISTER_PRIMITIVE(Broadcast)

/** Strided slice [start, stop) with positive or negative steps (a view). */
class KILN_API Slice : public UnaryPrimitive {
 public:
  Slice(Stream stream, Shape start, Shape stop, Shape steps)
      : UnaryPrimitive(stream), start_(std::move(start)), stop_(std::move(stop)), steps_(std::move(steps)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Slice, start_, stop_, steps_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Slice)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  Shape start_, stop_, steps_;
};
KILN_REGISTER_PRIMITIVE(Slice)

/** Inserts size-1 axes (a view). */
class KILN_API ExpandDims : public UnaryPrimitive {
 public:
  ExpandDims(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(ExpandDims, axes_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(ExpandDims)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> axes_;  // sorted positions in the output
};
KILN_REGISTER_PRIMITIVE(ExpandDims)

/** Removes size-1 axes (a view). */
class KILN_API Squeeze : public UnaryPrimitive {
 public:
  Squeeze(Stream stream, std::vector<int> axes) : UnaryPrimitive(stream), axes_(std::move(axes)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Squeeze, axes_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Squeeze)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> axes_;  // sorted positions in the input
};
KILN_REGISTER_PRIMITIVE(Squeeze)

/** A view with explicit shape, strides and element offset. */
class KILN_API AsStrided : public UnaryPrimitive {
 public:
  AsStrided(Stream stream, Shape shape, Strides strides, size_t offset)
      : UnaryPrimitive(stream), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(AsStrided)
  KILN_PRIMITIVE_STATE(AsStrided, shape_, strides_, offset_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;

 private:
  Shape shape_;
  Strides strides_;
  size_t offset_;
};
KILN_REGISTER_PRIMITIVE(AsStrided)

/** Joins inputs of one dtype along an axis (a copy). */
class KILN_API Concatenate : public UnaryPrimitive {
 public:
  Concatenate(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Concatenate, axis_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Concatenate)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  int axis() const { return axis_; }

 private:
  int axis_;
};
KILN_REGISTER_PRIMITIVE(Concatenate)

/** Splits along an axis at `indices` into several outputs (views of the input). */
class KILN_API Split : public Primitive {
 public:
  Split(Stream stream, std::vector<int> indices, int axis)
      : Primitive(stream), indices_(std::move(indices)), axis_(axis) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_STATE(Split, indices_, axis_)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Split)
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  std::vector<int> indices_;
  int axis_;
};
KILN_REGISTER_PRIMITIVE(Split)

// ---- linear algebra ----
/** Batched matrix product of (..., M, K) and (..., K, N) with equal batch shapes. */
class KILN_API Matmul : public UnaryPrimitive {
 public:
  explicit Matmul(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_STATE(Matmul)
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_NAME(Matmul)
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};
KILN_REGISTER_PRIMITIVE(Matmul)

// ---- sort_scan ----
/** Sorts along one axis (NaN last, complex lexicographic); the output is row-major. */
class KILN_API Sort : public UnaryPrimitive {
 public:
  Sort(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Sort)
  KILN_PRIMITIVE_STATE(Sort, axis_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const Sort&>(other).axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int axis() const { return axis_; }

 private:
  int axis_;
};
KILN_REGISTER_PRIMITIVE(Sort)

/** uint32 indices that sort along one axis, stable (equal elements keep their order). */
class KILN_API ArgSort : public UnaryPrimitive {
 public:
  ArgSort(Stream stream, int axis) : UnaryPrimitive(stream), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ArgSort)
  KILN_PRIMITIVE_STATE(ArgSort, axis_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const ArgSort&>(other).axis_ == axis_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  int axis() const { return axis_; }

 private:
  int axis_;
};
KILN_REGISTER_PRIMITIVE(ArgSort)

/** Reorders along one axis so element `kth` (non-negative) is where a sort would put it, with
 *  nothing larger before it and nothing smaller after it. */
class KILN_API Partition : public UnaryPrimitive {
 public:
  Partition(Stream stream, int kth, int axis) : UnaryPrimitive(stream), kth_(kth), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Partition)
  KILN_PRIMITIVE_STATE(Partition, kth_, axis_)
  KILN_PRIMITIVE_TRANSFORMS
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
KILN_REGISTER_PRIMITIVE(Partition)

/** uint32 indices that partition along one axis around element `kth` (see Partition). */
class KILN_API ArgPartition : public UnaryPrimitive {
 public:
  ArgPartition(Stream stream, int kth, int axis) : UnaryPrimitive(stream), kth_(kth), axis_(axis) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ArgPartition)
  KILN_PRIMITIVE_STATE(ArgPartition, kth_, axis_)
  KILN_PRIMITIVE_TRANSFORMS
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
KILN_REGISTER_PRIMITIVE(ArgPartition)

/** Cumulative sum/product/max/min/logaddexp along one axis; the input already has the output
 *  dtype. `inclusive` false shifts by one (the first element is the operation's identity). */
class KILN_API Scan : public UnaryPrimitive {
 public:
  enum ScanType { Sum, Prod, Max, Min, LogAddExp };
  Scan(Stream stream, ScanType type, int axis, bool reverse, bool inclusive)
      : UnaryPrimitive(stream), type_(type), axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_STATE(Scan, type_, axis_, reverse_, inclusive_)
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
KILN_REGISTER_PRIMITIVE(Scan)

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
  KILN_PRIMITIVE_STATE(Gather, axes_, slice_sizes_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
  const std::vector<int>& axes() const { return axes_; }
  const Shape& slice_sizes() const { return slice_sizes_; }

 private:
  std::vector<int> axes_;
  Shape slice_sizes_;
};
KILN_REGISTER_PRIMITIVE(Gather)

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
  KILN_PRIMITIVE_TRANSFORMS
  KILN_PRIMITIVE_STATE(Scatter, reduce_, axes_)
  const char* name() const override;
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }
  ReduceType reduce_type() const { return reduce_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceType reduce_;
  std::vector<int> axes_;
};
KILN_REGISTER_PRIMITIVE(Scatter)

/** A copy of inputs[0] with the region start:stop:strides (positive strides, clamped bounds)
 *  replaced by inputs[1] (the region's shape, the input's dtype). */
class KILN_API SliceUpdate : public UnaryPrimitive {
 public:
  SliceUpdate(Stream stream, Shape start, Shape stop, Shape strides)
      : UnaryPrimitive(stream), start_(std::move(start)), stop_(std::move(stop)), strides_(std::move(strides)) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(SliceUpdate)
  KILN_PRIMITIVE_STATE(SliceUpdate, start_, stop_, strides_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  Shape start_, stop_, strides_;
};
KILN_REGISTER_PRIMITIVE(SliceUpdate)

// ---- linalg (LAPACK factorizations; ops in kiln/linalg.h) ----
/** Inverse of each square matrix (..., N, N). With `tri`, the input is triangular (only the
 *  `upper` or lower triangle is read) and so is the result. */
class KILN_API Inverse : public UnaryPrimitive {
 public:
  Inverse(Stream stream, bool tri, bool upper) : UnaryPrimitive(stream), tri_(tri), upper_(upper) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Inverse)
  KILN_PRIMITIVE_STATE(Inverse, tri_, upper_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  bool tri_, upper_;
};
KILN_REGISTER_PRIMITIVE(Inverse)

/** Cholesky factor of each symmetric positive-definite matrix: L (lower) or U (`upper`),
 *  the other triangle zero. */
class KILN_API Cholesky : public UnaryPrimitive {
 public:
  Cholesky(Stream stream, bool upper) : UnaryPrimitive(stream), upper_(upper) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Cholesky)
  KILN_PRIMITIVE_STATE(Cholesky, upper_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  bool upper_;
};
KILN_REGISTER_PRIMITIVE(Cholesky)

/** LU factorization with partial pivoting of (..., M, N): outputs the packed L and U factors,
 *  the 0-based row pivots (..., min(M, N)) and the row permutation p (..., M) with
 *  A = (L @ U)[p], both uint32. */
class KILN_API LUF : public Primitive {
 public:
  explicit LUF(Stream stream) : Primitive(stream) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(LUF)
  KILN_PRIMITIVE_STATE(LUF)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};
KILN_REGISTER_PRIMITIVE(LUF)

/** Reduced QR factorization of (..., M, N): Q (..., M, K) and R (..., K, N), K = min(M, N). */
class KILN_API QRF : public Primitive {
 public:
  explicit QRF(Stream stream) : Primitive(stream) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(QRF)
  KILN_PRIMITIVE_STATE(QRF)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;
};
KILN_REGISTER_PRIMITIVE(QRF)

/** Singular values (..., K) of (..., M, N), descending; with `compute_uv` also U (..., M, M)
 *  before them and Vt (..., N, N) after them. */
class KILN_API SVD : public Primitive {
 public:
  SVD(Stream stream, bool compute_uv) : Primitive(stream), compute_uv_(compute_uv) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(SVD)
  KILN_PRIMITIVE_STATE(SVD, compute_uv_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool compute_uv_;
};
KILN_REGISTER_PRIMITIVE(SVD)

/** Eigenvalues (ascending) of symmetric matrices, reading the `uplo` ('L' or 'U') triangle;
 *  with `compute_vectors` also the eigenvectors as columns. */
class KILN_API Eigh : public Primitive {
 public:
  Eigh(Stream stream, char uplo, bool compute_vectors)
      : Primitive(stream), uplo_(uplo), compute_vectors_(compute_vectors) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Eigh)
  KILN_PRIMITIVE_STATE(Eigh, uplo_, compute_vectors_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  char uplo_;
  bool compute_vectors_;
};
KILN_REGISTER_PRIMITIVE(Eigh)

/** Eigenvalues of general square matrices as complex64; with `compute_vectors` also the
 *  (unit-norm) right eigenvectors as columns. */
class KILN_API Eig : public Primitive {
 public:
  Eig(Stream stream, bool compute_vectors) : Primitive(stream), compute_vectors_(compute_vectors) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Eig)
  KILN_PRIMITIVE_STATE(Eig, compute_vectors_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override;

 private:
  bool compute_vectors_;
};
KILN_REGISTER_PRIMITIVE(Eig)

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
  KILN_PRIMITIVE_STATE(RandomBits, shape_, width_)
  KILN_PRIMITIVE_TRANSFORMS
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
KILN_REGISTER_PRIMITIVE(RandomBits)

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
  KILN_PRIMITIVE_STATE(Convolution, stride_, padding_lo_, padding_hi_, kernel_dilation_, input_dilation_, groups_, flip_)
  KILN_PRIMITIVE_TRANSFORMS
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
KILN_REGISTER_PRIMITIVE(Convolution)

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
  KILN_PRIMITIVE_STATE(FFT, axes_, inverse_, real_, n_last_, scale_)
  KILN_PRIMITIVE_TRANSFORMS
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
KILN_REGISTER_PRIMITIVE(FFT)

// ---- contractions ----
/** Walsh-Hadamard transform along the last axis of a float array, n = m * 2^k with m in
 *  {1, 12, 20, 28}: y = scale * kron(H_m, H_2^k) @ x for each row x. */
class KILN_API Hadamard : public UnaryPrimitive {
 public:
  Hadamard(Stream stream, double scale) : UnaryPrimitive(stream), scale_(scale) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Hadamard)
  KILN_PRIMITIVE_STATE(Hadamard, scale_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const Hadamard&>(other).scale_ == scale_;
  }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[0].shape()}; }

 private:
  double scale_;
};
KILN_REGISTER_PRIMITIVE(Hadamard)

/** Inputs a (..., M, K), b (..., K, N) of one float dtype and integer indices lhs, rhs of one
 *  shape I: out[i] = a[lhs[i]] @ b[rhs[i]] (flat indices into the batch dims), shape I + (M, N). */
class KILN_API GatherMM : public UnaryPrimitive {
 public:
  explicit GatherMM(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(GatherMM)
  KILN_PRIMITIVE_STATE(GatherMM)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override {
    Shape sh = inputs[2].shape();
    sh.push_back(inputs[0].shape(-2));
    sh.push_back(inputs[1].shape(-1));
    return {sh};
  }
};
KILN_REGISTER_PRIMITIVE(GatherMM)

// ---- api_misc ----
/** The input's bytes read as another dtype (shares the buffer when the input is row-major). */
class KILN_API View : public UnaryPrimitive {
 public:
  View(Stream stream, Dtype dtype) : UnaryPrimitive(stream), dtype_(dtype) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(View)
  KILN_PRIMITIVE_STATE(View, dtype_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override;

 private:
  Dtype dtype_;
};
KILN_REGISTER_PRIMITIVE(View)

/** `n_outputs` outputs that share the buffers of the first inputs; the other inputs are only
 *  dependencies. */
class KILN_API Depends : public Primitive {
 public:
  Depends(Stream stream, int n_outputs) : Primitive(stream), n_outputs_(n_outputs) {}
  KILN_PRIMITIVE_EVAL_MULTI
  KILN_PRIMITIVE_NAME(Depends)
  KILN_PRIMITIVE_STATE(Depends, n_outputs_)
  KILN_PRIMITIVE_TRANSFORMS

 private:
  int n_outputs_;
};
KILN_REGISTER_PRIMITIVE(Depends)

// The fp8 conversions are elementwise but not fused by compile (the CPU JIT has no functor for
// them), so they are declared as plain unary primitives.
/** Float to e4m3 float8 bits (uint8), nearest-even, saturating at +-448 (NaN included). */
class KILN_API ToFP8 : public UnaryPrimitive {
 public:
  explicit ToFP8(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(ToFP8)
  KILN_PRIMITIVE_STATE(ToFP8)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
};
KILN_REGISTER_PRIMITIVE(ToFP8)

/** e4m3 float8 bits (uint8) to the float `dtype`. */
class KILN_API FromFP8 : public UnaryPrimitive {
 public:
  FromFP8(Stream stream, Dtype dtype) : UnaryPrimitive(stream), dtype_(dtype) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(FromFP8)
  KILN_PRIMITIVE_STATE(FromFP8, dtype_)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override {
    return typeid(other) == typeid(*this) && static_cast<const FromFP8&>(other).dtype_ == dtype_;
  }

 private:
  Dtype dtype_;
};
KILN_REGISTER_PRIMITIVE(FromFP8)

// ---- fft/perf ----
/** Solution X of A X = B for each square matrix A (..., N, N) and B (..., N, K) of the same
 *  batch shape, by LU factorization with partial pivoting (LAPACK gesv). */
class KILN_API Solve : public UnaryPrimitive {
 public:
  explicit Solve(Stream stream) : UnaryPrimitive(stream) {}
  KILN_PRIMITIVE_EVAL
  KILN_PRIMITIVE_NAME(Solve)
  KILN_PRIMITIVE_STATE(Solve)
  KILN_PRIMITIVE_TRANSFORMS
  bool is_equivalent(const Primitive& other) const override { return typeid(other) == typeid(*this); }
  std::vector<Shape> output_shapes(const std::vector<array>& inputs) override { return {inputs[1].shape()}; }
};
KILN_REGISTER_PRIMITIVE(Solve)

#undef KILN_ELEMENTWISE_PRIMITIVE

}  // namespace kiln
