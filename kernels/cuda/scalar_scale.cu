#include "kernels/cuda/launch.cuh"
#include "kernels/scalar_scale.h"

namespace scn::cuda {

namespace {
__global__ void scale_vec4(float4* y, const float4* x, const float* s, float alpha, int64_t n4) {
  const float k = alpha * s[0];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4; i += int64_t(gridDim.x) * blockDim.x) {
    float4 v = x[i];
    y[i] = make_float4(k * v.x, k * v.y, k * v.z, k * v.w);
  }
}
__global__ void scale_scalar(float* y, const float* x, const float* s, float alpha, int64_t begin, int64_t n) {
  const float k = alpha * s[0];
  for (int64_t i = begin + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = k * x[i];
}
}  // namespace

void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha) {
  NvtxRange range("scale_by_scalar");
  SCN_CHECK(x.dtype() == DType::f32, "scale_by_scalar: the CUDA engine supports f32 only");
  const int64_t n = x.numel();
  if (n == 0) return;
  int64_t done = 0;
  if (aligned16(y.data<float>(), x.data<float>()) && n >= 4) {
    const int64_t n4 = n / 4;
    scale_vec4<<<grid_for(ctx, n4), kThreads, 0, stream_of(ctx)>>>(reinterpret_cast<float4*>(y.data<float>()),
                                                                    reinterpret_cast<const float4*>(x.data<float>()),
                                                                    s.data<float>(), alpha, n4);
    SCN_CUDA_CHECK_LAUNCH();
    done = n4 * 4;
  }
  if (done < n) {
    scale_scalar<<<1, kThreads, 0, stream_of(ctx)>>>(y.data<float>(), x.data<float>(), s.data<float>(), alpha, done, n);
    SCN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace scn::cuda
