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

}  // namespace scn
