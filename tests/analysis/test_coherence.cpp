// The coherence of convolutional dictionaries (FFT against the direct sum, shifts and strides, the Welch
// bounds) and the local sparsity ‖Γ‖₀,∞ against a count over signal patches.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/coherence.h"
#include "analysis/local_sparsity.h"
#include "core/philox.h"
#include "kernels/atom_correlation.h"

namespace scn {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

Tensor random_weight(const Shape& shape, uint64_t seed) {
  std::vector<double> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = philox_normal(RngKey{seed, RngPurpose::init, 0}, i);
  return Tensor::from_vector(v, shape);
}

TEST(Coherence, FftMatchesTheDirectSumOnRandomDictionaries) {
  struct Geometry { Shape shape; int stride; };
  for (const Geometry& g : {Geometry{{7, 3, 3, 3}, 1}, Geometry{{5, 2, 5, 5}, 2}, Geometry{{11, 3, 3, 3}, 2},
                            Geometry{{4, 1, 7, 7}, 1}, Geometry{{6, 5, 4, 4}, 3}}) {
    const Tensor w = random_weight(g.shape, 17 + g.stride);
    const Coherence fft = dictionary_coherence(cpu(), w, g.stride);
    const Coherence direct = summarize_coherence(atom_correlations_direct(w, g.stride), w.shape(), g.stride);
    EXPECT_NEAR(fft.mutual, direct.mutual, 1e-5) << g.shape.str() << " stride " << g.stride;
    EXPECT_NEAR(fft.patch, direct.patch, 1e-5);
    EXPECT_NEAR(fft.mean, direct.mean, 1e-5);
    EXPECT_NEAR(fft.std, direct.std, 1e-5);
    EXPECT_EQ(fft.atom_i, direct.atom_i);
    EXPECT_EQ(fft.shift_x, direct.shift_x);
    EXPECT_GT(fft.mutual, 0.05);
    EXPECT_LE(fft.patch, fft.mutual + 1e-7);  // the zero shift is one of the shifts
    EXPECT_LE(fft.mutual, 1 + 1e-6);
  }
}

// Atom 1 is atom 0 moved one pixel to the right: at stride 1 the dictionary holds the same atom twice
// (μ = 1 at δ = (0, 1)); at stride 2 that shift is not one the model can make, so μ < 1.
// Coherence is measured every epoch for every dictionary at the same shapes: the transforms are planned once per
// shape and kept (FFTW here, cuFFT on a GPU), not made and destroyed on every call.
TEST(Coherence, TransformsArePlannedOncePerShape) {
  std::vector<Device> devices{Device::cpu()};
  if (cuda_device_count() > 0) devices.push_back(Device::cuda(0));
  for (const Device& device : devices) {
    SCOPED_TRACE(device.str());
    Context& ctx = Context::get(device);
    auto correlate = [&](const Shape& shape) {
      const Tensor w = random_weight(shape, 5).to(device);
      const int s = atom_correlation_shifts(static_cast<int>(shape[2]), 1);
      Tensor out = Tensor::empty({shape[0], shape[0], s, s}, DType::f32, device);
      atom_correlations(ctx, out, w, 1);
      return out.to_vector();
    };
    const int64_t before = ctx.stats().plans_built;
    const std::vector<double> first = correlate({5, 3, 3, 3});
    const int64_t after_first = ctx.stats().plans_built;
    EXPECT_EQ(correlate({5, 3, 3, 3}), first) << "the kept plans give other results";
    EXPECT_EQ(ctx.stats().plans_built, after_first) << "a second call at the same shape planned again";
    correlate({7, 2, 5, 5});
    EXPECT_GT(ctx.stats().plans_built, after_first) << "another shape needs its own plans";
    EXPECT_GE(after_first, before);
  }
}

TEST(Coherence, AShiftedCopyIsFoundAtItsShiftOnlyWhereTheStrideAllowsIt) {
  const int k = 4;
  std::vector<double> w(2 * k * k, 0.0);
  const Tensor r = random_weight({1, 1, k, k}, 3);
  const std::vector<double> base = r.to_vector();
  for (int u = 0; u < k; ++u)
    for (int v = 0; v + 1 < k; ++v) {
      w[static_cast<size_t>(u * k + v)] = base[static_cast<size_t>(u * k + v)];
      w[static_cast<size_t>(k * k + u * k + v + 1)] = 3 * base[static_cast<size_t>(u * k + v)];  // any scale
    }
  const Tensor dict = Tensor::from_vector(w, {2, 1, k, k});
  const Coherence one = dictionary_coherence(cpu(), dict, 1);
  EXPECT_NEAR(one.mutual, 1.0, 1e-5);
  EXPECT_EQ(one.shift_y, 0);
  EXPECT_EQ(std::abs(one.shift_x), 1);
  EXPECT_LT(one.patch, 0.99);
  const Coherence two = dictionary_coherence(cpu(), dict, 2);
  EXPECT_LT(two.mutual, 0.99);
  EXPECT_EQ(std::abs(two.shift_x) % 2, 0);
}

TEST(Coherence, ZeroAtomsAreLeftOut) {
  std::vector<double> w = random_weight({3, 2, 3, 3}, 5).to_vector();
  for (int e = 18; e < 36; ++e) w[static_cast<size_t>(e)] = 0;  // atom 1
  const Coherence c = dictionary_coherence(cpu(), Tensor::from_vector(w, {3, 2, 3, 3}), 1);
  EXPECT_EQ(c.zero_atoms, 1);
  EXPECT_NE(c.atom_i, 1);
  EXPECT_NE(c.atom_j, 1);
}

TEST(Coherence, WelchBoundsMatchTheirClosedForms) {
  // One channel, stride 1: √((M − 1)/(M(2k − 1)² − 1)).
  for (int m : {2, 8, 64})
    for (int k : {3, 5})
      EXPECT_NEAR(welch_bound_convolutional(m, 1, k, 1), std::sqrt((m - 1.0) / (m * (2.0 * k - 1) * (2 * k - 1) - 1)),
                  1e-12);
  EXPECT_EQ(welch_bound_patch(16, 3, 3), 0.0);  // 16 atoms in 27 dimensions: orthogonal atoms exist
  EXPECT_NEAR(welch_bound_patch(64, 3, 3), std::sqrt((64.0 - 27) / (27.0 * 63)), 1e-12);
  EXPECT_NEAR(uniqueness_bound(0.25), 2.5, 1e-12);
  EXPECT_NEAR(stability_bound(0.25), 5.0 / 3, 1e-12);
}

// ‖Γ‖₀,∞ by its definition: for every k×k patch of the signal (including patches that reach into the
// padding), the non-zeros among the codes whose atoms overlap it.
int64_t local_sparsity_by_patches(const std::vector<double>& code, int64_t C, int64_t Hc, int64_t Wc, int k, int s,
                                  int pad, int64_t H, int64_t W) {
  int64_t best = 0;
  for (int64_t i = -k - pad; i <= H + k; ++i)
    for (int64_t j = -k - pad; j <= W + k; ++j) {
      int64_t count = 0;
      for (int64_t p = 0; p < Hc; ++p)
        for (int64_t q = 0; q < Wc; ++q) {
          const int64_t top = s * p - pad, left = s * q - pad;  // the atom of code (p, q) covers [top, top + k)
          if (top > i + k - 1 || top + k - 1 < i || left > j + k - 1 || left + k - 1 < j) continue;
          for (int64_t c = 0; c < C; ++c) count += code[static_cast<size_t>((c * Hc + p) * Wc + q)] != 0;
        }
      best = std::max(best, count);
    }
  return best;
}

TEST(LocalSparsity, MatchesTheCountOverSignalPatches) {
  struct Geometry { int k, s; int64_t H; };
  int tried = 0;
  for (const Geometry& g : {Geometry{3, 1, 13}, Geometry{5, 1, 11}, Geometry{3, 2, 15}, Geometry{4, 2, 12},
                            Geometry{5, 3, 17}, Geometry{7, 1, 4}}) {
    const int pad = g.k / 2;
    const int64_t Hc = (g.H + 2 * pad - g.k) / g.s + 1, Wc = Hc, C = 3, N = 2;
    for (double density : {0.05, 0.3}) {
      std::vector<double> code(static_cast<size_t>(N * C * Hc * Wc));
      for (size_t e = 0; e < code.size(); ++e) {
        const double u = philox_uniform(RngKey{uint64_t(g.k * 100 + g.s), RngPurpose::init, 9}, e);
        code[e] = u < density ? 1.0 - 2 * u : 0.0;
      }
      const Tensor t = Tensor::from_vector(code, {N, C, Hc, Wc});
      const std::vector<int64_t> measured = code_local_sparsity(cpu(), t, stripe_width(g.k, g.s));
      for (int64_t n = 0; n < N; ++n) {
        const std::vector<double> image(code.begin() + n * C * Hc * Wc, code.begin() + (n + 1) * C * Hc * Wc);
        const int64_t expected = local_sparsity_by_patches(image, C, Hc, Wc, g.k, g.s, pad, g.H, g.H);
        EXPECT_EQ(measured[static_cast<size_t>(n)], expected) << "k " << g.k << " s " << g.s << " density " << density;
        EXPECT_GT(expected, 0);
        ++tried;
      }
    }
  }
  EXPECT_EQ(tried, 24);
}

TEST(LocalSparsity, AWindowOfOneIsTheDensestPixel) {
  const Tensor counts = Tensor::from_vector({0, 3, 1, 2, 7, 0}, {2, 1, 3});
  const std::vector<int64_t> r = local_sparsity(counts, 1);
  EXPECT_EQ(r, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(local_sparsity(counts, 5), (std::vector<int64_t>{4, 9}));  // the whole code is one stripe
}

}  // namespace
}  // namespace scn
