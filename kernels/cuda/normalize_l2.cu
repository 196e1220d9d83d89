#include "kernels/cuda/launch.cuh"
#include "kernels/normalize_l2.h"

namespace scn::cuda {

namespace {
constexpr int kReduceThreads = 1024;

// One block: the vectors of a power iteration are small (one code of one image), and one block keeps the
// sum in a fixed order (deterministic). Writes ‖x‖ and its reciprocal.
__global__ void sum_squares_one_block(float* norm, float* inverse, const float* x, int64_t n) {
  __shared__ float scratch[32];
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += x[i] * x[i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) {
    const float r = sqrtf(s);
    norm[0] = r;
    if (inverse) inverse[0] = r > 0.f ? 1.f / r : 1.f;
  }
}

__global__ void scale_by_inverse_norm(float* y, const float* x, const float* norm, int64_t n) {
  const float r = norm[0];
  const float k = r > 0.f ? 1.f / r : 1.f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] * k;
}
}  // namespace

void normalize_l2(Context& ctx, const Tensor& y, const Tensor& norm, const Tensor& inverse, const Tensor& x) {
  NvtxRange range("normalize_l2");
  SCN_CHECK(x.dtype() == DType::f32, "normalize_l2: the CUDA engine supports f32 only");
  const int64_t n = x.numel();
  sum_squares_one_block<<<1, kReduceThreads, 0, stream_of(ctx)>>>(
      norm.data<float>(), inverse.defined() ? inverse.data<float>() : nullptr, x.data<float>(), n);
  SCN_CUDA_CHECK_LAUNCH();
  if (n == 0) return;
  scale_by_inverse_norm<<<grid_for(ctx, n, scale_by_inverse_norm), kThreads, 0, stream_of(ctx)>>>(y.data<float>(), x.data<float>(),
                                                                            norm.data<float>(), n);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
