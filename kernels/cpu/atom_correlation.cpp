#include "kernels/atom_correlation.h"

#include <fftw3.h>

#include <cmath>
#include <complex>
#include <mutex>
#include <vector>

#include "core/dispatch.h"

namespace scn {

int atom_correlation_shifts(int kernel, int stride) { return 2 * ((kernel - 1) / stride) + 1; }

namespace {

// FFTW's planner is not thread-safe: plans are made (and destroyed) one at a time.
std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

struct FftwPlan {
  fftwf_plan plan = nullptr;
  ~FftwPlan() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    if (plan) fftwf_destroy_plan(plan);
  }
};

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

  // Normalised atoms, zero-padded to P×P per channel.
  std::vector<float> padded(static_cast<size_t>(atoms * spatial), 0.0f);
  for (int64_t i = 0; i < M; ++i) {
    const float* atom = w + i * C * k * k;
    double norm2 = 0;
    for (int64_t e = 0; e < C * k * k; ++e) norm2 += double(atom[e]) * atom[e];
    const float scale = norm2 > 0 ? static_cast<float>(1.0 / std::sqrt(norm2)) : 0.0f;
    for (int64_t c = 0; c < C; ++c)
      for (int u = 0; u < k; ++u)
        for (int v = 0; v < k; ++v)
          padded[static_cast<size_t>((i * C + c) * spatial + u * P + v)] = atom[(c * k + u) * k + v] * scale;
  }

  // Spectra of every (atom, channel), stored frequency-major: spectra[f][i][c].
  std::vector<std::complex<float>> spectra(static_cast<size_t>(atoms * freqs));
  const int n[2] = {P, P};
  {
    FftwPlan forward;
    {
      std::lock_guard<std::mutex> lock(fftw_planner_mutex());
      forward.plan = fftwf_plan_many_dft_r2c(2, n, static_cast<int>(atoms), padded.data(), nullptr, 1,
                                             static_cast<int>(spatial),
                                             reinterpret_cast<fftwf_complex*>(spectra.data()), nullptr,
                                             static_cast<int>(atoms), 1, FFTW_ESTIMATE);
    }
    SCN_CHECK(forward.plan, op, ": FFTW could not plan the forward transform");
    fftwf_execute(forward.plan);
  }

  // Cross-spectra G[f][i][j] = Σ_c F[i,c,f]·conj(F[j,c,f]) for i ≤ j; G[j][i] is its conjugate.
  const int64_t pairs = M * M;
  std::vector<std::complex<float>> cross(static_cast<size_t>(pairs * freqs));
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t f = 0; f < freqs; ++f) {
    for (int64_t i = 0; i < M; ++i) {
      const std::complex<float>* fi = spectra.data() + f * atoms + i * C;
      for (int64_t j = i; j < M; ++j) {
        const std::complex<float>* fj = spectra.data() + f * atoms + j * C;
        float re = 0, im = 0;
        for (int64_t c = 0; c < C; ++c) {  // a·conj(b)
          re += fi[c].real() * fj[c].real() + fi[c].imag() * fj[c].imag();
          im += fi[c].imag() * fj[c].real() - fi[c].real() * fj[c].imag();
        }
        cross[static_cast<size_t>(f * pairs + i * M + j)] = {re, im};
        cross[static_cast<size_t>(f * pairs + j * M + i)] = {re, -im};
      }
    }
  }

  // Back to lags, one pair per transform: lags[pair][P×P] (unnormalised by FFTW: divided by P² below).
  std::vector<float> lags(static_cast<size_t>(pairs * spatial));
  {
    FftwPlan inverse;
    {
      std::lock_guard<std::mutex> lock(fftw_planner_mutex());
      inverse.plan = fftwf_plan_many_dft_c2r(2, n, static_cast<int>(pairs),
                                             reinterpret_cast<fftwf_complex*>(cross.data()), nullptr,
                                             static_cast<int>(pairs), 1, lags.data(), nullptr, 1,
                                             static_cast<int>(spatial), FFTW_ESTIMATE);
    }
    SCN_CHECK(inverse.plan, op, ": FFTW could not plan the inverse transform");
    fftwf_execute(inverse.plan);
  }

  // The lags the stride allows: δ = s·(a − R), read circularly.
  const int R = (k - 1) / stride;
  const float inv = 1.0f / static_cast<float>(spatial);
  float* o = out.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < pairs; ++pair)
    for (int a = 0; a < S; ++a)
      for (int b = 0; b < S; ++b) {
        const int dy = ((stride * (a - R)) % P + P) % P, dx = ((stride * (b - R)) % P + P) % P;
        o[(pair * S + a) * S + b] = lags[static_cast<size_t>(pair * spatial + dy * P + dx)] * inv;
      }
}

}  // namespace scn
