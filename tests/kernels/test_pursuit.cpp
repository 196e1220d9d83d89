// Properties of the pursuit-step ops that the conformance harness does not cover: the first code is the
// CNN layer, undefined and accumulated outputs, argument errors, and (on a GPU) determinism and no
// allocation in steady state.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/ista_update.h"
#include "kernels/op_case.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

TEST(IstaUpdate, FirstCodeWithUnitStepIsTheCnnLayer) {
  // K = 0, η = 1, nonneg: γ₀ = ReLU(b − θ) exactly.
  const Shape shape{1, 5, 7, 9};
  Tensor b = random_uniform(shape, DType::f32, 7, 0);
  Tensor theta = random_uniform({5}, DType::f32, 7, 1, 0.0, 0.5);
  Tensor eta = Tensor::from_vector({1.0}, {1});
  Tensor gamma = Tensor::empty(shape);
  ista_first_code_forward(cpu(), gamma, b, eta, theta, ThresholdMode::nonneg);
  const float* bp = b.data<float>();
  const float* g = gamma.data<float>();
  const float* t = theta.data<float>();
  int active = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    const float expected = std::max(bp[i] - t[(i / 63) % 5], 0.f);
    ASSERT_EQ(g[i], expected) << "element " << i;
    active += expected > 0;
  }
  EXPECT_GT(active, 0);
  EXPECT_LT(active, b.numel());
}

TEST(IstaUpdate, FixedPointOfTheLassoIsKept) {
  // With z = γ* a fixed point (here: z = S_θ(z + η(b − G)) by construction, pre = z + sign(z)·θ on the
  // support, |pre| < θ off it), one step returns z itself.
  const Shape shape{2, 3, 5, 7};
  std::vector<double> z = random_uniform(shape, DType::f64, 3, 0).to_vector(), pre(z.size());
  const double theta = 0.3, eta = 0.5;
  for (size_t i = 0; i < z.size(); ++i) {
    if (std::abs(z[i]) < 0.4) z[i] = 0;
    pre[i] = z[i] == 0 ? 0.5 * theta * (i % 2 ? 1 : -1) : z[i] + (z[i] > 0 ? theta : -theta);
  }
  // b − G = (pre − z)/η, with G random.
  std::vector<double> G = random_uniform(shape, DType::f64, 3, 1).to_vector(), b(z.size());
  for (size_t i = 0; i < z.size(); ++i) b[i] = G[i] + (pre[i] - z[i]) / eta;
  auto t = [&](const std::vector<double>& v) { return Tensor::from_vector(v, shape, DType::f64); };
  Tensor gamma = Tensor::empty(shape, DType::f64);
  ista_update_forward(cpu(), gamma, t(z), t(b), t(G), Tensor::from_vector({eta}, {1}, DType::f64),
                      Tensor::from_vector({theta}, {1}, DType::f64), ThresholdMode::two_sided);
  EXPECT_TRUE(all_close(gamma, t(z), {1e-12, 1e-12}, "fixed point"));
}

TEST(IstaUpdate, UndefinedGradientsAreSkippedAndAccumulateAdds) {
  const Shape shape{2, 5, 7, 9};
  Tensor z = random_uniform(shape, DType::f32, 5, 0), b = random_uniform(shape, DType::f32, 5, 1);
  Tensor G = random_uniform(shape, DType::f32, 5, 2), g = random_uniform(shape, DType::f32, 5, 3);
  Tensor eta = Tensor::from_vector({0.8}, {1}), theta = random_uniform({5}, DType::f32, 5, 4, 0.05, 0.3);
  Tensor g_pre = Tensor::empty(shape), dtheta = Tensor::empty({5}), deta = Tensor::empty({1});
  const auto mode = ThresholdMode::two_sided;
  ista_update_backward(cpu(), g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, false);
  Tensor only = Tensor::empty(shape);
  ista_update_backward(cpu(), only, Tensor(), Tensor(), g, z, b, G, eta, theta, mode, false);
  EXPECT_TRUE(all_close(only, g_pre, {0, 0}, "g_pre without reductions"));
  Tensor dtheta2 = Tensor::from_vector({1, 2, 3, 4, 5}, {5}), deta2 = Tensor::from_vector({-2}, {1});
  ista_update_backward(cpu(), only, dtheta2, deta2, g, z, b, G, eta, theta, mode, true);
  std::vector<double> a = dtheta.to_vector(), acc = dtheta2.to_vector();
  for (int c = 0; c < 5; ++c) EXPECT_FLOAT_EQ(acc[c], a[c] + c + 1);
  EXPECT_FLOAT_EQ(deta2.item(), deta.item() - 2);
  EXPECT_NE(deta.item(), 0.0);
}

TEST(IstaUpdate, GPreMayAliasG) {
  const Shape shape{1, 3, 7, 9};
  Tensor b = random_uniform(shape, DType::f32, 9, 0), g = random_uniform(shape, DType::f32, 9, 1);
  Tensor eta = Tensor::from_vector({1.2}, {1}), theta = Tensor::from_vector({0.2}, {1});
  Tensor separate = Tensor::empty(shape), in_place = g.clone();
  ista_first_code_backward(cpu(), separate, Tensor(), Tensor(), g, b, eta, theta, ThresholdMode::nonneg, false);
  ista_first_code_backward(cpu(), in_place, Tensor(), Tensor(), in_place, b, eta, theta, ThresholdMode::nonneg, false);
  EXPECT_TRUE(all_close(in_place, separate, {0, 0}, "in place"));
}

TEST(IstaUpdate, BadArgumentsNameTheOpAndTheTensor) {
  const Shape shape{2, 3, 5, 7};
  Tensor x = Tensor::zeros(shape), eta = Tensor::zeros({1}), theta = Tensor::zeros({3});
  Tensor out = Tensor::empty(shape);
  const auto mode = ThresholdMode::nonneg;
  expect_error_mentions([&] { ista_update_forward(cpu(), out, x, x, Tensor(), eta, theta, mode); },
                        {"ista_update_forward", "z and G"});
  expect_error_mentions([&] { ista_update_forward(cpu(), out, x, x, x, Tensor::zeros({2}), theta, mode); },
                        {"ista_update_forward", "eta"});
  expect_error_mentions([&] { ista_update_forward(cpu(), out, x, x, x, eta, Tensor::zeros({4}), mode); },
                        {"ista_update_forward", "theta"});
  expect_error_mentions(
      [&] {
        ista_update_forward(cpu(), out, Tensor::zeros({2, 3, 5, 6}), x, x, eta, theta, mode);
      },
      {"ista_update_forward", "z", "[2, 3, 5, 6]"});
  expect_error_mentions([&] { ista_update_forward(cpu(), out, x, x, x, Tensor::zeros({1}, DType::f64), theta, mode); },
                        {"ista_update_forward", "dtypes differ"});
  expect_error_mentions(
      [&] { ista_update_backward(cpu(), out, Tensor::zeros({1}), Tensor(), x, x, x, x, eta, theta, mode, false); },
      {"ista_update_backward", "dtheta"});
}

TEST(FistaExtrapolate, FlagsChooseOverwriteOrAccumulatePerOutput) {
  const Shape shape{2, 5, 7, 9};
  Tensor dz = random_uniform(shape, DType::f32, 11, 0);
  Tensor dgamma = Tensor::empty(shape), dgamma_prev = Tensor::empty(shape);
  fill(cpu(), dgamma, NAN);       // overwritten: must not be read
  fill(cpu(), dgamma_prev, 1.f);  // accumulated into
  const float beta = 0.3f;
  fista_extrapolate_backward(cpu(), dgamma, dgamma_prev, dz, beta, false, true);
  const float* d = dz.data<float>();
  for (int64_t i = 0; i < dz.numel(); ++i) {
    ASSERT_FLOAT_EQ(dgamma.data<float>()[i], 1.3f * d[i]);
    ASSERT_FLOAT_EQ(dgamma_prev.data<float>()[i], 1.f - 0.3f * d[i]);
  }
  Tensor only = Tensor::empty(shape);
  fista_extrapolate_backward(cpu(), Tensor(), only, dz, beta, false, false);
  for (int64_t i = 0; i < dz.numel(); ++i) ASSERT_FLOAT_EQ(only.data<float>()[i], -0.3f * d[i]);
  expect_error_mentions(
      [&] {
        fista_extrapolate_forward(cpu(), Tensor::empty({2, 5}), dz, dz, beta);
      },
      {"fista_extrapolate_forward", "z"});
}

TEST(IstaUpdateGpu, BackwardIsDeterministicAndAllocatesNothingInSteadyState) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Context& gpu = Context::get(Device::cuda(0));
  const Shape shape{8, 17, 31, 33};
  const Device d = Device::cuda(0);
  Tensor z = random_uniform(shape, DType::f32, 1, 0).to(d), b = random_uniform(shape, DType::f32, 1, 1).to(d);
  Tensor G = random_uniform(shape, DType::f32, 1, 2).to(d), g = random_uniform(shape, DType::f32, 1, 3).to(d);
  Tensor eta = Tensor::from_vector({0.9}, {1}).to(d), theta = random_uniform({17}, DType::f32, 1, 4, 0.05, 0.3).to(d);
  Tensor g_pre = Tensor::empty(shape, DType::f32, d), dtheta = Tensor::empty({17}, DType::f32, d);
  Tensor deta = Tensor::empty({1}, DType::f32, d);
  auto run = [&] {
    ista_update_backward(gpu, g_pre, dtheta, deta, g, z, b, G, eta, theta, ThresholdMode::two_sided, false);
    return std::make_pair(dtheta.to_vector(), deta.item());
  };
  const auto first = run();
  const int64_t allocations = memory_stats().device_allocations;
  for (int k = 0; k < 3; ++k) {
    const auto again = run();
    EXPECT_EQ(again.first, first.first);
    EXPECT_EQ(again.second, first.second);
  }
  EXPECT_EQ(memory_stats().device_allocations, allocations);
}

}  // namespace
}  // namespace scn::test
