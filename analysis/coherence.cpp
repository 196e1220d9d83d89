#include "analysis/coherence.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/atom_correlation.h"

namespace scn {

namespace {
double welch(double atoms, double dimension) {
  if (atoms <= dimension || atoms <= 1) return 0;
  return std::sqrt((atoms - dimension) / (dimension * (atoms - 1)));
}
}  // namespace

double welch_bound_patch(int64_t atoms, int64_t channels, int kernel) {
  return welch(static_cast<double>(atoms), static_cast<double>(channels) * kernel * kernel);
}

double welch_bound_convolutional(int64_t atoms, int64_t channels, int kernel, int stride) {
  const int64_t period = stride * ((2 * kernel - 1 + stride - 1) / stride);
  const double positions = static_cast<double>(period / stride) * static_cast<double>(period / stride);
  return welch(static_cast<double>(atoms) * positions, static_cast<double>(channels) * double(period) * period);
}

Coherence summarize_coherence(const Tensor& correlations, const Shape& weight_shape, int stride) {
  SCN_CHECK(weight_shape.rank() == 4, "coherence: the dictionary must be (M, C, k, k), got ", weight_shape.str());
  Coherence r;
  r.atoms = weight_shape[0];
  r.atom_size = weight_shape[1] * weight_shape[2] * weight_shape[3];
  r.kernel = static_cast<int>(weight_shape[2]);
  r.stride = stride;
  const int S = atom_correlation_shifts(r.kernel, stride), R = (r.kernel - 1) / stride;
  const int64_t M = r.atoms;
  SCN_CHECK(correlations.shape() == Shape({M, M, S, S}), "coherence: correlations are ", correlations.shape().str(),
            ", expected ", Shape({M, M, S, S}).str());
  const std::vector<double> c = correlations.to_vector();
  auto at = [&](int64_t i, int64_t j, int a, int b) { return c[static_cast<size_t>(((i * M + j) * S + a) * S + b)]; };
  std::vector<bool> zero(static_cast<size_t>(M));
  for (int64_t i = 0; i < M; ++i) {
    zero[static_cast<size_t>(i)] = at(i, i, R, R) < 0.5;  // a normalised atom has ⟨d̂, d̂⟩ = 1
    r.zero_atoms += zero[static_cast<size_t>(i)];
  }
  double sum = 0, sum2 = 0;
  int64_t pairs = 0;
  for (int64_t i = 0; i < M; ++i) {
    if (zero[static_cast<size_t>(i)]) continue;
    for (int64_t j = 0; j < M; ++j) {
      if (zero[static_cast<size_t>(j)]) continue;
      for (int a = 0; a < S; ++a)
        for (int b = 0; b < S; ++b) {
          if (i == j && a == R && b == R) continue;
          const double v = std::abs(at(i, j, a, b));
          if (v > r.mutual) {
            r.mutual = v;
            r.atom_i = i, r.atom_j = j;
            r.shift_y = stride * (a - R), r.shift_x = stride * (b - R);
          }
        }
      if (j <= i) continue;
      const double v = std::abs(at(i, j, R, R));
      r.patch = std::max(r.patch, v);
      sum += v, sum2 += v * v, ++pairs;
    }
  }
  if (pairs > 0) {
    r.mean = sum / static_cast<double>(pairs);
    r.std = std::sqrt(std::max(0.0, sum2 / static_cast<double>(pairs) - r.mean * r.mean));
  }
  r.welch_patch = welch_bound_patch(M, weight_shape[1], r.kernel);
  r.welch_conv = welch_bound_convolutional(M, weight_shape[1], r.kernel, stride);
  return r;
}

Coherence dictionary_coherence(Context& ctx, const Tensor& weight, int stride) {
  Tensor w = weight.dtype() == DType::f32 ? weight : weight.to(DType::f32);  // f64 (gradient checks): a CPU copy
  if (w.device() != ctx.device()) w = w.to(ctx.device());
  const int S = atom_correlation_shifts(static_cast<int>(w.size(2)), stride);
  Tensor correlations = Tensor::empty({w.size(0), w.size(0), S, S}, DType::f32, w.device());
  atom_correlations(ctx, correlations, w, stride);
  return summarize_coherence(correlations, w.shape(), stride);
}

Tensor atom_correlations_direct(const Tensor& weight, int stride) {
  SCN_CHECK(weight.rank() == 4 && weight.size(2) == weight.size(3), "atom_correlations_direct: weight must be "
            "(M, C, k, k), got ", weight.shape().str());
  const int64_t M = weight.size(0), C = weight.size(1);
  const int k = static_cast<int>(weight.size(2));
  const int S = atom_correlation_shifts(k, stride), R = (k - 1) / stride;
  std::vector<double> w = weight.to(Device::cpu()).to_vector();
  const int64_t size = C * k * k;
  for (int64_t i = 0; i < M; ++i) {
    double n2 = 0;
    for (int64_t e = 0; e < size; ++e) n2 += w[static_cast<size_t>(i * size + e)] * w[static_cast<size_t>(i * size + e)];
    const double scale = n2 > 0 ? 1 / std::sqrt(n2) : 0;
    for (int64_t e = 0; e < size; ++e) w[static_cast<size_t>(i * size + e)] *= scale;
  }
  auto atom = [&](int64_t i, int64_t c, int u, int v) {
    return (u < 0 || v < 0 || u >= k || v >= k) ? 0.0 : w[static_cast<size_t>(((i * C + c) * k + u) * k + v)];
  };
  std::vector<double> out(static_cast<size_t>(M * M * S * S));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < M; ++j)
      for (int a = 0; a < S; ++a)
        for (int b = 0; b < S; ++b) {
          const int dy = stride * (a - R), dx = stride * (b - R);
          double s = 0;  // ⟨d̂ᵢ, T_δ d̂ⱼ⟩ = Σ d̂ᵢ[c, u, v]·d̂ⱼ[c, u − δy, v − δx]
          for (int64_t c = 0; c < C; ++c)
            for (int u = 0; u < k; ++u)
              for (int v = 0; v < k; ++v) s += atom(i, c, u, v) * atom(j, c, u - dy, v - dx);
          out[static_cast<size_t>(((i * M + j) * S + a) * S + b)] = s;
        }
  return Tensor::from_vector(out, {M, M, S, S}, DType::f64);
}

}  // namespace scn
