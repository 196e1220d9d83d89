#include "kernels/cuda/launch.cuh"
#include "kernels/gram_matrix.h"

namespace scn::cuda {

namespace {
// One thread per element (i, e) of dW_f: Σ_j S[i][j]·W[j][e], S = M̄ + M̄ᵀ formed on the fly. Threads of a warp
// share i (uniform reads of dM) and read consecutive e of W (coalesced).
__global__ void gram_backward_to_atoms(float* dw, const float* w, const float* dm, float scale, const float* v,
                                       const float* deta, const float* eta, long long c, long long f) {
  const float k = v ? deta[0] * eta[0] * eta[0] : 0.f;
  for (long long o = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; o < c * f;
       o += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long i = o / f, e = o % f;
    float acc = 0.f;
    for (long long j = 0; j < c; ++j) {
      const float s = scale * (dm[i * c + j] + dm[j * c + i]) - (v ? 2.f * k * v[i] * v[j] : 0.f);
      acc = fmaf(s, w[j * f + e], acc);
    }
    dw[o] += acc;
  }
}
}  // namespace

void gram_matrix_backward(Context& ctx, const Tensor& dweight, const Tensor& weight, const Tensor& dgram, float scale,
                          const Tensor& vector, const Tensor& deta, const Tensor& eta) {
  NvtxRange range("gram_matrix_backward");
  SCN_CHECK(weight.dtype() == DType::f32, "gram_matrix_backward: the CUDA engine supports f32 only");
  const long long c = weight.size(0), f = weight.numel() / c;
  if (c * f == 0) return;
  const bool with_step = vector.defined();
  gram_backward_to_atoms<<<grid_for(ctx, c * f, gram_backward_to_atoms), kThreads, 0, stream_of(ctx)>>>(
      dweight.data<float>(), weight.data<float>(), dgram.data<float>(), scale,
      with_step ? vector.data<float>() : nullptr, with_step ? deta.data<float>() : nullptr,
      with_step ? eta.data<float>() : nullptr, c, f);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
