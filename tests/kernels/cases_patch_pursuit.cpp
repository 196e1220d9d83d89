// Conformance cases of the fused patch pursuit and the small ops around it: the pursuit against a textbook
// per-pixel ISTA/FISTA loop in f64 (Beck–Teboulle's momentum written out here, independently of the kernels'),
// for atom counts from 1 to 256 (odd ones, and past the CPU kernel's register block and the GPU's padding),
// 0 to 50 steps, both threshold modes, shared and per-atom thresholds; the power iteration on the Gram matrix;
// the Gram matrix's backward with the step's chain; the quotient ops of conjugate gradients and of the implicit
// threshold gradient; the dot product.
#include <cmath>

#include "kernels/gram_matrix.h"
#include "kernels/gram_power_iteration.h"
#include "kernels/op_case.h"
#include "kernels/patch_pursuit.h"
#include "kernels/reduce.h"
#include "kernels/scalar_scale.h"

namespace scn::test {

namespace {

// M = AᵀA of `atoms` random atoms of length `length` (C×C, row-major, f64).
std::vector<double> random_gram(int64_t atoms, int64_t length, uint64_t seed, int stream) {
  const std::vector<double> a = random_uniform({length, atoms}, DType::f64, seed, stream).to_vector();
  std::vector<double> m(static_cast<size_t>(atoms * atoms), 0.0);
  for (int64_t i = 0; i < atoms; ++i)
    for (int64_t j = 0; j < atoms; ++j)
      for (int64_t r = 0; r < length; ++r) m[i * atoms + j] += a[r * atoms + i] * a[r * atoms + j];
  return m;
}

double soft(double x, double t, ThresholdMode mode) {
  if (mode == ThresholdMode::nonneg) return std::max(x - t, 0.0);
  return x > t ? x - t : (x < -t ? x + t : 0.0);
}

struct PursuitSpec {
  int64_t batch = 2, height = 5, width = 7, atoms = 16;
  int iters = 50;
  bool fista = true, shared = false, previous = false;
  ThresholdMode mode = ThresholdMode::nonneg;
};

// Inputs {b, gram, eta, theta}: b uniform in [−1, 1), M of random atoms longer than the count (well
// conditioned), η = 1/(the largest absolute row sum of M) ≤ 1/λ_max (a convergent step), θ a fraction of ηb's
// scale so that codes are neither empty nor full.
OpCase patch_pursuit_case(const std::string& name, const PursuitSpec& p) {
  OpCase c;
  c.name = name;
  const Shape shape{p.batch, p.atoms, p.height, p.width};
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const std::vector<double> m = random_gram(p.atoms, p.atoms + 9, seed, 1);
    double row_max = 0;
    for (int64_t i = 0; i < p.atoms; ++i) {
      double r = 0;
      for (int64_t j = 0; j < p.atoms; ++j) r += std::abs(m[i * p.atoms + j]);
      row_max = std::max(row_max, r);
    }
    const double eta = 1.0 / row_max;
    // b at the scale of M's entries, so that the step η·b moves codes by O(1) of themselves.
    std::vector<double> b = random_uniform(shape, DType::f64, seed, 0).to_vector();
    for (double& v : b) v *= row_max / 4;
    std::vector<double> theta = random_uniform({p.shared ? 1 : p.atoms}, DType::f64, seed, 2, 0.02, 0.12).to_vector();
    return Tensors{Tensor::from_vector(b, shape, dtype), Tensor::from_vector(m, {p.atoms, p.atoms}, dtype),
                   Tensor::from_vector({eta}, {1}, dtype),
                   Tensor::from_vector(theta, {static_cast<int64_t>(theta.size())}, dtype)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor gamma = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    Tensor previous = p.previous ? Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device()) : Tensor();
    patch_pursuit_forward(ctx, gamma, previous, in[0], in[1], in[2], in[3], p.mode, p.iters, p.fista);
    return p.previous ? Tensors{gamma, previous} : Tensors{gamma};
  };
  c.reference = [=](const Tensors& in) {
    const std::vector<double> b = in[0].to_vector(), m = in[1].to_vector(), th = in[3].to_vector();
    const double eta = in[2].item();
    const int64_t C = p.atoms, hw = p.height * p.width;
    std::vector<double> out(b.size()), prev(b.size());
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t px = 0; px < hw; ++px) {
        auto at = [&](int64_t ch) { return static_cast<size_t>((n * C + ch) * hw + px); };
        auto theta = [&](int64_t ch) { return th[p.shared ? 0 : static_cast<size_t>(ch)]; };
        // Beck–Teboulle from x₀ = 0, y₁ = x₀: x₁ = S(η b) is the first code; then K more steps.
        std::vector<double> x(C), x_old(C), y(C);
        for (int64_t i = 0; i < C; ++i) x[i] = soft(eta * b[at(i)], theta(i), p.mode);
        double t = 1;
        std::vector<double> last_but_one = x;
        for (int k = 1; k <= p.iters; ++k) {
          const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
          const double beta = p.fista && k >= 2 ? (t - 1) / t_next : 0.0;
          for (int64_t i = 0; i < C; ++i) y[i] = x[i] + beta * (x[i] - x_old[i]);
          if (p.fista) t = t_next;
          last_but_one = x;
          x_old = x;
          for (int64_t i = 0; i < C; ++i) {
            double g = 0;
            for (int64_t j = 0; j < C; ++j) g += m[i * C + j] * y[j];
            x[i] = soft(y[i] + eta * (b[at(i)] - g), theta(i), p.mode);
          }
        }
        for (int64_t i = 0; i < C; ++i) {
          out[at(i)] = x[i];
          prev[at(i)] = last_but_one[i];
        }
      }
    Tensors r{Tensor::from_vector(out, shape, DType::f64)};
    if (p.previous) r.push_back(Tensor::from_vector(prev, shape, DType::f64));
    return r;
  };
  // f32 through up to 50 steps: each step is a contraction up to FISTA's momentum, rounding stays at ~1e-6 of
  // the codes' scale (O(1)); a code crossing its threshold differs by as little as it is far from it.
  c.tolerance = Tolerance{2e-4, 2e-3};
  return c;
}

// {vector_in, gram, lambda} → {vector_out, lipschitz, step, threshold}.
OpCase power_case(const std::string& name, int64_t atoms, int iterations, bool shared_lambda) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform({1, atoms, 1, 1}, dtype, seed, 0),
                   Tensor::from_vector(random_gram(atoms, atoms + 3, seed, 1), {atoms, atoms, 1, 1}, dtype),
                   random_uniform({shared_lambda ? 1 : atoms}, dtype, seed, 2, 0.0, 0.2)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    const Device d = in[0].device();
    const DType t = in[0].dtype();
    Tensor v = Tensor::empty(in[0].shape(), t, d), rho = Tensor::empty({1}, t, d), eta = Tensor::empty({1}, t, d);
    Tensor theta = Tensor::empty(in[2].shape(), t, d);
    gram_power_iteration(ctx, v, rho, eta, theta, in[0], in[1], in[2], iterations);
    return Tensors{v, rho, eta, theta};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> v = in[0].to_vector();
    const std::vector<double> m = in[1].to_vector(), lambda = in[2].to_vector();
    auto norm = [](const std::vector<double>& x) {
      double s = 0;
      for (double e : x) s += e * e;
      return std::sqrt(s);
    };
    double rho = norm(v);
    for (double& e : v) e /= rho;
    for (int it = 0; it < iterations; ++it) {
      std::vector<double> next(v.size(), 0.0);
      for (int64_t i = 0; i < atoms; ++i)
        for (int64_t j = 0; j < atoms; ++j) next[i] += m[i * atoms + j] * v[j];
      rho = norm(next);
      for (int64_t i = 0; i < atoms; ++i) v[i] = next[i] / rho;
    }
    std::vector<double> theta(lambda.size());
    for (size_t i = 0; i < lambda.size(); ++i) theta[i] = lambda[i] / rho;
    return Tensors{Tensor::from_vector(v, {1, atoms, 1, 1}, DType::f64), Tensor::from_vector({rho}, {1}, DType::f64),
                   Tensor::from_vector({1 / rho}, {1}, DType::f64),
                   Tensor::from_vector(theta, {static_cast<int64_t>(lambda.size())}, DType::f64)};
  };
  c.tolerance = Tolerance{1e-5, 1e-4};
  return c;
}

// {dweight (initial), weight, dgram, vector, deta, eta} → {dweight}: dW_f += (M̄ + M̄ᵀ)W_f, M̄ = s·dM − ∂η·η²·vvᵀ.
OpCase gram_backward_case(const std::string& name, int64_t atoms, int64_t in_channels, int k, float scale, bool step) {
  OpCase c;
  c.name = name;
  const Shape w{atoms, in_channels, k, k};
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform(w, dtype, seed, 0),
                   random_uniform(w, dtype, seed, 1),
                   random_uniform({atoms, atoms, 1, 1}, dtype, seed, 2),
                   random_uniform({1, atoms, 1, 1}, dtype, seed, 3),
                   random_uniform({1}, dtype, seed, 4),
                   random_uniform({1}, dtype, seed, 5, 0.5, 2.0)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor dw = in[0].clone();
    gram_matrix_backward(ctx, dw, in[1], in[2], scale, step ? in[3] : Tensor(), in[4], in[5]);
    return Tensors{dw};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> dw = in[0].to_vector();
    const std::vector<double> wv = in[1].to_vector(), dm = in[2].to_vector(), v = in[3].to_vector();
    const double deta = in[4].item(), eta = in[5].item();
    const int64_t f = in_channels * k * k;
    for (int64_t i = 0; i < atoms; ++i)
      for (int64_t e = 0; e < f; ++e) {
        double s = 0;
        for (int64_t j = 0; j < atoms; ++j) {
          double bar = scale * (dm[i * atoms + j] + dm[j * atoms + i]);
          if (step) bar -= 2 * deta * eta * eta * v[i] * v[j];
          s += bar * wv[j * f + e];
        }
        dw[i * f + e] += s;
      }
    return Tensors{Tensor::from_vector(dw, w, DType::f64)};
  };
  c.tolerance = Tolerance{1e-4, 1e-4};
  return c;
}

// {dx (initial), ds (initial), dy, x, s} → {dx, ds} accumulated: dx += dy/s, ds −= Σ dy·x/s².
OpCase divide_backward_case(const std::string& name, int64_t n) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform({n}, dtype, seed, 0), random_uniform({1}, dtype, seed, 1),
                   random_uniform({n}, dtype, seed, 2), random_uniform({n}, dtype, seed, 3),
                   random_uniform({1}, dtype, seed, 4, 0.3, 1.5)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor dx = in[0].clone(), ds = in[1].clone(), q = Tensor::empty({1}, in[1].dtype(), in[1].device());
    divide_by_scalar_backward(ctx, dx, ds, in[2], in[3], in[4], true);
    divide_scalars(ctx, q, in[1], in[4]);  // and the plain quotient of two device scalars
    return Tensors{dx, ds, q};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> dx = in[0].to_vector();
    const std::vector<double> dy = in[2].to_vector(), x = in[3].to_vector();
    const double s = in[4].item();
    double ds = in[1].item();
    for (int64_t i = 0; i < n; ++i) {
      dx[i] += dy[i] / s;
      ds -= dy[i] * x[i] / (s * s);
    }
    return Tensors{Tensor::from_vector(dx, {n}, DType::f64), Tensor::from_vector({ds}, {1}, DType::f64),
                   Tensor::from_vector({in[1].item() / s}, {1}, DType::f64)};
  };
  return c;
}

OpCase dot_case(const std::string& name, Shape shape) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform(shape, dtype, seed, 0), random_uniform(shape, dtype, seed, 1)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor out = Tensor::empty({1}, in[0].dtype(), in[0].device());
    reduce_dot(ctx, out, in[0], in[1]);
    return Tensors{out};
  };
  c.reference = [=](const Tensors& in) {
    const std::vector<double> a = in[0].to_vector(), b = in[1].to_vector();
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return Tensors{Tensor::from_vector({s}, {1}, DType::f64)};
  };
  return c;
}

}  // namespace

std::vector<OpCase> patch_pursuit_cases() {
  std::vector<OpCase> cases;
  auto add = [&](const std::string& name, PursuitSpec p) {
    cases.push_back(patch_pursuit_case("patch_pursuit_" + name, p));
  };
  // Atom counts: one, odd, the CPU register block (16), past it, SCN's 64, past the GPU's padding, 256.
  for (int64_t atoms : {1, 7, 16, 37, 64, 130, 256}) {
    const std::string c = "c" + std::to_string(atoms) + "_";
    PursuitSpec p;
    p.atoms = atoms;
    if (atoms >= 130) p.batch = 1, p.height = 3, p.width = 5;  // the f64 reference is C² per pixel and step
    for (int iters : {0, 1, 2, 50}) {
      p.iters = iters;
      p.fista = true, p.mode = ThresholdMode::nonneg, p.shared = atoms % 2 == 1;
      add(c + "k" + std::to_string(iters) + "_fista_nonneg", p);
    }
    p.iters = 50;
    p.fista = false, p.mode = ThresholdMode::nonneg, p.shared = atoms % 2 == 0;
    add(c + "k50_ista_nonneg", p);
    p.fista = true, p.mode = ThresholdMode::two_sided, p.shared = false;
    add(c + "k50_fista_two_sided", p);
    p.fista = false, p.iters = 2, p.shared = true;
    add(c + "k2_ista_two_sided_shared", p);
  }
  // γ_{K−1} too, on planes that are not a whole number of 16-pixel tiles, one image.
  PursuitSpec p;
  p.batch = 1, p.height = 9, p.width = 11, p.atoms = 12, p.iters = 7, p.previous = true;
  add("previous_code", p);
  p.iters = 1;
  add("previous_code_k1", p);
  cases.push_back(power_case("gram_power_iteration_c16", 16, 20, true));
  cases.push_back(power_case("gram_power_iteration_c37_per_atom", 37, 30, false));
  cases.push_back(power_case("gram_power_iteration_c1", 1, 3, true));
  cases.push_back(gram_backward_case("gram_matrix_backward", 7, 3, 3, 1.0f, false));
  cases.push_back(gram_backward_case("gram_matrix_backward_step", 16, 5, 3, -1.0f, true));
  cases.push_back(divide_backward_case("divide_by_scalar_backward", 37));
  cases.push_back(dot_case("reduce_dot", {3, 5, 7, 9}));
  cases.push_back(dot_case("reduce_dot_large", {2, 64, 33, 35}));
  return cases;
}

}  // namespace scn::test
