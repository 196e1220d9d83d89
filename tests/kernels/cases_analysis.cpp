// Conformance cases of the analysis ops: the atoms' correlations through the FFT (against the direct sum
// over shifts, channels and pixels of analysis/coherence.h), and the non-zeros per position.
#include <cmath>

#include "analysis/coherence.h"
#include "kernels/atom_correlation.h"
#include "kernels/op_case.h"
#include "kernels/reduce.h"

namespace scn::test {

namespace {

OpCase correlation_case(const std::string& name, Shape weight, int stride) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    std::vector<double> w = random_uniform(weight, DType::f64, seed, 0).to_vector();
    // One atom scaled far from unit norm, so the normalisation is exercised.
    for (int64_t e = 0; e < weight.numel() / weight[0]; ++e) w[static_cast<size_t>(e)] *= 7.5;
    return Tensors{Tensor::from_vector(w, weight, dtype)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    const Tensor& w = in[0];
    const int S = atom_correlation_shifts(static_cast<int>(weight[2]), stride);
    Tensor out = Tensor::empty({weight[0], weight[0], S, S}, DType::f32, in[0].device());
    atom_correlations(ctx, out, w, stride);
    return Tensors{out};
  };
  c.reference = [=](const Tensors& in) { return Tensors{atom_correlations_direct(in[0], stride)}; };
  c.tolerance = {2e-6, 1e-5};  // f32 transforms of unit-norm atoms
  return c;
}

OpCase positions_case(const std::string& name, Shape shape) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    std::vector<double> v = random_uniform(shape, DType::f64, seed, 0).to_vector();
    for (double& x : v) x = std::abs(x) < 0.6 ? 0.0 : x;
    return Tensors{Tensor::from_vector(v, shape, dtype)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor counts = Tensor::empty({shape[0], shape[2], shape[3]}, in[0].dtype(), in[0].device());
    nnz_per_position(ctx, counts, in[0]);
    return Tensors{counts};
  };
  c.reference = [=](const Tensors& in) {
    const std::vector<double> x = in[0].to_vector();
    const int64_t N = shape[0], C = shape[1], HW = shape[2] * shape[3];
    std::vector<double> counts(static_cast<size_t>(N * HW), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t j = 0; j < HW; ++j) counts[static_cast<size_t>(n * HW + j)] += x[static_cast<size_t>((n * C + ch) * HW + j)] != 0;
    return Tensors{Tensor::from_vector(counts, {N, shape[2], shape[3]}, DType::f64)};
  };
  c.tolerance = {0.0, 0.0};  // counts are exact
  return c;
}

}  // namespace

std::vector<OpCase> analysis_cases() {
  return {correlation_case("atom_correlations_k3", {5, 3, 3, 3}, 1),
          correlation_case("atom_correlations_k5_stride2", {7, 4, 5, 5}, 2),
          correlation_case("atom_correlations_k4_stride2", {6, 2, 4, 4}, 2),
          correlation_case("atom_correlations_k7_stride3", {3, 5, 7, 7}, 3),
          correlation_case("atom_correlations_k1", {9, 11, 1, 1}, 1),
          positions_case("nnz_per_position", {3, 13, 7, 5}),
          positions_case("nnz_per_position_batch1", {1, 4, 9, 11})};
}

}  // namespace scn::test
