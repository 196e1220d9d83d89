#include "kernels/channel_cursor.h"
#include "kernels/channel_layout.h"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/per_channel.cuh"
#include "kernels/ista_update.h"
#include "kernels/pursuit_math.h"
#include "kernels/threshold_math.h"

namespace scn::cuda {

namespace {

// Pointers and layout of one call. `out` is gamma (forward) or g_pre (backward); z and G are null for the
// first code. With kVec, every channel plane is a whole number of float4s and every pointer is aligned.
struct IstaArgs {
  float* out;
  const float* z;
  const float* b;
  const float* G;
  const float* g;  // backward only
  const float* eta;
  const float* theta;
  bool shared;
  int64_t batch, channels, inner;
  ThresholdMode mode;
};

template <bool kFirst>
__device__ inline float forward_one(const IstaArgs& a, float z, float b, float G, float e, float t) {
  return soft_threshold(ista_pre<kFirst>(z, b, G, e), t, a.mode);
}

// gamma = S_θ(pre), element-wise; grid-stride over scalars or float4 groups (kVec).
template <bool kFirst, bool kVec>
__global__ void ista_forward(IstaArgs a, int64_t count) {
  const float e = a.eta[0];
  const int64_t inner = kVec ? a.inner / 4 : a.inner;
  for (ChannelCursor c(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner,
                       a.channels);
       c.i < count; c.advance(inner, a.channels)) {
    const int64_t i = c.i;
    const float t = a.theta[a.shared ? 0 : c.c];
    if constexpr (kVec) {
      const float4 b = load4(a.b, i);
      const float4 z = kFirst ? float4{} : load4(a.z, i);
      const float4 G = kFirst ? float4{} : load4(a.G, i);
      store4(a.out, i,
             make_float4(forward_one<kFirst>(a, z.x, b.x, G.x, e, t), forward_one<kFirst>(a, z.y, b.y, G.y, e, t),
                         forward_one<kFirst>(a, z.z, b.z, G.z, e, t), forward_one<kFirst>(a, z.w, b.w, G.w, e, t)));
    } else {
      a.out[i] = forward_one<kFirst>(a, kFirst ? 0.f : a.z[i], a.b[i], kFirst ? 0.f : a.G[i], e, t);
    }
  }
}

// One element of the backward: returns g_pre and adds its ∂θ and ∂η terms to st and se.
template <bool kFirst>
__device__ inline float backward_one(const IstaArgs& a, float g, float z, float b, float G, float e, float t, float& st,
                                     float& se) {
  const float pre = ista_pre<kFirst>(z, b, G, e);
  const float gp = g * soft_threshold_derivative(pre, t, a.mode);
  st += gp * threshold_sign(pre, a.mode);
  se += gp * ista_eta_factor<kFirst>(b, G);
  return gp;
}

// Pass 1 of the backward: g_pre, and one partial ∂θ and ∂η sum per (channel, block) in a fixed order.
// grid = channel_grid(...).dims(): blocks per channel, and rows of channels (looped past 65,535)
template <bool kFirst, bool kVec>
__global__ void ista_backward_partial(IstaArgs a, float* partial_theta, float* partial_eta) {
  __shared__ float scratch[32];
  const float e = a.eta[0];
  const int64_t inner = kVec ? a.inner / 4 : a.inner;
  for (int64_t c = blockIdx.y; c < a.channels; c += gridDim.y) {
    const float t = a.theta[a.shared ? 0 : c];
    float st = 0.f, se = 0.f;
    for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner);
         p.j < a.batch * inner; p.advance(inner)) {
      const int64_t i = p.at(a.channels, c, inner);
      if constexpr (kVec) {
        const float4 g = load4(a.g, i), b = load4(a.b, i);
        const float4 z = kFirst ? float4{} : load4(a.z, i);
        const float4 G = kFirst ? float4{} : load4(a.G, i);
        float4 r;
        r.x = backward_one<kFirst>(a, g.x, z.x, b.x, G.x, e, t, st, se);
        r.y = backward_one<kFirst>(a, g.y, z.y, b.y, G.y, e, t, st, se);
        r.z = backward_one<kFirst>(a, g.z, z.z, b.z, G.z, e, t, st, se);
        r.w = backward_one<kFirst>(a, g.w, z.w, b.w, G.w, e, t, st, se);
        store4(a.out, i, r);
      } else {
        a.out[i] = backward_one<kFirst>(a, a.g[i], kFirst ? 0.f : a.z[i], a.b[i], kFirst ? 0.f : a.G[i], e, t, st, se);
      }
    }
    st = block_sum(st, scratch);
    se = block_sum(se, scratch);
    if (threadIdx.x == 0) {
      partial_theta[c * gridDim.x + blockIdx.x] = -st;
      partial_eta[c * gridDim.x + blockIdx.x] = se;
    }
  }
}

// Pass 2. Block 0: dη (+)= Σ of every partial, and a shared dθ likewise; blocks 1..: per-channel dθ[c]
// (+)= Σ_b partial[c, b]. Fixed orders throughout (deterministic); sums in double.
__global__ void ista_backward_finish(float* dtheta, float* deta, const float* partial_theta, const float* partial_eta,
                                     int64_t channels, int blocks, bool shared, bool accumulate) {
  __shared__ double scratch[32];
  const int64_t total = channels * blocks;
  if (blockIdx.x == 0) {
    if (deta) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < total; j += blockDim.x) s += partial_eta[j];
      s = block_sum(s, scratch);
      if (threadIdx.x == 0) deta[0] = static_cast<float>((accumulate ? deta[0] : 0.0) + s);
    }
    if (dtheta && shared) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < total; j += blockDim.x) s += partial_theta[j];
      s = block_sum(s, scratch);
      if (threadIdx.x == 0) dtheta[0] = static_cast<float>((accumulate ? dtheta[0] : 0.0) + s);
    }
    return;
  }
  if (!dtheta || shared) return;
  for (int64_t c = (blockIdx.x - 1) * int64_t(blockDim.x) + threadIdx.x; c < channels;
       c += int64_t(gridDim.x - 1) * blockDim.x) {
    double s = 0;
    for (int b = 0; b < blocks; ++b) s += partial_theta[c * blocks + b];
    dtheta[c] = static_cast<float>((accumulate ? dtheta[c] : 0.0) + s);
  }
}

IstaArgs make_args(const Tensor& out, const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& g,
                   const Tensor& eta, const Tensor& theta, ThresholdMode mode, const ChannelLayout& l) {
  return IstaArgs{out.data<float>(),
                  z.defined() ? z.data<float>() : nullptr,
                  b.data<float>(),
                  G.defined() ? G.data<float>() : nullptr,
                  g.defined() ? g.data<float>() : nullptr,
                  eta.data<float>(),
                  theta.data<float>(),
                  theta.numel() == 1,
                  l.batch,
                  l.channels,
                  l.inner,
                  mode};
}

// Whole float4s per channel plane, and every pointer in use aligned.
bool can_vectorize(const IstaArgs& a) {
  const float* none = a.b;  // stands in for the pointers a call does not use
  return a.inner % 4 == 0 && aligned16(a.out, a.b, a.z ? a.z : none, a.G ? a.G : none, a.g ? a.g : none);
}

}  // namespace

void ista_update_forward(Context& ctx, const Tensor& gamma, const Tensor& z, const Tensor& b, const Tensor& G,
                         const Tensor& eta, const Tensor& theta, ThresholdMode mode) {
  NvtxRange range("ista_update_forward");
  require_cuda_f32("ista_update_forward", b);
  const ChannelLayout l = channel_layout("ista_update_forward", b);
  const int64_t n = b.numel();
  if (n == 0) return;
  const IstaArgs a = make_args(gamma, z, b, G, Tensor(), eta, theta, mode, l);
  const bool first = !z.defined(), vec = can_vectorize(a);
  const int64_t count = vec ? n / 4 : n;
  void (*kernel)(IstaArgs, int64_t) = first ? (vec ? ista_forward<true, true> : ista_forward<true, false>)
                                             : (vec ? ista_forward<false, true> : ista_forward<false, false>);
  kernel<<<grid_for(ctx, count, kernel), kThreads, 0, stream_of(ctx)>>>(a, count);
  SCN_CUDA_CHECK_LAUNCH();
}

void ista_update_backward(Context& ctx, const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta, const Tensor& g,
                          const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta, const Tensor& theta,
                          ThresholdMode mode, bool accumulate) {
  NvtxRange range("ista_update_backward");
  require_cuda_f32("ista_update_backward", b);
  const ChannelLayout l = channel_layout("ista_update_backward", b);
  if (b.numel() == 0) return;
  const IstaArgs a = make_args(g_pre, z, b, G, g, eta, theta, mode, l);
  const bool first = !z.defined(), vec = can_vectorize(a);
  const ChannelGrid channel_rows = channel_grid(ctx, ChannelLayout{l.batch, l.channels, vec ? l.inner / 4 : l.inner});
  const int blocks = channel_rows.blocks;
  float* partial_theta = static_cast<float*>(ctx.workspace(sizeof(float) * 2 * l.channels * blocks));
  float* partial_eta = partial_theta + l.channels * blocks;
  const dim3 grid = channel_rows.dims();
  cudaStream_t s = stream_of(ctx);
  if (first && vec) ista_backward_partial<true, true><<<grid, kThreads, 0, s>>>(a, partial_theta, partial_eta);
  if (first && !vec) ista_backward_partial<true, false><<<grid, kThreads, 0, s>>>(a, partial_theta, partial_eta);
  if (!first && vec) ista_backward_partial<false, true><<<grid, kThreads, 0, s>>>(a, partial_theta, partial_eta);
  if (!first && !vec) ista_backward_partial<false, false><<<grid, kThreads, 0, s>>>(a, partial_theta, partial_eta);
  SCN_CUDA_CHECK_LAUNCH();
  if (!dtheta.defined() && !deta.defined()) return;
  const bool shared = a.shared;
  const int finish_blocks = 1 + (dtheta.defined() && !shared ? grid_for(ctx, l.channels, ista_backward_finish) : 0);
  ista_backward_finish<<<finish_blocks, kThreads, 0, s>>>(dtheta.defined() ? dtheta.data<float>() : nullptr,
                                                          deta.defined() ? deta.data<float>() : nullptr, partial_theta,
                                                          partial_eta, l.channels, blocks, shared, accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
