// Bindings of kiln/array.h: the `array` class, its operators, conversions, buffer protocol,
// DLPack, pickling and the methods MLX puts on arrays.
#include <nanobind/ndarray.h>

#include <cstring>

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

// ---------------------------------------------------------------- buffer protocol

struct BufferInfo {
  array a;  // keeps the data alive even if the Python object is rebound by an in-place op
  std::vector<Py_ssize_t> shape, strides;
};

const char* buffer_format(Dtype t) {
  switch (t.val) {
    case Dtype::Val::bool_: return "?";
    case Dtype::Val::uint8: return "B";
    case Dtype::Val::uint16: return "H";
    case Dtype::Val::uint32: return "I";
    case Dtype::Val::uint64: return "Q";
    case Dtype::Val::int8: return "b";
    case Dtype::Val::int16: return "h";
    case Dtype::Val::int32: return "i";
    case Dtype::Val::int64: return "q";
    case Dtype::Val::float16: return "e";
    case Dtype::Val::float32: return "f";
    case Dtype::Val::float64: return "d";
    case Dtype::Val::complex64: return "Zf";
  }
  return "B";
}

char g_empty_buffer[8];

int array_getbuffer(PyObject* obj, Py_buffer* view, int flags) {
  try {
    array a = *nb::inst_ptr<array>(obj);  // a copy: an in-place op may rebind the object meanwhile
    if (a.dtype() == bfloat16) {
      // PEP 3118 has no bfloat16 code; failing here lets NumPy fall back to __array__ (float32).
      throw std::invalid_argument("bfloat16 arrays do not export the buffer protocol; use numpy.array(a).");
    }
    eval_array(a);
    auto fl = a.flags();
    bool row = fl.row_contiguous, col = fl.col_contiguous;
    if ((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS && !row) {
      throw std::invalid_argument("The array is not C-contiguous.");
    }
    if ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && !col) {
      throw std::invalid_argument("The array is not Fortran-contiguous.");
    }
    if ((flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS && !row && !col) {
      throw std::invalid_argument("The array is not contiguous.");
    }
    if ((flags & PyBUF_STRIDES) != PyBUF_STRIDES && !row) {
      throw std::invalid_argument("The array is not C-contiguous; request strides.");
    }
    auto* info = new BufferInfo{a, {}, {}};
    for (int i = 0; i < a.ndim(); ++i) {
      info->shape.push_back(a.shape()[i]);
      info->strides.push_back(static_cast<Py_ssize_t>(a.strides()[i] * a.itemsize()));
    }
    void* data = a.data<void>();
    view->buf = (a.size() == 0 || !data) ? g_empty_buffer : data;
    view->obj = obj;
    Py_INCREF(obj);
    view->len = static_cast<Py_ssize_t>(a.nbytes());
    view->readonly = 0;
    view->itemsize = static_cast<Py_ssize_t>(a.itemsize());
    view->format = (flags & PyBUF_FORMAT) ? const_cast<char*>(buffer_format(a.dtype())) : nullptr;
    view->ndim = a.ndim();
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? info->shape.data() : nullptr;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? info->strides.data() : nullptr;
    view->suboffsets = nullptr;
    view->internal = info;
    return 0;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_BufferError, "[array] Could not export the buffer.");
  }
  view->obj = nullptr;
  return -1;
}

void array_releasebuffer(PyObject*, Py_buffer* view) { delete static_cast<BufferInfo*>(view->internal); }

PyType_Slot array_slots[] = {{Py_bf_getbuffer, reinterpret_cast<void*>(array_getbuffer)},
                             {Py_bf_releasebuffer, reinterpret_cast<void*>(array_releasebuffer)},
                             {0, nullptr}};

// ---------------------------------------------------------------- operators

[[noreturn]] void bad_operand(const char* what, nb::handle other) {
  throw std::invalid_argument(std::string("Cannot perform ") + what + " on a kiln.core.array and " +
                              Py_TYPE(other.ptr())->tp_name);
}

inline array operand(const array& a, nb::handle b, const char* what) {
  array out;
  if (!to_array_like(b, a.dtype(), out)) bad_operand(what, b);
  return out;
}

using BinaryFn = array (*)(const array&, const array&, StreamOrDevice);

template <BinaryFn F>
array binop(const array& a, nb::handle b, const char* what) {
  return F(a, operand(a, b, what), {});
}
template <BinaryFn F>
array rbinop(const array& a, nb::handle b, const char* what) {
  return F(operand(a, b, what), a, {});
}
template <BinaryFn F>
nb::object ibinop(nb::pointer_and_handle<array> self, nb::handle b, const char* what) {
  array& a = *self.p;
  a = F(a, operand(a, b, what), {});
  return nb::borrow(self.h);
}

array shape_args(const array& a, const nb::args& args, StreamOrDevice s, bool transpose) {
  // Accepts a.reshape(2, 3) and a.reshape((2, 3)) alike.
  std::vector<int> dims;
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) {
    dims = nb::cast<std::vector<int>>(args[0]);
  } else {
    dims.reserve(args.size());
    for (nb::handle h : args) dims.push_back(nb::cast<int>(h));
  }
  if (transpose) return dims.empty() ? kiln::transpose(a, s) : kiln::transpose(a, std::move(dims), s);
  return kiln::reshape(a, Shape(dims.begin(), dims.end()), s);
}

// Iterates over the first axis.
struct ArrayIterator {
  array a;
  int index = 0;
  int n = 0;
};

array index_first(const array& a, int i) {
  Shape start(a.ndim(), 0), stop(a.shape());
  start[0] = i;
  stop[0] = i + 1;
  return squeeze(slice(a, std::move(start), std::move(stop)), 0);
}

nb::object state_of(const array& a) {
  array c = contiguous_copy(a, a.dtype());
  nb::bytes data(c.data<char>(), c.nbytes());
  return nb::make_tuple(data, shape_tuple(a.shape()), dtype_name(a.dtype()));
}

Dtype dtype_from_name(const std::string& name) {
  for (Dtype d : all_dtypes) {
    if (dtype_name(d) == name) return d;
  }
  throw std::invalid_argument("[array.__setstate__] Unknown dtype " + name + ".");
}

}  // namespace

void init_array(nb::module_& m) {
  nb::class_<ArrayIterator>(m, "ArrayIterator", "Iterator over the first axis of an array.")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__next__", [](ArrayIterator& it) {
        if (it.index >= it.n) throw nb::stop_iteration();
        return index_first(it.a, it.index++);
      });

  auto cls = nb::class_<array>(m, "array", nb::type_slots(array_slots), nb::is_weak_referenceable(),
                               "An N-dimensional array, evaluated lazily.");

  cls.def(
      "__init__",
      [](array* self, nb::handle val, std::optional<Dtype> dtype) { new (self) array(to_array(val, dtype)); },
      "val"_a, "dtype"_a = nb::none(),
      nb::sig("def __init__(self, val: bool | int | float | complex | list | tuple | array | "
              "DLPackCompatible, dtype: Dtype | None = None) -> None"),
      "Creates an array from a Python scalar, (nested) list or tuple, NumPy array or any object "
      "with the buffer protocol or ``__dlpack__``, or another array.\n\n"
      "Args:\n    val: The values.\n    dtype (Dtype, optional): The element type. Inferred when "
      "omitted: bool -> bool, int -> int32 (int64 if needed), float -> float32, complex -> "
      "complex64; NumPy arrays keep their type except float64 -> float32.");
  m.def(
      "from_dlpack", [](nb::handle x, nb::handle) { return to_array(x); }, "x"_a, nb::kw_only(),
      "copy"_a = nb::none(),
      "Creates an array from an object with ``__dlpack__`` (or the buffer protocol). The data are "
      "copied.\n\nArgs:\n    x: The DLPack-compatible object.\n\nReturns:\n    array");
  // Scalars convert implicitly where an array is expected (mx.exp(1.0)).
  nb::implicitly_convertible<ImplicitArraySource, array>();

  // ---- metadata ----
  cls.def_prop_ro(
         "shape", [](const array& a) { return shape_tuple(a.shape()); },
         nb::sig("def shape(self) -> tuple[int, ...]"), "The shape of the array as a tuple.")
      .def_prop_ro("dtype", &array::dtype, "The array's Dtype.")
      .def_prop_ro("size", &array::size, "Number of elements.")
      .def_prop_ro("ndim", &array::ndim, "Number of dimensions.")
      .def_prop_ro("itemsize", &array::itemsize, "Size of one element in bytes.")
      .def_prop_ro("nbytes", &array::nbytes, "Number of bytes of the elements.")
      .def_prop_ro("T", [](const array& a) { return kiln::transpose(a); }, "The array with its axes reversed.")
      .def_prop_ro(
          "mT",
          [](const array& a) {
            if (a.ndim() < 2) {
              throw std::invalid_argument("[matrix_transpose] Input array must have at least 2 dimensions.");
            }
            return kiln::swapaxes(a, -1, -2);
          },
          "The array with its last two axes swapped.")
      .def_prop_ro("real", [](const array& a) { return kiln::real(a); }, "The real part of a complex array.")
      .def_prop_ro("imag", [](const array& a) { return kiln::imag(a); }, "The imaginary part of a complex array.");

  // ---- conversion to Python ----
  cls.def("item", &to_scalar, "The array's only element as a Python scalar.\n\nReturns:\n    bool | int | float | complex")
      .def("tolist", &tolist, "The elements as (nested) Python lists.\n\nReturns:\n    list | scalar")
      .def("__bool__", [](array& a) { return nb::cast<bool>(nb::bool_(to_scalar(a))); })
      .def("__int__", [](array& a) { return nb::int_(to_scalar(a)); })
      .def("__float__", [](array& a) { return nb::float_(to_scalar(a)); })
      .def("__complex__", [](array& a) {
        nb::object v = to_scalar(a);
        return nb::steal(PyComplex_FromCComplex(PyComplex_AsCComplex(v.ptr())));
      })
      .def("__index__",
           [](array& a) {
             if (a.ndim() != 0 || !is_integral(a.dtype())) {
               throw nb::type_error("Only 0-dimensional integer arrays can be converted to an index.");
             }
             return to_scalar(a);
           })
      .def("__len__",
           [](const array& a) {
             if (a.ndim() == 0) throw nb::type_error("len() 0-dimensional array.");
             return a.shape()[0];
           })
      .def("__iter__",
           [](const array& a) {
             if (a.ndim() == 0) throw nb::type_error("iter() 0-dimensional array.");
             return ArrayIterator{a, 0, a.shape()[0]};
           })
      .def("__repr__", &format_array)
      .def("__str__", &format_array)
      .def("__format__",
           [](nb::handle self, nb::handle spec) {
             array a = *nb::inst_ptr<array>(self);
             if (nb::len(spec) == 0) return nb::str(format_array(a).c_str());
             if (a.ndim() != 0) throw nb::type_error("unsupported format string passed to kiln.core.array.__format__");
             return nb::str(nb::handle(PyObject_Format(to_scalar(a).ptr(), spec.ptr())));
           })
      .def("__hash__", [](nb::handle self) { return reinterpret_cast<intptr_t>(self.ptr()); })
      .def("__bytes__",
           [](array& a) {
             array c = contiguous_copy(a, a.dtype());
             return nb::bytes(c.data<char>(), c.nbytes());
           })
      .def(
          "__array__",
          [](array& a, nb::handle dtype, nb::handle copy) {
            nb::object out = to_numpy(a);
            if (!dtype.is_none()) out = out.attr("astype")(dtype, "copy"_a = false);
            if (copy.ptr() == Py_True) out = out.attr("copy")();
            return out;
          },
          "dtype"_a = nb::none(), "copy"_a = nb::none(),
          "A NumPy array sharing the array's data (bfloat16 is converted to float32).")
      .def(
          "__dlpack__",
          [](array& a, nb::kwargs kwargs) {
            if (kwargs.contains("dl_device")) {
              nb::handle dev = kwargs["dl_device"];
              if (!dev.is_none() && nb::cast<std::pair<int, int>>(dev).first != 1) {
                throw nb::buffer_error("[__dlpack__] kiln arrays live in CPU memory (kDLCPU).");
              }
            }
            return to_dlpack_capsule(a);
          },
          nb::sig("def __dlpack__(self, *, stream: object | None = None, max_version: tuple[int, int] | None = None, "
                  "dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> object"),
          "Exports the array through DLPack (a capsule sharing its data).")
      .def("__dlpack_device__", [](const array&) { return nb::make_tuple(1, 0); },
           "The DLPack device of the array: (kDLCPU, 0).")
      .def("__getstate__", &state_of)
      .def("__setstate__",
           [](array& self, const nb::tuple& state) {
             nb::bytes data = nb::cast<nb::bytes>(state[0]);
             std::vector<int> shape = nb::cast<std::vector<int>>(state[1]);
             Dtype t = dtype_from_name(nb::cast<std::string>(state[2]));
             Shape sh(shape.begin(), shape.end());
             size_t nbytes = static_cast<size_t>(shape_size(sh)) * size_of(t);
             if (data.size() != nbytes) throw std::invalid_argument("[array.__setstate__] Corrupt state.");
             array out(allocator::malloc(nbytes), sh, t);
             if (nbytes) std::memcpy(out.data<char>(), data.c_str(), nbytes);
             new (&self) array(std::move(out));
           })
      .def("__copy__", [](const array& a) { return a; })
      .def("__deepcopy__", [](array& a, nb::handle) { return contiguous_copy(a, a.dtype()); }, "memo"_a)
      .def("__getitem__", &getitem, "index"_a.none())
      .def(
          "__setitem__",
          [](array& self, nb::handle index, nb::handle value) { self = setitem(self, index, value); },
          "index"_a.none(), "value"_a.none())
      .def_prop_ro("at", &array_at, "An indexer for updates that return new arrays: ``x.at[idx].add(y)``.")
      .def("astype", [](const array& a, Dtype t, StreamOrDevice s) { return astype(a, t, s); }, "dtype"_a,
           "stream"_a = nb::none(),
           "The array converted to ``dtype``.\n\nArgs:\n    dtype (Dtype): The new element type.\n\nReturns:\n    array");

  // ---- arithmetic operators ----
#define KILN_BINOP(name, rname, iname, fn, what)                                                                \
  cls.def(name, [](const array& a, nb::handle b) { return binop<fn>(a, b, what); }, nb::is_operator());        \
  cls.def(rname, [](const array& a, nb::handle b) { return rbinop<fn>(a, b, what); }, nb::is_operator());      \
  cls.def(iname, [](nb::pointer_and_handle<array> a, nb::handle b) { return ibinop<fn>(a, b, "inplace " what); });

  KILN_BINOP("__add__", "__radd__", "__iadd__", kiln::add, "addition")
  KILN_BINOP("__sub__", "__rsub__", "__isub__", kiln::subtract, "subtraction")
  KILN_BINOP("__mul__", "__rmul__", "__imul__", kiln::multiply, "multiplication")
  KILN_BINOP("__truediv__", "__rtruediv__", "__itruediv__", kiln::divide, "division")
  KILN_BINOP("__div__", "__rdiv__", "__idiv__", kiln::divide, "division")
  KILN_BINOP("__floordiv__", "__rfloordiv__", "__ifloordiv__", kiln::floor_divide, "floor division")
  KILN_BINOP("__mod__", "__rmod__", "__imod__", kiln::remainder, "modulus")
  KILN_BINOP("__pow__", "__rpow__", "__ipow__", kiln::power, "power")
  KILN_BINOP("__and__", "__rand__", "__iand__", kiln::bitwise_and, "bitwise and")
  KILN_BINOP("__or__", "__ror__", "__ior__", kiln::bitwise_or, "bitwise or")
  KILN_BINOP("__xor__", "__rxor__", "__ixor__", kiln::bitwise_xor, "bitwise xor")
  KILN_BINOP("__lshift__", "__rlshift__", "__ilshift__", kiln::left_shift, "left shift")
  KILN_BINOP("__rshift__", "__rrshift__", "__irshift__", kiln::right_shift, "right shift")
#undef KILN_BINOP

  cls.def("__matmul__", [](const array& a, const array& b) { return kiln::matmul(a, b); }, nb::is_operator())
      .def("__rmatmul__", [](const array& a, const array& b) { return kiln::matmul(b, a); }, nb::is_operator())
      .def("__imatmul__", [](nb::pointer_and_handle<array> self, const array& b) {
        *self.p = kiln::matmul(*self.p, b);
        return nb::borrow(self.h);
      });

  // Comparisons; == and != give False/True for operands that are not array-like.
  cls.def("__lt__", [](const array& a, nb::handle b) { return binop<kiln::less>(a, b, "less than"); }, nb::is_operator())
      .def("__le__", [](const array& a, nb::handle b) { return binop<kiln::less_equal>(a, b, "less than or equal"); },
           nb::is_operator())
      .def("__gt__", [](const array& a, nb::handle b) { return binop<kiln::greater>(a, b, "greater than"); },
           nb::is_operator())
      .def("__ge__",
           [](const array& a, nb::handle b) { return binop<kiln::greater_equal>(a, b, "greater than or equal"); },
           nb::is_operator())
      .def(
          "__eq__",
          [](const array& a, nb::handle b) -> nb::object {
            array y;
            if (!to_array_like(b, a.dtype(), y)) return nb::bool_(false);
            return nb::cast(kiln::equal(a, y));
          },
          "other"_a.none(), nb::is_operator())
      .def(
          "__ne__",
          [](const array& a, nb::handle b) -> nb::object {
            array y;
            if (!to_array_like(b, a.dtype(), y)) return nb::bool_(true);
            return nb::cast(kiln::not_equal(a, y));
          },
          "other"_a.none(), nb::is_operator());

  cls.def("__neg__", [](const array& a) { return kiln::negative(a); })
      .def("__pos__", [](nb::handle self) { return nb::borrow(self); })
      .def("__abs__", [](const array& a) { return kiln::abs(a); })
      .def("__invert__", [](const array& a) { return kiln::bitwise_invert(a); });

  // ---- methods (as on mlx.core.array) ----
  auto sd = "stream"_a = nb::none();
  cls.def(
         "reshape", [](const array& a, nb::args shape, StreamOrDevice s) { return shape_args(a, shape, s, false); },
         "shape"_a, "stream"_a = nb::none(),
         nb::sig("def reshape(self, *shape: int, stream: Stream | Device | None = None) -> array"),
         "Equivalent to :func:`reshape`; the shape may be given as one sequence or as separate ints.")
      .def(
          "transpose", [](const array& a, nb::args axes, StreamOrDevice s) { return shape_args(a, axes, s, true); },
          "axes"_a, "stream"_a = nb::none(),
          nb::sig("def transpose(self, *axes: int, stream: Stream | Device | None = None) -> array"),
          "Equivalent to :func:`transpose`; the axes may be given as one sequence or as separate ints.")
      .def(
          "flatten",
          [](const array& a, int start_axis, int end_axis, StreamOrDevice s) {
            return kiln::flatten(a, start_axis, end_axis, s);
          },
          "start_axis"_a = 0, "end_axis"_a = -1, nb::kw_only(), sd, "See :func:`flatten`.")
      .def(
          "squeeze",
          [](const array& a, const std::optional<IntOrVec>& axis, StreamOrDevice s) {
            return axis ? kiln::squeeze(a, to_axes(*axis), s) : kiln::squeeze(a, s);
          },
          "axis"_a = nb::none(), nb::kw_only(), sd, "See :func:`squeeze`.")
      .def(
          "swapaxes", [](const array& a, int a1, int a2, StreamOrDevice s) { return kiln::swapaxes(a, a1, a2, s); },
          "axis1"_a, "axis2"_a, nb::kw_only(), sd, "See :func:`swapaxes`.")
      .def(
          "moveaxis", [](const array& a, int src, int dst, StreamOrDevice s) { return kiln::moveaxis(a, src, dst, s); },
          "source"_a, "destination"_a, nb::kw_only(), sd, "See :func:`moveaxis`.")
      .def(
          "split",
          [](const array& a, const IntOrShape& ios, int axis, StreamOrDevice s) {
            if (auto* n = std::get_if<int>(&ios)) return kiln::split(a, *n, axis, s);
            return kiln::split(a, std::get<Shape>(ios), axis, s);
          },
          "indices_or_sections"_a, "axis"_a = 0, nb::kw_only(), sd, "See :func:`split`.");

#define KILN_REDUCE_METHOD(name)                                                                               \
  cls.def(                                                                                                     \
      #name,                                                                                                   \
      [](const array& a, const std::optional<IntOrVec>& axis, bool keepdims, StreamOrDevice s) {               \
        return axis ? kiln::name(a, to_axes(*axis), keepdims, s) : kiln::name(a, keepdims, s);                 \
      },                                                                                                       \
      "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(), "See :func:`" #name "`.");
  KILN_REDUCE_METHOD(all)
  KILN_REDUCE_METHOD(any)
  KILN_REDUCE_METHOD(sum)
  KILN_REDUCE_METHOD(prod)
  KILN_REDUCE_METHOD(max)
  KILN_REDUCE_METHOD(min)
  KILN_REDUCE_METHOD(mean)
  KILN_REDUCE_METHOD(logsumexp)
#undef KILN_REDUCE_METHOD

#define KILN_VAR_METHOD(name)                                                                                  \
  cls.def(                                                                                                     \
      #name,                                                                                                   \
      [](const array& a, const std::optional<IntOrVec>& axis, bool keepdims, int ddof,                         \
         std::optional<int> correction, StreamOrDevice s) {                                                    \
        int d = correction ? *correction : ddof;                                                               \
        return axis ? kiln::name(a, to_axes(*axis), keepdims, d, s) : kiln::name(a, keepdims, d, s);           \
      },                                                                                                       \
      "axis"_a = nb::none(), "keepdims"_a = false, "ddof"_a = 0, nb::kw_only(), "correction"_a = nb::none(),   \
      "stream"_a = nb::none(), "See :func:`" #name "`.");
  KILN_VAR_METHOD(var)
  KILN_VAR_METHOD(std)
#undef KILN_VAR_METHOD

#define KILN_ARG_METHOD(name)                                                                                  \
  cls.def(                                                                                                     \
      #name,                                                                                                   \
      [](const array& a, std::optional<int> axis, bool keepdims, StreamOrDevice s) {                           \
        return axis ? kiln::name(a, *axis, keepdims, s) : kiln::name(a, keepdims, s);                          \
      },                                                                                                       \
      "axis"_a = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a = nb::none(), "See :func:`" #name "`.");
  KILN_ARG_METHOD(argmax)
  KILN_ARG_METHOD(argmin)
#undef KILN_ARG_METHOD

#define KILN_UNARY_METHOD(name, fn)                                                                            \
  cls.def(#name, [](const array& a, StreamOrDevice s) { return kiln::fn(a, s); }, nb::kw_only(),             \
          "stream"_a = nb::none(), "See :func:`" #fn "`.");
  KILN_UNARY_METHOD(abs, abs)
  KILN_UNARY_METHOD(conj, conjugate)
  KILN_UNARY_METHOD(cos, cos)
  KILN_UNARY_METHOD(sin, sin)
  KILN_UNARY_METHOD(exp, exp)
  KILN_UNARY_METHOD(log, log)
  KILN_UNARY_METHOD(log2, log2)
  KILN_UNARY_METHOD(log10, log10)
  KILN_UNARY_METHOD(log1p, log1p)
  KILN_UNARY_METHOD(reciprocal, reciprocal)
  KILN_UNARY_METHOD(rsqrt, rsqrt)
  KILN_UNARY_METHOD(sqrt, sqrt)
  KILN_UNARY_METHOD(square, square)
#undef KILN_UNARY_METHOD

  cls.def(
      "round", [](const array& a, int decimals, StreamOrDevice s) { return kiln::round(a, decimals, s); },
      "decimals"_a = 0, nb::kw_only(), "stream"_a = nb::none(), "See :func:`round`.");
}
