#include "kernels/atom_correlation.h"

#include <fftw3.h>

#include <cmath>
#include <algorithm>
#include <array>
#include <complex>
#include <map>
#include <memory>
#include <mutex>

#include "core/dispatch.h"

namespace scn {

int atom_correlation_shifts(int kernel, int stride) { return 2 * ((kernel - 1) / stride) + 1; }

namespace {

// FFTW's planner is not thread-safe: plans are made (and destroyed) one at a time. Never destroyed itself: the
// contexts holding plans are destroyed at exit, possibly after function-local statics made later than them.
std::mutex& fftw_planner_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

// The two transforms of one weight shape and the arrays they were planned on (FFTW binds a plan to its arrays'
// alignment: the arrays stay with the plan), made once per shape and kept in the context: coherence is
// measured every epoch for every dictionary (train.log_sparsity), always at the same shapes.
struct FftwPlans {
  fftwf_plan forward = nullptr, inverse = nullptr;
  float* padded = nullptr;            // atoms × P², the normalised atoms
  fftwf_complex* spectra = nullptr;   // freqs × atoms
  fftwf_complex* cross = nullptr;     // freqs × pairs
  float* lags = nullptr;              // pairs × P²
  FftwPlans() = default;
  FftwPlans(const FftwPlans&) = delete;
  FftwPlans& operator=(const FftwPlans&) = delete;
  ~FftwPlans() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    if (forward) fftwf_destroy_plan(forward);
    if (inverse) fftwf_destroy_plan(inverse);
    fftwf_free(padded);
    fftwf_free(spectra);
    fftwf_free(cross);
    fftwf_free(lags);
  }
};

struct FftwPlanCache {
  std::map<std::array<int64_t, 3>, std::unique_ptr<FftwPlans>> by_shape;  // (M, C, k)
};

// The plans of (M, C, k), made on first use (counted in ctx.stats().plans_built).
FftwPlans& plans_for(Context& ctx, const char* op, int64_t M, int64_t C, int k) {
  auto& slot = ctx.state<FftwPlanCache>().by_shape[{M, C, k}];
  if (slot) return *slot;
  const int P = 2 * k - 1, half = P / 2 + 1;
  const int64_t spatial = int64_t(P) * P, freqs = int64_t(P) * half, atoms = M * C, pairs = M * M;
  auto p = std::make_unique<FftwPlans>();
  p->padded = fftwf_alloc_real(static_cast<size_t>(atoms * spatial));
  p->spectra = fftwf_alloc_complex(static_cast<size_t>(atoms * freqs));
  p->cross = fftwf_alloc_complex(static_cast<size_t>(pairs * freqs));
  p->lags = fftwf_alloc_real(static_cast<size_t>(pairs * spatial));
  SCN_CHECK(p->padded && p->spectra && p->cross && p->lags, op, ": out of memory for the transforms of ", M,
            " atoms of ", C, " channels");
  const int n[2] = {P, P};
  {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    p->forward = fftwf_plan_many_dft_r2c(2, n, static_cast<int>(atoms), p->padded, nullptr, 1, static_cast<int>(spatial),
                                         p->spectra, nullptr, static_cast<int>(atoms), 1, FFTW_ESTIMATE);
    p->inverse = fftwf_plan_many_dft_c2r(2, n, static_cast<int>(pairs), p->cross, nullptr, static_cast<int>(pairs), 1,
                                         p->lags, nullptr, 1, static_cast<int>(spatial), FFTW_ESTIMATE);
  }
  SCN_CHECK(p->forward && p->inverse, op, ": FFTW could not plan the transforms");
  ctx.stats().plans_built += 2;
  slot = std::move(p);
  return *slot;
}

}  // namespace

void atom_correlations(Context& ctx, const Tensor& out, const Tensor& weight, int stride) {
  const char* op = "atom_correlations";
  SCN_CHECK(weight.rank() == 4 && weight.size(2) == weight.size(3), op, ": weight must be (M, C, k, k), got ",
            weight.shape().str());
  SCN_CHECK(stride >= 1, op, ": stride must be at least 1, got ", stride);
  SCN_CHECK(weight.dtype() == DType::f32 && out.dtype() == DType::f32, op, ": f32 tensors expected");
  const int64_t M = weight.size(0), C = weight.size(1);
  const int k = static_cast<int>(weight.size(2));
  const int S = atom_correlation_shifts(k, stride);
  check_shape(op, "out", out, Shape{M, M, S, S});
  check_same_device(op, {&out, &weight});
  SCN_DISPATCH_CUDA(weight, cuda::atom_correlations(ctx, out, weight, stride));
  if (M == 0) return;

  // Linear correlation of two k-long supports spans 2k − 1 lags: a circular transform of that size holds
  // every lag without wrapping onto another.
  const int P = 2 * k - 1, half = P / 2 + 1;
  const int64_t spatial = int64_t(P) * P, freqs = int64_t(P) * half, atoms = M * C;
  const float* w = weight.data<float>();

  FftwPlans& plans = plans_for(ctx, op, M, C, k);
  const int64_t pairs = M * M;
  float* padded = plans.padded;
  auto* spectra = reinterpret_cast<std::complex<float>*>(plans.spectra);
  auto* cross = reinterpret_cast<std::complex<float>*>(plans.cross);
  const float* lags = plans.lags;

  // Normalised atoms, zero-padded to P×P per channel.
  std::fill(padded, padded + atoms * spatial, 0.0f);
  for (int64_t i = 0; i < M; ++i) {
    const float* atom = w + i * C * k * k;
    double norm2 = 0;
    for (int64_t e = 0; e < C * k * k; ++e) norm2 += double(atom[e]) * atom[e];
    const float scale = norm2 > 0 ? static_cast<float>(1.0 / std::sqrt(norm2)) : 0.0f;
    for (int64_t c = 0; c < C; ++c)
      for (int u = 0; u < k; ++u)
        for (int v = 0; v < k; ++v) padded[(i * C + c) * spatial + u * P + v] = atom[(c * k + u) * k + v] * scale;
  }

  // Spectra of every (atom, channel), stored frequency-major: spectra[f][i][c].
  fftwf_execute(plans.forward);

  // Cross-spectra G[f][i][j] = Σ_c F[i,c,f]·conj(F[j,c,f]) for i ≤ j; G[j][i] is its conjugate.
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t f = 0; f < freqs; ++f) {
    for (int64_t i = 0; i < M; ++i) {
      const std::complex<float>* fi = spectra + f * atoms + i * C;
      for (int64_t j = i; j < M; ++j) {
        const std::complex<float>* fj = spectra + f * atoms + j * C;
        float re = 0, im = 0;
        for (int64_t c = 0; c < C; ++c) {  // a·conj(b)
          re += fi[c].real() * fj[c].real() + fi[c].imag() * fj[c].imag();
          im += fi[c].imag() * fj[c].real() - fi[c].real() * fj[c].imag();
        }
        cross[f * pairs + i * M + j] = {re, im};
        cross[f * pairs + j * M + i] = {re, -im};
      }
    }
  }

  // Back to lags, one pair per transform: lags[pair][P×P] (unnormalised by FFTW: divided by P² below).
  fftwf_execute(plans.inverse);

  // The lags the stride allows: δ = s·(a − R), read circularly.
  const int R = (k - 1) / stride;
  const float inv = 1.0f / static_cast<float>(spatial);
  float* o = out.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < pairs; ++pair)
    for (int a = 0; a < S; ++a)
      for (int b = 0; b < S; ++b) {
        const int dy = ((stride * (a - R)) % P + P) % P, dx = ((stride * (b - R)) % P + P) % P;
        o[(pair * S + a) * S + b] = lags[pair * spatial + dy * P + dx] * inv;
      }
}

}  // namespace scn
