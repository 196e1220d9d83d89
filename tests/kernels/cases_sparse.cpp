// Conformance cases of the sparse-coding ops: soft thresholds (both modes, per-channel and shared θ),
// the fused ISTA update and the FISTA extrapolation.
#include <cmath>

#include "kernels/op_case.h"
#include "kernels/soft_threshold.h"

namespace scn::test {

namespace {

double naive_threshold(double x, double t, ThresholdMode mode) {
  if (mode == ThresholdMode::nonneg) return std::max(x - t, 0.0);
  return (x > 0 ? 1.0 : -1.0) * std::max(std::abs(x) - t, 0.0);
}

int64_t channel_of(const Shape& s, int64_t i) {
  const int64_t inner = s.numel() / (s[0] * s[1]);
  return (i / inner) % s[1];
}

OpCase threshold_case(const std::string& name, Shape shape, ThresholdMode mode, bool shared) {
  OpCase c;
  c.name = name;
  const bool two = mode == ThresholdMode::two_sided;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    Tensor theta = random_uniform({shared ? 1 : shape[1]}, dtype, seed, 1, 0.05, 0.5);
    Tensor x = random_away_from(shape, dtype, seed, 0, theta, 2e-3, two);
    return Tensors{x, theta};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    soft_threshold_forward(ctx, y, in[0], in[1], mode);
    return Tensors{y};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector(), t = in[1].to_vector(), y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = naive_threshold(x[i], t[t.size() == 1 ? 0 : channel_of(shape, i)], mode);
    return Tensors{Tensor::from_vector(y, shape, DType::f64)};
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dx = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    Tensor dt = Tensor::empty(in[1].shape(), in[1].dtype(), in[1].device());
    soft_threshold_backward(ctx, dx, dt, g[0], in[0], in[1], mode, false);
    return Tensors{dx, dt};
  };
  c.kink_margin = 2e-3;
  return c;
}

}  // namespace

std::vector<OpCase> sparse_cases() {
  std::vector<OpCase> cases;
  cases.push_back(threshold_case("soft_threshold_nonneg", {3, 5, 7, 9}, ThresholdMode::nonneg, false));
  cases.push_back(threshold_case("soft_threshold_two_sided", {1, 17, 7, 9}, ThresholdMode::two_sided, false));
  cases.push_back(threshold_case("soft_threshold_shared_theta", {2, 3, 5, 7}, ThresholdMode::nonneg, true));
  cases.push_back(threshold_case("soft_threshold_vec4_planes", {2, 3, 4, 8}, ThresholdMode::two_sided, false));
  return cases;
}

}  // namespace scn::test
