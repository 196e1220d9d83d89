#pragma once
// The CUDA side of a Context: one stream, one cuDNN and one cuBLAS handle bound to it.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/context.h"

namespace scn {

struct CudaResources {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  cudaDeviceProp properties{};
};

// The stream of a context on a CUDA device.
inline cudaStream_t stream_of(Context& ctx) { return ctx.cuda().stream; }

// Hands the memory the stream-ordered pool keeps (its release threshold is unbounded, so that a training step's
// frees and allocations of the same sizes cost nothing) back to the device, before a library allocates on its
// own: cuFFT's and cuDNN's plans would otherwise find the device full after a large evaluation batch. Waits for
// the context's stream; does nothing while the stream is being captured into a graph.
void release_cached_device_memory(Context& ctx);

}  // namespace scn
