#include "python/ops/device_bridge.h"

#if SCN_TORCH_OPS_CUDA
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include "core/context.h"
#include "core/cuda/resources.h"
#endif

namespace scn::torch_ops {

#if SCN_TORCH_OPS_CUDA
namespace {
// `waiting` waits (on the device) for the work queued on `queued` so far.
void stream_waits(cudaStream_t waiting, cudaStream_t queued) {
  if (waiting == queued) return;
  cudaEvent_t event;
  cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
  cudaEventRecord(event, queued);
  cudaStreamWaitEvent(waiting, event, 0);
  cudaEventDestroy(event);  // released once the wait is satisfied
}
cudaStream_t torch_stream(Device d) { return c10::cuda::getCurrentCUDAStream(d.index).stream(); }
}  // namespace

DeviceBridge::DeviceBridge(Device device) : device_(device) {
  if (device_.is_cuda()) stream_waits(stream_of(Context::get(device_)), torch_stream(device_));
}
DeviceBridge::~DeviceBridge() {
  if (device_.is_cuda()) stream_waits(torch_stream(device_), stream_of(Context::get(device_)));
}
#else
DeviceBridge::DeviceBridge(Device device) : device_(device) {}
DeviceBridge::~DeviceBridge() = default;
#endif

}  // namespace scn::torch_ops
