#pragma once
// A CUDA graph of the work a function queues on a context's stream: captured once, then replayed with a
// single launch (no per-kernel launch cost). The captured work must not allocate, synchronise or read
// values on the host; its kernel arguments (pointers, scalars) are frozen, so anything that changes from
// replay to replay must live in device memory written before the replay.
#include <functional>

#include "core/context.h"

namespace scn {

class StreamGraph {
 public:
  explicit StreamGraph(Context& ctx) : ctx_(ctx) {}
  ~StreamGraph();
  StreamGraph(const StreamGraph&) = delete;
  StreamGraph& operator=(const StreamGraph&) = delete;

  bool captured() const { return exec_ != nullptr; }
  // Captures what `work` queues (it does not run now), replacing an earlier capture.
  void capture(const std::function<void()>& work);
  void replay();

 private:
  Context& ctx_;
  void* exec_ = nullptr;
};

}  // namespace scn
