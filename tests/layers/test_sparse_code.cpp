// The sparse-coding layer against the theory: K = 0 is the CNN layer; many ISTA/FISTA steps solve the lasso;
// FISTA is faster than ISTA; recomputation changes nothing.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/conv2d.h"
#include "kernels/op_case.h"
#include "layer_harness.h"
#include "layers/registry.h"
#include "layers/sparse_code.h"

namespace scn::test {
namespace {

struct Problem {
  std::unique_ptr<BuiltLayer> built;
  SparseCodeLayer* layer = nullptr;
  Tensor x;
};

// A small random lasso problem: x (1, 3, 8, 7), a 6-atom 3×3 dictionary, η = 1/‖D‖², θ = λη.
Problem make_problem(const std::string& yaml, double lambda, uint64_t seed) {
  Problem p;
  LayerCase c{"lasso", yaml, {Shape{3, 8, 7}}, 1};
  p.built = build_layer(c, DType::f64, Device::cpu(), seed);
  p.layer = dynamic_cast<SparseCodeLayer*>(p.built->layer);
  p.x = random_uniform({1, 3, 8, 7}, DType::f64, seed, 1);
  Context& ctx = Context::get(Device::cpu());
  SparseCodeState scratch;
  const double lipschitz = p.layer->estimate_lipschitz(ctx, scratch, 300);
  const double eta = 1.0 / lipschitz;
  ParamArena& a = p.built->arena;
  a.value(a.find("node.step")).copy_from(Tensor::from_vector({eta}, {1}, DType::f64));
  Tensor theta = a.value(a.find("node.threshold"));
  std::vector<double> th(static_cast<size_t>(theta.numel()), lambda * eta);
  theta.copy_from(Tensor::from_vector(th, theta.shape(), DType::f64));
  return p;
}

Tensor run(Problem& p) {
  Context& ctx = Context::get(Device::cpu());
  auto state = p.layer->make_state();
  Tensor out = Tensor::empty({1, 6, 8, 7}, DType::f64);
  p.layer->forward(ctx, {p.x}, out, Mode::eval, *state);
  return out;
}

// r = Dᵀ(x − Dγ) and the lasso objective ½‖x − Dγ‖² + λ‖γ‖₁.
std::pair<std::vector<double>, double> residual_correlation(Problem& p, const Tensor& gamma, double lambda) {
  Context& ctx = Context::get(Device::cpu());
  const Tensor w = p.built->arena.value(p.built->arena.find("node.weight"));
  Tensor dg = Tensor::empty(p.x.shape(), DType::f64);
  conv2d_backward_data(ctx, dg, gamma, w, ConvParams{1, 1});
  std::vector<double> x = p.x.to_vector(), d = dg.to_vector(), g = gamma.to_vector();
  double objective = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    d[i] = x[i] - d[i];
    objective += 0.5 * d[i] * d[i];
  }
  for (double v : g) objective += lambda * std::abs(v);
  Tensor res = Tensor::from_vector(d, p.x.shape(), DType::f64);
  Tensor r = Tensor::empty(gamma.shape(), DType::f64);
  conv2d_forward(ctx, r, res, w, ConvParams{1, 1});
  return {r.to_vector(), objective};
}

void expect_lasso_optimal(const std::string& yaml, bool two_sided) {
  const double lambda = 0.2;
  Problem p = make_problem(yaml, lambda, 31);
  Tensor gamma = run(p);
  auto [r, objective] = residual_correlation(p, gamma, lambda);
  std::vector<double> g = gamma.to_vector();
  int support = 0;
  const double tol = 2e-3;
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] > 0) {
      ++support;
      EXPECT_NEAR(r[i], lambda, tol) << "on the support (γ > 0) at " << i;
    } else if (g[i] < 0) {
      ++support;
      EXPECT_NEAR(r[i], -lambda, tol) << "on the support (γ < 0) at " << i;
    } else if (two_sided) {
      EXPECT_LE(std::abs(r[i]), lambda + tol) << "off the support at " << i;
    } else {
      EXPECT_LE(r[i], lambda + tol) << "off the support at " << i;
    }
  }
  // A meaningful problem: some atoms active, most not.
  EXPECT_GT(support, 3);
  EXPECT_LT(support, static_cast<int>(g.size()) / 2);
}

TEST(SparseCode, IstaReachesTheLassoMinimiser) {
  expect_lasso_optimal("{type: sparse_code, out: 6, iters: 500, algorithm: ista, mode: two_sided}", true);
}

TEST(SparseCode, FistaReachesTheLassoMinimiser) {
  expect_lasso_optimal("{type: sparse_code, out: 6, iters: 500, algorithm: fista, mode: two_sided}", true);
}

TEST(SparseCode, NonnegativeFistaReachesTheNonnegativeLassoMinimiser) {
  expect_lasso_optimal("{type: sparse_code, out: 6, iters: 500, algorithm: fista, mode: nonneg}", false);
}

TEST(SparseCode, FistaObjectiveFallsFasterThanIsta) {
  const double lambda = 0.05;
  for (int k : {10, 30}) {
    const std::string iters = std::to_string(k);
    Problem ista = make_problem("{type: sparse_code, out: 6, algorithm: ista, mode: two_sided, iters: " + iters + "}",
                                lambda, 5);
    Problem fista = make_problem("{type: sparse_code, out: 6, algorithm: fista, mode: two_sided, iters: " + iters + "}",
                                 lambda, 5);
    const double f_ista = residual_correlation(ista, run(ista), lambda).second;
    const double f_fista = residual_correlation(fista, run(fista), lambda).second;
    EXPECT_LT(f_fista, f_ista) << "after " << k << " steps";
  }
}

// Beck–Teboulle's FISTA written from the paper, independently of the layer: x₀ = 0, y₁ = x₀, t₁ = 1,
// xₖ = p(yₖ) = S_{λη}(yₖ + η·Dᵀ(x − D yₖ)), tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, yₖ₊₁ = xₖ + ((tₖ − 1)/tₖ₊₁)(xₖ − xₖ₋₁).
// The layer's γ₀ is x₁, so K layer steps are x_{K+1}.
std::vector<double> textbook_fista(Problem& p, double lambda, int prox_steps, bool nonneg) {
  Context& ctx = Context::get(Device::cpu());
  ParamArena& a = p.built->arena;
  const Tensor w = a.value(a.find("node.weight"));
  const double eta = a.value(a.find("node.step")).item();
  const Shape code{1, 6, 8, 7};
  std::vector<double> x_prev(static_cast<size_t>(code.numel()), 0.0), x = x_prev, y = x_prev;
  double t = 1.0;
  Tensor image = Tensor::empty(p.x.shape(), DType::f64), grad = Tensor::empty(code, DType::f64);
  for (int k = 1; k <= prox_steps; ++k) {
    conv2d_backward_data(ctx, image, Tensor::from_vector(y, code, DType::f64), w, ConvParams{1, 1});  // D y
    std::vector<double> r = image.to_vector(), xs = p.x.to_vector();
    for (size_t i = 0; i < r.size(); ++i) r[i] = xs[i] - r[i];
    conv2d_forward(ctx, grad, Tensor::from_vector(r, p.x.shape(), DType::f64), w, ConvParams{1, 1});  // Dᵀ(x − Dy)
    const std::vector<double> g = grad.to_vector();
    x_prev = x;
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = y[i] + eta * g[i], th = lambda * eta;
      x[i] = nonneg ? std::max(v - th, 0.0) : (v > th ? v - th : v < -th ? v + th : 0.0);
    }
    const double next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    for (size_t i = 0; i < y.size(); ++i) y[i] = x[i] + (t - 1) / next * (x[i] - x_prev[i]);
    t = next;
  }
  return x;
}

TEST(SparseCode, FistaMatchesBeckTeboulleAtTwoFiveAndTwentySteps) {
  const double lambda = 0.05;
  for (int k : {2, 5, 20}) {
    Problem p = make_problem("{type: sparse_code, out: 6, algorithm: fista, mode: two_sided, iters: " +
                                 std::to_string(k) + "}",
                             lambda, 17);
    const Tensor out = run(p);
    const std::vector<double> reference = textbook_fista(p, lambda, k + 1, false);
    // βₜ reaches the kernels as a float (it comes from the host): agreement to ~1e-8, not to f64 rounding.
    // The off-by-one indexing differs by ~1e-1.
    EXPECT_TRUE(all_close(out, Tensor::from_vector(reference, out.shape(), DType::f64), Tolerance{1e-8, 1e-7},
                          "FISTA after " + std::to_string(k) + " steps vs Beck-Teboulle"));
    const double f_layer = residual_correlation(p, out, lambda).second;
    const double f_reference =
        residual_correlation(p, Tensor::from_vector(reference, out.shape(), DType::f64), lambda).second;
    EXPECT_NEAR(f_layer, f_reference, 1e-7 * std::abs(f_reference)) << "objective after " << k << " steps";
  }
}

TEST(SparseCode, TwoFistaStepsAreNotTwoIstaSteps) {
  const double lambda = 0.05;
  Problem fista = make_problem("{type: sparse_code, out: 6, algorithm: fista, iters: 2}", lambda, 23);
  Problem ista = make_problem("{type: sparse_code, out: 6, algorithm: ista, iters: 2}", lambda, 23);
  const std::vector<double> a = run(fista).to_vector(), b = run(ista).to_vector();
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  EXPECT_GT(largest, 1e-3) << "z₂ = γ₁ + β₂(γ₁ − γ₀) with β₂ ≈ 0.28 must change the second step";
  EXPECT_NEAR(fista.layer->fista_momenta().at(2), 0.2818, 1e-4);
  EXPECT_EQ(fista.layer->fista_momenta().at(1), 0.0f);
}

TEST(SparseCode, ZeroStepsIsConvMinusThresholdThenRelu) {
  LayerCase c{"k0", "{type: sparse_code, out: 5, stride: 2, iters: 0, step: {init: 1.0}}", {Shape{3, 7, 9}}, 2};
  auto b = build_layer(c, DType::f32, Device::cpu(), 8);
  ParamArena& a = b->arena;
  a.value(a.find("node.step")).copy_from(Tensor::from_vector({1.0}, {1}));
  Context& ctx = Context::get(Device::cpu());
  Tensor x = random_uniform({2, 3, 7, 9}, DType::f32, 8, 3);
  auto state = b->layer->make_state();
  Tensor out = Tensor::empty({2, 5, 4, 5});
  b->layer->forward(ctx, {x}, out, Mode::eval, *state);
  Tensor conv = Tensor::empty({2, 5, 4, 5});
  conv2d_forward(ctx, conv, x, a.value(a.find("node.weight")), ConvParams{2, 1});
  std::vector<double> y = conv.to_vector(), th = a.value(a.find("node.threshold")).to_vector();
  for (size_t i = 0; i < y.size(); ++i) y[i] = std::max(y[i] - th[(i / 20) % 5], 0.0);
  EXPECT_TRUE(all_close(out, Tensor::from_vector(y, out.shape()), Tolerance{1e-6, 1e-6}, "K=0 vs conv+bias+relu"));
}

TEST(SparseCode, RecomputeGivesBitIdenticalGradients) {
  Tensor grads[2], dx[2];
  for (int recompute = 0; recompute < 2; ++recompute) {
    LayerCase c{"rc", std::string("{type: sparse_code, out: 4, iters: 3, step: {init: 0.3}, recompute: ") +
                          (recompute ? "true}" : "false}"),
                {Shape{3, 6, 5}}, 2};
    auto b = build_layer(c, DType::f32, Device::cpu(), 12);
    Context& ctx = Context::get(Device::cpu());
    Tensor x = random_uniform({2, 3, 6, 5}, DType::f32, 12, 1);
    Tensor r = random_uniform({2, 4, 6, 5}, DType::f32, 12, 2);
    auto state = b->layer->make_state();
    Tensor out = Tensor::empty({2, 4, 6, 5});
    b->layer->forward(ctx, {x}, out, Mode::train, *state);
    dx[recompute] = Tensor::empty(x.shape());
    b->arena.zero_grads();
    b->layer->backward(ctx, {x}, out, r, {dx[recompute]}, *state);
    grads[recompute] = b->arena.grads().clone();
  }
  EXPECT_EQ(grads[0].to_vector(), grads[1].to_vector());
  EXPECT_EQ(dx[0].to_vector(), dx[1].to_vector());
}

TEST(SparseCode, StepAutoIsOneOverTheLipschitzConstant) {
  LayerCase c{"auto", "{type: sparse_code, out: 6, iters: 2, step: auto}", {Shape{3, 8, 7}}, 1};
  auto b = build_layer(c, DType::f32, Device::cpu(), 3);
  auto* layer = dynamic_cast<SparseCodeLayer*>(b->layer);
  Context& ctx = Context::get(Device::cpu());
  Tensor x = random_uniform({1, 3, 8, 7}, DType::f32, 3, 1);
  auto state = layer->make_state();
  Tensor out = Tensor::empty({1, 6, 8, 7});
  for (int i = 0; i < 40; ++i) layer->forward(ctx, {x}, out, Mode::train, *state);  // warm-started iterations
  const double eta = b->arena.value(b->arena.find("node.step")).item();
  SparseCodeState fresh;
  const double lipschitz = layer->estimate_lipschitz(ctx, fresh, 500);
  // Power iteration approaches ‖D‖² from below; warm-started one step per forward it stays within 2%.
  EXPECT_NEAR(eta * lipschitz, 1.0, 2e-2);
}

// step: auto makes η = 1/‖D‖² a function of W; the weight gradient includes that dependence. Finite
// differences of the loss over W (with the power iteration converged, its vector restored before every
// forward) agree with the analytic gradient.
TEST(SparseCode, StepAutoGradientIncludesTheStepsDependenceOnTheDictionary) {
  for (const char* recompute : {"false", "true"}) {
    LayerCase c{"auto_grad", std::string("{type: sparse_code, out: 4, iters: 2, step: auto, recompute: ") + recompute + "}",
                {Shape{3, 6, 5}}, 2};
    auto b = build_layer(c, DType::f64, Device::cpu(), 21);
    auto* layer = dynamic_cast<SparseCodeLayer*>(b->layer);
    Context& ctx = Context::get(Device::cpu());
    auto state = layer->make_state();
    layer->estimate_lipschitz(ctx, static_cast<SparseCodeState&>(*state), 300);  // converge the vector
    ParamArena& a = b->arena;
    const Tensor v = a.value(a.find("node.power_vector"));
    const Tensor v0 = v.clone();
    Tensor x = random_uniform({2, 3, 6, 5}, DType::f64, 21, 1);
    Tensor r = random_uniform({2, 4, 6, 5}, DType::f64, 21, 2);
    Tensor out = Tensor::empty({2, 4, 6, 5}, DType::f64);
    auto loss = [&] {
      v.copy_from(v0);
      auto st = layer->make_state();
      layer->forward(ctx, {x}, out, Mode::train, *st);
      double l = 0;
      std::vector<double> y = out.to_vector(), w = r.to_vector();
      for (size_t i = 0; i < y.size(); ++i) l += y[i] * w[i];
      return l;
    };
    v.copy_from(v0);
    auto st = layer->make_state();
    layer->forward(ctx, {x}, out, Mode::train, *st);
    a.zero_grads();
    Tensor dx = Tensor::empty(x.shape(), DType::f64);
    layer->backward(ctx, {x}, out, r, {dx}, *st);
    const std::vector<double> g = a.grad(a.find("node.weight")).to_vector();
    double* w = a.value(a.find("node.weight")).data<double>();
    for (int k = 0; k < 108; k += 7) {
      const double saved = w[k];
      w[k] = saved + 1e-6;
      const double lp = loss();
      w[k] = saved - 1e-6;
      const double lm = loss();
      w[k] = saved;
      const double numeric = (lp - lm) / 2e-6;
      EXPECT_NEAR(g[k], numeric, 1e-4 + 1e-3 * std::abs(numeric)) << "weight element " << k << ", recompute " << recompute;
    }
  }
}

}  // namespace
}  // namespace scn::test
