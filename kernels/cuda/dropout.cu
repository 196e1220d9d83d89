#include "kernels/cuda/launch.cuh"
#include "kernels/dropout.h"

namespace scn::cuda {

namespace {
__global__ void dropout_forward_kernel(float* y, float* mask, const float* x, float p, float keep, RngKey key,
                                       int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float m = philox_uniform(key, static_cast<uint64_t>(i)) >= p ? keep : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}
__global__ void dropout_backward_kernel(float* dx, const float* dy, const float* mask, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = dy[i] * mask[i];
}
}  // namespace

void dropout_forward(Context& ctx, const Tensor& y, const Tensor& mask, const Tensor& x, float p, const RngKey& key) {
  NvtxRange range("dropout_forward");
  SCN_CHECK(x.dtype() == DType::f32, "dropout_forward: the CUDA engine supports f32 only");
  const int64_t n = x.numel();
  if (n == 0) return;
  dropout_forward_kernel<<<grid_for(ctx, n, dropout_forward_kernel), kThreads, 0, stream_of(ctx)>>>(
      y.data<float>(), mask.data<float>(), x.data<float>(), p, 1.0f / (1.0f - p), key, n);
  SCN_CUDA_CHECK_LAUNCH();
}

void dropout_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& mask) {
  NvtxRange range("dropout_backward");
  SCN_CHECK(dy.dtype() == DType::f32, "dropout_backward: the CUDA engine supports f32 only");
  const int64_t n = dy.numel();
  if (n == 0) return;
  dropout_backward_kernel<<<grid_for(ctx, n, dropout_backward_kernel), kThreads, 0, stream_of(ctx)>>>(dx.data<float>(), dy.data<float>(),
                                                                              mask.data<float>(), n);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
