// Properties and error paths of pooling, linear, softmax cross-entropy and the accuracy counts (see
// test_nn_ops.cpp for the per-channel ops).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/context.h"
#include "kernels/accuracy.h"
#include "kernels/global_avg_pool.h"
#include "kernels/linear.h"
#include "kernels/op_case.h"
#include "kernels/pool2d.h"
#include "kernels/softmax_cross_entropy.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

double dot(const Tensor& a, const Tensor& b) {
  std::vector<double> u = a.to_vector(), v = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
  return s;
}

Tensor labels_of(std::vector<double> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::i32); }

// ---- pooling ---------------------------------------------------------------------------------------------------

TEST(NnPool, OutputSizesFollowPyTorch) {
  EXPECT_EQ(pool2d_output_shape("t", {1, 1, 7, 9}, {2, 2, 0}), Shape({1, 1, 3, 4}));
  EXPECT_EQ(pool2d_output_shape("t", {1, 1, 7, 9}, {2, 2, 1}), Shape({1, 1, 4, 5}));
  EXPECT_EQ(pool2d_output_shape("t", {1, 1, 7, 9}, {3, 2, 0}), Shape({1, 1, 3, 4}));
  EXPECT_EQ(pool2d_output_shape("t", {1, 1, 7, 9}, {3, 2, 1}), Shape({1, 1, 4, 5}));
}

TEST(NnPool, MaxIndicesPointAtTheValuesAndTiesGoToTheFirst) {
  // A constant plane: every window ties, and the first element of its clipped window wins.
  Tensor x = Tensor::from_vector(std::vector<double>(7 * 9, 1.5), {1, 1, 7, 9});
  const Pool2d p{3, 2, 1};
  Tensor y = Tensor::empty({1, 1, 4, 5}), idx = Tensor::empty({1, 1, 4, 5}, DType::i32);
  max_pool2d_forward(cpu(), y, idx, x, p);
  std::vector<double> iv = idx.to_vector();
  for (int oh = 0; oh < 4; ++oh)
    for (int ow = 0; ow < 5; ++ow) {
      const int h0 = std::max(0, oh * 2 - 1), w0 = std::max(0, ow * 2 - 1);
      EXPECT_EQ(iv[oh * 5 + ow], h0 * 9 + w0) << "output " << oh << "," << ow;
    }
  // Random values: y[o] = x[plane + idx[o]].
  Tensor r = random_uniform({3, 5, 7, 9}, DType::f32, 7, 0);
  Tensor ry = Tensor::empty({3, 5, 4, 5}), ri = Tensor::empty({3, 5, 4, 5}, DType::i32);
  max_pool2d_forward(cpu(), ry, ri, r, p);
  std::vector<double> xv = r.to_vector(), yv = ry.to_vector(), rv = ri.to_vector();
  for (size_t o = 0; o < yv.size(); ++o) EXPECT_EQ(yv[o], xv[(o / 20) * 63 + static_cast<size_t>(rv[o])]);
}

TEST(NnPool, MaxPoolPropagatesNaN) {
  std::vector<double> v(16, 0.0);
  v[5] = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::from_vector(v, {1, 1, 4, 4}), y = Tensor::empty({1, 1, 2, 2});
  Tensor idx = Tensor::empty({1, 1, 2, 2}, DType::i32);
  max_pool2d_forward(cpu(), y, idx, x, {2, 2, 0});
  EXPECT_TRUE(std::isnan(y.to_vector()[0]));
  EXPECT_EQ(idx.to_vector()[0], 5);
  EXPECT_EQ(y.to_vector()[1], 0.0);
}

TEST(NnPool, AveragePaddingCountsAsZero) {
  Tensor x = Tensor::from_vector(std::vector<double>(7 * 9, 1.0), {1, 1, 7, 9}), y = Tensor::empty({1, 1, 4, 5});
  avg_pool2d_forward(cpu(), y, x, {3, 2, 1});
  std::vector<double> v = y.to_vector();
  EXPECT_NEAR(v[0], 4.0 / 9, 1e-6);          // corner window: 2×2 real elements of 3×3
  EXPECT_NEAR(v[1], 6.0 / 9, 1e-6);          // top edge: 2×3
  EXPECT_NEAR(v[5 + 1], 1.0, 1e-6);          // interior
  EXPECT_NEAR(v[3 * 5 + 4], 4.0 / 9, 1e-6);  // bottom-right corner
}

TEST(NnPool, BackwardIsTheAdjointOfForward) {
  // Average pooling is linear: ⟨P x, g⟩ = ⟨x, Pᵀ g⟩, and likewise global average pooling.
  for (const Pool2d p : {Pool2d{2, 2, 0}, Pool2d{2, 2, 1}, Pool2d{3, 2, 0}, Pool2d{3, 2, 1}}) {
    Tensor x = random_uniform({3, 5, 7, 9}, DType::f64, 8, 0);
    const Shape out = pool2d_output_shape("t", x.shape(), p);
    Tensor y = Tensor::empty(out, DType::f64), g = random_uniform(out, DType::f64, 8, 1);
    Tensor dx = Tensor::empty(x.shape(), DType::f64);
    avg_pool2d_forward(cpu(), y, x, p);
    avg_pool2d_backward(cpu(), dx, g, p);
    EXPECT_NEAR(dot(y, g), dot(x, dx), 1e-10) << "kernel " << p.kernel << " pad " << p.pad;
  }
  Tensor x = random_uniform({3, 17, 7, 9}, DType::f64, 9, 0), g = random_uniform({3, 17}, DType::f64, 9, 1);
  Tensor y = Tensor::empty({3, 17}, DType::f64), dx = Tensor::empty(x.shape(), DType::f64);
  global_avg_pool_forward(cpu(), y, x);
  global_avg_pool_backward(cpu(), dx, g);
  EXPECT_NEAR(dot(y, g), dot(x, dx), 1e-10);
}

TEST(NnPool, RejectsBadArguments) {
  Tensor x = Tensor::zeros({1, 2, 7, 9}), y = Tensor::empty({1, 2, 4, 5}),
         idx = Tensor::empty({1, 2, 4, 5}, DType::i32);
  expect_error_mention([&] { max_pool2d_forward(cpu(), y, idx, x, {2, 2, 2}); }, "pad");
  expect_error_mention([&] { avg_pool2d_forward(cpu(), y, x, {11, 2, 0}); }, "smaller than the kernel");
  expect_error_mention([&] { avg_pool2d_forward(cpu(), y, x, {2, 0, 0}); }, "stride");
  expect_error_mention([&] { max_pool2d_forward(cpu(), y, idx, x, {2, 2, 0}); }, "y has shape");
  expect_error_mention([&] { max_pool2d_forward(cpu(), y, Tensor::empty({1, 2, 4, 5}), x, {3, 2, 1}); }, "indices");
  // Corrupt indices are refused, not written through.
  Tensor bad = Tensor::from_vector(std::vector<double>(40, 1000.0), {1, 2, 4, 5}, DType::i32);
  expect_error_mention([&] { max_pool2d_backward(cpu(), Tensor::empty(x.shape()), y, bad, {3, 2, 1}); }, "indices[0]");
  expect_error_mention([&] { global_avg_pool_forward(cpu(), Tensor::empty({1, 3}), x); }, "y has shape");
}

// ---- linear ----------------------------------------------------------------------------------------------------

TEST(NnLinear, BackwardIsTheAdjointAndAccumulates) {
  Tensor x = random_uniform({3, 17}, DType::f64, 10, 0), w = random_uniform({5, 17}, DType::f64, 10, 1);
  Tensor g = random_uniform({3, 5}, DType::f64, 10, 2);
  Tensor y = Tensor::empty({3, 5}, DType::f64), dx = Tensor::empty({3, 17}, DType::f64);
  Tensor dw = Tensor::empty({5, 17}, DType::f64), db = Tensor::empty({5}, DType::f64);
  linear_forward(cpu(), y, x, w, Tensor());
  linear_backward(cpu(), dx, dw, db, g, x, w, false);
  EXPECT_NEAR(dot(y, g), dot(x, dx), 1e-12);  // ⟨x Wᵀ, g⟩ = ⟨x, g W⟩
  EXPECT_NEAR(dot(y, g), dot(w, dw), 1e-12);  // ⟨x Wᵀ, g⟩ = ⟨W, gᵀ x⟩
  Tensor dw2 = dw.clone(), db2 = db.clone();
  linear_backward(cpu(), Tensor(), dw2, db2, g, x, Tensor(), true);
  std::vector<double> a = dw.to_vector(), b = dw2.to_vector(), c = db.to_vector(), d = db2.to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], 2 * a[i], 1e-12);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(d[i], 2 * c[i], 1e-12);
}

TEST(NnLinear, RejectsBadArguments) {
  Tensor x = Tensor::zeros({3, 17}), w = Tensor::zeros({5, 17});
  expect_error_mention([&] { linear_forward(cpu(), Tensor::empty({3, 5}), x, Tensor::zeros({5, 16}), Tensor()); }, "w has");
  expect_error_mention([&] { linear_forward(cpu(), Tensor::empty({3, 4}), x, w, Tensor()); }, "y has shape");
  expect_error_mention([&] { linear_forward(cpu(), Tensor::empty({3, 5}), x, w, Tensor::zeros({4})); }, "b has shape");
  expect_error_mention(
      [&] {
        linear_forward(cpu(), Tensor::empty({3, 5}), Tensor::zeros({3, 1, 17}), w, Tensor());
      },
      "flatten");
  expect_error_mention(
      [&] {
        linear_backward(cpu(), Tensor::empty({3, 17}), Tensor(), Tensor(), Tensor::zeros({3, 5}), x, Tensor(), false);
      },
      "w is undefined");
}

// ---- softmax cross-entropy -------------------------------------------------------------------------------------

TEST(NnSoftmaxXent, EqualLogitsGiveLogKWithOrWithoutSmoothing) {
  for (double eps : {0.0, 0.1, 1.0}) {
    Tensor z = Tensor::from_vector(std::vector<double>(3 * 10, 0.7), {3, 10}), loss = Tensor::empty({3});
    softmax_cross_entropy_forward(cpu(), loss, Tensor(), Tensor(), z, labels_of({0, 4, 9}), eps);
    for (double l : loss.to_vector()) EXPECT_NEAR(l, std::log(10.0), 1e-6) << "eps " << eps;
  }
}

TEST(NnSoftmaxXent, FusedGradientIsTheBackwardOfTheMean) {
  Tensor z = random_uniform({5, 7}, DType::f64, 11, 0, -3, 3), labels = labels_of({6, 0, 3, 3, 1});
  Tensor loss = Tensor::empty({5}, DType::f64), mean = Tensor::empty({1}, DType::f64);
  Tensor fused = Tensor::empty({5, 7}, DType::f64), general = Tensor::empty({5, 7}, DType::f64);
  softmax_cross_entropy_forward(cpu(), loss, mean, fused, z, labels, 0.1);
  softmax_cross_entropy_backward(cpu(), general, Tensor::from_vector(std::vector<double>(5, 0.2), {5}, DType::f64), z,
                                 labels, 0.1);
  EXPECT_TRUE(all_close(fused, general, {1e-15, 1e-12}, "fused vs backward with dloss = 1/N"));
  // Rows of p − q sum to zero (both p and q are distributions).
  std::vector<double> g = fused.to_vector();
  for (int n = 0; n < 5; ++n) {
    double s = 0;
    for (int k = 0; k < 7; ++k) s += g[n * 7 + k];
    EXPECT_NEAR(s, 0, 1e-15) << "row " << n;
  }
}

TEST(NnSoftmaxXent, HugeLogitsStayFinite) {
  Tensor z = Tensor::from_vector({1000, -1000, 0, 88, 89, 90}, {2, 3}), loss = Tensor::empty({2});
  Tensor dz = Tensor::empty({2, 3});
  softmax_cross_entropy_forward(cpu(), loss, Tensor(), dz, z, labels_of({1, 2}), 0.0);
  std::vector<double> l = loss.to_vector();
  EXPECT_NEAR(l[0], 2000, 1e-2);
  EXPECT_NEAR(l[1], std::log(1 + std::exp(-1.0) + std::exp(-2.0)), 1e-5);
  for (double v : dz.to_vector()) EXPECT_TRUE(std::isfinite(v));
}

TEST(NnSoftmaxXent, LabelOutOfRangeIsAnErrorOnTheCpu) {
  Tensor z = Tensor::zeros({3, 4}), loss = Tensor::empty({3});
  expect_error_mention(
      [&] {
        softmax_cross_entropy_forward(cpu(), loss, Tensor(), Tensor(), z, labels_of({0, 4, 1}), 0);
      },
      "labels[1] = 4");
  expect_error_mention(
      [&] {
        softmax_cross_entropy_backward(cpu(), Tensor::empty({3, 4}), Tensor::zeros({3}), z, labels_of({0, 1, -1}), 0);
      },
      "labels[2] = -1");
  expect_error_mention([&] { softmax_cross_entropy_forward(cpu(), loss, Tensor(), Tensor(), z, Tensor::zeros({3}), 0); },
               "i32");
  expect_error_mention(
      [&] {
        softmax_cross_entropy_forward(cpu(), loss, Tensor(), Tensor(), z, labels_of({0, 1, 2}), 1.5);
      },
      "smoothing");
}

// ---- accuracy --------------------------------------------------------------------------------------------------

TEST(NnAccuracy, TiesGoToTheLowerClassAndCountsAccumulate) {
  // Equal logits: the label's rank is its index.
  Tensor z = Tensor::from_vector(std::vector<double>(4 * 10, 0.5), {4, 10}), counts = Tensor::empty({2}, DType::i32);
  accuracy_counts(cpu(), counts, z, labels_of({0, 3, 7, 4}), false);
  EXPECT_EQ(counts.to_vector(), std::vector<double>({1, 3}));
  accuracy_counts(cpu(), counts, z, labels_of({0, 3, 7, 4}), true);
  EXPECT_EQ(counts.to_vector(), std::vector<double>({2, 6}));
  // A clear winner; the label second of three classes: top-1 wrong, top-5 right.
  Tensor w = Tensor::from_vector({0.1, 0.2, 0.9}, {1, 3});
  accuracy_counts(cpu(), counts, w, labels_of({1}), false);
  EXPECT_EQ(counts.to_vector(), std::vector<double>({0, 1}));
}

TEST(NnAccuracy, ARowWithNaNIsWrong) {
  // NaN compares false with everything: the label would rank first if NaN were not ruled out.
  const double nan = std::nan("");
  Tensor z = Tensor::from_vector({nan, nan, nan, 0.1, nan, 0.3, 0.9, 0.2, 0.1}, {3, 3}), counts = Tensor::empty({2}, DType::i32);
  accuracy_counts(cpu(), counts, z, labels_of({0, 0, 0}), false);
  EXPECT_EQ(counts.to_vector(), std::vector<double>({1, 1}));  // only the finite third row, whose label wins
}

TEST(NnAccuracy, RejectsBadArguments) {
  Tensor z = Tensor::zeros({2, 3});
  expect_error_mention(
      [&] {
        accuracy_counts(cpu(), Tensor::empty({2}, DType::i32), z, labels_of({0, 3}), false);
      },
      "labels[1] = 3");
  expect_error_mention([&] { accuracy_counts(cpu(), Tensor::empty({2}), z, labels_of({0, 1}), false); }, "counts");
}

}  // namespace
}  // namespace scn::test
