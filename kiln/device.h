// Devices: where an array's computation runs.
#pragma once

#include <cstddef>
#include <map>
#include <ostream>
#include <string>
#include <variant>

#include "kiln/api.h"

namespace kiln {

/** A compute device: the CPU or a GPU (by index). */
struct KILN_API Device {
  enum class DeviceType { cpu, gpu };
  static constexpr DeviceType cpu = DeviceType::cpu;
  static constexpr DeviceType gpu = DeviceType::gpu;

  DeviceType type;
  int index;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

/** The device new operations go to: the GPU when one is present, else the CPU. */
KILN_API const Device& default_device();
/** Changes the default device; throws if `d` is not available. */
KILN_API void set_default_device(const Device& d);
/** True if `d` can run operations in this build on this machine. */
KILN_API bool is_available(const Device& d);
KILN_API std::ostream& operator<<(std::ostream& os, const Device& d);
/** MLX's device_info keys for the GPU (device_name, architecture, memory_size, total_memory,
 *  free_memory, ...); empty when no GPU is available. */
KILN_API std::map<std::string, std::variant<std::string, size_t>> gpu_device_info();

}  // namespace kiln
