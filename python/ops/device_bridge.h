#pragma once
// Orders scn's work on a GPU with PyTorch's: scn runs on its context's own stream, PyTorch on its current
// stream. For the life of a bridge, scn's stream first waits for what PyTorch queued (the inputs are
// written), and at the end PyTorch's stream waits for scn's (the outputs are written; memory PyTorch frees
// after that is reused only once scn is done with it). No host synchronisation either way. On the CPU, and in
// a build without CUDA, it does nothing.
#include "core/device.h"

namespace scn::torch_ops {

class DeviceBridge {
 public:
  explicit DeviceBridge(Device device);
  ~DeviceBridge();
  DeviceBridge(const DeviceBridge&) = delete;
  DeviceBridge& operator=(const DeviceBridge&) = delete;

 private:
  Device device_;
};

}  // namespace scn::torch_ops
