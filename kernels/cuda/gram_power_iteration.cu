#include "kernels/cuda/launch.cuh"
#include "kernels/gram_power_iteration.h"

namespace scn::cuda {

namespace {
constexpr int kPowerThreads = 512;

// One block for the whole iteration (a C-vector and a C×C matrix): warps take rows of M v (lanes over the
// columns, coalesced), the block sums the squares in double in a fixed order (deterministic).
__global__ void __launch_bounds__(kPowerThreads)
    power_iterate_gram(float* v, float* next, float* lipschitz, float* step, float* threshold, const float* v_in,
                       const float* gram, const float* lambda, long long c, long long lambda_count, int iterations) {
  __shared__ double scratch[32];
  double s = 0;
  for (long long i = threadIdx.x; i < c; i += blockDim.x) s += static_cast<double>(v_in[i]) * v_in[i];
  double rho = sqrt(block_sum(s, scratch));
  float factor = rho > 0 ? static_cast<float>(1.0 / rho) : 1.f;
  for (long long i = threadIdx.x; i < c; i += blockDim.x) v[i] = v_in[i] * factor;  // same element: in place is safe
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int it = 0; it < iterations; ++it) {
    __syncthreads();  // v complete
    for (long long i = warp; i < c; i += warps) {
      float dot = 0.f;
      for (long long j = lane; j < c; j += 32) dot += gram[i * c + j] * v[j];
      for (int off = 16; off > 0; off >>= 1) dot += __shfl_down_sync(0xffffffffu, dot, off);
      if (lane == 0) next[i] = dot;
    }
    __syncthreads();  // next complete
    s = 0;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) s += static_cast<double>(next[i]) * next[i];
    rho = sqrt(block_sum(s, scratch));
    factor = rho > 0 ? static_cast<float>(1.0 / rho) : 1.f;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) v[i] = next[i] * factor;
  }
  if (threadIdx.x == 0) {
    lipschitz[0] = static_cast<float>(rho);
    if (iterations > 0 && step) step[0] = factor;
  }
  if (iterations > 0 && step && threshold)
    for (long long i = threadIdx.x; i < lambda_count; i += blockDim.x) threshold[i] = factor * lambda[i];
}
}  // namespace

void gram_power_iteration(Context& ctx, const Tensor& vector_out, const Tensor& lipschitz, const Tensor& step,
                          const Tensor& threshold, const Tensor& vector_in, const Tensor& gram, const Tensor& lambda,
                          int iterations) {
  NvtxRange range("gram_power_iteration");
  SCN_CHECK(vector_in.dtype() == DType::f32, "gram_power_iteration: the CUDA engine supports f32 only");
  const long long c = vector_in.numel();
  float* next = static_cast<float*>(ctx.workspace(sizeof(float) * static_cast<size_t>(c > 0 ? c : 1)));
  power_iterate_gram<<<1, kPowerThreads, 0, stream_of(ctx)>>>(
      vector_out.data<float>(), next, lipschitz.data<float>(), step.defined() ? step.data<float>() : nullptr,
      threshold.defined() ? threshold.data<float>() : nullptr, vector_in.data<float>(), gram.data<float>(),
      lambda.defined() ? lambda.data<float>() : nullptr, c, lambda.defined() ? lambda.numel() : 0, iterations);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
