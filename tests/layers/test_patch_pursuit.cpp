// SCN's per-patch pursuit and the implicit backward against the theory: with many steps every patch's code
// satisfies its non-negative lasso's optimality conditions; with none it is the thresholding layer; the
// implicit gradient of the converged pursuit agrees with reverse mode through many unrolled steps.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/conv2d.h"
#include "kernels/op_case.h"
#include "layer_harness.h"
#include "layers/sparse_code.h"

namespace scn::test {
namespace {

struct Built {
  std::unique_ptr<BuiltLayer> b;
  Tensor x;
};

// A layer of `yaml` on x (2, 3, 6, 5) with λ = `lambda` and the power iteration converged (η = 1/λ_max).
Built make(const std::string& yaml, double lambda, uint64_t seed) {
  Built p;
  p.b = build_layer(LayerCase{"patch", yaml, {Shape{3, 6, 5}}, 2}, DType::f64, Device::cpu(), seed);
  ParamArena& a = p.b->arena;
  Tensor th = a.value(a.find("node.threshold"));
  th.copy_from(Tensor::from_vector(std::vector<double>(static_cast<size_t>(th.numel()), lambda), th.shape(), DType::f64));
  p.x = random_uniform({2, 3, 6, 5}, DType::f64, seed, 1);
  auto* layer = dynamic_cast<SparseCodeLayer*>(p.b->layer);
  SparseCodeState s;
  const double lipschitz = layer->estimate_lipschitz(Context::get(Device::cpu()), s, 500);
  a.value(a.find("node.step")).copy_from(Tensor::from_vector({1.0 / lipschitz}, {1}, DType::f64));
  return p;
}

Tensor forward(Built& p, Mode mode, LayerState& state) {
  const Shape& o = p.b->output_shape;
  Tensor out = Tensor::empty({2, o[0], o[1], o[2]}, DType::f64);
  p.b->layer->forward(Context::get(Device::cpu()), {p.x}, out, mode, state);
  return out;
}

TEST(PatchPursuit, EveryPatchSatisfiesItsNonnegativeLassoConditions) {
  const double lambda = 0.05;
  Built p = make("{type: sparse_code, pursuit: patch, out: 4, iters: 3000, step: {init: 1.0, learn: false}}", lambda, 5);
  auto state = p.b->layer->make_state();
  const std::vector<double> gamma = forward(p, Mode::eval, *state).to_vector();
  // r = Aᵀy − AᵀA γ per pixel: b = conv(x, W), M = W_f W_fᵀ.
  Context& ctx = Context::get(Device::cpu());
  const Tensor w = p.b->arena.value(p.b->arena.find("node.weight"));
  Tensor b = Tensor::empty({2, 4, 6, 5}, DType::f64);
  conv2d_forward(ctx, b, p.x, w, ConvParams{1, 1});
  const std::vector<double> bv = b.to_vector(), wv = w.to_vector();
  int active = 0, checked = 0;
  for (int n = 0; n < 2; ++n)
    for (int px = 0; px < 30; ++px)
      for (int c = 0; c < 4; ++c) {
        double mg = 0;
        for (int d = 0; d < 4; ++d) {
          double m = 0;
          for (int f = 0; f < 27; ++f) m += wv[c * 27 + f] * wv[d * 27 + f];
          mg += m * gamma[(n * 4 + d) * 30 + px];
        }
        const double r = bv[(n * 4 + c) * 30 + px] - mg, g = gamma[(n * 4 + c) * 30 + px];
        ++checked;
        if (g > 0) {
          ++active;
          EXPECT_NEAR(r, lambda, 1e-6) << "on the support, pixel " << px << " channel " << c;
        } else {
          EXPECT_LE(r, lambda + 1e-6) << "off the support, pixel " << px << " channel " << c;
          EXPECT_EQ(g, 0.0);
        }
      }
  EXPECT_GT(active, checked / 8);
  EXPECT_LT(active, checked);
}

TEST(PatchPursuit, WithoutStepsItIsTheThresholdingLayer) {
  const double lambda = 0.1;
  Built p = make("{type: sparse_code, pursuit: patch, out: 4, iters: 0, step: {init: 1.0, learn: false}}", lambda, 6);
  auto state = p.b->layer->make_state();
  const std::vector<double> gamma = forward(p, Mode::eval, *state).to_vector();
  Tensor b = Tensor::empty({2, 4, 6, 5}, DType::f64);
  conv2d_forward(Context::get(Device::cpu()), b, p.x, p.b->arena.value(p.b->arena.find("node.weight")), ConvParams{1, 1});
  const double eta = p.b->arena.value(p.b->arena.find("node.step")).item();
  const std::vector<double> bv = b.to_vector();
  for (size_t i = 0; i < bv.size(); ++i) EXPECT_NEAR(gamma[i], std::max(eta * (bv[i] - lambda), 0.0), 1e-12) << i;
}

// One optimizer step can grow SCN's tiny initial atoms by orders of magnitude; the η of the last training
// forward would then make evaluation's 50 FISTA steps diverge. Evaluation recomputes η for the weights it has,
// and changes no state of the run doing so.
TEST(PatchPursuit, EvaluationUsesTheStepOfTheWeightsItHas) {
  Built p = make("{type: sparse_code, pursuit: patch, out: 4, iters: 50}", 0.05, 8);
  ParamArena& a = p.b->arena;
  auto state = p.b->layer->make_state();
  forward(p, Mode::train, *state);  // η for these weights, written into the arena
  Tensor w = a.value(a.find("node.weight"));
  std::vector<double> grown = w.to_vector();
  for (double& v : grown) v *= 30.0;
  w.copy_from(Tensor::from_vector(grown, w.shape(), DType::f64));
  const std::vector<double> eta = a.value(a.find("node.step")).to_vector();
  const std::vector<double> vector = a.value(a.find("node.power_vector")).to_vector();
  const std::vector<double> evaluated = forward(p, Mode::eval, *state).to_vector();
  EXPECT_EQ(a.value(a.find("node.step")).to_vector(), eta) << "evaluation changed the run's step";
  EXPECT_EQ(a.value(a.find("node.power_vector")).to_vector(), vector) << "evaluation changed the power vector";
  for (int k = 0; k < 3; ++k) forward(p, Mode::train, *state);  // training's η for the grown weights
  const std::vector<double> trained = forward(p, Mode::train, *state).to_vector();
  double worst = 0, largest = 0;
  for (size_t i = 0; i < evaluated.size(); ++i) {
    ASSERT_TRUE(std::isfinite(evaluated[i])) << i;
    worst = std::max(worst, std::abs(evaluated[i] - trained[i]));
    largest = std::max(largest, std::abs(trained[i]));
  }
  EXPECT_LT(worst, 1e-6 * std::max(largest, 1.0)) << "evaluation's code differs from training's for the same weights";
}

// `iters: 49` is SCN's 50 FISTA steps: the layer equals a port of fista_nonnegative_l1_gpu.m (maxIter = 50,
// x_old = y_old = 0, t_old = 1, A = I − DᵀD/L, const_x = Dᵀy/L − λ/L) for every patch, with SCN's L = 1/η.
// Its 51st step (iters: 50, what the configs ran before) is a visibly different code.
TEST(PatchPursuit, FortyNineStepsAfterTheFirstCodeAreScnsFifty) {
  const double lambda = 0.02;
  Built p = make("{type: sparse_code, pursuit: patch, out: 5, iters: 49, step: {init: 1.0, learn: false}}", lambda, 11);
  auto state = p.b->layer->make_state();
  const std::vector<double> gamma = forward(p, Mode::eval, *state).to_vector();
  Context& ctx = Context::get(Device::cpu());
  const Tensor w = p.b->arena.value(p.b->arena.find("node.weight"));
  const double eta = p.b->arena.value(p.b->arena.find("node.step")).item();
  Tensor b = Tensor::empty({2, 5, 6, 5}, DType::f64);
  conv2d_forward(ctx, b, p.x, w, ConvParams{1, 1});
  const std::vector<double> bv = b.to_vector(), wv = w.to_vector();
  const int atoms = 5, length = 27, pixels = 30;
  std::vector<double> dtd(atoms * atoms, 0.0);
  for (int i = 0; i < atoms; ++i)
    for (int j = 0; j < atoms; ++j)
      for (int f = 0; f < length; ++f) dtd[i * atoms + j] += wv[i * length + f] * wv[j * length + f];
  double worst = 0, worst_51 = 0;
  for (int n = 0; n < 2; ++n)
    for (int px = 0; px < pixels; ++px) {
      auto dty = [&](int i) { return bv[(n * atoms + i) * pixels + px]; };
      std::vector<double> x_old(atoms, 0.0), y_old(atoms, 0.0), x_new(atoms);
      double t_old = 1;
      std::vector<double> after_50;
      for (int iter = 1; iter <= 51; ++iter) {  // SCN stops after 50; the 51st is what iters: 50 computes
        for (int i = 0; i < atoms; ++i) {
          double a_y = 0;
          for (int j = 0; j < atoms; ++j) a_y += ((i == j ? 1.0 : 0.0) - eta * dtd[i * atoms + j]) * y_old[j];
          x_new[i] = std::max(a_y + eta * dty(i) - lambda * eta, 0.0);
        }
        const double t_new = 0.5 * (1 + std::sqrt(1 + 4 * t_old * t_old));
        for (int i = 0; i < atoms; ++i)
          y_old[i] = (1 + (t_old - 1) / t_new) * x_new[i] - (t_old - 1) / t_new * x_old[i];
        x_old = x_new;
        t_old = t_new;
        if (iter == 50) after_50 = x_new;
      }
      for (int i = 0; i < atoms; ++i) {
        const double g = gamma[(n * atoms + i) * pixels + px];
        worst = std::max(worst, std::abs(g - after_50[i]));
        worst_51 = std::max(worst_51, std::abs(g - x_new[i]));
      }
    }
  EXPECT_LT(worst, 1e-10) << "the layer's iters: 49 is not SCN's 50 steps";
  EXPECT_GT(worst_51, 100 * 1e-10) << "a 51st step does not change the code: the comparison cannot tell the counts apart";
}

// Reverse mode through K = 3000 steps and the implicit gradient at the fixed point: the same gradients.
void expect_implicit_matches_unrolled(const std::string& pursuit, const std::string& mode, int atoms) {
  Tensor grads[2], dx[2];
  const std::string common = "{type: sparse_code, pursuit: " + pursuit + ", mode: " + mode +
                             ", out: " + std::to_string(atoms) + ", iters: 3000, step: {init: 1.0, learn: false}, threshold: {form: lasso}, ";
  const char* backward[2] = {"backward: unrolled}", "backward: implicit, implicit: {ridge: 0, tolerance: 1.0e-12, iters: 400}}"};
  for (int k = 0; k < 2; ++k) {
    Built p = make(common + backward[k], 0.05, 9);
    auto state = p.b->layer->make_state();
    const Tensor out = forward(p, Mode::train, *state);
    const Tensor r = random_uniform(out.shape(), DType::f64, 9, 7);
    dx[k] = Tensor::empty(p.x.shape(), DType::f64);
    p.b->arena.zero_grads();
    p.b->layer->backward(Context::get(Device::cpu()), {p.x}, out, r, {dx[k]}, *state);
    grads[k] = p.b->arena.grads().clone();
  }
  EXPECT_TRUE(all_close(grads[1], grads[0], Tolerance{1e-7, 1e-5}, pursuit + " parameter gradients"));
  EXPECT_TRUE(all_close(dx[1], dx[0], Tolerance{1e-7, 1e-5}, pursuit + " input gradient"));
}

TEST(ImplicitBackward, PatchPursuitMatchesReverseModeThroughManySteps) { expect_implicit_matches_unrolled("patch", "nonneg", 4); }

TEST(ImplicitBackward, ConvolutionalPursuitMatchesReverseModeThroughManySteps) {
  // Two atoms: the code (2·6·5) is smaller than the image (3·6·5), so the lasso is strongly convex and FISTA
  // converges to the precision the comparison needs.
  expect_implicit_matches_unrolled("convolution", "two_sided", 2);
}

}  // namespace
}  // namespace scn::test
