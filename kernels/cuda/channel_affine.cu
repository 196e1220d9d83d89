#include "kernels/channel_affine.h"
#include "kernels/cuda/per_channel.cuh"

namespace scn::cuda {

namespace {

// Pass 2: dscale[c] (+)= Σ_b partial[c, b], dbias[c] (+)= Σ_b partial[C + c, b], in a fixed order.
__global__ void affine_backward_finish(float* dscale, float* dbias, const float* partial, int64_t channels, int blocks,
                                       bool accumulate) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    float sum_gx = 0.f, sum_g = 0.f;
    for (int b = 0; b < blocks; ++b) {
      sum_gx += partial[c * blocks + b];
      sum_g += partial[(channels + c) * blocks + b];
    }
    if (dscale) dscale[c] = (accumulate ? dscale[c] : 0.f) + sum_gx;
    if (dbias) dbias[c] = (accumulate ? dbias[c] : 0.f) + sum_g;
  }
}

}  // namespace

void channel_affine_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& scale, const Tensor& bias) {
  NvtxRange range("channel_affine_forward");
  require_cuda_f32("channel_affine_forward", x);
  const ChannelLayout l = channel_layout("channel_affine_forward", x);
  channel_map(ctx, y.data<float>(), x.data<float>(), nullptr, l,
              AffineMap{ptr_or_null<float>(scale), ptr_or_null<float>(bias)});
}

void channel_affine_backward(Context& ctx, const Tensor& dx, const Tensor& dscale, const Tensor& dbias,
                             const Tensor& dy, const Tensor& x, const Tensor& scale, bool accumulate) {
  NvtxRange range("channel_affine_backward");
  require_cuda_f32("channel_affine_backward", dy);
  const ChannelLayout l = channel_layout("channel_affine_backward", dy);
  if (l.channels == 0) return;
  if (!dscale.defined() && !dbias.defined()) {
    // dx only: a vectorised element-wise pass.
    if (dx.defined())
      channel_map(ctx, dx.data<float>(), dy.data<float>(), nullptr, l, AffineMap{ptr_or_null<float>(scale), nullptr});
    return;
  }
  const ChannelGrid grid = channel_grid(ctx, l);
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * 2 * l.channels * grid.blocks));
  channel_dot_partial<float><<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(
      partial, mut_ptr_or_null<float>(dx), dy.data<float>(), dscale.defined() ? x.data<float>() : nullptr, nullptr,
      ptr_or_null<float>(scale), l.batch, l.inner, l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  affine_backward_finish<<<grid_for(ctx, l.channels, affine_backward_finish), kThreads, 0, stream_of(ctx)>>>(
      mut_ptr_or_null<float>(dscale), mut_ptr_or_null<float>(dbias), partial, l.channels, grid.blocks, accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
