#include <cufft.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "kernels/atom_correlation.h"
#include "kernels/cuda/launch.cuh"

namespace scn::cuda {

namespace {

// One block per atom: its norm, then the atom scaled to unit norm into a zero P×P frame per channel
// (padded[(i·C + c)·P² + u·P + v]).
__global__ void normalize_and_pad(float* padded, const float* weight, int64_t C, int k, int P) {
  __shared__ float scratch[32];
  const int64_t i = blockIdx.x, size = C * k * k, spatial = int64_t(P) * P;
  const float* atom = weight + i * size;
  float s = 0.f;
  for (int64_t e = threadIdx.x; e < size; e += blockDim.x) s += atom[e] * atom[e];
  s = block_sum(s, scratch);
  const float scale = s > 0.f ? rsqrtf(s) : 0.f;
  float* frame = padded + i * C * spatial;
  for (int64_t e = threadIdx.x; e < C * spatial; e += blockDim.x) {
    const int64_t c = e / spatial, r = e % spatial;
    const int u = static_cast<int>(r / P), v = static_cast<int>(r % P);
    frame[e] = (u < k && v < k) ? atom[(c * k + u) * k + v] * scale : 0.f;
  }
}

// out[pair, a, b] = lags[pair][δ_y mod P][δ_x mod P] / P², δ = s·(a − R, b − R).
__global__ void gather_strided_lags(float* out, const float* lags, int64_t pairs, int P, int S, int R, int stride) {
  const int64_t n = pairs * S * S, spatial = int64_t(P) * P;
  const float inv = 1.f / static_cast<float>(spatial);
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pair = e / (S * S);
    const int a = static_cast<int>((e / S) % S), b = static_cast<int>(e % S);
    const int dy = ((stride * (a - R)) % P + P) % P, dx = ((stride * (b - R)) % P + P) % P;
    out[e] = lags[pair * spatial + dy * P + dx] * inv;
  }
}

// The two transforms of one weight shape, planned once per (M, C, k) and kept in the context: coherence is
// measured every epoch for every dictionary (train.log_sparsity), always at the same shapes, and a plan made
// and destroyed per call cost an allocation and a synchronisation each time. Destroyed with the context.
struct CufftPlans {
  cufftHandle forward = 0, inverse = 0;
  bool made_forward = false, made_inverse = false;
  CufftPlans() = default;
  CufftPlans(const CufftPlans&) = delete;
  CufftPlans& operator=(const CufftPlans&) = delete;
  ~CufftPlans() {
    if (made_forward) cufftDestroy(forward);
    if (made_inverse) cufftDestroy(inverse);
  }
};

struct CufftPlanCache {
  std::mutex mutex;
  std::map<std::array<int64_t, 3>, std::unique_ptr<CufftPlans>> by_shape;  // (M, C, k)
};

CufftPlans& plans_for(Context& ctx, int64_t M, int64_t C, int k) {
  CufftPlanCache& cache = ctx.state<CufftPlanCache>();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto& slot = cache.by_shape[{M, C, k}];
  if (slot) return *slot;
  const int P = 2 * k - 1, half = P / 2 + 1;
  const int64_t spatial = int64_t(P) * P, atoms = M * C, pairs = M * M;
  int n[2] = {P, P}, real_embed[2] = {P, P}, complex_embed[2] = {P, half};
  // cuFFT allocates the plans' work areas itself: hand back what the stream-ordered pool holds first.
  release_cached_device_memory(ctx);
  auto p = std::make_unique<CufftPlans>();
  SCN_CUFFT_CHECK(cufftPlanMany(&p->forward, 2, n, real_embed, 1, static_cast<int>(spatial), complex_embed,
                                static_cast<int>(atoms), 1, CUFFT_R2C, static_cast<int>(atoms)));
  p->made_forward = true;
  SCN_CUFFT_CHECK(cufftPlanMany(&p->inverse, 2, n, complex_embed, static_cast<int>(pairs), 1, real_embed, 1,
                                static_cast<int>(spatial), CUFFT_C2R, static_cast<int>(pairs)));
  p->made_inverse = true;
  SCN_CUFFT_CHECK(cufftSetStream(p->forward, stream_of(ctx)));
  SCN_CUFFT_CHECK(cufftSetStream(p->inverse, stream_of(ctx)));
  ctx.stats().plans_built += 2;
  slot = std::move(p);
  return *slot;
}

}  // namespace

void atom_correlations(Context& ctx, const Tensor& out, const Tensor& weight, int stride) {
  NvtxRange range("atom_correlations");
  const int64_t M = weight.size(0), C = weight.size(1);
  const int k = static_cast<int>(weight.size(2));
  if (M == 0) return;
  const int P = 2 * k - 1, half = P / 2 + 1, S = atom_correlation_shifts(k, stride), R = (k - 1) / stride;
  const int64_t spatial = int64_t(P) * P, freqs = int64_t(P) * half, atoms = M * C, pairs = M * M;
  SCN_CHECK(atoms <= INT32_MAX && pairs <= INT32_MAX && pairs * freqs <= INT32_MAX,
            "atom_correlations: ", M, " atoms of ", C, " channels exceed cuFFT's batch sizes");
  cudaStream_t stream = stream_of(ctx);

  Tensor padded = Tensor::empty({atoms, spatial}, DType::f32, weight.device());
  normalize_and_pad<<<static_cast<unsigned>(M), kThreads, 0, stream>>>(padded.data<float>(), weight.data<float>(), C,
                                                                       k, P);
  SCN_CUDA_CHECK_LAUNCH();

  // Spectra frequency-major: spectra[f][i·C + c] (ostride = atoms, odist = 1), so that each frequency is a
  // column-major C×M matrix X_f for cuBLAS.
  Tensor spectra = Tensor::empty({freqs * atoms * 2}, DType::f32, weight.device());
  CufftPlans& plans = plans_for(ctx, M, C, k);
  SCN_CUFFT_CHECK(cufftExecR2C(plans.forward, padded.data<float>(), reinterpret_cast<cufftComplex*>(spectra.data<float>())));

  // Cross-spectra per frequency: X_fᴴ X_f (M×M, column-major) holds G_f[j][i] at (i, j), i.e. the row-major
  // G_f[i][j] = Σ_c F[i,c]·conj(F[j,c]) — the layout [f][pair] the inverse transform reads with istride = M².
  Tensor cross = Tensor::empty({freqs * pairs * 2}, DType::f32, weight.device());
  const cuComplex one = make_cuComplex(1.f, 0.f), zero = make_cuComplex(0.f, 0.f);
  const auto* x = reinterpret_cast<const cuComplex*>(spectra.data<float>());
  SCN_CUBLAS_CHECK(cublasCgemmStridedBatched(cublas_handle(ctx, false), CUBLAS_OP_C, CUBLAS_OP_N, static_cast<int>(M),
                                             static_cast<int>(M), static_cast<int>(C), &one, x, static_cast<int>(C),
                                             atoms, x, static_cast<int>(C), atoms, &zero,
                                             reinterpret_cast<cuComplex*>(cross.data<float>()), static_cast<int>(M),
                                             pairs, static_cast<int>(freqs)));

  Tensor lags = Tensor::empty({pairs, spatial}, DType::f32, weight.device());
  SCN_CUFFT_CHECK(cufftExecC2R(plans.inverse, reinterpret_cast<cufftComplex*>(cross.data<float>()), lags.data<float>()));
  gather_strided_lags<<<grid_for(ctx, pairs * S * S, gather_strided_lags), kThreads, 0, stream>>>(out.data<float>(), lags.data<float>(),
                                                                             pairs, P, S, R, stride);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
