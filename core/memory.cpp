#include "core/memory.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace scn {

MemoryStats& memory_stats() {
  static MemoryStats stats;
  return stats;
}

uint64_t host_memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  const size_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc needs a multiple of the alignment
  void* data = nullptr;
  if (device.is_cpu()) {
    data = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    SCN_CHECK(data || !rounded, "out of host memory allocating ", format_bytes(static_cast<double>(bytes)), " (",
              format_bytes(static_cast<double>(host_memory_available())), " available)");
    memory_stats().host_allocations++;
    memory_stats().host_bytes += rounded;
  } else {
    data = rounded ? cuda_rt::allocate(rounded, device.index) : nullptr;
    memory_stats().device_allocations++;
    memory_stats().device_bytes += rounded;
  }
  return std::shared_ptr<Storage>(new Storage(data, bytes, device));
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, Device device, std::shared_ptr<void> owner) {
  std::shared_ptr<Storage> storage(new Storage(data, bytes, device));
  storage->borrowed_ = true;
  storage->owner_ = std::move(owner);
  return storage;
}

Storage::~Storage() {
  if (!data_ || borrowed_) return;
  if (device_.is_cpu()) {
    std::free(data_);
  } else {
    cuda_rt::release(data_, device_.index);
  }
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  cuda_rt::copy(dst, dst_device, src, src_device, bytes);
}

void zero_bytes(void* dst, Device device, size_t bytes) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    std::memset(dst, 0, bytes);
  } else {
    cuda_rt::zero(dst, device.index, bytes);
  }
}

}  // namespace scn
