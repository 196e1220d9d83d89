#pragma once
// Checked calls into CUDA, cuDNN, cuBLAS and cuFFT. Each failure throws scn::Error naming the expression,
// file:line and the library's own message. The *_WARN variants print instead of throwing, for destructors.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cufft.h>

#include <cstdio>

#include "core/error.h"

namespace scn::detail {
const char* cublas_message(cublasStatus_t status);
const char* cufft_message(cufftResult status);
}  // namespace scn::detail

#define SCN_LIB_CHECK_(ok, message, lib, expr)                                        \
  do {                                                                                \
    auto scn_status_ = (expr);                                                        \
    if (!(ok)) SCN_FAIL(lib, " call failed: ", #expr, ": ", message);                 \
  } while (0)

#define SCN_CUDA_CHECK(expr) \
  SCN_LIB_CHECK_(scn_status_ == cudaSuccess, cudaGetErrorString(scn_status_), "CUDA", expr)
#define SCN_CUDNN_CHECK(expr) \
  SCN_LIB_CHECK_(scn_status_ == CUDNN_STATUS_SUCCESS, cudnnGetErrorString(scn_status_), "cuDNN", expr)
#define SCN_CUBLAS_CHECK(expr) \
  SCN_LIB_CHECK_(scn_status_ == CUBLAS_STATUS_SUCCESS, ::scn::detail::cublas_message(scn_status_), "cuBLAS", expr)
#define SCN_CUFFT_CHECK(expr) \
  SCN_LIB_CHECK_(scn_status_ == CUFFT_SUCCESS, ::scn::detail::cufft_message(scn_status_), "cuFFT", expr)

// After a kernel launch: configuration errors surface here, not at the next unrelated call.
#define SCN_CUDA_CHECK_LAUNCH() SCN_CUDA_CHECK(cudaGetLastError())

#define SCN_CUDA_WARN(expr)                                                                        \
  do {                                                                                             \
    cudaError_t scn_status_ = (expr);                                                              \
    if (scn_status_ != cudaSuccess)                                                                \
      std::fprintf(stderr, "scn: warning: %s failed: %s (%s:%d)\n", #expr,                         \
                   cudaGetErrorString(scn_status_), __FILE__, __LINE__);                           \
  } while (0)
