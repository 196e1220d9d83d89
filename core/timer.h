#pragma once
// Timestamps of device work: CUDA events on a GPU (recorded in stream order, read later with one wait), the
// steady clock on the CPU (where ops finish before they return). Marks are preallocated: marking inside a
// timed step allocates nothing.
#include <chrono>
#include <vector>

#include "core/context.h"

namespace scn {

class DeviceTimer {
 public:
  DeviceTimer(Context& ctx, int capacity);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  // Records a timestamp now (in stream order on a GPU); returns its index. Throws when full.
  int mark();
  // Milliseconds between two marks (waits for the later one on a GPU).
  double elapsed_ms(int from, int to) const;
  void reset() { used_ = 0; }
  int used() const { return used_; }

 private:
  Context& ctx_;
  std::vector<void*> events_;                                  // GPU
  std::vector<std::chrono::steady_clock::time_point> times_;   // CPU
  int used_ = 0;
};

}  // namespace scn
