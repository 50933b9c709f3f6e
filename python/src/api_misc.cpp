// Bindings of the assorted mlx.core names: unique, view, depends, slice (array starts),
// get_printoptions/PrintOptions, thread-local streams, device_info, get_array_buffer_size,
// set_wired_limit, ArrayLike and the float8 conversions.
#include <sys/utsname.h>

#include <fstream>
#include <set>
#include <sstream>
#include <variant>

#include <nanobind/stl/string.h>

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_api_misc(nb::module_& m);

namespace {

// The `print_precision` global wrapped as an object, as mx.get_printoptions() returns.
struct PrintOptions {
  int precision = -1;
};

// Marker type: MLX exposes ArrayLike as a class for type annotations.
struct ArrayLikeTag {};

std::vector<array> array_list(nb::handle h, const char* op) {
  if (nb::isinstance<array>(h)) return {nb::cast<array>(h)};
  if (!nb::isinstance<nb::sequence>(h) || nb::isinstance<nb::str>(h)) {
    throw nb::type_error((std::string(op) + " expects an array or a sequence of arrays.").c_str());
  }
  std::vector<array> out;
  for (nb::handle x : nb::cast<nb::sequence>(h)) out.push_back(nb::cast<array>(x));
  return out;
}

// Sums allocation sizes of the distinct buffers of the arrays found in `tree`.
void buffer_sizes(nb::handle tree, std::set<const void*>& seen, size_t& total) {
  if (nb::isinstance<array>(tree)) {
    const array& a = nb::cast<const array&>(tree);
    if (!a.is_evaluated()) {
      throw std::invalid_argument("[get_array_buffer_size] Arrays must be evaluated before querying buffer size.");
    }
    if (a.size() > 0 && seen.insert(a.data_id()).second) total += a.buffer_size();
  } else if (nb::isinstance<nb::list>(tree) || nb::isinstance<nb::tuple>(tree)) {
    for (nb::handle x : tree) buffer_sizes(x, seen, total);
  } else if (nb::isinstance<nb::dict>(tree)) {
    for (auto [k, v] : nb::cast<nb::dict>(tree)) buffer_sizes(v, seen, total);
  }
}

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(' ', p + 1));
    }
  }
  return "cpu";
}

}  // namespace

void init_api_misc(nb::module_& m) {
  m.def(
      "unique",
      [](const array& a, int size, bool return_index, bool return_inverse, bool return_counts, nb::handle fill,
         StreamOrDevice s) -> nb::object {
        std::optional<array> fv;
        if (!fill.is_none()) {
          array f;
          if (!to_array_like(fill, a.dtype(), f)) {
            throw nb::type_error("[unique] fill_value must be a scalar or array.");
          }
          fv = f;
        }
        auto r = unique(a, size, fv, s);
        if (!return_index && !return_inverse && !return_counts) return nb::cast(r[0]);
        nb::list out;
        out.append(r[0]);
        if (return_index) out.append(r[1]);
        if (return_inverse) out.append(r[2]);
        if (return_counts) out.append(r[3]);
        return nb::tuple(out);
      },
      "a"_a, nb::arg("size"), "return_index"_a = false, "return_inverse"_a = false, "return_counts"_a = false,
      "fill_value"_a.none() = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      nb::sig("def unique(a: array, /, size: int, return_index: bool = False, return_inverse: bool = False, "
              "return_counts: bool = False, fill_value: scalar | array | None = None, *, "
              "stream: Stream | Device | DeviceType | None = None) -> array | tuple[array, ...]"),
      "Sorted unique elements of the flattened array, in an output of static ``size``.\n\n"
      "Entries past the last unique element hold ``fill_value`` (default: the smallest element) and count 0; "
      "a smaller ``size`` keeps the smallest unique elements (dropped elements' ``inverse`` entries point at "
      "the last kept one). Each NaN is its own unique element.\n\nArgs:\n    a (array): Input.\n    size (int): "
      "Output size.\n    return_index (bool): Also return the index of each value's first occurrence (uint32).\n"
      "    return_inverse (bool): Also return the indices into the values that rebuild ``a`` (uint32, a's "
      "shape).\n    return_counts (bool): Also return each value's count (int32).\n    fill_value (scalar or "
      "array, optional): The padding value.\n\nReturns:\n    array or tuple(array, ...): values[, index]"
      "[, inverse][, counts].");

  m.def(
      "view",
      [](ScalarOrArray a, Dtype dtype, StreamOrDevice s) { return view(to_array(a.h), dtype, s); }, "a"_a,
      "dtype"_a, "stream"_a = nb::none(),
      "The array's bytes read as ``dtype``; the last axis scales by the ratio of the item sizes.\n\nArgs:\n    "
      "a (array or scalar): Input.\n    dtype (Dtype): The new dtype.\n\nReturns:\n    array");

  m.def(
      "depends",
      [](nb::handle inputs, nb::handle dependencies) -> nb::object {
        auto outs = depends(array_list(inputs, "depends"), array_list(dependencies, "depends"));
        if (nb::isinstance<array>(inputs)) return nb::cast(outs[0]);
        return nb::cast(outs);
      },
      "inputs"_a, "dependencies"_a,
      nb::sig("def depends(inputs: array | Sequence[array], dependencies: array | Sequence[array]) "
              "-> array | list[array]"),
      "Outputs equal to ``inputs`` (sharing their data) that are computed only after ``dependencies``.\n\n"
      "Args:\n    inputs (array or Sequence[array]): The inputs.\n    dependencies (array or Sequence[array]): "
      "What the outputs depend on.\n\nReturns:\n    array or list(array)");

  m.def(
      "slice",
      [](const array& a, const array& start, const std::vector<int>& axes, const Shape& size, StreamOrDevice s) {
        return dynamic_slice(a, start, axes, size, s);
      },
      "a"_a, "start_indices"_a, "axes"_a, "slice_size"_a, nb::kw_only(), "stream"_a = nb::none(),
      "The ``slice_size`` region of ``a`` starting at ``start_indices`` on ``axes`` (0 on the other axes).\n\n"
      "Negative starts count from the end; starts are then clamped so the region lies inside ``a``.\n\n"
      "Args:\n    a (array): Input.\n    start_indices (array): One integer start per axis (0-d or 1-d).\n    "
      "axes (tuple(int)): The axes of the starts.\n    slice_size (tuple(int)): The region's shape (one entry "
      "per axis of ``a``).\n\nReturns:\n    array");

  nb::class_<PrintOptions>(m, "PrintOptions", "Options for printing arrays.")
      .def(nb::init<int>(), "precision"_a = -1)
      .def_rw("precision", &PrintOptions::precision, "Digits after the decimal point; negative: the default.");
  m.def(
      "get_printoptions", [] { return PrintOptions{print_precision}; },
      "The options used for printing arrays.\n\nReturns:\n    PrintOptions");

  nb::class_<ThreadLocalStream>(m, "ThreadLocalStream",
                                "A stream that is distinct in each thread that uses it; pass it wherever a "
                                "``stream`` is accepted.")
      .def_ro("device", &ThreadLocalStream::device, "The device of the streams.")
      .def("__repr__", [](const ThreadLocalStream& t) {
        std::ostringstream os;
        os << "ThreadLocalStream(" << t.device << ", " << t.id << ")";
        return os.str();
      });
  m.def(
      "new_thread_local_stream", [](const Device& d) { return new_thread_local_stream(d); }, "device"_a,
      "A new stream on ``device`` that is distinct in each thread using it.\n\nArgs:\n    device (Device | "
      "DeviceType)\n\nReturns:\n    ThreadLocalStream");
  m.def(
      "new_thread_unsafe_stream", [](const Device& d) { return new_thread_unsafe_stream(d); }, "device"_a,
      "A new stream on ``device`` usable from any thread (as every kiln stream is).\n\nArgs:\n    device "
      "(Device | DeviceType)\n\nReturns:\n    Stream");
  m.def(
      "clear_streams",
      [] {
        nb::gil_scoped_release nogil;
        clear_streams();
      },
      "Finishes and forgets the calling thread's thread-local streams.");

  m.def(
      "device_info",
      [](std::optional<Device> d) {
        Device dev = d.value_or(default_device());
        nb::dict info;
        if (dev.type == Device::cpu) {
          utsname u;
          info["architecture"] = uname(&u) == 0 ? std::string(u.machine) : std::string("unknown");
          info["device_name"] = cpu_name();
        } else {
          for (auto& [k, v] : gpu_device_info()) {
            std::visit([&, &key = k](const auto& x) { info[key.c_str()] = x; }, v);
          }
        }
        return info;
      },
      "d"_a = nb::none(),
      "Information about a device (default: the default device), as a dict; empty for an unavailable "
      "GPU.\n\nArgs:\n    d (Device, optional)\n\nReturns:\n    dict");
  m.def(
      "get_array_buffer_size",
      [](nb::args args) {
        std::set<const void*> seen;
        size_t total = 0;
        for (nb::handle h : args) buffer_sizes(h, seen, total);
        return total;
      },
      "Bytes of the distinct buffers backing the (evaluated) arrays in the arguments (arrays or trees of "
      "them), counting each buffer's full allocation once.\n\nReturns:\n    int");
  m.def(
      "set_wired_limit", [](size_t) { return size_t{0}; }, "limit"_a,
      "Sets the wired (resident) memory limit. Only Apple GPUs have one: a no-op here that returns 0, the "
      "previous limit, as MLX does on other devices.\n\nArgs:\n    limit (int): Bytes.\n\nReturns:\n    int");
  nb::class_<ArrayLikeTag>(m, "ArrayLike", "Any Python object with an ``__mlx_array__`` method returning an array.");

  m.def("to_fp8", &to_fp8, "x"_a, nb::kw_only(), "stream"_a = nb::none(),
        "Float array to e4m3 float8 bits (uint8): nearest-even rounding, saturating at +-448 (NaN too).\n\n"
        "Args:\n    x (array): A real floating array.\n\nReturns:\n    array: uint8");
  m.def("from_fp8", &from_fp8, "x"_a, "dtype"_a = bfloat16, nb::kw_only(), "stream"_a = nb::none(),
        "e4m3 float8 bits (uint8) to a floating array.\n\nArgs:\n    x (array): uint8 array.\n    dtype (Dtype): "
        "Output dtype. Default: bfloat16.\n\nReturns:\n    array");
}
