// Properties of the convolution ops beyond the conformance cases: the adjoint identities for every engine,
// equal answers across engines, no allocation in steady state, and the error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "kernels/conv2d.h"
#include "kernels/op_case.h"

namespace scn::test {
namespace {

struct Geometry {
  int64_t n, ci, co, h, w;
  int k;
  ConvParams p;
};

// The combinations the identities run over: k ∈ {1, 3, 4, 5}, stride 1–3, padding 0–2, and an input whose
// size the stride does not divide (8×10 at stride 2: output_padding).
const Geometry kGeometries[] = {
    {2, 5, 3, 7, 9, 1, {1, 0}}, {2, 3, 5, 7, 9, 3, {1, 1}}, {1, 5, 4, 7, 9, 3, {2, 1}},  {2, 3, 5, 8, 10, 3, {2, 1}},
    {1, 4, 3, 7, 9, 4, {2, 1}}, {2, 3, 4, 9, 7, 3, {2, 0}}, {1, 3, 2, 11, 9, 5, {3, 2}},
};

Shape x_shape(const Geometry& g) { return {g.n, g.ci, g.h, g.w}; }
Shape w_shape(const Geometry& g) { return {g.co, g.ci, g.k, g.k}; }
Shape y_shape(const Geometry& g) {
  return {g.n, g.co, conv2d_output_size(g.h, g.k, g.p), conv2d_output_size(g.w, g.k, g.p)};
}

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> u = a.to_vector(), v = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
  return s;
}
double norm(const Tensor& a) { return std::sqrt(dot(a, a)); }

Device device_of(ConvEngine e) { return e == ConvEngine::cudnn ? Device::cuda(0) : Device::cpu(); }

// ⟨conv(x, w), r⟩ = ⟨x, conv_transpose(r, w)⟩ = ⟨w, weight_grad(x, r)⟩ for random x, w, r. The scale of the
// rounding error is ‖·‖‖·‖ of each pairing (Cauchy–Schwarz), times the dtype's precision.
void check_adjoint(ConvEngine engine, DType dtype) {
  const Device dev = device_of(engine);
  Context& ctx = Context::get(dev);
  const double eps = dtype == DType::f64 ? 1e-12 : 2e-6;
  int seed = 0;
  for (const Geometry& g : kGeometries) {
    SCOPED_TRACE("k=" + std::to_string(g.k) + " s=" + std::to_string(g.p.stride) + " p=" + std::to_string(g.p.pad) +
                 " in=" + std::to_string(g.h) + "x" + std::to_string(g.w));
    const Tensor x = random_uniform(x_shape(g), dtype, 11, ++seed).to(dev);
    const Tensor w = random_uniform(w_shape(g), dtype, 12, seed).to(dev);
    const Tensor r = random_uniform(y_shape(g), dtype, 13, seed).to(dev);
    Tensor y = Tensor::empty(y_shape(g), dtype, dev), dx = Tensor::empty(x_shape(g), dtype, dev),
           dw = Tensor::empty(w_shape(g), dtype, dev);
    conv2d_forward(ctx, y, x, w, g.p, 0, engine);
    conv2d_backward_data(ctx, dx, r, w, g.p, 0, engine);
    conv2d_backward_weights(ctx, dw, x, r, g.p, 0, engine);
    const double yr = dot(y, r);
    EXPECT_NEAR(yr, dot(x, dx), eps * (norm(y) * norm(r) + norm(x) * norm(dx)));
    EXPECT_NEAR(yr, dot(w, dw), eps * (norm(y) * norm(r) + norm(w) * norm(dw)));
    EXPECT_GT(std::abs(yr), 1e-3);  // the identity is not met trivially
  }
}

TEST(Conv2dAdjoint, ReferenceF64) { check_adjoint(ConvEngine::reference, DType::f64); }
TEST(Conv2dAdjoint, ReferenceF32) { check_adjoint(ConvEngine::reference, DType::f32); }
TEST(Conv2dAdjoint, Onednn) { check_adjoint(ConvEngine::onednn, DType::f32); }
TEST(Conv2dAdjoint, Cudnn) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  check_adjoint(ConvEngine::cudnn, DType::f32);
}

// Runs all three ops on `engine` with beta = 0 into outputs full of NaN (beta = 0 must not read them), then
// again with beta = 1 on top; returns the six results on the CPU.
Tensors run_all(ConvEngine engine, const Geometry& g, const Tensor& x, const Tensor& w, const Tensor& r) {
  const Device dev = device_of(engine);
  Context& ctx = Context::get(dev);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto nans = [&](const Shape& s) {
    return Tensor::from_vector(std::vector<double>(static_cast<size_t>(s.numel()), nan), s).to(dev);
  };
  Tensor y = nans(y_shape(g)), dx = nans(x_shape(g)), dw = nans(w_shape(g));
  const Tensor xd = x.to(dev), wd = w.to(dev), rd = r.to(dev);
  conv2d_forward(ctx, y, xd, wd, g.p, 0, engine);
  conv2d_backward_data(ctx, dx, rd, wd, g.p, 0, engine);
  conv2d_backward_weights(ctx, dw, xd, rd, g.p, 0, engine);
  Tensors out{y.to(Device::cpu()).clone(), dx.to(Device::cpu()).clone(), dw.to(Device::cpu()).clone()};
  conv2d_forward(ctx, y, xd, wd, g.p, 1, engine);
  conv2d_backward_data(ctx, dx, rd, wd, g.p, 1, engine);
  conv2d_backward_weights(ctx, dw, xd, rd, g.p, 1, engine);
  for (const Tensor& t : {y, dx, dw}) out.push_back(t.to(Device::cpu()));
  return out;
}

void check_engines_agree(ConvEngine engine) {
  int seed = 100;
  for (const Geometry& g : kGeometries) {
    const Tensor x = random_uniform(x_shape(g), DType::f32, 21, ++seed);
    const Tensor w = random_uniform(w_shape(g), DType::f32, 22, seed);
    const Tensor r = random_uniform(y_shape(g), DType::f32, 23, seed);
    const Tensors expected = run_all(ConvEngine::reference, g, x, w, r);
    const Tensors actual = run_all(engine, g, x, w, r);
    const char* names[] = {"forward",        "backward_data",        "backward_weights",
                           "forward beta=1", "backward_data beta=1", "backward_weights beta=1"};
    for (int i = 0; i < 6; ++i)
      EXPECT_TRUE(all_close(actual[i], expected[i], {1e-4, 1e-4},
                            std::string(conv_engine_name(engine)) + " " + names[i] + " k=" + std::to_string(g.k) +
                                " s=" + std::to_string(g.p.stride) + " p=" + std::to_string(g.p.pad)));
  }
}

TEST(Conv2dEngines, OnednnMatchesReference) { check_engines_agree(ConvEngine::onednn); }
TEST(Conv2dEngines, CudnnMatchesReference) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  check_engines_agree(ConvEngine::cudnn);
}

// automatic is onednn for CPU f32 and reference for CPU f64: bit-for-bit the same results.
TEST(Conv2dEngines, AutomaticPicksOnednnForF32AndReferenceForF64) {
  Context& ctx = Context::get(Device::cpu());
  const Geometry g = kGeometries[2];
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor x = random_uniform(x_shape(g), dt, 31, 0), w = random_uniform(w_shape(g), dt, 31, 1);
    Tensor a = Tensor::empty(y_shape(g), dt), b = Tensor::empty(y_shape(g), dt);
    conv2d_forward(ctx, a, x, w, g.p);
    conv2d_forward(ctx, b, x, w, g.p, 0, dt == DType::f32 ? ConvEngine::onednn : ConvEngine::reference);
    EXPECT_EQ(a.to_vector(), b.to_vector()) << dtype_name(dt);
  }
}

// The second round of calls with the same shapes builds no plan and allocates nothing.
void check_steady_state(ConvEngine engine) {
  const Device dev = device_of(engine);
  Context& ctx = Context::get(dev);
  const Geometry g{3, 7, 6, 11, 13, 3, {2, 1}};  // a shape no other test uses, so the first round builds
  const Tensor x = random_uniform(x_shape(g), DType::f32, 41, 0).to(dev);
  const Tensor w = random_uniform(w_shape(g), DType::f32, 41, 1).to(dev);
  const Tensor r = random_uniform(y_shape(g), DType::f32, 41, 2).to(dev);
  Tensor y = Tensor::zeros(y_shape(g), DType::f32, dev), dx = Tensor::zeros(x_shape(g), DType::f32, dev),
         dw = Tensor::zeros(w_shape(g), DType::f32, dev);
  auto round = [&] {
    for (float beta : {0.f, 1.f}) {
      conv2d_forward(ctx, y, x, w, g.p, beta, engine);
      conv2d_backward_data(ctx, dx, r, w, g.p, beta, engine);
      conv2d_backward_weights(ctx, dw, x, r, g.p, beta, engine);
    }
    ctx.synchronize();
  };
  const int64_t plans_before = ctx.stats().plans_built;
  round();  // builds the plans and grows the workspace
  EXPECT_GE(ctx.stats().plans_built - plans_before, 3) << "the first calls must build plans";
  const int64_t plans = ctx.stats().plans_built, allocations = memory_stats().allocations(),
                grows = ctx.stats().workspace_grows;
  round();
  EXPECT_EQ(ctx.stats().plans_built, plans);
  EXPECT_EQ(memory_stats().allocations(), allocations);
  EXPECT_EQ(ctx.stats().workspace_grows, grows);
}

TEST(Conv2dSteadyState, OnednnBuildsAndAllocatesNothing) { check_steady_state(ConvEngine::onednn); }
TEST(Conv2dSteadyState, CudnnBuildsAndAllocatesNothing) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  check_steady_state(ConvEngine::cudnn);
}

TEST(Conv2dErrors, OutputSizeRule) {
  EXPECT_EQ(conv2d_output_size(7, 3, {1, 1}), 7);
  EXPECT_EQ(conv2d_output_size(7, 3, {2, 1}), 4);
  EXPECT_EQ(conv2d_output_size(8, 3, {2, 1}), 4);
  EXPECT_EQ(conv2d_output_size(9, 4, {2, 0}), 3);
  expect_error_mentions([] { conv2d_output_size(2, 5, {1, 1}); }, {"conv2d_output_size", "kernel 5"});
  expect_error_mentions([] { conv2d_output_size(7, 3, {0, 1}); }, {"conv2d_output_size", "stride"});
}

TEST(Conv2dErrors, ShapeMismatchNamesOpAndTensor) {
  Context& ctx = Context::get(Device::cpu());
  const Tensor x = Tensor::zeros({2, 3, 7, 9}), w = Tensor::zeros({5, 3, 3, 3});
  const Tensor y = Tensor::zeros({2, 5, 7, 9}), dw = Tensor::zeros({5, 3, 3, 3});
  const ConvParams p{1, 1};
  expect_error_mentions(
      [&] {
        conv2d_forward(ctx, Tensor::zeros({2, 5, 7, 8}), x, w, p);
      },
      {"conv2d_forward", "y has shape [2, 5, 7, 8], expected [2, 5, 7, 9]"});
  expect_error_mentions([&] { conv2d_forward(ctx, y, x, Tensor::zeros({5, 4, 3, 3}), p); }, {"conv2d_forward", "w has shape"});
  expect_error_mentions([&] { conv2d_forward(ctx, y, x, Tensor::zeros({5, 3, 3, 2}), p); }, {"conv2d_forward", "square"});
  expect_error_mentions([&] { conv2d_forward(ctx, y, x.view({2, 3, 63}), w, p); }, {"conv2d_forward", "x has shape"});
  expect_error_mentions(
      [&] {
        conv2d_backward_data(ctx, Tensor::zeros({2, 3, 7, 9}), Tensor::zeros({2, 5, 6, 9}), w, p);
      },
      {"conv2d_backward_data", "dy has shape"});
  expect_error_mentions(
      [&] {
        conv2d_backward_weights(ctx, Tensor::zeros({5, 3, 2, 2}), x, y, p);
      },
      {"conv2d_backward_weights", "dy has shape"});
  expect_error_mentions(
      [&] {
        conv2d_backward_weights(ctx, dw, x, Tensor::zeros({1, 5, 7, 9}), p);
      },
      {"conv2d_backward_weights", "dy has shape"});
  expect_error_mentions([&] { conv2d_forward(ctx, y, x, w, ConvParams{0, 1}); }, {"conv2d_forward", "stride"});
  expect_error_mentions(
      [&] {
        conv2d_forward(ctx, y, x, Tensor::zeros({5, 3, 3, 3}, DType::f64), p);
      },
      {"conv2d_forward", "w is f64, expected f32"});
}

TEST(Conv2dErrors, UnsupportedEngineNamesOpAndEngine) {
  Context& ctx = Context::get(Device::cpu());
  const Tensor x = Tensor::zeros({1, 3, 7, 9}, DType::f64), w = Tensor::zeros({5, 3, 3, 3}, DType::f64);
  const Tensor y = Tensor::zeros({1, 5, 7, 9}, DType::f64);
  const ConvParams p{1, 1};
  expect_error_mentions([&] { conv2d_forward(ctx, y, x, w, p, 0, ConvEngine::onednn); }, {"conv2d_forward", "onednn", "f64"});
  expect_error_mentions([&] { conv2d_backward_data(ctx, x, y, w, p, 0, ConvEngine::onednn); },
               {"conv2d_backward_data", "onednn", "f64"});
  expect_error_mentions([&] { conv2d_backward_weights(ctx, w, x, y, p, 0, ConvEngine::onednn); },
               {"conv2d_backward_weights", "onednn", "f64"});
  const Tensor xf = x.to(DType::f32), wf = w.to(DType::f32), yf = y.to(DType::f32);
  expect_error_mentions([&] { conv2d_forward(ctx, yf, xf, wf, p, 0, ConvEngine::cudnn); }, {"conv2d_forward", "cudnn", "cpu"});
  expect_error_mentions([&] { conv2d_backward_weights(ctx, wf, xf, yf, p, 0, ConvEngine::cudnn); },
               {"conv2d_backward_weights", "cudnn"});
}

TEST(Conv2dErrors, DeviceMismatchAndCpuEnginesOnGpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Context& cpu = Context::get(Device::cpu());
  Context& gpu = Context::get(Device::cuda(0));
  const Tensor x = Tensor::zeros({1, 3, 7, 9}), w = Tensor::zeros({5, 3, 3, 3}), y = Tensor::zeros({1, 5, 7, 9});
  const Tensor xg = x.to(Device::cuda(0)), wg = w.to(Device::cuda(0)), yg = y.to(Device::cuda(0));
  const ConvParams p{1, 1};
  expect_error_mentions([&] { conv2d_forward(gpu, yg, xg, w, p); }, {"conv2d_forward", "different devices"});
  expect_error_mentions([&] { conv2d_backward_data(gpu, xg, yg, w, p); }, {"conv2d_backward_data", "different devices"});
  expect_error_mentions([&] { conv2d_forward(cpu, yg, xg, wg, p); }, {"conv2d_forward", "context"});
  expect_error_mentions([&] { conv2d_forward(gpu, yg, xg, wg, p, 0, ConvEngine::reference); }, {"conv2d_forward", "reference"});
  expect_error_mentions([&] { conv2d_forward(gpu, yg, xg, wg, p, 0, ConvEngine::onednn); }, {"conv2d_forward", "onednn"});
}

}  // namespace
}  // namespace scn::test
