// Bindings of kiln/stream.h: Stream, default/new streams, the `stream` context manager.
#include <sstream>

#include "utils.h"

using namespace kiln;

namespace nanobind::detail {
bool type_caster<kiln::StreamOrDevice>::from_python(handle src, uint32_t, cleanup_list*) noexcept {
  if (src.is_none()) {
    value = std::monostate{};
    return true;
  }
  if (nb::isinstance<kiln::Stream>(src)) {
    value = *nb::inst_ptr<kiln::Stream>(src);
    return true;
  }
  if (nb::isinstance<kiln::ThreadLocalStream>(src)) {
    try {
      value = nb::inst_ptr<kiln::ThreadLocalStream>(src)->get();  // the calling thread's stream
      return true;
    } catch (...) {
      return false;
    }
  }
  if (nb::isinstance<kiln::Device>(src)) {
    value = *nb::inst_ptr<kiln::Device>(src);
    return true;
  }
  if (nb::isinstance<kiln::Device::DeviceType>(src)) {
    try {
      value = kiln::Device(nb::cast<kiln::Device::DeviceType>(src));
      return true;
    } catch (...) {
      return false;
    }
  }
  return false;
}
}  // namespace nanobind::detail

namespace {

std::string stream_repr(const Stream& s) {
  std::ostringstream os;
  os << "Stream(" << s.device << ", " << s.index << ")";
  return os.str();
}

// Makes a stream (or a device's default stream) the default while a `with` block runs.
struct StreamContext {
  StreamOrDevice target;
  std::optional<Device> old_device;
  std::optional<Stream> old_stream;

  void enter() {
    old_device = default_device();
    if (auto* s = std::get_if<Stream>(&target)) {
      old_stream = default_stream(s->device);
      set_default_device(s->device);
      set_default_stream(*s);
    } else if (auto* d = std::get_if<Device>(&target)) {
      set_default_device(*d);
    }
  }
  void exit() {
    if (old_stream) set_default_stream(*old_stream);
    if (old_device) set_default_device(*old_device);
    old_stream.reset();
    old_device.reset();
  }
};

}  // namespace

void init_stream(nb::module_& m) {
  nb::class_<Stream>(m, "Stream", "An in-order queue of operations on a device.")
      .def_ro("device", &Stream::device, "The device the stream runs on.")
      .def_ro("index", &Stream::index, "The stream's index.")
      .def("__repr__", &stream_repr)
      .def("__eq__", [](const Stream& a, const Stream& b) { return a == b; }, nb::is_operator())
      .def("__ne__", [](const Stream& a, const Stream& b) { return a != b; }, nb::is_operator())
      .def("__hash__", [](const Stream& s) { return s.index; });

  m.def(
      "default_stream", [](const Device& d) { return default_stream(d); }, "device"_a,
      "The default stream of ``device``.\n\nArgs:\n    device (Device | DeviceType)\n\nReturns:\n    Stream");
  m.def("set_default_stream", &set_default_stream, "stream"_a,
        "Makes ``stream`` the default stream of its device.\n\nArgs:\n    stream (Stream)");
  m.def(
      "new_stream", [](const Device& d) { return new_stream(d); }, "device"_a,
      "Creates a new stream on ``device``.\n\nArgs:\n    device (Device | DeviceType)\n\nReturns:\n    Stream");
  m.def(
      "synchronize",
      [](StreamOrDevice s) {
        nb::gil_scoped_release nogil;
        if (auto* st = std::get_if<Stream>(&s)) {
          synchronize(*st);
        } else if (auto* d = std::get_if<Device>(&s)) {
          synchronize(default_stream(*d));
        } else {
          synchronize();
        }
      },
      "stream"_a = nb::none(),
      "Waits until all work submitted to ``stream`` has finished.\n\n"
      "Args:\n    stream (Stream | Device | None): The stream, a device (its default stream), or "
      "None for the default stream of the default device.");

  nb::class_<StreamContext>(m, "StreamContext", "Context manager returned by :func:`stream`.")
      .def("__enter__", [](StreamContext& c) { c.enter(); })
      .def("__exit__", [](StreamContext& c, nb::args) { c.exit(); });

  m.def(
      "stream",
      [](StreamOrDevice s) {
        if (std::holds_alternative<std::monostate>(s)) {
          throw std::invalid_argument("[stream] Expected a Stream, Device or DeviceType, got None.");
        }
        return StreamContext{s, std::nullopt, std::nullopt};
      },
      "s"_a,
      "A context manager that makes ``s`` the default stream (or device) inside a ``with`` block.\n\n"
      "Args:\n    s (Stream | Device | DeviceType): Where operations in the block run.\n\n"
      "Example:\n    >>> with kiln.core.stream(kiln.core.cpu):\n    ...     c = a + b");
}
