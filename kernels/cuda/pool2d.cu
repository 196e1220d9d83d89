#include "kernels/cuda/per_channel.cuh"
#include "kernels/pool2d.h"
#include "kernels/pool_math.h"

namespace scn::cuda {

namespace {

struct PoolDims {
  int64_t planes, h, w, ho, wo;
};

PoolDims dims_of(const Tensor& in, const Tensor& out) {
  return PoolDims{in.size(0) * in.size(1), in.size(2), in.size(3), out.size(2), out.size(3)};
}

// One thread per output element (grid-stride); the window loop is the CPU's, in the same order.
__global__ void max_pool_forward(float* y, int32_t* indices, const float* x, PoolDims d, int kernel, int stride,
                                 int pad) {
  const int64_t total = d.planes * d.ho * d.wo;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = o % d.wo, oh = (o / d.wo) % d.ho, pl = o / (d.wo * d.ho);
    const float* in = x + pl * d.h * d.w;
    const PoolSpan rows = pool_window(oh, d.h, kernel, stride, pad);
    const PoolSpan cols = pool_window(ow, d.w, kernel, stride, pad);
    int64_t best_at = rows.begin * d.w + cols.begin;
    float best = in[best_at];
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
        const float v = in[ih * d.w + iw];
        if (v > best || (v != v && best == best)) {
          best = v;
          best_at = ih * d.w + iw;
        }
      }
    y[o] = best;
    indices[o] = static_cast<int32_t>(best_at);
  }
}

// One thread per input element: the sum of dy over the covering windows whose argmax it is, in raster order.
__global__ void max_pool_backward(float* dx, const float* dy, const int32_t* indices, PoolDims d, int kernel,
                                  int stride, int pad) {
  const int64_t total = d.planes * d.h * d.w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t iw = i % d.w, ih = (i / d.w) % d.h, pl = i / (d.w * d.h);
    const int32_t me = static_cast<int32_t>(ih * d.w + iw);
    const PoolSpan rows = pool_covering(ih, d.ho, kernel, stride, pad);
    const PoolSpan cols = pool_covering(iw, d.wo, kernel, stride, pad);
    const int64_t base = pl * d.ho * d.wo;
    float s = 0.f;
    for (int64_t oh = rows.begin; oh < rows.end; ++oh)
      for (int64_t ow = cols.begin; ow < cols.end; ++ow) {
        const int64_t o = base + oh * d.wo + ow;
        if (indices[o] == me) s += dy[o];
      }
    dx[i] = s;
  }
}

__global__ void avg_pool_forward(float* y, const float* x, PoolDims d, int kernel, int stride, int pad) {
  const int64_t total = d.planes * d.ho * d.wo;
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = o % d.wo, oh = (o / d.wo) % d.ho, pl = o / (d.wo * d.ho);
    const float* in = x + pl * d.h * d.w;
    const PoolSpan rows = pool_window(oh, d.h, kernel, stride, pad);
    const PoolSpan cols = pool_window(ow, d.w, kernel, stride, pad);
    float s = 0.f;
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) s += in[ih * d.w + iw];
    y[o] = s * inv_area;
  }
}

__global__ void avg_pool_backward(float* dx, const float* dy, PoolDims d, int kernel, int stride, int pad) {
  const int64_t total = d.planes * d.h * d.w;
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t iw = i % d.w, ih = (i / d.w) % d.h, pl = i / (d.w * d.h);
    const PoolSpan rows = pool_covering(ih, d.ho, kernel, stride, pad);
    const PoolSpan cols = pool_covering(iw, d.wo, kernel, stride, pad);
    const float* g = dy + pl * d.ho * d.wo;
    float s = 0.f;
    for (int64_t oh = rows.begin; oh < rows.end; ++oh)
      for (int64_t ow = cols.begin; ow < cols.end; ++ow) s += g[oh * d.wo + ow];
    dx[i] = s * inv_area;
  }
}

}  // namespace

void max_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2d& p) {
  NvtxRange range("max_pool2d_forward");
  require_cuda_f32("max_pool2d_forward", x);
  if (y.numel() == 0) return;
  max_pool_forward<<<grid_for(ctx, y.numel(), max_pool_forward), kThreads, 0, stream_of(ctx)>>>(
      y.data<float>(), indices.data<int32_t>(), x.data<float>(), dims_of(x, y), p.kernel, p.stride, p.pad);
  SCN_CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& indices, const Pool2d& p) {
  NvtxRange range("max_pool2d_backward");
  require_cuda_f32("max_pool2d_backward", dx);
  if (dx.numel() == 0) return;
  // Indices outside the plane (which the CPU engine rejects) match no element here and are ignored.
  max_pool_backward<<<grid_for(ctx, dx.numel(), max_pool_backward), kThreads, 0, stream_of(ctx)>>>(
      dx.data<float>(), dy.data<float>(), indices.data<int32_t>(), dims_of(dx, dy), p.kernel, p.stride, p.pad);
  SCN_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Pool2d& p) {
  NvtxRange range("avg_pool2d_forward");
  require_cuda_f32("avg_pool2d_forward", x);
  if (y.numel() == 0) return;
  avg_pool_forward<<<grid_for(ctx, y.numel(), avg_pool_forward), kThreads, 0, stream_of(ctx)>>>(y.data<float>(), x.data<float>(),
                                                                              dims_of(x, y), p.kernel, p.stride, p.pad);
  SCN_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Pool2d& p) {
  NvtxRange range("avg_pool2d_backward");
  require_cuda_f32("avg_pool2d_backward", dx);
  if (dx.numel() == 0) return;
  avg_pool_backward<<<grid_for(ctx, dx.numel(), avg_pool_backward), kThreads, 0, stream_of(ctx)>>>(
      dx.data<float>(), dy.data<float>(), dims_of(dx, dy), p.kernel, p.stride, p.pad);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
