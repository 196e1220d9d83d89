#pragma once
#include <cstdint>
#include <string>

namespace scn {

enum class DeviceType { cpu, cuda };

// Where a tensor lives. The device belongs to the tensor; there is no global mode.
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// What a GPU is; filled by the CUDA backend (peaks are nominal, benchmarks measure the real ones).
struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;       // compute capability
  int multiprocessors = 0;
  size_t memory_bytes = 0;
  size_t l2_bytes = 0;
};

// Number of usable CUDA devices: 0, never an error, when scn was built without CUDA, no driver is
// installed or no GPU is present.
int cuda_device_count();
bool cuda_available();
bool built_with_cuda();
DeviceInfo cuda_device_info(int index);

// Parses "cpu", "cuda", "cuda:1" or "auto" (cuda:0 when a GPU is usable, else cpu).
Device parse_device(const std::string& text);

}  // namespace scn
