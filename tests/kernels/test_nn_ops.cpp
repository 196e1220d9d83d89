// Properties and error paths of the neural-network ops that the conformance harness does not cover:
// accumulation flags, in-place use, hand-computed values, adjoint identities, tie rules, invalid arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/context.h"
#include "kernels/accuracy.h"
#include "kernels/batch_norm.h"
#include "kernels/channel_affine.h"
#include "kernels/global_avg_pool.h"
#include "kernels/linear.h"
#include "kernels/op_case.h"
#include "kernels/pool2d.h"
#include "kernels/softmax_cross_entropy.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

// ---- channel affine -------------------------------------------------------------------------------------------

TEST(NnChannelAffine, BackwardAccumulatesIntoExistingGradients) {
  Tensor x = random_uniform({3, 5, 7, 9}, DType::f32, 1, 0), dy = random_uniform({3, 5, 7, 9}, DType::f32, 1, 1);
  Tensor scale = random_uniform({5}, DType::f32, 1, 2);
  Tensor ds = Tensor::empty({5}), db = Tensor::empty({5});
  channel_affine_backward(cpu(), Tensor(), ds, db, dy, x, scale, false);
  Tensor ds2 = random_uniform({5}, DType::f32, 1, 3), db2 = random_uniform({5}, DType::f32, 1, 4);
  std::vector<double> before_s = ds2.to_vector(), before_b = db2.to_vector();
  channel_affine_backward(cpu(), Tensor(), ds2, db2, dy, x, scale, true);
  std::vector<double> s = ds.to_vector(), b = db.to_vector(), s2 = ds2.to_vector(), b2 = db2.to_vector();
  for (int c = 0; c < 5; ++c) {
    EXPECT_NEAR(s2[c], before_s[c] + s[c], 1e-4);
    EXPECT_NEAR(b2[c], before_b[c] + b[c], 1e-4);
  }
}

TEST(NnChannelAffine, InPlaceMatchesOutOfPlace) {
  Tensor x = random_uniform({2, 3, 5, 7}, DType::f32, 2, 0), dy = random_uniform({2, 3, 5, 7}, DType::f32, 2, 1);
  Tensor scale = random_uniform({3}, DType::f32, 2, 2), bias = random_uniform({3}, DType::f32, 2, 3);
  Tensor y = Tensor::empty(x.shape()), inplace = x.clone();
  channel_affine_forward(cpu(), y, x, scale, bias);
  channel_affine_forward(cpu(), inplace, inplace, scale, bias);
  EXPECT_TRUE(all_close(inplace, y, {0, 0}, "y aliasing x"));
  Tensor dx = Tensor::empty(x.shape()), ds = Tensor::empty({3}), ds_alias = Tensor::empty({3}), g = dy.clone();
  channel_affine_backward(cpu(), dx, ds, Tensor(), dy, x, scale, false);
  channel_affine_backward(cpu(), g, ds_alias, Tensor(), g, x, scale, false);
  EXPECT_TRUE(all_close(g, dx, {0, 0}, "dx aliasing dy"));
  EXPECT_TRUE(all_close(ds_alias, ds, {0, 0}, "dscale with dx aliasing dy"));
}

TEST(NnChannelAffine, RejectsBadArguments) {
  Tensor x = Tensor::zeros({2, 3, 4, 4});
  expect_error_mention([&] { channel_affine_forward(cpu(), Tensor::empty(x.shape()), x, Tensor::zeros({4}), Tensor()); },
               "scale");
  expect_error_mention([&] { channel_affine_forward(cpu(), Tensor::empty({2, 3, 4, 5}), x, Tensor(), Tensor()); }, "y");
  expect_error_mention(
      [&] { channel_affine_forward(cpu(), Tensor::empty(x.shape()), x, Tensor::zeros({3}, DType::f64), Tensor()); },
      "f64");
  // dscale needs the forward input.
  expect_error_mention(
      [&] { channel_affine_backward(cpu(), Tensor(), Tensor::empty({3}), Tensor(), x, Tensor(), Tensor(), false); },
      "x");
}

// ---- batch norm ------------------------------------------------------------------------------------------------

TEST(NnBatchNorm, HandComputedTrainingStep) {
  // One channel, values 1, 2, 3, 4: μ = 2.5, biased σ² = 1.25, unbiased 5/3.
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {4, 1}, DType::f64);
  Tensor y = Tensor::empty({4, 1}, DType::f64), mean = Tensor::empty({1}, DType::f64);
  Tensor invstd = Tensor::empty({1}, DType::f64);
  Tensor rm = Tensor::from_vector({0.0}, {1}, DType::f64), rv = Tensor::from_vector({1.0}, {1}, DType::f64);
  const double eps = 1e-5;
  batch_norm_forward_training(cpu(), y, mean, invstd, rm, rv, x, Tensor(), Tensor(), 0.1, eps);
  EXPECT_NEAR(mean.item(), 2.5, 1e-12);
  EXPECT_NEAR(invstd.item(), 1 / std::sqrt(1.25 + eps), 1e-12);
  EXPECT_NEAR(rm.item(), 0.25, 1e-12);
  EXPECT_NEAR(rv.item(), 0.9 + 0.1 * 5.0 / 3.0, 1e-12);
  std::vector<double> v = y.to_vector();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(v[i], (i + 1 - 2.5) / std::sqrt(1.25 + eps), 1e-12);
}

TEST(NnBatchNorm, NormalisesInputsWithALargeOffsetInFloat) {
  // x = 1000 + u: a one-pass Σx² − Mμ² in float would lose the variance (≈ 1/3) to cancellation.
  Tensor u = random_uniform({8, 3, 16, 16}, DType::f64, 3, 0);
  std::vector<double> v = u.to_vector();
  for (double& e : v) e += 1000;
  Tensor x = Tensor::from_vector(v, u.shape(), DType::f32), y = Tensor::empty(u.shape());
  Tensor mean = Tensor::empty({3}), invstd = Tensor::empty({3});
  batch_norm_forward_training(cpu(), y, mean, invstd, Tensor(), Tensor(), x, Tensor(), Tensor(), 0.1, 1e-5);
  std::vector<double> out = y.to_vector();
  const int64_t per = 8 * 16 * 16;
  for (int c = 0; c < 3; ++c) {
    double s = 0, s2 = 0;
    for (int n = 0; n < 8; ++n)
      for (int i = 0; i < 256; ++i) {
        const double e = out[(n * 3 + c) * 256 + i];
        s += e;
        s2 += e * e;
      }
    EXPECT_NEAR(s / per, 0, 1e-3) << "channel " << c;
    EXPECT_NEAR(s2 / per, 1, 2e-3) << "channel " << c;
  }
}

TEST(NnBatchNorm, InferenceWithBatchStatisticsMatchesTraining) {
  Tensor x = random_uniform({3, 5, 7, 9}, DType::f32, 4, 0, -1, 3);
  Tensor gamma = random_uniform({5}, DType::f32, 4, 1), beta = random_uniform({5}, DType::f32, 4, 2);
  Tensor y = Tensor::empty(x.shape()), mean = Tensor::empty({5}), invstd = Tensor::empty({5});
  const double eps = 1e-3;
  batch_norm_forward_training(cpu(), y, mean, invstd, Tensor(), Tensor(), x, gamma, beta, 0.1, eps);
  std::vector<double> is = invstd.to_vector(), var(5);
  for (int c = 0; c < 5; ++c) var[c] = 1 / (is[c] * is[c]) - eps;
  Tensor y_inf = Tensor::empty(x.shape());
  batch_norm_forward_inference(cpu(), y_inf, x, mean, Tensor::from_vector(var, {5}), gamma, beta, eps);
  EXPECT_TRUE(all_close(y_inf, y, {1e-5, 1e-4}, "inference with the batch statistics"));
}

TEST(NnBatchNorm, InputGradientIsOrthogonalToShiftAndScale) {
  // y (affine: false) does not change when a channel's inputs are shifted, nor (as ε → 0) when they are scaled,
  // so for every channel Σ dx = 0 and Σ dx·x̂ = 0 (up to a term of order ε/σ²).
  const Shape s{3, 5, 7, 9};
  Tensor x = random_uniform(s, DType::f64, 5, 0, -2, 1), dy = random_uniform(s, DType::f64, 5, 1);
  Tensor y = Tensor::empty(s, DType::f64), mean = Tensor::empty({5}, DType::f64);
  Tensor invstd = Tensor::empty({5}, DType::f64), dx = Tensor::empty(s, DType::f64);
  batch_norm_forward_training(cpu(), y, mean, invstd, Tensor(), Tensor(), x, Tensor(), Tensor(), 0.1, 1e-12);
  batch_norm_backward(cpu(), dx, Tensor(), Tensor(), dy, x, mean, invstd, Tensor(), false);
  std::vector<double> g = dx.to_vector(), yv = y.to_vector();
  for (int c = 0; c < 5; ++c) {
    double sum = 0, sum_y = 0;
    for (int n = 0; n < 3; ++n)
      for (int i = 0; i < 63; ++i) {
        sum += g[(n * 5 + c) * 63 + i];
        sum_y += g[(n * 5 + c) * 63 + i] * yv[(n * 5 + c) * 63 + i];
      }
    EXPECT_NEAR(sum, 0, 1e-10) << "channel " << c;
    EXPECT_NEAR(sum_y, 0, 1e-9) << "channel " << c;
  }
}

TEST(NnBatchNorm, BackwardAccumulatesParameterGradientsOnly) {
  const Shape s{3, 5, 4, 4};
  Tensor x = random_uniform(s, DType::f32, 6, 0), dy = random_uniform(s, DType::f32, 6, 1);
  Tensor gamma = random_uniform({5}, DType::f32, 6, 2);
  Tensor y = Tensor::empty(s), mean = Tensor::empty({5}), invstd = Tensor::empty({5});
  batch_norm_forward_training(cpu(), y, mean, invstd, Tensor(), Tensor(), x, gamma, Tensor(), 0.1, 1e-5);
  Tensor dx1 = Tensor::empty(s), dg1 = Tensor::empty({5}), db1 = Tensor::empty({5});
  batch_norm_backward(cpu(), dx1, dg1, db1, dy, x, mean, invstd, gamma, false);
  Tensor dx2 = Tensor::empty(s), dg2 = dg1.clone(), db2 = db1.clone();
  batch_norm_backward(cpu(), dx2, dg2, db2, dy, x, mean, invstd, gamma, true);
  EXPECT_TRUE(all_close(dx2, dx1, {0, 0}, "dx is not accumulated"));
  std::vector<double> g1 = dg1.to_vector(), g2 = dg2.to_vector(), b1 = db1.to_vector(), b2 = db2.to_vector();
  for (int c = 0; c < 5; ++c) {
    EXPECT_NEAR(g2[c], 2 * g1[c], 1e-5);
    EXPECT_NEAR(b2[c], 2 * b1[c], 1e-5);
  }
}

TEST(NnBatchNorm, RejectsBadArguments) {
  Tensor one = Tensor::zeros({1, 3}), c3 = Tensor::empty({3});
  expect_error_mention(
      [&] {
        batch_norm_forward_training(cpu(), Tensor::empty({1, 3}), c3, c3, Tensor(), Tensor(), one, Tensor(), Tensor(),
                                    0.1, 1e-5);
      },
      "more than one value");
  Tensor x = Tensor::zeros({2, 3, 2, 2}), y = Tensor::empty({2, 3, 2, 2});
  expect_error_mention(
      [&] {
        batch_norm_forward_training(cpu(), y, c3, c3, Tensor::zeros({3}), Tensor(), x, Tensor(), Tensor(), 0.1, 1e-5);
      },
      "running_var");
  expect_error_mention(
      [&] {
        batch_norm_forward_training(cpu(), y, Tensor::empty({4}), c3, Tensor(), Tensor(), x, Tensor(), Tensor(), 0.1,
                                    1e-5);
      },
      "save_mean");
  expect_error_mention([&] { batch_norm_forward_inference(cpu(), y, x, c3, c3, Tensor(), Tensor(), 0.0); }, "eps");
}

}  // namespace
}  // namespace scn::test
