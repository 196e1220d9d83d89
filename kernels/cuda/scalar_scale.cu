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

__global__ void divide_scalars_kernel(float* out, const float* num, const float* den) {
  const float d = den[0];
  out[0] = d > 0.f ? num[0] / d : 0.f;
}

// One block (θ is a per-channel vector): dx (+)= dy/s and ds (+)= −Σ dy·x/s², the sum in double.
__global__ void divide_backward(float* dx, float* ds, const float* dy, const float* x, const float* s, int64_t n,
                                bool accumulate) {
  __shared__ double scratch[32];
  const float sv = s[0];
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    sum += static_cast<double>(dy[i]) * static_cast<double>(x[i]);
    if (dx) dx[i] = (accumulate ? dx[i] : 0.f) + dy[i] / sv;
  }
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0 && ds) {
    const double s2 = static_cast<double>(sv) * sv;
    ds[0] = static_cast<float>((accumulate ? static_cast<double>(ds[0]) : 0.0) - sum / s2);
  }
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
    scale_vec4<<<grid_for(ctx, n4, scale_vec4), kThreads, 0, stream_of(ctx)>>>(reinterpret_cast<float4*>(y.data<float>()),
                                                                    reinterpret_cast<const float4*>(x.data<float>()),
                                                                    s.data<float>(), alpha, n4);
    SCN_CUDA_CHECK_LAUNCH();
    done = n4 * 4;
  }
  if (done < n) {
    // The tail of an aligned tensor (< 4 elements), or the whole of an unaligned one: a full grid either way.
    scale_scalar<<<grid_for(ctx, n - done, scale_scalar), kThreads, 0, stream_of(ctx)>>>(
        y.data<float>(), x.data<float>(), s.data<float>(), alpha, done, n);
    SCN_CUDA_CHECK_LAUNCH();
  }
}

void divide_scalars(Context& ctx, const Tensor& out, const Tensor& num, const Tensor& den) {
  NvtxRange range("divide_scalars");
  SCN_CHECK(out.dtype() == DType::f32, "divide_scalars: the CUDA engine supports f32 only");
  divide_scalars_kernel<<<1, 1, 0, stream_of(ctx)>>>(out.data<float>(), num.data<float>(), den.data<float>());
  SCN_CUDA_CHECK_LAUNCH();
}

void divide_by_scalar_backward(Context& ctx, const Tensor& dx, const Tensor& ds, const Tensor& dy, const Tensor& x,
                               const Tensor& s, bool accumulate) {
  NvtxRange range("divide_by_scalar_backward");
  SCN_CHECK(x.dtype() == DType::f32, "divide_by_scalar_backward: the CUDA engine supports f32 only");
  divide_backward<<<1, kThreads, 0, stream_of(ctx)>>>(dx.defined() ? dx.data<float>() : nullptr,
                                                       ds.defined() ? ds.data<float>() : nullptr, dy.data<float>(),
                                                       x.data<float>(), s.data<float>(), x.numel(), accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
