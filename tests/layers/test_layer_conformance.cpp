// Every layer: gradient check in f64 on the CPU (inputs and parameters), CUDA against CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "kernels/op_case.h"
#include "layer_harness.h"
#include "layers/registry.h"

namespace scn::test {
namespace {


Tensors make_inputs(const LayerCase& c, DType dtype, uint64_t seed) {
  Tensors in;
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    Shape s{c.batch};
    for (int d = 0; d < c.inputs[k].rank(); ++d) s.push(c.inputs[k][d]);
    in.push_back(random_uniform(s, dtype, seed, 10 + static_cast<int>(k)));
  }
  return in;
}

Shape batched(int64_t batch, const Shape& s) {
  Shape out{batch};
  for (int d = 0; d < s.rank(); ++d) out.push(s[d]);
  return out;
}

struct LayerRun {
  Tensor output;
  Tensors input_grads;
  Tensor param_grads;
};

// One training forward and backward with output gradient `r`; parameter gradients start from zero.
LayerRun run_layer(BuiltLayer& b, const Tensors& inputs, const Tensor& r) {
  Context& ctx = Context::get(inputs[0].device());
  auto state = b.layer->make_state();
  LayerRun out;
  out.output = Tensor::empty(batched(inputs[0].size(0), b.output_shape), inputs[0].dtype(), inputs[0].device());
  b.layer->forward(ctx, inputs, out.output, Mode::train, *state);
  if (!r.defined()) return out;
  b.arena.zero_grads();
  for (const Tensor& x : inputs) out.input_grads.push_back(Tensor::empty(x.shape(), x.dtype(), x.device()));
  b.layer->backward(ctx, inputs, out.output, r, out.input_grads, *state);
  b.layer->add_regularizer_gradient(ctx);
  out.param_grads = b.arena.grads().clone();
  return out;
}

double weighted_sum(const Tensor& y, const Tensor& r) {
  std::vector<double> a = y.to_vector(), w = r.to_vector();
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * w[i];
  return s;
}

// Central differences of L = ⟨f(·), r⟩ against `analytic` over up to 61 elements of `values`, with the kink
// rule of layer_harness.h.
void check_gradient(const std::string& what, double* values, int64_t n, const std::vector<double>& analytic,
                    const std::function<double()>& loss) {
  const int64_t stride = std::max<int64_t>(1, n / 61);
  int checked = 0, skipped = 0;
  for (int64_t k = 0; k < n; k += stride) {
    auto diff = [&](double h) {
      const double saved = values[k];
      values[k] = saved + h;
      const double lp = loss();
      values[k] = saved - h;
      const double lm = loss();
      values[k] = saved;
      return (lp - lm) / (2 * h);
    };
    const double d1 = diff(1e-6), d2 = diff(5e-7);
    auto close = [](double a, double b) { return std::abs(a - b) <= 1e-6 + 1e-5 * std::max(std::abs(a), std::abs(b)); };
    ++checked;
    if (!close(d1, d2)) {  // a kink within h: the function is not differentiable here
      ++skipped;
      continue;
    }
    EXPECT_TRUE(close(d2, analytic[k]) || close(d1, analytic[k]))
        << what << " element " << k << ": analytic " << analytic[k] << ", finite difference " << d2;
  }
  EXPECT_LE(skipped * 20, checked) << what << ": " << skipped << " of " << checked << " elements sit on kinks";
}

// Layers with run state (the power iteration's vector of step: auto) change it in every training forward.
// Converge it first (its gradient terms are exact at convergence), then restore every non-trainable entry
// before each forward, so the loss is a function of the checked values alone.
struct FrozenState {
  std::vector<std::pair<int, Tensor>> saved;
  void restore(ParamArena& arena) const {
    for (const auto& [i, v] : saved) arena.value(i).copy_from(v);
  }
};
FrozenState converge_and_freeze_state(BuiltLayer& b, const Tensors& inputs) {
  bool stateful = false;
  for (int i = 0; i < b.arena.count(); ++i) stateful |= b.arena.spec(i).kind == "state";
  // Until the state stops moving (checked every 20 forwards; at most 2000).
  std::vector<double> before;
  for (int k = 0; stateful && k < 2000; ++k) {
    if (k % 20 == 0) {
      std::vector<double> now;
      for (int i = 0; i < b.arena.count(); ++i)
        if (b.arena.spec(i).kind == "state")
          for (double v : b.arena.value(i).to_vector()) now.push_back(v);
      double change = before.empty() ? 1.0 : 0.0;
      for (size_t j = 0; j < before.size(); ++j) change = std::max(change, std::abs(now[j] - before[j]));
      if (change < 1e-14) break;
      before = now;
    }
    run_layer(b, inputs, Tensor());
  }
  FrozenState f;
  for (int i = 0; i < b.arena.count(); ++i)
    if (!b.arena.spec(i).trainable) f.saved.emplace_back(i, b.arena.value(i).clone());
  return f;
}

class LayerGradCheck : public ::testing::TestWithParam<LayerCase> {};
class LayerCudaVsCpu : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerGradCheck, InputsAndParametersMatchFiniteDifferences) {
  const LayerCase& c = GetParam();
  const uint64_t seed = 4242;
  auto b = build_layer(c, DType::f64, Device::cpu(), seed);
  Tensors inputs = make_inputs(c, DType::f64, seed);
  Tensor r = random_uniform(batched(c.batch, b->output_shape), DType::f64, seed, 99);
  const FrozenState frozen = converge_and_freeze_state(*b, inputs);
  frozen.restore(b->arena);
  LayerRun base = run_layer(*b, inputs, r);
  auto loss = [&] {
    frozen.restore(b->arena);
    return weighted_sum(run_layer(*b, inputs, Tensor()).output, r) + b->layer->regularizer_value(Context::get(Device::cpu()));
  };
  for (size_t k = 0; k < inputs.size(); ++k)
    check_gradient(c.name + " input " + std::to_string(k), inputs[k].data<double>(), inputs[k].numel(),
                   base.input_grads[k].to_vector(), loss);
  const std::vector<double> pg = base.param_grads.to_vector();
  for (int i = 0; i < b->arena.count(); ++i) {
    const ParamSpec& s = b->arena.spec(i);
    if (!s.trainable) continue;
    Tensor v = b->arena.value(i);
    std::vector<double> g(pg.begin() + b->arena.offset(i), pg.begin() + b->arena.offset(i) + s.shape.numel());
    check_gradient(c.name + " " + s.name, v.data<double>(), v.numel(), g, loss);
  }
}

TEST_P(LayerCudaVsCpu, ForwardAndBackwardMatchCpu) {
  const LayerCase& c = GetParam();
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  const uint64_t seed = 777;
  auto cpu = build_layer(c, DType::f32, Device::cpu(), seed);
  auto gpu = build_layer(c, DType::f32, Device::cuda(0), seed);
  Tensors inputs = make_inputs(c, DType::f32, seed), gpu_inputs;
  for (const Tensor& x : inputs) gpu_inputs.push_back(x.to(Device::cuda(0)));
  Tensor r = random_uniform(batched(c.batch, cpu->output_shape), DType::f32, seed, 99);
  LayerRun a = run_layer(*cpu, inputs, r);
  LayerRun g = run_layer(*gpu, gpu_inputs, r.to(Device::cuda(0)));
  const Tolerance tol{2e-4, 2e-3};
  EXPECT_TRUE(all_close(g.output, a.output, tol, c.name + " output"));
  for (size_t k = 0; k < inputs.size(); ++k)
    EXPECT_TRUE(all_close(g.input_grads[k], a.input_grads[k], tol, c.name + " input gradient"));
  EXPECT_TRUE(all_close(g.param_grads, a.param_grads, tol, c.name + " parameter gradients"));
}

std::string case_name(const ::testing::TestParamInfo<LayerCase>& info) { return info.param.name; }
INSTANTIATE_TEST_SUITE_P(Layers, LayerGradCheck, ::testing::ValuesIn(all_layer_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Layers, LayerCudaVsCpu, ::testing::ValuesIn(all_layer_cases()), case_name);

TEST(LayerHarness, EveryLayerTypeHasACase) {
  register_builtin_layers();
  std::set<std::string> covered;
  for (const LayerCase& c : all_layer_cases()) {
    ConfigNode node = ConfigNode::load_string("layer: " + c.yaml)["layer"];
    covered.insert(node["type"].as_string());
  }
  for (const std::string& type : LayerRegistry::instance().types())
    EXPECT_TRUE(covered.count(type)) << "layer type '" << type << "' has no case in tests/layers/layer_cases.cpp";
}

}  // namespace
}  // namespace scn::test
