#include "layers/coherence_regularizer.h"

#include <vector>

#include "kernels/elementwise.h"
#include "kernels/linear.h"

namespace scn {

namespace {

Tensor flat(const Tensor& w) { return w.view({w.size(0), w.numel() / w.size(0)}); }

// W_f W_fᵀ − I, (M, M) on w's device.
Tensor gram_minus_identity(Context& ctx, const Tensor& w) {
  const int64_t m = w.size(0);
  const Tensor f = flat(w);
  Tensor gram = Tensor::empty({m, m}, w.dtype(), w.device());
  linear_forward(ctx, gram, f, f, Tensor());
  std::vector<double> eye(static_cast<size_t>(m * m), 0.0);
  for (int64_t i = 0; i < m; ++i) eye[static_cast<size_t>(i * m + i)] = 1.0;
  axpy(ctx, gram, -1.0f, Tensor::from_vector(eye, {m, m}, w.dtype()).to(w.device()));
  return gram;
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
  const Tensor g = gram_minus_identity(ctx, w);
  Tensor product = Tensor::empty(flat(w).shape(), w.dtype(), w.device());
  // (W_f W_fᵀ − I)·W_f: linear_backward's dx = dy·w with dy = the Gram residual and w = W_f.
  linear_backward(ctx, product, Tensor(), Tensor(), g, flat(w), flat(w), false);
  axpy(ctx, flat(dw), static_cast<float>(4 * weight), product);
}

double CoherenceRegularizer::value(Context& ctx, const Tensor& w) const {
  if (!on()) return 0;
  double s = 0;
  for (double v : gram_minus_identity(ctx, w).to_vector()) s += v * v;
  return weight * s;
}

}  // namespace scn
