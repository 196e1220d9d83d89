// The synthetic ML-CSC experiments (analysis/synthetic_mlcsc.h): the draws are what they claim to be (exact
// local sparsity, contrast, Γᵢ₋₁ = DᵢΓᵢ, unit-norm atoms), the pursuits and scores are right on small
// cases, and the headline effect holds — both pursuits recover a sparse, high-contrast one-layer draw,
// and at low contrast thresholding's recall falls below layered BP's.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "analysis/local_sparsity.h"
#include "analysis/synthetic_mlcsc.h"
#include "core/error.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

// A small two-layer model: dense 5×5 atoms on the image, sparse 3×3 atoms with two non-zeros above them.
SyntheticModel small_model(int64_t size = 20) {
  return make_synthetic_model(cpu(), size, size, {{8, 1, 5, 1, 0}, {8, 8, 3, 1, 2}}, 11);
}

// The one-layer model of the recovery tests, the first layer of `scn synth`.
SyntheticModel one_layer_model() { return make_synthetic_model(cpu(), 32, 32, {{16, 1, 7, 1, 0}}, 1); }

int64_t nonzeros(const Tensor& t, int64_t image) {
  const int64_t per = t.numel() / t.size(0);
  const float* v = t.data<float>() + image * per;
  int64_t n = 0;
  for (int64_t i = 0; i < per; ++i) n += v[i] != 0;
  return n;
}

// D γ by the definition, over the non-zeros: the adjoint of conv2d with pad k/2 and stride 1.
Tensor reference_reconstruct(const Tensor& w, const Tensor& code) {
  const int64_t N = code.size(0), M = code.size(1), H = code.size(2), W = code.size(3);
  const int64_t C = w.size(1), k = w.size(2), p = k / 2;
  Tensor image = Tensor::zeros({N, C, H, W});
  const float* g = code.data<float>();
  const float* a = w.data<float>();
  float* out = image.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const float v = g[((n * M + m) * H + y) * W + x];
          if (v == 0) continue;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t dy = 0; dy < k; ++dy)
              for (int64_t dx = 0; dx < k; ++dx) {
                const int64_t yy = y - p + dy, xx = x - p + dx;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                out[((n * C + c) * H + yy) * W + xx] += v * a[((m * C + c) * k + dy) * k + dx];
              }
        }
  return image;
}

TEST(SynthDraw, LocalSparsityIsExactlyTheTarget) {
  for (int target : {1, 2, 3, 5, 8}) {
    for (int64_t budget : {int64_t{0}, int64_t{3} * target}) {
      CodeDrawSpec spec;
      spec.local_sparsity = target;
      spec.max_nonzeros = budget;
      const Tensor code = draw_sparse_code(spec, 4, 6, 20, 20, 5, 3, static_cast<uint64_t>(target));
      const std::vector<int64_t> measured = code_local_sparsity(cpu(), code, 5);
      for (size_t n = 0; n < measured.size(); ++n)
        EXPECT_EQ(measured[n], target) << "target " << target << ", budget " << budget << ", image " << n;
      if (budget > 0) {
        for (int64_t n = 0; n < 4; ++n) EXPECT_EQ(nonzeros(code, n), budget) << "room for every non-zero";
      }
    }
  }
}

TEST(SynthDraw, MarginsStayEmptyAndTheTargetIsStillMet) {
  CodeDrawSpec spec;
  spec.local_sparsity = 3;
  spec.margin = 4;
  const Tensor code = draw_sparse_code(spec, 3, 2, 20, 20, 5, 8, 0);
  EXPECT_EQ(code_local_sparsity(cpu(), code, 5), std::vector<int64_t>(3, 3));
  const float* v = code.data<float>();
  for (int64_t i = 0; i < code.numel(); ++i) {
    const int64_t y = i % 400 / 20, x = i % 20;
    if (y < 4 || y >= 16 || x < 4 || x >= 16) {
      EXPECT_EQ(v[i], 0.0f) << "inside the margin at (" << y << ", " << x << ")";
    }
  }
  // A batch keeps the deepest code far enough in for every atom it spreads into to be whole.
  const SyntheticModel m = small_model();
  EXPECT_EQ(whole_atom_margin(m, 2), 2 + 1);
  const SyntheticBatch batch = draw_batch(cpu(), m, 2, 2, CodeDrawSpec{}, 0.0, 1, 0);
  const float* g = batch.codes[1].data<float>();
  for (int64_t i = 0; i < batch.codes[1].numel(); ++i) {
    const int64_t y = i % 400 / 20, x = i % 20;
    if (y < 3 || y >= 17 || x < 3 || x >= 17) {
      EXPECT_EQ(g[i], 0.0f) << "(" << y << ", " << x << ")";
    }
  }
}

TEST(SynthDraw, FillingUpLeavesNoEntryThatStillFits) {
  // Without a budget the greedy pass is maximal: adding any zero entry would overfill some stripe.
  CodeDrawSpec spec;
  spec.local_sparsity = 2;
  const Tensor code = draw_sparse_code(spec, 1, 3, 12, 12, 5, 5, 0);
  ASSERT_EQ(code_local_sparsity(cpu(), code, 5)[0], 2);
  float* v = code.data<float>();
  for (int64_t i = 0; i < code.numel(); i += 7) {
    if (v[i] != 0) continue;
    v[i] = 1;
    EXPECT_EQ(code_local_sparsity(cpu(), code, 5)[0], 3) << "entry " << i << " fitted but was left out";
    v[i] = 0;
  }
}

TEST(SynthDraw, MagnitudesLieInTheContrastRange) {
  CodeDrawSpec spec;
  spec.local_sparsity = 4;
  spec.contrast = 0.25;
  spec.amplitude = 2.0;
  const Tensor code = draw_sparse_code(spec, 4, 8, 24, 24, 5, 9, 1);
  double smallest = 1e9, largest = 0;
  int64_t negative = 0, count = 0;
  for (double v : code.to_vector()) {
    if (v == 0) continue;
    smallest = std::min(smallest, std::abs(v));
    largest = std::max(largest, std::abs(v));
    negative += v < 0;
    ++count;
  }
  ASSERT_GT(count, 100);
  EXPECT_GE(smallest, 0.5 - 1e-6);
  EXPECT_LE(largest, 2.0 + 1e-6);
  EXPECT_LT(smallest, 0.6) << "the range is used down to contrast·amplitude";
  EXPECT_GT(largest, 1.9);
  EXPECT_GT(negative, count / 4) << "signs are random";
  EXPECT_LT(negative, 3 * count / 4);
}

TEST(SynthDraw, IsReproducibleAndStreamsDiffer) {
  CodeDrawSpec spec;
  const Tensor a = draw_sparse_code(spec, 2, 4, 16, 16, 5, 7, 3);
  const Tensor b = draw_sparse_code(spec, 2, 4, 16, 16, 5, 7, 3);
  const Tensor c = draw_sparse_code(spec, 2, 4, 16, 16, 5, 7, 4);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_NE(a.to_vector(), c.to_vector());
}

TEST(SynthDraw, RejectsTargetsThatCannotBeMet) {
  CodeDrawSpec spec;
  spec.local_sparsity = 0;
  EXPECT_THROW(draw_sparse_code(spec, 1, 2, 8, 8, 3, 1, 0), Error);
  spec.local_sparsity = 2 * 3 * 3 + 1;  // more than one 3×3×2 stripe holds
  EXPECT_THROW(draw_sparse_code(spec, 1, 2, 8, 8, 3, 1, 0), Error);
  spec.local_sparsity = 3;
  spec.max_nonzeros = 2;
  EXPECT_THROW(draw_sparse_code(spec, 1, 2, 8, 8, 3, 1, 0), Error);
  spec.max_nonzeros = 0;
  spec.contrast = 0;
  EXPECT_THROW(draw_sparse_code(spec, 1, 2, 8, 8, 3, 1, 0), Error);
}

TEST(SynthModel, AtomsAreUnitNormAndDeepAtomsSparse) {
  const SyntheticModel m = small_model();
  ASSERT_EQ(m.depth(), 2);
  for (int layer = 0; layer < 2; ++layer) {
    const Tensor& w = m.weights[static_cast<size_t>(layer)];
    const int64_t atoms = w.size(0), size = w.numel() / atoms;
    const std::vector<double> v = w.to_vector();
    for (int64_t a = 0; a < atoms; ++a) {
      double norm = 0;
      int64_t nnz = 0;
      for (int64_t j = 0; j < size; ++j) norm += v[a * size + j] * v[a * size + j], nnz += v[a * size + j] != 0;
      EXPECT_NEAR(norm, 1.0, 1e-5) << "layer " << layer + 1 << " atom " << a;
      if (layer == 1) {
        EXPECT_EQ(nnz, 2) << "atom " << a;
      }
    }
    const double mu = m.coherence[static_cast<size_t>(layer)].mutual;
    EXPECT_GT(mu, 0);
    EXPECT_LT(mu, 1) << "no atom repeats another up to a shift";
    EXPECT_GT(m.lipschitz[static_cast<size_t>(layer)], 1) << "‖D‖² ≥ the largest atom norm, 1";
  }
}

TEST(SynthModel, RejectsLayersThatDoNotChain) {
  EXPECT_THROW(make_synthetic_model(cpu(), 16, 16, {{8, 1, 5, 1, 0}, {8, 4, 3, 1, 2}}, 1), Error);  // C₂ ≠ M₁
  EXPECT_THROW(make_synthetic_model(cpu(), 16, 16, {{8, 2, 5, 1, 0}}, 1), Error);                  // C₁ ≠ 1
  EXPECT_THROW(make_synthetic_model(cpu(), 16, 16, {{8, 1, 4, 1, 0}}, 1), Error);                  // even kernel
  EXPECT_THROW(make_synthetic_model(cpu(), 16, 16, {{8, 1, 5, 2, 0}}, 1), Error);                  // stride 2
}

TEST(SynthDraw, EachCodeIsTheNextOneThroughItsDictionary) {
  const SyntheticModel m = small_model();
  CodeDrawSpec spec;
  spec.local_sparsity = 2;
  spec.contrast = 0.5;
  const SyntheticBatch batch = draw_batch(cpu(), m, 2, 3, spec, 0.0, 5, 2);
  ASSERT_EQ(batch.codes.size(), 2u);
  EXPECT_EQ(code_local_sparsity(cpu(), batch.codes[1], m.stripe(1)), std::vector<int64_t>(3, 2));
  const std::vector<double> gamma1 = batch.codes[0].to_vector();
  const std::vector<double> expected1 = reference_reconstruct(m.weights[1], batch.codes[1]).to_vector();
  const std::vector<double> signal = batch.signal.to_vector();
  const std::vector<double> expected_signal = reference_reconstruct(m.weights[0], batch.codes[0]).to_vector();
  ASSERT_EQ(gamma1.size(), expected1.size());
  for (size_t i = 0; i < gamma1.size(); ++i) {
    EXPECT_NEAR(gamma1[i], expected1[i], 1e-5) << "Γ₁ = D₂Γ₂ at " << i;
    EXPECT_EQ(gamma1[i] != 0, expected1[i] != 0) << "the support of Γ₁ is exactly that of D₂Γ₂ at " << i;
  }
  for (size_t i = 0; i < signal.size(); ++i) EXPECT_NEAR(signal[i], expected_signal[i], 1e-5) << "X = D₁Γ₁ at " << i;
  // With noise the signal moves by about σ per pixel; the codes do not move at all.
  const SyntheticBatch noisy = draw_batch(cpu(), m, 2, 3, spec, 0.1, 5, 2);
  EXPECT_EQ(noisy.codes[0].to_vector(), gamma1);
  double sum2 = 0;
  const std::vector<double> x = noisy.signal.to_vector();
  for (size_t i = 0; i < x.size(); ++i) sum2 += (x[i] - signal[i]) * (x[i] - signal[i]);
  EXPECT_NEAR(std::sqrt(sum2 / static_cast<double>(x.size())), 0.1, 0.01);
}

TEST(SynthScore, L2InfNormOfAHandMadeCode) {
  Tensor code = Tensor::zeros({1, 2, 6, 6});
  float* v = code.data<float>();
  v[0 * 36 + 0 * 6 + 0] = 3;  // channel 0, (0, 0)
  v[1 * 36 + 0 * 6 + 1] = 4;  // channel 1, (0, 1)
  v[0 * 36 + 5 * 6 + 5] = 1;  // channel 0, (5, 5)
  EXPECT_DOUBLE_EQ(l2_inf_norms(code, 3)[0], 5.0) << "one 3×3 stripe holds 3 and 4";
  EXPECT_DOUBLE_EQ(l2_inf_norms(code, 1)[0], 4.0) << "a 1×1 stripe is one position over all channels";
  const Tensor zero = Tensor::zeros({1, 2, 6, 6});
  EXPECT_DOUBLE_EQ(l2_inf_errors(zero, code, 6)[0], std::sqrt(26.0));
}

TEST(SynthScore, SupportCountsPrecisionAndRecall) {
  const Tensor truth = Tensor::from_vector({1, 0, -2, 0, 3, 0}, {1, 1, 2, 3});
  const Tensor estimate = Tensor::from_vector({0.5, 0.1, 0, 0, 2, 0}, {1, 1, 2, 3});
  const SupportCounts c = support_counts(estimate, truth);
  EXPECT_EQ(c.true_positive, 2);
  EXPECT_EQ(c.false_positive, 1);
  EXPECT_EQ(c.false_negative, 1);
  EXPECT_DOUBLE_EQ(c.precision(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(c.recall(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(c.f1(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(support_counts(Tensor::zeros({1, 1, 2, 3}), truth).precision(), 1.0) << "claims nothing false";
}

TEST(SynthPursuit, ThresholdingIsTheSoftThresholdOfTheCorrelation) {
  const SyntheticModel m = small_model();
  const SyntheticBatch batch = draw_batch(cpu(), m, 1, 2, CodeDrawSpec{}, 0.05, 3, 0);
  const double beta = 0.2;
  PursuitWorkspace ws;
  Tensor code = Tensor::empty(m.code_shape(0, 2));
  threshold_layer(cpu(), m, 0, beta, batch.signal, code, ws);
  Tensor b = Tensor::empty(m.code_shape(0, 2));
  correlate(cpu(), layer_dictionary(m, 0, Tensor(), Tensor()), b, batch.signal);
  const std::vector<double> got = code.to_vector(), correlation = b.to_vector();
  for (size_t i = 0; i < got.size(); ++i) {
    const double c = correlation[i];
    const double expected = std::abs(c) > beta ? (c > 0 ? c - beta : c + beta) : 0.0;
    EXPECT_NEAR(got[i], expected, 1e-6) << i;
  }
}

TEST(SynthPursuit, LassoSolutionMeetsTheOptimalityConditions) {
  const SyntheticModel m = small_model();
  CodeDrawSpec spec;
  spec.max_nonzeros = 6;
  const SyntheticBatch batch = draw_batch(cpu(), m, 1, 2, spec, 0.02, 4, 0);
  const double lambda = 0.03;
  LassoOptions options;
  options.tolerance = 1e-7;
  options.max_iterations = 20000;
  PursuitWorkspace ws;
  Tensor code = Tensor::empty(m.code_shape(0, 2));
  const LassoReport r = solve_lasso(cpu(), m, 0, lambda, batch.signal, code, false, options, ws);
  ASSERT_TRUE(r.converged) << r.iterations << " steps";
  // KKT of min ½‖x − Dγ‖² + λ‖γ‖₁: g = Dᵀ(x − Dγ) is λ·sign(γ) on the support and at most λ off it.
  Tensor residual = Tensor::empty(batch.signal.shape());
  const Dictionary d = layer_dictionary(m, 0, Tensor(), Tensor());
  reconstruct(cpu(), d, residual, code);
  const std::vector<double> x = batch.signal.to_vector(), dx = residual.to_vector();
  std::vector<double> rv(x.size());
  for (size_t i = 0; i < x.size(); ++i) rv[i] = x[i] - dx[i];
  const Tensor rt = Tensor::from_vector(rv, batch.signal.shape());
  Tensor g = Tensor::empty(code.shape());
  correlate(cpu(), d, g, rt);
  const std::vector<double> gamma = code.to_vector(), gv = g.to_vector();
  int64_t support = 0;
  for (size_t i = 0; i < gamma.size(); ++i) {
    if (gamma[i] != 0) {
      ++support;
      EXPECT_NEAR(gv[i], gamma[i] > 0 ? lambda : -lambda, 1e-3 * lambda + 1e-5) << "on the support at " << i;
    } else {
      EXPECT_LE(std::abs(gv[i]), lambda * (1 + 1e-3) + 1e-5) << "off the support at " << i;
    }
  }
  EXPECT_GT(support, 0);
  // A warm start from a nearby λ reaches the same minimiser.
  Tensor warm = Tensor::empty(code.shape());
  solve_lasso(cpu(), m, 0, 2 * lambda, batch.signal, warm, false, options, ws);
  solve_lasso(cpu(), m, 0, lambda, batch.signal, warm, true, options, ws);
  const std::vector<double> w = warm.to_vector();
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], gamma[i], 1e-3) << i;
}

// Fewer draws and a coarser grid than `scn synth` (ratio 0.56 instead of 0.70): the same protocol in a second.
// The protocol runs thousands of small convolutions; on a shared 2-core machine two OpenMP threads wait at
// every barrier for each other (61 s instead of 2 s for these two tests at load 5), so they run on one, as
// `scn synth` does by default.
class OneThread {
 public:
  OneThread() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

ProtocolOptions quick_protocol() {
  ProtocolOptions o;
  o.trials = 4;
  o.tuning_trials = 3;
  o.seed = 2;
  for (int j = 0; j < 10; ++j) o.grid.push_back(0.8 * std::pow(0.005 / 0.8, j / 9.0));
  return o;
}

TEST(SynthProtocol, HighContrastNoiseFreeBothRecoverTheSupport) {
  const OneThread one;
  const SyntheticModel m = one_layer_model();
  SweepPoint p;
  p.depth = 1;
  p.local_sparsity = 1;
  p.max_nonzeros = 4;
  p.contrast = 1.0;
  const PointResult r = evaluate_point(cpu(), m, p, quick_protocol(), 0);
  ASSERT_EQ(r.thresholding.size(), 1u);
  ASSERT_EQ(r.layered_bp.size(), 1u);
  EXPECT_GE(r.thresholding[0].precision, 0.9);
  EXPECT_GE(r.thresholding[0].recall, 0.9);
  EXPECT_GE(r.layered_bp[0].precision, 0.95);
  EXPECT_GE(r.layered_bp[0].recall, 0.95);
  EXPECT_EQ(r.lasso_unconverged, 0);
}

TEST(SynthProtocol, AtLowContrastThresholdingRecallFallsBelowLayeredBP) {
  const OneThread one;
  const SyntheticModel m = one_layer_model();
  SweepPoint p;
  p.depth = 1;
  p.local_sparsity = 2;
  p.max_nonzeros = 8;
  p.contrast = 0.05;
  const PointResult r = evaluate_point(cpu(), m, p, quick_protocol(), 1);
  EXPECT_GE(r.layered_bp[0].recall, 0.9);
  EXPECT_LT(r.thresholding[0].recall, r.layered_bp[0].recall - 0.1)
      << "thresholding " << r.thresholding[0].recall << ", layered BP " << r.layered_bp[0].recall;
}

}  // namespace
}  // namespace scn::test
