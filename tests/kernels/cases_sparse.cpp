// Conformance cases of the sparse-coding ops: soft thresholds (both modes, per-channel and shared θ),
// the fused ISTA update and the FISTA extrapolation.
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/ista_update.h"
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

Tensor like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }

// ISTA inputs {z, b, G, eta, theta} (first code: {b, eta, theta}) built backwards from a pre-activation drawn
// away from the kinks: pre first, then z = pre − η(b − G) (first code: b = pre/η), in f64, then cast.
Tensors ista_inputs(Shape shape, ThresholdMode mode, bool shared, bool first, DType dtype, uint64_t seed) {
  const bool two = mode == ThresholdMode::two_sided;
  Tensor theta = random_uniform({shared ? 1 : shape[1]}, DType::f64, seed, 1, 0.05, 0.5);
  Tensor eta = random_uniform({1}, DType::f64, seed, 2, 0.5, 1.5);
  std::vector<double> pre = random_away_from(shape, DType::f64, seed, 0, theta, 2e-3, two).to_vector();
  std::vector<double> b = random_uniform(shape, DType::f64, seed, 3).to_vector();
  std::vector<double> G = random_uniform(shape, DType::f64, seed, 4).to_vector(), z(pre.size());
  const double e = eta.item();
  for (size_t i = 0; i < pre.size(); ++i) {
    if (first) b[i] = pre[i] / e;
    z[i] = pre[i] - e * (b[i] - G[i]);
  }
  Tensor bt = Tensor::from_vector(b, shape, dtype);
  if (first) return Tensors{bt, eta.to(dtype), theta.to(dtype)};
  return Tensors{Tensor::from_vector(z, shape, dtype), bt, Tensor::from_vector(G, shape, dtype), eta.to(dtype),
                 theta.to(dtype)};
}

// Cases of the fused ISTA step (first = false: inputs z, b, G, eta, theta) and of the first code
// (first = true: inputs b, eta, theta). `accumulate`: backward runs twice, the second time accumulating,
// and halves the result, so the accumulating path is checked against finite differences too.
OpCase ista_case(const std::string& name, Shape shape, ThresholdMode mode, bool shared, bool first,
                 bool accumulate = false) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) { return ista_inputs(shape, mode, shared, first, dtype, seed); };
  // Named views of the inputs: z and G are undefined for the first code.
  struct In {
    Tensor z, b, G, eta, theta;
  };
  auto split = [first](const Tensors& in) {
    return first ? In{Tensor(), in[0], Tensor(), in[1], in[2]} : In{in[0], in[1], in[2], in[3], in[4]};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    const In a = split(in);
    Tensor gamma = like(a.b);
    ista_update_forward(ctx, gamma, a.z, a.b, a.G, a.eta, a.theta, mode);
    return Tensors{gamma};
  };
  c.reference = [=](const Tensors& in) {
    const In a = split(in);
    std::vector<double> b = a.b.to_vector(), t = a.theta.to_vector(), y(b.size());
    std::vector<double> z = first ? std::vector<double>(b.size(), 0.0) : a.z.to_vector();
    std::vector<double> G = first ? std::vector<double>(b.size(), 0.0) : a.G.to_vector();
    const double e = a.eta.item();
    for (size_t i = 0; i < b.size(); ++i)
      y[i] = naive_threshold(z[i] + e * (b[i] - G[i]), t[t.size() == 1 ? 0 : channel_of(shape, i)], mode);
    return Tensors{Tensor::from_vector(y, shape, DType::f64)};
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    const In a = split(in);
    Tensor g_pre = like(a.b), dtheta = like(a.theta), deta = like(a.eta);
    ista_update_backward(ctx, g_pre, dtheta, deta, g[0], a.z, a.b, a.G, a.eta, a.theta, mode, false);
    if (accumulate) {
      ista_update_backward(ctx, g_pre, dtheta, deta, g[0], a.z, a.b, a.G, a.eta, a.theta, mode, true);
      scale(ctx, dtheta, 0.5f, dtheta);
      scale(ctx, deta, 0.5f, deta);
    }
    // ∂b = η·g_pre and ∂G = −η·g_pre, with η read on the device.
    Tensor zeros = Tensor::zeros(a.b.shape(), a.b.dtype(), a.b.device()), db = like(a.b), dG = like(a.b);
    add_scaled(ctx, db, zeros, 1.f, a.eta, g_pre);
    if (first) return Tensors{db, deta, dtheta};
    add_scaled(ctx, dG, zeros, -1.f, a.eta, g_pre);
    return Tensors{g_pre, db, dG, deta, dtheta};
  };
  c.tolerance = {5e-5, 1e-4};
  c.kink_margin = 2e-3;
  return c;
}

// z = γ + β(γ − γ_prev) with β of FISTA's second step; backward with both outputs overwritten, or
// (accumulate) run twice, accumulating the second time, and halved.
OpCase fista_case(const std::string& name, Shape shape, bool accumulate) {
  OpCase c;
  c.name = name;
  const double tau2 = (1 + std::sqrt(5.0)) / 2, tau3 = (1 + std::sqrt(1 + 4 * tau2 * tau2)) / 2;
  const float beta = static_cast<float>((tau2 - 1) / tau3);
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform(shape, dtype, seed, 0), random_uniform(shape, dtype, seed, 1)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor z = like(in[0]);
    fista_extrapolate_forward(ctx, z, in[0], in[1], beta);
    return Tensors{z};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> g = in[0].to_vector(), gp = in[1].to_vector(), z(g.size());
    for (size_t i = 0; i < g.size(); ++i) z[i] = (1 + double(beta)) * g[i] - double(beta) * gp[i];
    return Tensors{Tensor::from_vector(z, shape, DType::f64)};
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dg = like(in[0]), dgp = like(in[1]);
    fista_extrapolate_backward(ctx, dg, dgp, g[0], beta, false, false);
    if (accumulate) {
      fista_extrapolate_backward(ctx, dg, dgp, g[0], beta, true, true);
      scale(ctx, dg, 0.5f, dg);
      scale(ctx, dgp, 0.5f, dgp);
    }
    return Tensors{dg, dgp};
  };
  return c;
}

}  // namespace

std::vector<OpCase> sparse_cases() {
  std::vector<OpCase> cases;
  cases.push_back(threshold_case("soft_threshold_nonneg", {3, 5, 7, 9}, ThresholdMode::nonneg, false));
  cases.push_back(threshold_case("soft_threshold_two_sided", {1, 17, 7, 9}, ThresholdMode::two_sided, false));
  cases.push_back(threshold_case("soft_threshold_shared_theta", {2, 3, 5, 7}, ThresholdMode::nonneg, true));
  cases.push_back(threshold_case("soft_threshold_vec4_planes", {2, 3, 4, 8}, ThresholdMode::two_sided, false));
  cases.push_back(ista_case("ista_update_nonneg", {2, 5, 7, 9}, ThresholdMode::nonneg, false, false));
  cases.push_back(ista_case("ista_update_two_sided", {1, 17, 7, 9}, ThresholdMode::two_sided, false, false));
  cases.push_back(ista_case("ista_update_shared_theta", {2, 3, 5, 7}, ThresholdMode::two_sided, true, false));
  cases.push_back(ista_case("ista_update_vec4_planes", {2, 3, 4, 8}, ThresholdMode::nonneg, false, false));
  cases.push_back(ista_case("ista_update_accumulate", {1, 5, 7, 9}, ThresholdMode::two_sided, false, false, true));
  cases.push_back(ista_case("ista_first_code_nonneg", {2, 5, 7, 9}, ThresholdMode::nonneg, false, true));
  cases.push_back(ista_case("ista_first_code_two_sided", {1, 17, 7, 9}, ThresholdMode::two_sided, false, true));
  cases.push_back(ista_case("ista_first_code_shared_vec4", {1, 3, 4, 8}, ThresholdMode::nonneg, true, true, true));
  cases.push_back(fista_case("fista_extrapolate", {2, 5, 7, 9}, false));
  cases.push_back(fista_case("fista_extrapolate_accumulate", {1, 3, 4, 8}, true));
  return cases;
}

}  // namespace scn::test
