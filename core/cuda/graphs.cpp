// CUDA graphs of a context's stream: capture once, replay with one launch.
#include "core/cuda/check.h"
#include "core/cuda/resources.h"
#include "core/cuda_runtime.h"

namespace scn::cuda_rt {

void graph_begin_capture(int device) {
  // Thread-local mode: other threads' CUDA calls do not invalidate the capture, ours that are unsafe during
  // capture (synchronisation, legacy-stream work) fail loudly.
  SCN_CUDA_CHECK(cudaStreamBeginCapture(Context::get(Device::cuda(device)).cuda().stream,
                                        cudaStreamCaptureModeThreadLocal));
}

void* graph_end_capture(int device) {
  cudaGraph_t graph = nullptr;
  SCN_CUDA_CHECK(cudaStreamEndCapture(Context::get(Device::cuda(device)).cuda().stream, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  SCN_CUDA_CHECK(status);
  return exec;
}

void graph_launch(void* exec, int device) {
  SCN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), Context::get(Device::cuda(device)).cuda().stream));
}

void graph_destroy(void* exec) noexcept { SCN_CUDA_WARN(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec))); }

}  // namespace scn::cuda_rt
