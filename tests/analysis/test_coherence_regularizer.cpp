// The coherence regularizer does what it is for: descending λ‖W_f W_fᵀ − I‖² lowers the dictionary's
// mutual coherence (its gradient is checked against finite differences in the layer harness).
#include <gtest/gtest.h>

#include "analysis/coherence.h"
#include "kernels/elementwise.h"
#include "layers/layer_harness.h"

namespace scn::test {
namespace {

double mutual_coherence(const BuiltLayer& b, int weight, int stride) {
  return dictionary_coherence(Context::get(Device::cpu()), b.arena.value(weight), stride).mutual;
}

void descend_regularizer(BuiltLayer& b, int weight, int steps, double lr) {
  Context& ctx = Context::get(Device::cpu());
  for (int s = 0; s < steps; ++s) {
    b.arena.zero_grads();
    b.layer->add_regularizer_gradient(ctx);
    axpy(ctx, b.arena.value(weight), static_cast<float>(-lr), b.arena.grad(weight));
  }
}

TEST(CoherenceRegularizer, TrainingOnItLowersTheMutualCoherence) {
  for (const char* yaml : {"{type: conv, out: 12, kernel: 3, regularizer: {coherence: 1.0}}",
                           "{type: sparse_code, out: 10, kernel: 3, stride: 2, regularizer: {coherence: 1.0}}"}) {
    LayerCase c{"regularized", yaml, {Shape{3, 9, 9}}, 1};
    auto b = build_layer(c, DType::f32, Device::cpu(), 7);
    const int weight = b->layer->dictionary_info()->weight, stride = b->layer->dictionary_info()->stride;
    // Start from a coherent dictionary: every atom shares a common component.
    std::vector<double> w = b->arena.value(weight).to_vector();
    const int64_t n = static_cast<int64_t>(w.size()) / b->arena.value(weight).size(0);
    for (size_t e = 0; e < w.size(); ++e) w[e] = 0.3 * w[e] + 0.25 * std::cos(0.7 * static_cast<double>(e % static_cast<size_t>(n)));
    b->arena.value(weight).copy_from(Tensor::from_vector(w, b->arena.value(weight).shape()));
    Context& ctx = Context::get(Device::cpu());
    const double before = mutual_coherence(*b, weight, stride), penalty_before = b->layer->regularizer_value(ctx);
    descend_regularizer(*b, weight, 400, 0.02);
    const double after = mutual_coherence(*b, weight, stride), penalty_after = b->layer->regularizer_value(ctx);
    EXPECT_GT(before, 0.8) << yaml;
    EXPECT_LT(after, 0.6 * before) << yaml;
    EXPECT_LT(penalty_after, 0.1 * penalty_before) << yaml;
  }
}

TEST(CoherenceRegularizer, OffByDefaultAndRoundTrips) {
  LayerCase plain{"plain", "{type: conv, out: 4}", {Shape{2, 5, 5}}, 1};
  auto b = build_layer(plain, DType::f32, Device::cpu(), 3);
  EXPECT_EQ(b->layer->regularizer_value(Context::get(Device::cpu())), 0.0);
  YAML::Node n;
  b->layer->to_yaml(n);
  EXPECT_FALSE(n["regularizer"]);
  LayerCase on{"on", "{type: sparse_code, out: 4, regularizer: {coherence: 0.5}}", {Shape{2, 5, 5}}, 1};
  auto r = build_layer(on, DType::f32, Device::cpu(), 3);
  YAML::Node m;
  r->layer->to_yaml(m);
  EXPECT_EQ(m["regularizer"]["coherence"].as<double>(), 0.5);
}

}  // namespace
}  // namespace scn::test
