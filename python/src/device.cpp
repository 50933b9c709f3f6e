// Bindings of kiln/device.h: Device, DeviceType, the default device, kiln.core.cuda.
#include <sstream>

#include "kiln/backend/gpu_graph.h"
#include "utils.h"

using namespace kiln;

namespace {
std::string device_repr(const Device& d) {
  std::ostringstream os;
  os << d;
  return os.str();
}
}  // namespace

void init_device(nb::module_& m) {
  nb::enum_<Device::DeviceType>(m, "DeviceType", "The kind of a device: ``cpu`` or ``gpu``.")
      .value("cpu", Device::cpu)
      .value("gpu", Device::gpu);

  nb::class_<Device>(m, "Device", "A device (the CPU or a GPU) on which operations run.")
      .def(nb::init<Device::DeviceType, int>(), "type"_a, "index"_a = 0)
      .def_ro("type", &Device::type, "The device's DeviceType.")
      .def_ro("index", &Device::index, "The device's index among devices of its type.")
      .def("__repr__", &device_repr)
      .def("__eq__",
           [](const Device& d, nb::handle o) {
             if (nb::isinstance<Device>(o)) return d == nb::cast<const Device&>(o);
             if (nb::isinstance<Device::DeviceType>(o)) return d == Device(nb::cast<Device::DeviceType>(o));
             return false;
           })
      .def("__hash__", [](const Device& d) { return static_cast<int>(d.type) * 1024 + d.index; });
  nb::implicitly_convertible<Device::DeviceType, Device>();

  m.attr("cpu") = Device::cpu;
  m.attr("gpu") = Device::gpu;

  m.def("default_device", &default_device, nb::rv_policy::copy,
        "The device operations use when none is given: the GPU when present, else the CPU.");
  m.def("set_default_device", &set_default_device, "device"_a,
        "Sets the default device.\n\nArgs:\n    device (Device | DeviceType): The new default device.");
  m.def("is_available", &kiln::is_available, "device"_a,
        "Whether ``device`` can run operations in this build on this machine.\n\n"
        "Args:\n    device (Device | DeviceType): The device.\n\nReturns:\n    bool");
  m.def(
      "device_count", [](Device::DeviceType t) { return kiln::is_available(Device(t)) ? 1 : 0; }, "device_type"_a,
      "The number of available devices of type ``device_type``.");

  nb::module_ cuda = m.def_submodule("cuda", "CUDA backend queries.");
  cuda.def(
      "is_available", [] { return kiln::is_available(Device(Device::gpu)); },
      "Whether kiln was built with CUDA and a GPU is present.");
  cuda.def(
      "graph_stats",
      [] {
        auto st = kiln::gpu::graph_stats();
        nb::dict d;
        d["runs"] = st.runs;
        d["captures"] = st.captures;
        d["replays"] = st.replays;
        d["fallbacks"] = st.fallbacks;
        return d;
      },
      "Counters of compiled functions run as CUDA graphs (for tests and benchmarks).\n\n"
      "Returns:\n    dict: ``runs`` (evaluations launched kernel by kernel: warm-up, fallback), ``captures``,\n"
      "    ``replays`` (graph launches), ``fallbacks`` (captures that failed).");
}
