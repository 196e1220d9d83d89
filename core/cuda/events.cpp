// CUDA events on the device context's stream, for DeviceTimer.
#include "core/cuda/check.h"
#include "core/cuda/resources.h"
#include "core/cuda_runtime.h"

namespace scn::cuda_rt {

void* event_create(int device) {
  SCN_CUDA_CHECK(cudaSetDevice(device));
  cudaEvent_t e = nullptr;
  SCN_CUDA_CHECK(cudaEventCreate(&e));
  return e;
}

void event_record(void* event, int device) {
  SCN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), Context::get(Device::cuda(device)).cuda().stream));
}

float event_elapsed_ms(void* start, void* stop) {
  SCN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)));
  float ms = 0;
  SCN_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)));
  return ms;
}

void event_destroy(void* event) noexcept { SCN_CUDA_WARN(cudaEventDestroy(static_cast<cudaEvent_t>(event))); }

}  // namespace scn::cuda_rt
