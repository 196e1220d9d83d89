// Properties of the element-wise ops, reductions and random fills beyond the conformance harness: the
// random streams (definition, statistics, keys, thread counts), determinism, NaN handling, errors, and
// CPU/GPU agreement where a GPU is present.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/op_case.h"
#include "kernels/random_fill.h"
#include "kernels/reduce.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

// Runs f with the given OpenMP thread count, then restores the previous one.
template <class F>
auto with_threads(int n, F f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(n);
  auto r = f();
  omp_set_num_threads(saved);
  return r;
}

TEST(RandomFill, CpuValuesAreTheDirectLoopOverPhilox) {
  const RngKey key{42, RngPurpose::init, 7};
  Tensor u = Tensor::empty({3, 5, 7, 9}), n = Tensor::empty({3, 5, 7, 9});
  fill_uniform(cpu(), u, -0.25f, 0.75f, key);
  fill_normal(cpu(), n, 0.5f, 2.f, key);
  for (int64_t i = 0; i < u.numel(); ++i) {
    ASSERT_EQ(u.data<float>()[i], -0.25f + philox_uniform(key, i)) << i;  // hi − lo = 1: exact
    ASSERT_EQ(n.data<float>()[i], static_cast<float>(0.5 + 2.0 * double(philox_normal(key, i)))) << i;
  }
}

TEST(RandomFill, StatisticsArePlausible) {
  const int64_t count = 200003;
  Tensor u = Tensor::empty({count}), n = Tensor::empty({count});
  fill_uniform(cpu(), u, -1.f, 3.f, RngKey{1, RngPurpose::init, 0});
  fill_normal(cpu(), n, 0.25f, 1.5f, RngKey{2, RngPurpose::init, 0});
  double su = 0, su2 = 0, sn = 0, sn2 = 0, lo = 1e9, hi = -1e9;
  int64_t within_one_sigma = 0;
  for (double v : u.to_vector()) {
    su += v;
    su2 += v * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  for (double v : n.to_vector()) {
    sn += v;
    sn2 += v * v;
    within_one_sigma += std::abs(v - 0.25) < 1.5;
  }
  const double mu = su / count, vu = su2 / count - mu * mu, mn = sn / count, vn = sn2 / count - mn * mn;
  // Uniform on [−1, 3): mean 1, variance 16/12; the bounds are respected and nearly reached.
  EXPECT_GE(lo, -1.0);
  EXPECT_LT(hi, 3.0);
  EXPECT_LT(lo, -0.999);
  EXPECT_GT(hi, 2.999);
  EXPECT_NEAR(mu, 1.0, 5 * std::sqrt(16.0 / 12 / count));
  EXPECT_NEAR(vu, 16.0 / 12, 0.02);
  // Normal(0.25, 1.5²): mean, standard deviation, and 68.27 % within one σ.
  EXPECT_NEAR(mn, 0.25, 5 * 1.5 / std::sqrt(double(count)));
  EXPECT_NEAR(std::sqrt(vn), 1.5, 0.01);
  EXPECT_NEAR(double(within_one_sigma) / count, 0.6827, 0.005);
}

TEST(RandomFill, KeysSelectStreamsAndOffsetsShiftThem) {
  auto draw = [](RngKey key, int64_t count) {
    Tensor t = Tensor::empty({count});
    fill_uniform(cpu(), t, 0.f, 1.f, key);
    return t.to_vector();
  };
  const std::vector<double> base = draw({9, RngPurpose::init, 0}, 100);
  EXPECT_NE(draw({10, RngPurpose::init, 0}, 100), base);
  EXPECT_NE(draw({9, RngPurpose::augment, 0}, 100), base);
  const std::vector<double> shifted = draw({9, RngPurpose::init, 5}, 95);
  EXPECT_EQ(shifted, std::vector<double>(base.begin() + 5, base.end()));
}

TEST(RandomFill, SameNumbersForAnyThreadCountAndDtype) {
  const RngKey key{3, RngPurpose::init, 0};
  auto draw = [&](DType dtype) {
    Tensor t = Tensor::empty({100003}, dtype);
    fill_normal(cpu(), t, 0.f, 1.f, key);
    return t.to_vector();
  };
  const std::vector<double> one = with_threads(1, [&] { return draw(DType::f32); });
  const std::vector<double> two = with_threads(2, [&] { return draw(DType::f32); });
  EXPECT_EQ(one, two);
  EXPECT_EQ(draw(DType::f64), one);
}

TEST(Reduce, SumIsTheSameForAnyThreadCountAndRepeatable) {
  Tensor x = random_uniform({7, 17, 31, 33}, DType::f32, 5, 0);
  Tensor out = Tensor::empty({1});
  auto sum = [&] {
    reduce_sum(cpu(), out, x);
    return out.data<float>()[0];
  };
  const float one = with_threads(1, sum), two = with_threads(2, sum), three = with_threads(3, sum);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
  EXPECT_EQ(sum(), sum());
}

TEST(Reduce, MaxAbsPropagatesNaNAndEmptyTensorsAreHandled) {
  Tensor x = random_uniform({3, 5, 7}, DType::f32, 6, 0);
  x.data<float>()[40] = NAN;
  Tensor out = Tensor::empty({1});
  reduce_max_abs(cpu(), out, x);
  EXPECT_TRUE(std::isnan(out.item()));
  Tensor empty = Tensor::empty({0, 5});
  reduce_sum(cpu(), out, empty);
  EXPECT_EQ(out.item(), 0.0);
  reduce_max_abs(cpu(), out, empty);
  EXPECT_EQ(out.item(), 0.0);
  expect_error_mentions([&] { reduce_mean(cpu(), out, empty); }, {"reduce_mean", "empty"});
}

TEST(Reduce, NnzCountsExactly) {
  // Channel c of every sample holds c non-zeros (c = 0..4) in a 3×3 plane.
  Tensor x = Tensor::zeros({2, 5, 3, 3});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 5; ++c)
      for (int k = 0; k < c; ++k) x.data<float>()[(n * 5 + c) * 9 + 2 * k] = (k % 2 ? -1e-30f : 2.f);
  Tensor counts = Tensor::empty({5});
  nnz_per_channel(cpu(), counts, x);
  EXPECT_EQ(counts.to_vector(), (std::vector<double>{0, 2, 4, 6, 8}));
}

TEST(Elementwise, BadArgumentsNameTheOpAndTheTensor) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2}), y = Tensor::empty({2, 3});
  expect_error_mentions([&] { add(cpu(), y, a, b); }, {"add", "b", "[3, 2]", "[2, 3]"});
  expect_error_mentions([&] { axpy(cpu(), y, 1.f, Tensor::zeros({2, 3}, DType::f64)); }, {"axpby", "x", "f64"});
  expect_error_mentions([&] { fill(cpu(), Tensor::zeros({4}, DType::i32), 1.f); }, {"fill", "i32"});
  expect_error_mentions([&] { add_scaled(cpu(), y, a, 1.f, Tensor::zeros({2}), a); }, {"add_scaled", "alpha"});
  expect_error_mentions([&] { reduce_sum(cpu(), Tensor::empty({2}), a); }, {"reduce_sum", "out"});
  expect_error_mentions([&] { nnz_per_channel(cpu(), Tensor::empty({2}), a); }, {"nnz_per_channel", "counts"});
  expect_error_mentions([&] { fill_uniform(cpu(), y, 1.f, 0.f, RngKey{}); }, {"fill_uniform", "lo"});
}

TEST(ElementwiseGpu, RandomFillsAndReductionsMatchTheCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Context& gpu = Context::get(Device::cuda(0));
  const Device d = Device::cuda(0);
  const RngKey key{77, RngPurpose::init, 3};
  Tensor hu = Tensor::empty({1, 17, 31, 33}), gu = Tensor::empty({1, 17, 31, 33}, DType::f32, d);
  fill_uniform(cpu(), hu, -2.f, 0.5f, key);
  fill_uniform(gpu, gu, -2.f, 0.5f, key);
  EXPECT_EQ(gu.to_vector(), hu.to_vector());
  // Reductions: repeated GPU calls are bit-identical and allocate nothing after the first.
  Tensor out = Tensor::empty({1}, DType::f32, d);
  reduce_sum(gpu, out, gu);
  const double first = out.item();
  const int64_t allocations = memory_stats().device_allocations;
  for (int k = 0; k < 3; ++k) {
    reduce_sum(gpu, out, gu);
    EXPECT_EQ(out.item(), first);
  }
  EXPECT_EQ(memory_stats().device_allocations, allocations);
  Tensor host_out = Tensor::empty({1});
  reduce_sum(cpu(), host_out, hu);
  EXPECT_NEAR(first, host_out.item(), 1e-6 * std::abs(host_out.item()) + 1e-5);
}

}  // namespace
}  // namespace scn::test
