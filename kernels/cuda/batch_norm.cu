#include "kernels/batch_norm.h"
#include "kernels/cuda/per_channel.cuh"

namespace scn::cuda {

namespace {

// Welford's (count, mean, Σ(x − mean)²); two of them combine exactly (Chan et al.), so per-thread, per-warp,
// per-block and per-channel statistics merge in a fixed tree: stable and deterministic. A thread's own triple
// comes from sums shifted by its first element (bn_stats_partial).
struct Welford {
  float n, mean, m2;
};

__device__ inline Welford combine(const Welford& a, const Welford& b) {
  const float n = a.n + b.n;
  if (n == 0.f) return Welford{0.f, 0.f, 0.f};
  const float d = b.mean - a.mean, wb = b.n / n;
  return Welford{n, a.mean + d * wb, a.m2 + b.m2 + d * d * a.n * wb};
}

__device__ inline Welford warp_combine(Welford w) {
  for (int off = 16; off > 0; off >>= 1) {
    Welford o{__shfl_down_sync(0xffffffffu, w.n, off), __shfl_down_sync(0xffffffffu, w.mean, off),
              __shfl_down_sync(0xffffffffu, w.m2, off)};
    w = combine(w, o);
  }
  return w;
}

// Pass 1: one Welford triple per (channel, block) in partial[3][C][blocks]. grid = channel_grid(...).dims().
__global__ void bn_stats_partial(float* partial, const float* x, int64_t batch, int64_t inner, int64_t channels) {
  __shared__ Welford scratch[32];
  const int64_t per_channel = batch * inner;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int64_t c = blockIdx.y; c < channels; c += gridDim.y) {
    // Each thread sums its elements shifted by the first of them (stable while the shift is a sample of the
    // data, as the mean is), and turns the sums into a Welford triple once: no division per element.
    float count = 0.f, shift = 0.f, s1 = 0.f, s2 = 0.f;
    for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner);
         p.j < per_channel; p.advance(inner)) {
      const float v = x[p.at(channels, c, inner)];
      if (count == 0.f) shift = v;
      const float d = v - shift;
      count += 1.f;
      s1 += d;
      s2 += d * d;
    }
    Welford w{count, 0.f, 0.f};
    if (count > 0.f) {
      const float mean_shift = s1 / count;
      w.mean = shift + mean_shift;
      w.m2 = fmaxf(s2 - s1 * mean_shift, 0.f);
    }
    w = warp_combine(w);
    __syncthreads();  // scratch may still be read for the previous channel
    if (lane == 0) scratch[warp] = w;
    __syncthreads();
    if (warp == 0) {
      w = lane < warps ? scratch[lane] : Welford{0.f, 0.f, 0.f};
      w = warp_combine(w);
      if (lane == 0) {
        const int64_t blocks = gridDim.x, at = c * blocks + blockIdx.x;
        partial[at] = w.n;
        partial[channels * blocks + at] = w.mean;
        partial[2 * channels * blocks + at] = w.m2;
      }
    }
  }
}

// Merges the Welford partials of channel c's blocks in order, in double (pass 2 of the statistics).
__device__ inline void merge_blocks(const float* partial, int64_t c, int64_t channels, int blocks, double& n,
                                    double& mean, double& m2) {
  n = 0, mean = 0, m2 = 0;
  for (int b = 0; b < blocks; ++b) {
    const int64_t at = c * blocks + b;
    const double nb = partial[at], mb = partial[channels * blocks + at], m2b = partial[2 * channels * blocks + at];
    const double total = n + nb;
    if (total == 0) continue;
    const double d = mb - mean, wb = nb / total;
    mean += d * wb;
    m2 += m2b + d * d * n * wb;
    n = total;
  }
}

// Pass 2, one thread per channel: merge the blocks in order (in double), save μ and invstd, update the running
// statistics, and write the normalisation as y = x·a + b into coef[0..C) = a, coef[C..2C) = b.
__global__ void bn_stats_finish(float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                                float* coef, const float* partial, const float* gamma, const float* beta,
                                int64_t channels, int blocks, double momentum, double eps) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    double n, mean, m2;
    merge_blocks(partial, c, channels, blocks, n, mean, m2);
    const double invstd = 1.0 / sqrt(m2 / n + eps);
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    if (running_mean) {
      running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * m2 / (n - 1));
    }
    const double a = (gamma ? gamma[c] : 1.0) * invstd;
    coef[c] = static_cast<float>(a);
    coef[channels + c] = static_cast<float>((beta ? beta[c] : 0.0) - mean * a);
  }
}

// Inference: coef[0..C) = γ/√(running_var + ε), coef[C..2C) = β − running_mean·a.
__global__ void bn_inference_coef(float* coef, const float* running_mean, const float* running_var, const float* gamma,
                                  const float* beta, int64_t channels, double eps) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    const double a = (gamma ? gamma[c] : 1.0) / sqrt(static_cast<double>(running_var[c]) + eps);
    coef[c] = static_cast<float>(a);
    coef[channels + c] = static_cast<float>((beta ? beta[c] : 0.0) - running_mean[c] * a);
  }
}

// Backward pass 2, one thread per channel: dγ (+)= invstd·Σdy(x − μ), dβ (+)= Σdy, and the coefficients of
// dx = a·(dy − k1 − (x − μ)·k2): coef = [a | k1 | k2], each C long.
__global__ void bn_backward_finish(float* dgamma, float* dbeta, float* coef, const float* partial,
                                   const float* save_invstd, const float* gamma, int64_t channels, int blocks,
                                   double count, bool accumulate) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    float sum_gx = 0.f, sum_g = 0.f;
    for (int b = 0; b < blocks; ++b) {
      sum_gx += partial[c * blocks + b];
      sum_g += partial[(channels + c) * blocks + b];
    }
    const float invstd = save_invstd[c];
    const float sum_gxhat = sum_gx * invstd;
    if (dgamma) dgamma[c] = (accumulate ? dgamma[c] : 0.f) + sum_gxhat;
    if (dbeta) dbeta[c] = (accumulate ? dbeta[c] : 0.f) + sum_g;
    coef[c] = (gamma ? gamma[c] : 1.f) * invstd;
    coef[channels + c] = static_cast<float>(sum_g / count);
    coef[2 * channels + c] = static_cast<float>(invstd * sum_gxhat / count);
  }
}

struct BnBackwardMap {
  const float* mean;
  const float* coef;
  int64_t channels;
  __device__ float operator()(float dy, float x, int64_t c) const {
    return coef[c] * (dy - coef[channels + c] - (x - mean[c]) * coef[2 * channels + c]);
  }
};

// batch_norm_moments' pass 2: merge the blocks in order (in double) into [M | Σx | Σx²].
__global__ void bn_moments_finish(double* moments, const float* partial, int64_t channels, int blocks) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    double n, mean, m2;
    merge_blocks(partial, c, channels, blocks, n, mean, m2);
    moments[c] = n;
    moments[channels + c] = n * mean;
    moments[2 * channels + c] = m2 + n * mean * mean;
  }
}

// batch_norm_forward_from_moments: μ, invstd, the running statistics and coef = [a | b] from summed moments.
__global__ void bn_moments_coef(float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                                float* coef, const double* moments, const float* gamma, const float* beta,
                                int64_t channels, double momentum, double eps) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    const double n = moments[c], mean = moments[channels + c] / n;
    const double var = fmax(moments[2 * channels + c] / n - mean * mean, 0.0);
    const double invstd = 1.0 / sqrt(var + eps);
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    if (running_mean) {
      running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * var * n / (n - 1));
    }
    const double a = (gamma ? gamma[c] : 1.0) * invstd;
    coef[c] = static_cast<float>(a);
    coef[channels + c] = static_cast<float>((beta ? beta[c] : 0.0) - mean * a);
  }
}

// batch_norm_backward_sums' pass 2: [Σdy | Σdy·x̂] in double, and dγ, dβ from them.
__global__ void bn_sums_finish(double* sums, float* dgamma, float* dbeta, const float* partial,
                               const float* save_invstd, int64_t channels, int blocks, bool accumulate) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    double sum_gx = 0, sum_g = 0;
    for (int b = 0; b < blocks; ++b) {
      sum_gx += partial[c * blocks + b];
      sum_g += partial[(channels + c) * blocks + b];
    }
    const double sum_gxhat = sum_gx * save_invstd[c];
    sums[c] = sum_g;
    sums[channels + c] = sum_gxhat;
    if (dgamma) dgamma[c] = static_cast<float>((accumulate ? dgamma[c] : 0.0) + sum_gxhat);
    if (dbeta) dbeta[c] = static_cast<float>((accumulate ? dbeta[c] : 0.0) + sum_g);
  }
}

// batch_norm_backward_from_sums: coef = [a | k1 | k2] from summed sums and the count of the summed moments.
__global__ void bn_sums_coef(float* coef, const double* sums, const double* moments, const float* save_invstd,
                             const float* gamma, int64_t channels) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    const double invstd = save_invstd[c], count = moments[c];
    coef[c] = static_cast<float>((gamma ? gamma[c] : 1.0) * invstd);
    coef[channels + c] = static_cast<float>(sums[c] / count);
    coef[2 * channels + c] = static_cast<float>(invstd * sums[channels + c] / count);
  }
}

}  // namespace

void batch_norm_forward_training(Context& ctx, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                 const Tensor& gamma, const Tensor& beta, double momentum, double eps) {
  NvtxRange range("batch_norm_forward_training");
  require_cuda_f32("batch_norm_forward_training", x);
  const ChannelLayout l = channel_layout("batch_norm_forward_training", x);
  if (l.channels == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  // One workspace: [3·C·blocks Welford partials | 2·C coefficients].
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * l.channels * (3 * grid.blocks + 2)));
  float* coef = partial + 3 * l.channels * grid.blocks;
  bn_stats_partial<<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(partial, x.data<float>(), l.batch, l.inner,
                                                                 l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  bn_stats_finish<<<grid_for(ctx, l.channels, bn_stats_finish), kThreads, 0, stream_of(ctx)>>>(
      save_mean.data<float>(), save_invstd.data<float>(), mut_ptr_or_null<float>(running_mean),
      mut_ptr_or_null<float>(running_var), coef, partial, ptr_or_null<float>(gamma), ptr_or_null<float>(beta),
      l.channels, grid.blocks, momentum, eps);
  SCN_CUDA_CHECK_LAUNCH();
  channel_map(ctx, y.data<float>(), x.data<float>(), nullptr, l, AffineMap{coef, coef + l.channels});
}

void batch_norm_forward_inference(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps) {
  NvtxRange range("batch_norm_forward_inference");
  require_cuda_f32("batch_norm_forward_inference", x);
  const ChannelLayout l = channel_layout("batch_norm_forward_inference", x);
  if (l.channels == 0) return;
  float* coef = static_cast<float*>(ctx.workspace(sizeof(float) * 2 * l.channels));
  bn_inference_coef<<<grid_for(ctx, l.channels, bn_inference_coef), kThreads, 0, stream_of(ctx)>>>(
      coef, running_mean.data<float>(), running_var.data<float>(), ptr_or_null<float>(gamma), ptr_or_null<float>(beta),
      l.channels, eps);
  SCN_CUDA_CHECK_LAUNCH();
  channel_map(ctx, y.data<float>(), x.data<float>(), nullptr, l, AffineMap{coef, coef + l.channels});
}

void batch_norm_backward(Context& ctx, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                         const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                         bool accumulate) {
  NvtxRange range("batch_norm_backward");
  require_cuda_f32("batch_norm_backward", x);
  const ChannelLayout l = channel_layout("batch_norm_backward", x);
  if (l.channels == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  // One workspace: [2·C·blocks partial sums | 3·C coefficients].
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * l.channels * (2 * grid.blocks + 3)));
  float* coef = partial + 2 * l.channels * grid.blocks;
  channel_dot_partial<float><<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(partial, nullptr, dy.data<float>(),
                                                                           x.data<float>(), save_mean.data<float>(),
                                                                           nullptr, l.batch, l.inner, l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  bn_backward_finish<<<grid_for(ctx, l.channels, bn_backward_finish), kThreads, 0, stream_of(ctx)>>>(
      mut_ptr_or_null<float>(dgamma), mut_ptr_or_null<float>(dbeta), coef, partial, save_invstd.data<float>(),
      ptr_or_null<float>(gamma), l.channels, grid.blocks, static_cast<double>(l.batch * l.inner), accumulate);
  SCN_CUDA_CHECK_LAUNCH();
  if (dx.defined())
    channel_map(ctx, dx.data<float>(), dy.data<float>(), x.data<float>(), l,
                BnBackwardMap{save_mean.data<float>(), coef, l.channels});
}

void batch_norm_moments(Context& ctx, const Tensor& moments, const Tensor& x) {
  NvtxRange range("batch_norm_moments");
  require_cuda_f32("batch_norm_moments", x);
  const ChannelLayout l = channel_layout("batch_norm_moments", x);
  if (l.channels == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * l.channels * 3 * grid.blocks));
  bn_stats_partial<<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(partial, x.data<float>(), l.batch, l.inner,
                                                                 l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  bn_moments_finish<<<grid_for(ctx, l.channels, bn_moments_finish), kThreads, 0, stream_of(ctx)>>>(moments.data<double>(), partial,
                                                                                l.channels, grid.blocks);
  SCN_CUDA_CHECK_LAUNCH();
}

void batch_norm_forward_from_moments(Context& ctx, const Tensor& y, const Tensor& save_mean,
                                     const Tensor& save_invstd, const Tensor& running_mean,
                                     const Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                     const Tensor& beta, const Tensor& moments, double momentum, double eps) {
  NvtxRange range("batch_norm_forward_from_moments");
  require_cuda_f32("batch_norm_forward_from_moments", x);
  const ChannelLayout l = channel_layout("batch_norm_forward_from_moments", x);
  if (l.channels == 0) return;
  float* coef = static_cast<float*>(ctx.workspace(sizeof(float) * 2 * l.channels));
  bn_moments_coef<<<grid_for(ctx, l.channels, bn_moments_coef), kThreads, 0, stream_of(ctx)>>>(
      save_mean.data<float>(), save_invstd.data<float>(), mut_ptr_or_null<float>(running_mean),
      mut_ptr_or_null<float>(running_var), coef, moments.data<double>(), ptr_or_null<float>(gamma),
      ptr_or_null<float>(beta), l.channels, momentum, eps);
  SCN_CUDA_CHECK_LAUNCH();
  channel_map(ctx, y.data<float>(), x.data<float>(), nullptr, l, AffineMap{coef, coef + l.channels});
}

void batch_norm_backward_sums(Context& ctx, const Tensor& sums, const Tensor& dgamma, const Tensor& dbeta,
                              const Tensor& dy, const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd,
                              bool accumulate) {
  NvtxRange range("batch_norm_backward_sums");
  require_cuda_f32("batch_norm_backward_sums", x);
  const ChannelLayout l = channel_layout("batch_norm_backward_sums", x);
  if (l.channels == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  float* partial = static_cast<float*>(ctx.workspace(sizeof(float) * l.channels * 2 * grid.blocks));
  channel_dot_partial<float><<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(partial, nullptr, dy.data<float>(),
                                                                           x.data<float>(), save_mean.data<float>(),
                                                                           nullptr, l.batch, l.inner, l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  bn_sums_finish<<<grid_for(ctx, l.channels, bn_sums_finish), kThreads, 0, stream_of(ctx)>>>(
      sums.data<double>(), mut_ptr_or_null<float>(dgamma), mut_ptr_or_null<float>(dbeta), partial,
      save_invstd.data<float>(), l.channels, grid.blocks, accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward_from_sums(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& x,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                                   const Tensor& sums, const Tensor& moments) {
  NvtxRange range("batch_norm_backward_from_sums");
  require_cuda_f32("batch_norm_backward_from_sums", x);
  const ChannelLayout l = channel_layout("batch_norm_backward_from_sums", x);
  if (l.channels == 0) return;
  float* coef = static_cast<float*>(ctx.workspace(sizeof(float) * 3 * l.channels));
  bn_sums_coef<<<grid_for(ctx, l.channels, bn_sums_coef), kThreads, 0, stream_of(ctx)>>>(
      coef, sums.data<double>(), moments.data<double>(), save_invstd.data<float>(), ptr_or_null<float>(gamma),
      l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  channel_map(ctx, dx.data<float>(), dy.data<float>(), x.data<float>(), l,
              BnBackwardMap{save_mean.data<float>(), coef, l.channels});
}

}  // namespace scn::cuda
