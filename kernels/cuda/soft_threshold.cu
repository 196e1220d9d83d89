#include "kernels/channel_cursor.h"
#include "kernels/channel_layout.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/per_channel.cuh"
#include "kernels/threshold_math.h"

namespace scn::cuda {

namespace {

// y = S_θ(x) over whole float4 groups when every channel plane is a multiple of 4 long, else scalars.
__global__ void threshold_forward_vec4(float4* y, const float4* x, const float* theta, bool shared, int64_t inner4,
                                       int64_t channels, int64_t n4, ThresholdMode mode) {
  for (ChannelCursor e(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner4,
                       channels);
       e.i < n4; e.advance(inner4, channels)) {
    const int64_t i = e.i;
    const float t = theta[shared ? 0 : e.c];
    float4 v = x[i];
    v.x = soft_threshold(v.x, t, mode);
    v.y = soft_threshold(v.y, t, mode);
    v.z = soft_threshold(v.z, t, mode);
    v.w = soft_threshold(v.w, t, mode);
    y[i] = v;
  }
}

__global__ void threshold_forward_scalar(float* y, const float* x, const float* theta, bool shared, int64_t inner,
                                         int64_t channels, int64_t n, ThresholdMode mode) {
  for (ChannelCursor e(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner,
                       channels);
       e.i < n; e.advance(inner, channels))
    y[e.i] = soft_threshold(x[e.i], theta[shared ? 0 : e.c], mode);
}

// Pass 1 of backward: dx, and one partial ∂θ sum per (channel, block) in a fixed order (deterministic).
// grid = channel_grid(...).dims(): blocks per channel, and rows of channels (looped past 65,535)
__global__ void threshold_backward_partial(float* dx, float* partial, const float* dy, const float* x,
                                           const float* theta, bool shared, int64_t batch, int64_t inner,
                                           int64_t channels, ThresholdMode mode) {
  __shared__ float scratch[32];
  const int64_t per_channel = batch * inner;
  for (int64_t c = blockIdx.y; c < channels; c += gridDim.y) {
    const float t = theta[shared ? 0 : c];
    float s = 0.f;
    for (PlaneCursor e(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner);
         e.j < per_channel; e.advance(inner)) {
      const int64_t i = e.at(channels, c, inner);
      const float xv = x[i];
      const float g = dy[i] * soft_threshold_derivative(xv, t, mode);
      dx[i] = g;
      s += g * threshold_sign(xv, mode);
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) partial[c * gridDim.x + blockIdx.x] = -s;
  }
}

// Pass 2: dθ[c] (+)= Σ_b partial[c, b], or for a shared θ the sum over every channel, in a fixed order.
__global__ void threshold_backward_finish(float* dtheta, const float* partial, int64_t channels, int blocks,
                                          bool shared, bool accumulate) {
  __shared__ float scratch[32];
  if (shared) {
    float s = 0.f;
    for (int64_t j = threadIdx.x; j < channels * blocks; j += blockDim.x) s += partial[j];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) dtheta[0] = (accumulate ? dtheta[0] : 0.f) + s;
    return;
  }
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int b = 0; b < blocks; ++b) s += partial[c * blocks + b];
    dtheta[c] = (accumulate ? dtheta[c] : 0.f) + s;
  }
}

void require_f32(const char* op, const Tensor& x) {
  SCN_CHECK(x.dtype() == DType::f32, op, ": the CUDA engine supports f32 only, got ", dtype_name(x.dtype()));
}

}  // namespace

void soft_threshold_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& theta, ThresholdMode mode) {
  NvtxRange range("soft_threshold_forward");
  require_f32("soft_threshold_forward", x);
  const ChannelLayout l = channel_layout("soft_threshold_forward", x);
  const bool shared = theta.numel() == 1;
  const int64_t n = x.numel();
  if (n == 0) return;
  if (l.inner % 4 == 0 && aligned16(y.data<float>(), x.data<float>())) {
    threshold_forward_vec4<<<grid_for(ctx, n / 4, threshold_forward_vec4), kThreads, 0, stream_of(ctx)>>>(
        reinterpret_cast<float4*>(y.data<float>()), reinterpret_cast<const float4*>(x.data<float>()),
        theta.data<float>(), shared, l.inner / 4, l.channels, n / 4, mode);
  } else {
    threshold_forward_scalar<<<grid_for(ctx, n, threshold_forward_scalar), kThreads, 0, stream_of(ctx)>>>(
        y.data<float>(), x.data<float>(), theta.data<float>(), shared, l.inner, l.channels, n, mode);
  }
  SCN_CUDA_CHECK_LAUNCH();
}

void soft_threshold_backward(Context& ctx, const Tensor& dx, const Tensor& dtheta, const Tensor& dy, const Tensor& x,
                             const Tensor& theta, ThresholdMode mode, bool accumulate) {
  NvtxRange range("soft_threshold_backward");
  require_f32("soft_threshold_backward", x);
  const ChannelLayout l = channel_layout("soft_threshold_backward", x);
  const bool shared = theta.numel() == 1;
  if (x.numel() == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  const int blocks = grid.blocks;
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * l.channels * blocks));
  threshold_backward_partial<<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(dx.data<float>(), partial, dy.data<float>(),
                                                                           x.data<float>(), theta.data<float>(), shared,
                                                                           l.batch, l.inner, l.channels, mode);
  SCN_CUDA_CHECK_LAUNCH();
  if (!dtheta.defined()) return;
  const int finish_blocks = shared ? 1 : grid_for(ctx, l.channels, threshold_backward_finish);
  threshold_backward_finish<<<finish_blocks, kThreads, 0, stream_of(ctx)>>>(dtheta.data<float>(), partial, l.channels,
                                                                            blocks, shared, accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
