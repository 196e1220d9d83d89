// GPU-only properties of the neural-network ops (skipped, visibly, without a GPU): multi-block reductions on
// shapes larger than the conformance cases, bitwise determinism, no allocation in steady state, the documented
// behaviour of invalid labels, and the f32-only rule.
#include <gtest/gtest.h>

#include <cmath>

#include "core/context.h"
#include "core/memory.h"
#include "kernels/accuracy.h"
#include "kernels/batch_norm.h"
#include "kernels/channel_affine.h"
#include "kernels/linear.h"
#include "kernels/op_case.h"
#include "kernels/softmax_cross_entropy.h"

namespace scn::test {
namespace {

#define SCN_REQUIRE_GPU() \
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine"

Device gpu() { return Device::cuda(0); }

Tensor on_gpu(const Tensor& t) { return t.to(gpu()); }
Tensor gpu_empty(const Shape& s, DType d = DType::f32) { return Tensor::empty(s, d, gpu()); }

// Batch norm (training forward and backward) with per-channel sums of 32·32·32 elements: several blocks per
// channel, so the partials are combined across blocks.
struct BnRun {
  Tensor y, mean, invstd, rm, rv, dx, dgamma, dbeta;
};
BnRun run_bn(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& dy) {
  const Device d = x.device();
  const Shape pc{x.size(1)};
  BnRun r{Tensor::empty(x.shape(), DType::f32, d), Tensor::empty(pc, DType::f32, d),
          Tensor::empty(pc, DType::f32, d),        Tensor::zeros(pc, DType::f32, d),
          Tensor::zeros(pc, DType::f32, d),        Tensor::empty(x.shape(), DType::f32, d),
          Tensor::empty(pc, DType::f32, d),        Tensor::empty(pc, DType::f32, d)};
  batch_norm_forward_training(ctx, r.y, r.mean, r.invstd, r.rm, r.rv, x, gamma, beta, 0.1, 1e-5);
  batch_norm_backward(ctx, r.dx, r.dgamma, r.dbeta, dy, x, r.mean, r.invstd, gamma, false);
  return r;
}

TEST(NnCuda, BatchNormOnLargeShapesMatchesCpu) {
  SCN_REQUIRE_GPU();
  const Shape s{32, 17, 32, 32};
  // A large offset as well: Welford's partials must keep the variance that Σx² − Mμ² would lose.
  std::vector<double> v = random_uniform(s, DType::f64, 21, 0, -1, 1).to_vector();
  for (double& e : v) e += 100;
  Tensor x = Tensor::from_vector(v, s), dy = random_uniform(s, DType::f32, 21, 1);
  Tensor gamma = random_uniform({17}, DType::f32, 21, 2, 0.5, 1.5), beta = random_uniform({17}, DType::f32, 21, 3);
  BnRun c = run_bn(Context::get(Device::cpu()), x, gamma, beta, dy);
  BnRun g = run_bn(Context::get(gpu()), on_gpu(x), on_gpu(gamma), on_gpu(beta), on_gpu(dy));
  const Tolerance tol{2e-4, 2e-3};
  EXPECT_TRUE(all_close(g.y, c.y, tol, "y"));
  EXPECT_TRUE(all_close(g.mean, c.mean, tol, "mean"));
  EXPECT_TRUE(all_close(g.invstd, c.invstd, tol, "invstd"));
  EXPECT_TRUE(all_close(g.rm, c.rm, tol, "running_mean"));
  EXPECT_TRUE(all_close(g.rv, c.rv, tol, "running_var"));
  EXPECT_TRUE(all_close(g.dx, c.dx, tol, "dx"));
  EXPECT_TRUE(all_close(g.dgamma, c.dgamma, {1e-2, 2e-3}, "dgamma"));  // sums of 32768 terms
  EXPECT_TRUE(all_close(g.dbeta, c.dbeta, {1e-2, 2e-3}, "dbeta"));
}

TEST(NnCuda, ReductionsAreBitwiseReproducible) {
  SCN_REQUIRE_GPU();
  Context& ctx = Context::get(gpu());
  const Shape s{16, 5, 31, 33};
  Tensor x = on_gpu(random_uniform(s, DType::f32, 22, 0)), dy = on_gpu(random_uniform(s, DType::f32, 22, 1));
  Tensor gamma = on_gpu(random_uniform({5}, DType::f32, 22, 2)), beta = on_gpu(random_uniform({5}, DType::f32, 22, 3));
  BnRun a = run_bn(ctx, x, gamma, beta, dy), b = run_bn(ctx, x, gamma, beta, dy);
  EXPECT_EQ(a.mean.to_vector(), b.mean.to_vector());
  EXPECT_EQ(a.invstd.to_vector(), b.invstd.to_vector());
  EXPECT_EQ(a.dgamma.to_vector(), b.dgamma.to_vector());
  EXPECT_EQ(a.dx.to_vector(), b.dx.to_vector());
  Tensor ds1 = gpu_empty({5}), ds2 = gpu_empty({5}), db1 = gpu_empty({5}), db2 = gpu_empty({5});
  channel_affine_backward(ctx, Tensor(), ds1, db1, dy, x, gamma, false);
  channel_affine_backward(ctx, Tensor(), ds2, db2, dy, x, gamma, false);
  EXPECT_EQ(ds1.to_vector(), ds2.to_vector());
  EXPECT_EQ(db1.to_vector(), db2.to_vector());
}

TEST(NnCuda, RepeatedCallsDoNotAllocate) {
  SCN_REQUIRE_GPU();
  Context& ctx = Context::get(gpu());
  const Shape s{8, 16, 16, 16};
  Tensor x = on_gpu(random_uniform(s, DType::f32, 23, 0)), dy = on_gpu(random_uniform(s, DType::f32, 23, 1));
  Tensor y = gpu_empty(s), dx = gpu_empty(s), mean = gpu_empty({16}), invstd = gpu_empty({16});
  Tensor rm = Tensor::zeros({16}, DType::f32, gpu()), rv = Tensor::zeros({16}, DType::f32, gpu());
  Tensor ds = gpu_empty({16}), feat = on_gpu(random_uniform({8, 64}, DType::f32, 23, 2));
  Tensor w = on_gpu(random_uniform({10, 64}, DType::f32, 23, 3)), b = on_gpu(random_uniform({10}, DType::f32, 23, 4));
  Tensor logits = gpu_empty({8, 10}), dlogits = gpu_empty({8, 10}), loss = gpu_empty({8}), mean_loss = gpu_empty({1});
  Tensor dfeat = gpu_empty({8, 64}), dw = gpu_empty({10, 64}), db = gpu_empty({10});
  Tensor labels = on_gpu(Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 9}, {8}, DType::i32));
  Tensor counts = gpu_empty({2}, DType::i32);
  auto step = [&] {
    batch_norm_forward_training(ctx, y, mean, invstd, rm, rv, x, Tensor(), Tensor(), 0.1, 1e-5);
    batch_norm_backward(ctx, dx, Tensor(), Tensor(), dy, x, mean, invstd, Tensor(), false);
    channel_affine_backward(ctx, dx, ds, Tensor(), dy, x, invstd, false);
    linear_forward(ctx, logits, feat, w, b);
    softmax_cross_entropy_forward(ctx, loss, mean_loss, dlogits, logits, labels, 0.1);
    linear_backward(ctx, dfeat, dw, db, dlogits, feat, w, true);
    accuracy_counts(ctx, counts, logits, labels, true);
  };
  step();  // warm-up: the workspace grows to its size here
  ctx.synchronize();
  const int64_t allocations = memory_stats().allocations(), grows = ctx.stats().workspace_grows;
  for (int i = 0; i < 3; ++i) step();
  ctx.synchronize();
  EXPECT_EQ(memory_stats().allocations(), allocations);
  EXPECT_EQ(ctx.stats().workspace_grows, grows);
}

TEST(NnCuda, InvalidLabelsGiveNaNLossAndAreNotCounted) {
  SCN_REQUIRE_GPU();
  Context& ctx = Context::get(gpu());
  Tensor z = on_gpu(random_uniform({3, 4}, DType::f32, 24, 0));
  Tensor labels = on_gpu(Tensor::from_vector({1, 4, -1}, {3}, DType::i32));
  Tensor loss = gpu_empty({3}), mean = gpu_empty({1}), dz = gpu_empty({3, 4}), counts = gpu_empty({2}, DType::i32);
  softmax_cross_entropy_forward(ctx, loss, mean, dz, z, labels, 0.1);
  std::vector<double> l = loss.to_vector(), g = dz.to_vector();
  EXPECT_TRUE(std::isfinite(l[0]));
  EXPECT_TRUE(std::isnan(l[1]) && std::isnan(l[2]));
  EXPECT_TRUE(std::isnan(mean.item()));
  for (int k = 0; k < 4; ++k) {
    EXPECT_TRUE(std::isfinite(g[k]));
    EXPECT_TRUE(std::isnan(g[4 + k]) && std::isnan(g[8 + k]));
  }
  accuracy_counts(ctx, counts, z, labels, false);
  EXPECT_EQ(counts.to_vector()[1], 1);  // only the valid sample can be top-5 (of 4 classes) correct
}

TEST(NnCuda, RejectsF64) {
  SCN_REQUIRE_GPU();
  Context& ctx = Context::get(gpu());
  Tensor x = Tensor::zeros({2, 3, 4, 4}, DType::f64, gpu()), y = Tensor::empty({2, 3, 4, 4}, DType::f64, gpu());
  try {
    channel_affine_forward(ctx, y, x, Tensor(), Tensor());
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32 only"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scn::test
