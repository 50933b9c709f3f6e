// Conversions between Python values and arrays: construction from scalars, nested lists and
// buffer/DLPack objects; weakly typed scalars for operators; item/tolist; printing; NumPy views.
#include <nanobind/ndarray.h>

#include <complex>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <utility>

#include "utils.h"

namespace kiln::py {

bool has_buffer_or_dlpack(nb::handle h) {
  return PyObject_CheckBuffer(h.ptr()) || PyCapsule_CheckExact(h.ptr()) || nb::hasattr(h, "__dlpack__");
}

namespace {

template <typename T>
struct is_cplx : std::false_type {};
template <typename T>
struct is_cplx<std::complex<T>> : std::true_type {};

template <typename S>
inline double to_double(const S& v) {
  if constexpr (std::is_same_v<S, bfloat16_t> || std::is_same_v<S, float16_t>) {
    return static_cast<double>(static_cast<float>(v));
  } else {
    return static_cast<double>(v);
  }
}

// One element converted from S to D with C's rules (float -> integer truncates; out-of-range
// values give what the hardware conversion gives, as in MLX), complex -> real drops the
// imaginary part.
template <typename D, typename S>
inline D convert_elem(const S& v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (is_cplx<S>::value) {
    if constexpr (is_cplx<D>::value) {
      using R = typename D::value_type;
      return D(static_cast<R>(v.real()), static_cast<R>(v.imag()));
    } else {
      return convert_elem<D>(v.real());
    }
  } else if constexpr (std::is_same_v<S, bfloat16_t>) {
    return convert_elem<D>(static_cast<float>(v));
  } else if constexpr (is_cplx<D>::value) {
    using R = typename D::value_type;
    return D(static_cast<R>(to_double(v)), R(0));
  } else if constexpr (std::is_same_v<D, bool>) {
    return to_double(v) != 0.0;
  } else if constexpr (std::is_integral_v<D> && std::is_same_v<S, float16_t>) {
    return static_cast<D>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, bfloat16_t>) {
    if constexpr (std::is_same_v<S, double>) {
      return bfloat16_t(static_cast<float>(v));
    } else {
      return bfloat16_t(v);
    }
  } else {
    return static_cast<D>(v);
  }
}

// Copies a strided N-d block (strides in elements) into a dense row-major buffer, converting.
template <typename S, typename D>
void copy_convert(const S* src, const int64_t* shape, const int64_t* strides, int ndim, D* dst) {
  size_t n = 1;
  bool dense = true;
  int64_t expect = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    n *= static_cast<size_t>(shape[d]);
    if (shape[d] != 1 && strides[d] != expect) dense = false;
    expect *= shape[d];
  }
  if (n == 0) return;
  if (dense) {
    if constexpr (std::is_same_v<S, D>) {
      std::memcpy(dst, src, n * sizeof(S));
    } else {
      for (size_t i = 0; i < n; ++i) dst[i] = convert_elem<D>(src[i]);
    }
    return;
  }
  std::vector<int64_t> idx(ndim, 0);
  int64_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    dst[i] = convert_elem<D>(src[off]);
    for (int d = ndim - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// A fresh evaluated array of `dtype` and `shape` with uninitialized data.
array empty_leaf(const Shape& shape, Dtype dtype) {
  size_t n = static_cast<size_t>(shape_size(shape));
  return array(allocator::malloc(n * size_of(dtype)), shape, dtype);
}

// ---- DLPack / buffer import ----

// Calls f(type_tag<T>) with the C++ type of a DLPack dtype (wider than kiln's: complex128).
template <typename F>
void dispatch_dlpack(nb::dlpack::dtype t, F&& f) {
  using C = nb::dlpack::dtype_code;
  auto code = static_cast<C>(t.code);
  if (t.lanes == 1) {
    switch (code) {
      case C::Bool:
        if (t.bits == 8) return f(type_tag<bool>{});
        break;
      case C::Int:
        if (t.bits == 8) return f(type_tag<int8_t>{});
        if (t.bits == 16) return f(type_tag<int16_t>{});
        if (t.bits == 32) return f(type_tag<int32_t>{});
        if (t.bits == 64) return f(type_tag<int64_t>{});
        break;
      case C::UInt:
        if (t.bits == 8) return f(type_tag<uint8_t>{});
        if (t.bits == 16) return f(type_tag<uint16_t>{});
        if (t.bits == 32) return f(type_tag<uint32_t>{});
        if (t.bits == 64) return f(type_tag<uint64_t>{});
        break;
      case C::Float:
        if (t.bits == 16) return f(type_tag<float16_t>{});
        if (t.bits == 32) return f(type_tag<float>{});
        if (t.bits == 64) return f(type_tag<double>{});
        break;
      case C::Bfloat:
        if (t.bits == 16) return f(type_tag<bfloat16_t>{});
        break;
      case C::Complex:
        if (t.bits == 64) return f(type_tag<complex64_t>{});
        if (t.bits == 128) return f(type_tag<std::complex<double>>{});
        break;
      default:
        break;
    }
  }
  throw std::invalid_argument("[array] Unsupported element type (DLPack code " + std::to_string(t.code) +
                              ", " + std::to_string(t.bits) + " bits) in array initialization.");
}

// The dtype MLX gives a NumPy/DLPack array: its own, except float64 -> float32 and
// complex128 -> complex64.
template <typename T>
Dtype natural_dtype_of() {
  if constexpr (std::is_same_v<T, double>) {
    return float32;
  } else if constexpr (std::is_same_v<T, std::complex<double>>) {
    return complex64;
  } else {
    return TypeToDtype<T>::value;
  }
}

array from_ndarray(const nb::ndarray<nb::ro>& nd, std::optional<Dtype> dtype) {
  if (nd.device_type() != nb::device::cpu::value) {
    throw std::invalid_argument("[array] Only CPU memory can be imported (DLPack device type " +
                                std::to_string(nd.device_type()) + ").");
  }
  int ndim = static_cast<int>(nd.ndim());
  Shape shape(ndim);
  std::vector<int64_t> shp(ndim), strides(ndim);
  for (int i = 0; i < ndim; ++i) {
    shp[i] = static_cast<int64_t>(nd.shape(i));
    if (shp[i] > std::numeric_limits<ShapeElem>::max()) {
      throw std::invalid_argument("[array] Dimension too large for kiln's int32 shapes.");
    }
    shape[i] = static_cast<ShapeElem>(shp[i]);
    strides[i] = nd.stride(i);
  }
  array out;
  dispatch_dlpack(nd.dtype(), [&](auto stag) {
    using S = typename decltype(stag)::type;
    Dtype target = dtype ? *dtype : natural_dtype_of<S>();
    out = empty_leaf(shape, target);
    dispatch_all_types(target, "array", [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      copy_convert(static_cast<const S*>(nd.data()), shp.data(), strides.data(), ndim, out.data<D>());
    });
  });
  return out;
}

// ---- nested lists ----

enum class Kind : int { none = 0, boolean = 1, integer = 2, floating = 3, complex = 4 };

struct ListInfo {
  Shape shape;
  int leaf_depth = -1;
  Kind kind = Kind::none;
  bool big_int = false;  // some int needs int64
  bool has_arrays = false;
};

[[noreturn]] void invalid_type(nb::handle h) {
  throw std::invalid_argument("Invalid type " + std::string(Py_TYPE(h.ptr())->tp_name) +
                              " received in array initialization.");
}

// Reads a Python int as int64 (or uint64 when it only fits there).
struct PyIntValue {
  int64_t s = 0;
  uint64_t u = 0;
  bool is_unsigned = false;  // fits uint64 but not int64
};

PyIntValue read_int(nb::handle h) {
  PyIntValue v;
  int overflow = 0;
  v.s = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  if (overflow == 0) return v;
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
    if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
      v.u = u;
      v.is_unsigned = true;
      return v;
    }
    PyErr_Clear();
  }
  throw std::invalid_argument("[array] Python integer " + std::string(nb::str(h).c_str()) +
                              " is out of the range of 64-bit integers.");
}

bool is_list_like(nb::handle h) { return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()); }

void scan_list(nb::handle h, int depth, ListInfo& info) {
  if (depth > 64) throw std::invalid_argument("[array] Nested lists are too deep.");
  if (is_list_like(h)) {
    if (info.leaf_depth >= 0 && depth >= info.leaf_depth) {
      throw std::invalid_argument("Initialization encountered extra dimension.");
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(h.ptr());
    if (static_cast<int>(info.shape.size()) == depth) {
      info.shape.push_back(static_cast<ShapeElem>(n));
    } else if (info.shape[depth] != n) {
      throw std::invalid_argument("Initialization encountered non-uniform length.");
    }
    PyObject** items = PySequence_Fast_ITEMS(h.ptr());
    for (Py_ssize_t i = 0; i < n; ++i) {
      scan_list(items[i], depth + 1, info);
      if (info.has_arrays) return;
    }
    return;
  }
  if (nb::isinstance<array>(h)) {
    info.has_arrays = true;
    return;
  }
  if (info.leaf_depth < 0) {
    if (static_cast<int>(info.shape.size()) != depth) {
      throw std::invalid_argument("Initialization encountered extra dimension.");
    }
    info.leaf_depth = depth;
  } else if (depth != info.leaf_depth) {
    throw std::invalid_argument("Initialization encountered extra dimension.");
  }
  PyObject* p = h.ptr();
  Kind k;
  if (PyBool_Check(p)) {
    k = Kind::boolean;
  } else if (PyLong_Check(p)) {
    k = Kind::integer;
    PyIntValue v = read_int(h);
    if (v.is_unsigned || v.s > std::numeric_limits<int32_t>::max() || v.s < std::numeric_limits<int32_t>::min()) {
      info.big_int = true;
    }
  } else if (PyFloat_Check(p)) {
    k = Kind::floating;
  } else if (PyComplex_Check(p)) {
    k = Kind::complex;
  } else {
    invalid_type(h);
  }
  if (static_cast<int>(k) > static_cast<int>(info.kind)) info.kind = k;
}

template <typename D>
void fill_list(nb::handle h, D*& out) {
  PyObject* p = h.ptr();
  if (PyList_Check(p) || PyTuple_Check(p)) {
    Py_ssize_t n = PySequence_Fast_GET_SIZE(p);
    PyObject** items = PySequence_Fast_ITEMS(p);
    for (Py_ssize_t i = 0; i < n; ++i) fill_list<D>(items[i], out);
    return;
  }
  if (PyBool_Check(p)) {
    *out++ = convert_elem<D>(p == Py_True);
  } else if (PyLong_Check(p)) {
    PyIntValue v = read_int(h);
    *out++ = v.is_unsigned ? convert_elem<D>(v.u) : convert_elem<D>(v.s);
  } else if (PyFloat_Check(p)) {
    *out++ = convert_elem<D>(PyFloat_AS_DOUBLE(p));
  } else {
    Py_complex c = PyComplex_AsCComplex(p);
    *out++ = convert_elem<D>(std::complex<double>(c.real, c.imag));
  }
}

Dtype kind_dtype(Kind k, bool big_int) {
  switch (k) {
    case Kind::boolean: return bool_;
    case Kind::integer: return big_int ? int64 : int32;
    case Kind::complex: return complex64;
    default: return float32;
  }
}

array from_list(nb::handle h, std::optional<Dtype> dtype);

// Lists holding arrays: convert each element and stack them (lazily), as MLX does.
array from_list_with_arrays(nb::handle h, std::optional<Dtype> dtype) {
  std::vector<array> parts;
  for (nb::handle item : h) {
    if (nb::isinstance<array>(item)) {
      parts.push_back(*nb::inst_ptr<array>(item));
    } else if (is_list_like(item)) {
      parts.push_back(from_list(item, std::nullopt));
    } else {
      parts.push_back(to_array(item));
    }
  }
  Dtype t = parts.front().dtype();
  for (auto& p : parts) t = promote_types(t, p.dtype());
  array out = stack(parts, 0);
  return astype(out, dtype ? *dtype : t);
}

array from_list(nb::handle h, std::optional<Dtype> dtype) {
  ListInfo info;
  scan_list(h, 0, info);
  if (info.has_arrays) return from_list_with_arrays(h, dtype);
  Dtype t = dtype ? *dtype : kind_dtype(info.kind, info.big_int);
  array out = empty_leaf(info.shape, t);
  dispatch_all_types(t, "array", [&](auto tag) {
    using D = typename decltype(tag)::type;
    D* p = out.data<D>();
    fill_list<D>(h, p);
  });
  return out;
}


// A 0-d array of `t` holding a Python int, with MLX's overflow check for integer types.
array int_scalar(nb::handle h, Dtype t) {
  PyIntValue v = read_int(h);
  if (is_integral(t)) {
    bool fits = dispatch_all_types(t, "array", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (v.is_unsigned) return std::is_same_v<T, uint64_t>;
        if constexpr (std::is_unsigned_v<T>) {
          return v.s >= 0 && static_cast<uint64_t>(v.s) <= std::numeric_limits<T>::max();
        } else {
          return v.s >= std::numeric_limits<T>::min() && v.s <= std::numeric_limits<T>::max();
        }
      } else {
        return true;
      }
    });
    if (!fits) {
      throw std::invalid_argument("Converting " + std::string(nb::str(h).c_str()) + " to " + dtype_name(t) +
                                  " would result in overflow.");
    }
  }
  return v.is_unsigned ? array(v.u, t) : array(v.s, t);
}

Dtype natural_int_dtype(nb::handle h) {
  PyIntValue v = read_int(h);
  if (v.is_unsigned) return uint64;
  return (v.s > std::numeric_limits<int32_t>::max() || v.s < std::numeric_limits<int32_t>::min()) ? int64 : int32;
}

complex64_t read_complex(nb::handle h) {
  Py_complex c = PyComplex_AsCComplex(h.ptr());
  return complex64_t(static_cast<float>(c.real), static_cast<float>(c.imag));
}

}  // namespace

}  // namespace kiln::py

namespace nanobind::detail {
bool type_caster<kiln::py::ImplicitArraySource>::from_python(handle src, uint32_t, cleanup_list*) noexcept {
  PyObject* p = src.ptr();
  if (PyLong_Check(p) || PyFloat_Check(p) || PyComplex_Check(p)) return true;
  if (PyUnicode_Check(p) || PyList_Check(p) || PyTuple_Check(p) || p == Py_None) return false;
  return kiln::py::has_buffer_or_dlpack(src);
}
}  // namespace nanobind::detail

namespace kiln::py {

bool is_python_scalar(nb::handle v) {
  PyObject* p = v.ptr();
  return PyLong_Check(p) || PyFloat_Check(p) || PyComplex_Check(p);  // bool is an int subclass
}

array to_array(nb::handle v, std::optional<Dtype> dtype) {
  PyObject* p = v.ptr();
  if (nb::isinstance<array>(v)) {
    const array& a = *nb::inst_ptr<array>(v);
    return (dtype && *dtype != a.dtype()) ? astype(a, *dtype) : a;
  }
  if (PyBool_Check(p)) return array(p == Py_True, dtype.value_or(bool_));
  if (PyLong_Check(p)) {
    if (dtype) {
      PyIntValue iv = read_int(v);
      return iv.is_unsigned ? array(iv.u, *dtype) : array(iv.s, *dtype);
    }
    return int_scalar(v, natural_int_dtype(v));
  }
  if (PyFloat_Check(p)) return array(PyFloat_AS_DOUBLE(p), dtype.value_or(float32));
  if (PyComplex_Check(p)) return array(read_complex(v), dtype.value_or(complex64));
  if (PyList_Check(p) || PyTuple_Check(p)) return from_list(v, dtype);
  if (!PyUnicode_Check(p) && has_buffer_or_dlpack(v)) {
    nb::ndarray<nb::ro> nd;
    if (nb::try_cast(v, nd, false)) return from_ndarray(nd, dtype);
  }
  invalid_type(v);
}

bool to_array_like(nb::handle v, Dtype other, array& out) {
  PyObject* p = v.ptr();
  if (nb::isinstance<array>(v)) {
    out = *nb::inst_ptr<array>(v);
  } else if (PyBool_Check(p)) {
    out = array(p == Py_True, other);
  } else if (PyLong_Check(p)) {
    out = other == bool_ ? int_scalar(v, natural_int_dtype(v)) : int_scalar(v, other);
  } else if (PyFloat_Check(p)) {
    out = array(PyFloat_AS_DOUBLE(p), is_inexact(other) ? other : float32);
  } else if (PyComplex_Check(p)) {
    out = array(read_complex(v), complex64);
  } else if (!PyUnicode_Check(p) && !PyList_Check(p) && !PyTuple_Check(p) && !v.is_none() &&
             has_buffer_or_dlpack(v)) {
    out = to_array(v, other);
  } else {
    return false;
  }
  return true;
}

std::pair<array, array> to_arrays(nb::handle a, nb::handle b) {
  array x, y;
  if (nb::isinstance<array>(a)) {
    x = *nb::inst_ptr<array>(a);
    if (!to_array_like(b, x.dtype(), y)) invalid_type(b);
  } else if (nb::isinstance<array>(b)) {
    y = *nb::inst_ptr<array>(b);
    if (!to_array_like(a, y.dtype(), x)) invalid_type(a);
  } else if (is_python_scalar(a) && !is_python_scalar(b)) {
    // The array-like side sets the type, the scalar follows it.
    y = to_array(b);
    if (!to_array_like(a, y.dtype(), x)) invalid_type(a);
  } else {
    x = to_array(a);
    if (!to_array_like(b, x.dtype(), y)) invalid_type(b);
  }
  return {std::move(x), std::move(y)};
}

// ---------------------------------------------------------------- array -> Python

void eval_array(array& a) {
  if (a.status() == array::Status::evaluated) return;
  nb::gil_scoped_release nogil;
  a.eval();
}

namespace {

template <typename T>
PyObject* to_py(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return PyBool_FromLong(v);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return PyLong_FromLongLong(v);
  } else if constexpr (std::is_integral_v<T>) {
    return PyLong_FromUnsignedLongLong(v);
  } else if constexpr (std::is_same_v<T, complex64_t>) {
    return PyComplex_FromDoubles(v.real(), v.imag());
  } else {
    return PyFloat_FromDouble(to_double(v));
  }
}

template <typename T>
nb::object tolist_rec(const array& a, const T* base, int dim) {
  int n = a.shape()[dim];
  int64_t st = a.strides()[dim];
  nb::list out;
  for (int i = 0; i < n; ++i) {
    const T* p = base + i * st;
    if (dim + 1 == a.ndim()) {
      out.append(nb::steal(to_py(*p)));
    } else {
      out.append(tolist_rec(a, p, dim + 1));
    }
  }
  return std::move(out);
}

}  // namespace

nb::object to_scalar(array a) {
  if (a.size() != 1) throw std::invalid_argument("[convert] Only length-1 arrays can be converted to Python scalars.");
  eval_array(a);
  return dispatch_all_types(a.dtype(), "item", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return nb::steal(to_py(*std::as_const(a).data<T>()));
  });
}

nb::object tolist(array a) {
  eval_array(a);
  if (a.ndim() == 0) return to_scalar(a);
  return dispatch_all_types(a.dtype(), "tolist", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return tolist_rec<T>(a, std::as_const(a).data<T>(), 0);
  });
}

// ---- printing ----

namespace {

template <typename T>
void print_elem(std::ostream& os, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (v ? "True" : "False");
  } else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
    os << static_cast<int>(v);
  } else if constexpr (std::is_integral_v<T>) {
    os << v;
  } else if constexpr (std::is_same_v<T, complex64_t>) {
    os << v.real();
    if (v.imag() < 0) {
      os << "-" << -v.imag();
    } else {
      os << "+" << v.imag();
    }
    os << "j";
  } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    os << v;
  } else {
    os << static_cast<float>(v);
  }
}

constexpr int kEdgeItems = 3;
constexpr int kSummarizeAbove = 2 * kEdgeItems;

template <typename T>
void print_dim(std::ostream& os, const array& a, const T* base, int dim) {
  int n = a.shape()[dim];
  if (n == 0) {
    os << "[]";
    return;
  }
  int64_t st = a.strides()[dim];
  bool last = dim + 1 == a.ndim();
  std::string sep = last ? ", " : ",\n" + std::string(7 + dim, ' ');
  auto emit = [&](int i) {
    if (last) {
      print_elem(os, base[i * st]);
    } else {
      print_dim(os, a, base + i * st, dim + 1);
    }
  };
  os << "[";
  if (n > kSummarizeAbove) {
    for (int i = 0; i < kEdgeItems; ++i) {
      emit(i);
      os << sep;
    }
    os << "..." << sep;
    for (int i = n - kEdgeItems; i < n; ++i) {
      emit(i);
      if (i + 1 < n) os << sep;
    }
  } else {
    for (int i = 0; i < n; ++i) {
      emit(i);
      if (i + 1 < n) os << sep;
    }
  }
  os << "]";
}

}  // namespace

int print_precision = -1;

std::string format_array(array a) {
  eval_array(a);
  std::ostringstream os;
  // Integers ignore these stream flags; only the float elements change.
  if (print_precision >= 0) os << std::fixed << std::setprecision(print_precision);
  os << "array(";
  dispatch_all_types(a.dtype(), "print", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.ndim() == 0) {
      print_elem(os, *std::as_const(a).data<T>());
    } else {
      print_dim<T>(os, a, std::as_const(a).data<T>(), 0);
    }
  });
  os << ", dtype=" << dtype_name(a.dtype()) << ")";
  return os.str();
}

// ---- NumPy ----

array contiguous_copy(array a, Dtype dtype) {
  eval_array(a);
  array out = empty_leaf(a.shape(), dtype);
  int nd = a.ndim();
  std::vector<int64_t> shp(a.shape().begin(), a.shape().end());
  const auto& st = a.strides();
  dispatch_all_types(a.dtype(), "copy", [&](auto stag) {
    using S = typename decltype(stag)::type;
    dispatch_all_types(dtype, "copy", [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      copy_convert(std::as_const(a).data<S>(), shp.data(), st.data(), nd, out.data<D>());
    });
  });
  return out;
}

namespace {
nb::dlpack::dtype dlpack_dtype(Dtype t) {
  using C = nb::dlpack::dtype_code;
  C code = C::Float;
  switch (kind(t)) {
    case Dtype::Kind::b: code = C::Bool; break;
    case Dtype::Kind::u: code = C::UInt; break;
    case Dtype::Kind::i: code = C::Int; break;
    case Dtype::Kind::f: code = C::Float; break;
    case Dtype::Kind::V: code = C::Bfloat; break;
    case Dtype::Kind::c: code = C::Complex; break;
  }
  nb::dlpack::dtype d;
  d.code = static_cast<uint8_t>(code);
  d.bits = static_cast<uint8_t>(t.size * 8);
  d.lanes = 1;
  return d;
}

// Zero-size arrays may have no buffer; DLPack consumers still want a pointer.
alignas(64) char g_empty_data[64];
}  // namespace

template <typename Framework>
nb::ndarray<Framework> make_view(array a) {
  eval_array(a);
  int nd = a.ndim();
  std::vector<size_t> shape(a.shape().begin(), a.shape().end());
  const auto& strides = a.strides();
  void* data = a.size() == 0 || a.data<void>() == nullptr ? g_empty_data : a.data<void>();
  nb::capsule owner(new array(a), [](void* p) noexcept { delete static_cast<array*>(p); });
  return nb::ndarray<Framework>(data, static_cast<size_t>(nd), shape.data(), owner, strides.data(),
                                dlpack_dtype(a.dtype()), nb::device::cpu::value, 0);
}

nb::object to_numpy(array a) {
  eval_array(a);
  if (a.dtype() == bfloat16) {
    array f = contiguous_copy(a, float32);
    return make_view<nb::numpy>(f).cast();
  }
  return make_view<nb::numpy>(a).cast();
}

nb::object to_dlpack_capsule(array a) { return make_view<nb::no_framework>(a).cast(); }

}  // namespace kiln::py
