#include <cmath>

#include "kernels/cuda/per_channel.cuh"
#include "kernels/softmax_cross_entropy.h"

namespace scn::cuda {

namespace {

__device__ inline float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ inline float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// One warp per sample (grid-stride over samples): the row max, Σ exp(z − m) and Σ z by lane-strided partials and
// a fixed butterfly, then the loss and, when grad is not null, grad[k] = scale_n·(p_k − q_k) with
// scale_n = dloss[n] (dloss not null) or `scale`. An out-of-range label gives a NaN loss and a NaN gradient row.
__global__ void softmax_xent(float* loss, float* grad, const float* dloss, float scale, const float* logits,
                             const int32_t* labels, int64_t batch, int64_t classes, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps_total = int64_t(gridDim.x) * (blockDim.x >> 5);
  const float off_q = eps / static_cast<float>(classes);
  for (int64_t n = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); n < batch; n += warps_total) {
    const float* z = logits + n * classes;
    const int32_t label = labels[n];
    const bool valid = label >= 0 && label < classes;
    float m = -INFINITY;
    for (int64_t k = lane; k < classes; k += 32) m = fmaxf(m, z[k]);
    m = warp_max(m);
    float sum_exp = 0.f, sum_z = 0.f;
    for (int64_t k = lane; k < classes; k += 32) {
      sum_exp += expf(z[k] - m);
      sum_z += z[k];
    }
    sum_exp = warp_sum(sum_exp);
    sum_z = warp_sum(sum_z);
    const float lse = m + logf(sum_exp);
    if (loss && lane == 0) loss[n] = valid ? lse - (1.f - eps) * z[label] - off_q * sum_z : NAN;
    if (!grad) continue;
    const float s = dloss ? dloss[n] : scale;
    float* g = grad + n * classes;
    for (int64_t k = lane; k < classes; k += 32)
      g[k] = valid ? s * (expf(z[k] - lse) - off_q - (k == label ? 1.f - eps : 0.f)) : NAN;
  }
}

// mean[0] = (1/N) Σ loss in one block: strided partials and block_sum's fixed tree (deterministic).
__global__ void mean_of(float* mean, const float* loss, int64_t batch) {
  __shared__ float scratch[32];
  float s = 0.f;
  for (int64_t n = threadIdx.x; n < batch; n += blockDim.x) s += loss[n];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) mean[0] = s / static_cast<float>(batch);
}

void launch_rows(Context& ctx, float* loss, float* grad, const float* dloss, float scale, const Tensor& logits,
                 const Tensor& labels, double eps) {
  const int64_t batch = logits.size(0), classes = logits.size(1);
  softmax_xent<<<grid_for(ctx, batch * 32, softmax_xent), kThreads, 0, stream_of(ctx)>>>(
      loss, grad, dloss, scale, logits.data<float>(), labels.data<int32_t>(), batch, classes, static_cast<float>(eps));
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void softmax_cross_entropy_forward(Context& ctx, const Tensor& loss, const Tensor& mean_loss, const Tensor& dlogits,
                                   const Tensor& logits, const Tensor& labels, double smoothing) {
  NvtxRange range("softmax_cross_entropy_forward");
  require_cuda_f32("softmax_cross_entropy_forward", logits);
  const int64_t batch = logits.size(0);
  launch_rows(ctx, loss.data<float>(), mut_ptr_or_null<float>(dlogits), nullptr,
              static_cast<float>(1.0 / static_cast<double>(batch)), logits, labels, smoothing);
  if (!mean_loss.defined()) return;
  mean_of<<<1, kThreads, 0, stream_of(ctx)>>>(mean_loss.data<float>(), loss.data<float>(), batch);
  SCN_CUDA_CHECK_LAUNCH();
}

void softmax_cross_entropy_backward(Context& ctx, const Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                                    const Tensor& labels, double smoothing) {
  NvtxRange range("softmax_cross_entropy_backward");
  require_cuda_f32("softmax_cross_entropy_backward", logits);
  launch_rows(ctx, nullptr, dlogits.data<float>(), dloss.data<float>(), 0.f, logits, labels, smoothing);
}

}  // namespace scn::cuda
