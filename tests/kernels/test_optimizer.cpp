// Properties of the optimizer steps over a ParamArena beyond the conformance cases (cases_optimizer.cpp):
// the segment table, untouched non-trainable parameters and padding, the projection's reach, errors, and
// (on a GPU) no allocation in steady state.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/param_arena.h"
#include "kernels/elementwise.h"
#include "kernels/op_case.h"
#include "kernels/optimizer.h"
#include "kernels/random_fill.h"

namespace scn::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Context& cpu() { return Context::get(Device::cpu()); }

ParamSpec spec(std::string name, Shape shape, bool trainable = true, float lo = -kInf, float hi = kInf) {
  ParamSpec s;
  s.name = std::move(name);
  s.shape = shape;
  s.trainable = trainable;
  s.clamp_min = lo;
  s.clamp_max = hi;
  return s;
}

// An arena of odd sizes: weights over several tiles, a projected θ, a tracked (non-trainable) buffer.
void build(ParamArena& arena, Device device) {
  arena.add(spec("a.weight", {17, 3, 5, 9}));  // 2295: two tiles
  arena.add(spec("a.theta", {17}, true, 0.f, kInf));
  arena.add(spec("bn.running_var", {7}, false));
  arena.add(spec("b.weight", {3, 5, 7}));
  arena.add(spec("b.eta", {1}, true, 0.01f, 2.f));
  arena.allocate(device);
  for (int i = 0; i < arena.count(); ++i)
    fill_uniform(Context::get(device), arena.value(i), -1.f, 1.f, RngKey{5, RngPurpose::init, uint64_t(i) << 20});
}

TEST(ParamTable, TilesCoverTrainableAndProjectedParametersExactlyOnce) {
  ParamArena arena;
  build(arena, Device::cpu());
  const ParamTable table = make_param_table(arena);
  ASSERT_EQ(table.segments.size(), 5u);
  EXPECT_EQ(table.total, arena.values().numel());
  std::vector<int> step_hits(static_cast<size_t>(table.total)), clamp_hits(static_cast<size_t>(table.total));
  for (const ParamTile& t : table.step_tiles) {
    EXPECT_LE(t.end - t.begin, kParamTileElements);
    for (int64_t i = t.begin; i < t.end; ++i) step_hits[static_cast<size_t>(i)]++;
  }
  for (const ParamTile& t : table.clamp_tiles)
    for (int64_t i = t.begin; i < t.end; ++i) clamp_hits[static_cast<size_t>(i)]++;
  for (int p = 0; p < arena.count(); ++p) {
    const ParamSpec& s = arena.spec(p);
    for (int64_t i = arena.offset(p); i < arena.offset(p) + s.shape.numel(); ++i) {
      EXPECT_EQ(step_hits[static_cast<size_t>(i)], s.trainable ? 1 : 0) << s.name;
      EXPECT_EQ(clamp_hits[static_cast<size_t>(i)], s.projected() ? 1 : 0) << s.name;
    }
  }
  int64_t covered = 0;
  for (int h : step_hits) covered += h;
  EXPECT_EQ(covered, arena.trainable_numel());  // so padding is never covered
  EXPECT_EQ(table.step_tiles.size(), 2u + 1 + 1 + 1);
}

TEST(SgdStep, NonTrainableParametersAndPaddingAreUntouchedEvenWithNaNGradients) {
  ParamArena arena;
  build(arena, Device::cpu());
  const ParamTable table = make_param_table(arena);
  const int tracked = arena.find("bn.running_var");
  fill(cpu(), arena.grads(), 0.5f);
  fill(cpu(), arena.grad(tracked), NAN);
  const std::vector<double> before = arena.value(tracked).to_vector();
  Tensor velocity = Tensor::zeros({table.total});
  SgdOptions o;
  o.lr = 0.1f;
  o.momentum = 0.9f;
  o.weight_decay = 0.01f;
  for (int k = 0; k < 4; ++k) sgd_step(cpu(), table, arena.values(), velocity, arena.grads(), o);
  EXPECT_EQ(arena.value(tracked).to_vector(), before);
  // Padding: every element outside a parameter stays zero in values and velocity.
  std::vector<bool> inside(static_cast<size_t>(table.total));
  for (const ParamSegment& s : table.segments)
    for (int64_t i = s.offset; i < s.offset + s.count; ++i) inside[static_cast<size_t>(i)] = true;
  const std::vector<double> w = arena.values().to_vector(), v = velocity.to_vector();
  for (size_t i = 0; i < inside.size(); ++i) {
    if (inside[i]) continue;
    ASSERT_EQ(w[i], 0.0) << "padding element " << i;
    ASSERT_EQ(v[i], 0.0) << "padding element " << i;
  }
  // The trainable ones did move.
  EXPECT_NE(arena.value(0).to_vector()[0], 0.0);
  EXPECT_NE(v[static_cast<size_t>(arena.offset(0))], 0.0);
}

TEST(ProjectParams, ClampsOnlyProjectedParameters) {
  ParamArena arena;
  build(arena, Device::cpu());
  for (int i = 0; i < arena.count(); ++i)
    fill_uniform(cpu(), arena.value(i), -5.f, 5.f, RngKey{8, RngPurpose::init, 0});
  std::vector<std::vector<double>> before;
  for (int i = 0; i < arena.count(); ++i) before.push_back(arena.value(i).to_vector());
  project_params(cpu(), make_param_table(arena), arena.values());
  for (int i = 0; i < arena.count(); ++i) {
    const ParamSpec& s = arena.spec(i);
    const std::vector<double> after = arena.value(i).to_vector();
    bool changed = false;
    for (size_t k = 0; k < after.size(); ++k) {
      const double expected = std::min<double>(std::max<double>(before[i][k], s.clamp_min), s.clamp_max);
      ASSERT_EQ(after[k], expected) << s.name << "[" << k << "]";
      changed |= after[k] != before[i][k];
    }
    EXPECT_EQ(changed, s.projected()) << s.name;
  }
}

TEST(SgdStep, BadArgumentsAreClearErrors) {
  ParamArena arena;
  build(arena, Device::cpu());
  const ParamTable table = make_param_table(arena);
  Tensor velocity = Tensor::zeros({table.total});
  SgdOptions o;
  o.lr = 0.1f;
  o.nesterov = true;
  expect_error_mentions([&] { sgd_step(cpu(), table, arena.values(), velocity, arena.grads(), o); },
                        {"sgd_step", "Nesterov"});
  o.nesterov = false;
  o.momentum = 0.9f;
  expect_error_mentions([&] { sgd_step(cpu(), table, arena.values(), Tensor(), arena.grads(), o); },
                        {"sgd_step", "velocity"});
  expect_error_mentions([&] { sgd_step(cpu(), table, arena.values(), Tensor::zeros({5}), arena.grads(), o); },
                        {"sgd_step", "velocity", "[5]"});
  expect_error_mentions(
      [&] { sgd_step(cpu(), table, arena.values(), Tensor::zeros({table.total}, DType::f64), arena.grads(), o); },
      {"sgd_step", "velocity", "f64"});
  AdamOptions a;
  a.step = 0;
  expect_error_mentions([&] { adam_step(cpu(), table, arena.values(), velocity, velocity, arena.grads(), a); },
                        {"adam_step", "step"});
  expect_error_mentions([&] { make_param_table(ParamArena()); }, {"make_param_table", "not allocated"});
}

TEST(OptimizerGpu, StepsAllocateNothingInSteadyStateAndMatchTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Context& gpu = Context::get(Device::cuda(0));
  ParamArena host, device;
  build(host, Device::cpu());
  build(device, Device::cuda(0));
  const ParamTable ht = make_param_table(host), dt = make_param_table(device);
  Tensor hm = Tensor::zeros({ht.total}), hv = Tensor::zeros({ht.total});
  Tensor dm = Tensor::zeros({dt.total}, DType::f32, Device::cuda(0)), dv = dm.clone();
  fill(cpu(), host.grads(), 0.25f);
  fill(gpu, device.grads(), 0.25f);
  AdamOptions o;
  o.weight_decay = 0.01f;
  o.decoupled = true;
  adam_step(gpu, dt, device.values(), dm, dv, device.grads(), o);
  adam_step(cpu(), ht, host.values(), hm, hv, host.grads(), o);
  const int64_t allocations = memory_stats().device_allocations;
  for (int k = 2; k <= 4; ++k) {
    o.step = k;
    adam_step(gpu, dt, device.values(), dm, dv, device.grads(), o);
    project_params(gpu, dt, device.values());
    adam_step(cpu(), ht, host.values(), hm, hv, host.grads(), o);
    project_params(cpu(), ht, host.values());
  }
  EXPECT_EQ(memory_stats().device_allocations, allocations);
  EXPECT_TRUE(all_close(device.values(), host.values(), {1e-6, 1e-5}, "adamw values"));
}

}  // namespace
}  // namespace scn::test
