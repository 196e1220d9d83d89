#pragma once
// The few CUDA runtime services core needs, behind a plain C++ interface so that core compiles without
// CUDA headers. core/cuda/runtime.cpp implements them with CUDA; core/no_cuda/runtime.cpp, for builds
// without CUDA, reports no devices and refuses everything else.
#include <cstddef>
#include <string>

#include "core/device.h"

namespace scn::cuda_rt {

int device_count();
DeviceInfo device_info(int device);
// "CUDA runtime 13.0, driver 12.8, cuDNN 9.10.2, 1 device" (or why there is none), for `scn --version`.
std::string versions();
void* allocate(size_t bytes, int device);   // stream-ordered on the device context's stream
void release(void* ptr, int device) noexcept;
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void zero(void* dst, int device, size_t bytes);
void synchronize(int device);

}  // namespace scn::cuda_rt

namespace scn::cuda_rt {
// CUDA events for timing device work without synchronising the host (core/timer.h).
void* event_create(int device);
void event_record(void* event, int device);
float event_elapsed_ms(void* start, void* stop);  // waits for `stop`
void event_destroy(void* event) noexcept;
}  // namespace scn::cuda_rt

namespace scn::cuda_rt {
// Stream capture into CUDA graphs (core/stream_graph.h).
void graph_begin_capture(int device);
void* graph_end_capture(int device);  // the instantiated graph
void graph_launch(void* exec, int device);
void graph_destroy(void* exec) noexcept;
}  // namespace scn::cuda_rt
