// Conformance cases of the pursuit ops: the active-set solve of the implicit backward (a masked, ridged
// Gram system per pixel), against Gaussian elimination with partial pivoting in the case.
#include <cmath>

#include "kernels/active_set_solve.h"
#include "kernels/op_case.h"

namespace scn::test {

namespace {

// Solves the dense n×n system a·x = b (row-major) by Gaussian elimination with partial pivoting.
std::vector<double> gauss_solve(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    for (size_t k = 0; k < n; ++k) std::swap(a[col * n + k], a[pivot * n + k]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      for (size_t k = col; k < n; ++k) a[r * n + k] -= f * a[col * n + k];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i * n + k] * x[k];
    x[i] = s / a[i * n + i];
  }
  return x;
}

OpCase active_set_case(const std::string& name, Shape shape, int atom_length, double ridge) {
  OpCase c;
  c.name = name;
  const int64_t channels = shape[1];
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    // M = AᵀA for a random A with `atom_length` rows: positive semidefinite, singular when atom_length < C.
    const std::vector<double> a = random_uniform({atom_length, channels}, DType::f64, seed, 0).to_vector();
    std::vector<double> m(static_cast<size_t>(channels * channels), 0.0);
    for (int64_t i = 0; i < channels; ++i)
      for (int64_t j = 0; j < channels; ++j)
        for (int r = 0; r < atom_length; ++r) m[i * channels + j] += a[r * channels + i] * a[r * channels + j];
    // A code with about half its entries zero (the support), and a gradient.
    std::vector<double> code = random_uniform(shape, DType::f64, seed, 1).to_vector();
    for (double& v : code) v = v > 0 ? v + 0.1 : 0.0;
    return Tensors{Tensor::from_vector(m, {channels, channels}, dtype), Tensor::from_vector(code, shape, dtype),
                   random_uniform(shape, dtype, seed, 2)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor beta = Tensor::empty(in[1].shape(), in[1].dtype(), in[1].device());
    active_set_solve(ctx, beta, in[0], in[1], in[2], ridge);
    return Tensors{beta};
  };
  c.reference = [=](const Tensors& in) {
    const std::vector<double> m = in[0].to_vector(), code = in[1].to_vector(), g = in[2].to_vector();
    std::vector<double> beta(code.size(), 0.0);
    const int64_t hw = shape[2] * shape[3];
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t p = 0; p < hw; ++p) {
        auto at = [&](int64_t ch) { return static_cast<size_t>((n * channels + ch) * hw + p); };
        std::vector<int64_t> support;
        for (int64_t ch = 0; ch < channels; ++ch)
          if (code[at(ch)] != 0) support.push_back(ch);
        const size_t k = support.size();
        std::vector<double> a(k * k), rhs(k);
        for (size_t i = 0; i < k; ++i) {
          rhs[i] = g[at(support[i])];
          for (size_t j = 0; j < k; ++j)
            a[i * k + j] = m[support[i] * channels + support[j]] + (i == j ? ridge : 0.0);
        }
        const std::vector<double> x = gauss_solve(a, rhs);
        for (size_t i = 0; i < k; ++i) beta[at(support[i])] = x[i];
      }
    return Tensors{Tensor::from_vector(beta, shape, DType::f64)};
  };
  c.tolerance = Tolerance{2e-4, 2e-3};
  return c;
}

}  // namespace

std::vector<OpCase> pursuit_cases() {
  std::vector<OpCase> cases;
  // Full-rank Gram (atoms longer than their count) and a singular one that only the ridge makes solvable.
  cases.push_back(active_set_case("active_set_solve", {3, 7, 5, 3}, 11, 1e-3));
  cases.push_back(active_set_case("active_set_solve_singular_gram", {2, 9, 3, 5}, 4, 0.5));
  // The CPU's two paths: eight pixels per vector over the union of their supports (planes of 8·k pixels, and
  // a partial group at a plane's end), and one pixel at a time past 40 atoms in the union; the CUDA warp
  // path with more atoms than a warp has lanes.
  cases.push_back(active_set_case("active_set_solve_groups_of_eight", {2, 16, 4, 4}, 24, 1e-3));
  cases.push_back(active_set_case("active_set_solve_partial_group", {1, 13, 3, 7}, 20, 1e-3));
  cases.push_back(active_set_case("active_set_solve_wide_support", {2, 97, 3, 3}, 120, 1e-2));
  return cases;
}

}  // namespace scn::test
