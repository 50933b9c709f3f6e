#include "kiln/device.h"

#include <stdexcept>

#include "kiln/backend/gpu.h"

namespace kiln {

namespace {
Device& mutable_default_device() {
  static Device d = gpu::is_available() ? Device(Device::gpu) : Device(Device::cpu);
  return d;
}
}  // namespace

const Device& default_device() { return mutable_default_device(); }

void set_default_device(const Device& d) {
  if (!is_available(d)) {
    throw std::invalid_argument("[set_default_device] Device gpu is not available in this build or on this machine.");
  }
  mutable_default_device() = d;
}

bool is_available(const Device& d) {
  return d.type == Device::cpu ? true : gpu::is_available();
}

std::ostream& operator<<(std::ostream& os, const Device& d) {
  return os << "Device(" << (d.type == Device::cpu ? "cpu" : "gpu") << ", " << d.index << ")";
}

}  // namespace kiln

namespace kiln {
std::map<std::string, std::variant<std::string, size_t>> gpu_device_info() { return gpu::device_info(); }
}  // namespace kiln
