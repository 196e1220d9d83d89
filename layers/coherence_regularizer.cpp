#include "layers/coherence_regularizer.h"

#include <vector>

#include "kernels/elementwise.h"
#include "kernels/linear.h"

namespace scn {

namespace {

Tensor flat(const Tensor& w) { return w.view({w.size(0), w.numel() / w.size(0)}); }

// W_f W_fᵀ, (M, M) on w's device.
Tensor gram(Context& ctx, const Tensor& w) {
  const int64_t m = w.size(0);
  const Tensor f = flat(w);
  Tensor g = Tensor::empty({m, m}, w.dtype(), w.device());
  linear_forward(ctx, g, f, f, Tensor());
  return g;
}

}  // namespace

CoherenceRegularizer CoherenceRegularizer::parse(const ConfigNode& node) {
  CoherenceRegularizer r;
  const ConfigNode reg = node["regularizer"];
  if (!reg.defined()) return r;
  reg.allow_keys({"coherence"});
  r.weight = reg.get_double("coherence", 0.0);
  if (r.weight < 0) reg["coherence"].fail("expected a weight >= 0");
  return r;
}

void CoherenceRegularizer::to_yaml(YAML::Node& layer) const {
  if (on()) layer["regularizer"]["coherence"] = weight;
}

void CoherenceRegularizer::add_gradient(Context& ctx, const Tensor& dw, const Tensor& w) const {
  if (!on()) return;
  // 4λ(W_f W_fᵀ − I)W_f = 4λ(W_f W_fᵀ W_f − W_f): no identity to build or upload in the training step.
  const Tensor g = gram(ctx, w);
  Tensor product = Tensor::empty(flat(w).shape(), w.dtype(), w.device());
  // (W_f W_fᵀ)·W_f: linear_backward's dx = dy·w with dy = the Gram matrix and w = W_f.
  linear_backward(ctx, product, Tensor(), Tensor(), g, flat(w), flat(w), false);
  axpy(ctx, flat(dw), static_cast<float>(4 * weight), product);
  axpy(ctx, flat(dw), static_cast<float>(-4 * weight), flat(w));
}

double CoherenceRegularizer::value(Context& ctx, const Tensor& w) const {
  if (!on()) return 0;
  const int64_t m = w.size(0);
  const std::vector<double> g = gram(ctx, w).to_vector();
  double s = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double r = g[static_cast<size_t>(i * m + j)] - (i == j ? 1.0 : 0.0);
      s += r * r;
    }
  return weight * s;
}

}  // namespace scn
