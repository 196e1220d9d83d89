#include "kernels/cuda/per_channel.cuh"
#include "kernels/global_avg_pool.h"

namespace scn::cuda {

namespace {

// One warp per plane (grid-stride over planes): lane-strided partial sums, then a fixed shuffle tree.
__global__ void gap_forward(float* y, const float* x, int64_t planes, int64_t area) {
  const int lane = threadIdx.x & 31;
  const int64_t warps_total = int64_t(gridDim.x) * (blockDim.x >> 5);
  const float inv_area = 1.f / static_cast<float>(area);
  for (int64_t p = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); p < planes; p += warps_total) {
    const float* in = x + p * area;
    float s = 0.f;
    for (int64_t i = lane; i < area; i += 32) s += in[i];
    for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) y[p] = s * inv_area;
  }
}

// dx = dy of the element's plane / area; the plane follows the element without a division per element.
__global__ void gap_backward_vec4(float4* dx, const float* dy, int64_t area4, int64_t n4, float inv_area) {
  for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, area4); p.j < n4;
       p.advance(area4)) {
    const float g = dy[p.n] * inv_area;
    dx[p.j] = make_float4(g, g, g, g);
  }
}

__global__ void gap_backward_scalar(float* dx, const float* dy, int64_t area, int64_t n, float inv_area) {
  for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, area); p.j < n;
       p.advance(area))
    dx[p.j] = dy[p.n] * inv_area;
}

}  // namespace

void global_avg_pool_forward(Context& ctx, const Tensor& y, const Tensor& x) {
  NvtxRange range("global_avg_pool_forward");
  require_cuda_f32("global_avg_pool_forward", x);
  const int64_t planes = y.numel(), area = x.size(2) * x.size(3);
  if (planes == 0) return;
  gap_forward<<<grid_for(ctx, planes * 32, gap_forward), kThreads, 0, stream_of(ctx)>>>(y.data<float>(), x.data<float>(), planes,
                                                                           area);
  SCN_CUDA_CHECK_LAUNCH();
}

void global_avg_pool_backward(Context& ctx, const Tensor& dx, const Tensor& dy) {
  NvtxRange range("global_avg_pool_backward");
  require_cuda_f32("global_avg_pool_backward", dx);
  const int64_t n = dx.numel(), area = dx.size(2) * dx.size(3);
  if (n == 0) return;
  const float inv_area = 1.f / static_cast<float>(area);
  if (area % 4 == 0 && aligned16(dx.data<float>())) {
    gap_backward_vec4<<<grid_for(ctx, n / 4, gap_backward_vec4), kThreads, 0, stream_of(ctx)>>>(
        reinterpret_cast<float4*>(dx.data<float>()), dy.data<float>(), area / 4, n / 4, inv_area);
  } else {
    gap_backward_scalar<<<grid_for(ctx, n, gap_backward_scalar), kThreads, 0, stream_of(ctx)>>>(dx.data<float>(), dy.data<float>(), area, n,
                                                                           inv_area);
  }
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
