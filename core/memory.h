#pragma once
// Raw memory. Host memory is 64-byte aligned; CUDA memory comes from the stream-ordered allocator
// (cudaMallocAsync on the device context's stream, default pool with a high release threshold).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace scn {

// Counters of every allocation scn makes; tests use them to prove that repeated op calls with the same
// shapes allocate nothing (caches of primitives, plans and workspaces work).
struct MemoryStats {
  std::atomic<int64_t> host_allocations{0};
  std::atomic<int64_t> device_allocations{0};
  std::atomic<int64_t> host_bytes{0};
  std::atomic<int64_t> device_bytes{0};
  int64_t allocations() const { return host_allocations + device_allocations; }
};
MemoryStats& memory_stats();

// One allocation on one device; freed when the last owner lets go. A borrowed storage is memory that another
// framework owns (PyTorch's tensors, python/ops): scn reads and writes it in place, never frees it, and keeps
// `owner` alive for as long as the storage lives.
class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes, Device device);
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, Device device, std::shared_ptr<void> owner = {});
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* data, size_t bytes, Device device) : data_(data), bytes_(bytes), device_(device) {}
  void* data_;
  size_t bytes_;
  Device device_;
  bool borrowed_ = false;
  std::shared_ptr<void> owner_;  // borrowed: what keeps data_ alive
};

// Host memory a new allocation can get without swapping (MemAvailable of /proc/meminfo; 0 when unknown).
uint64_t host_memory_available();

// Copies `bytes` between any two devices. Host-visible results are complete on return.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Sets `bytes` to zero; stream-ordered on a GPU.
void zero_bytes(void* dst, Device device, size_t bytes);

}  // namespace scn
