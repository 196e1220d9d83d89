// The layered pursuits and the scores of the synthetic ML-CSC experiments (analysis/synthetic_mlcsc.h).
#include "analysis/synthetic_mlcsc.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/local_sparsity.h"
#include "core/error.h"
#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/random_fill.h"

namespace scn {

namespace {

// The scores read codes on the host: the synthetic experiments run on the CPU engine in f32.
void check_host_f32(const char* op, const char* name, const Tensor& t) {
  SCN_CHECK(t.defined() && t.device().is_cpu() && t.dtype() == DType::f32, op, ": ", name,
            " must be an f32 tensor on the CPU, got ", t.defined() ? t.str() : std::string("an undefined tensor"));
}

}  // namespace

// ---- the pursuits ------------------------------------------------------------------------------------

namespace {
void set_parameters(Context& ctx, PursuitWorkspace& ws, int64_t atoms, double threshold, double step) {
  ensure_tensor(ws.threshold, Shape{atoms}, DType::f32, Device::cpu());
  ensure_tensor(ws.step, Shape{1}, DType::f32, Device::cpu());
  fill(ctx, ws.threshold, static_cast<float>(threshold));
  fill(ctx, ws.step, static_cast<float>(step));
}

void check_pursuit_shapes(const char* what, const SyntheticModel& model, int layer, const Tensor& input,
                          const Tensor& code) {
  SCN_CHECK(layer >= 0 && layer < model.depth(), what, ": layer ", layer + 1, " is not in 1 … ", model.depth());
  const SyntheticLayerSpec& s = model.specs[static_cast<size_t>(layer)];
  const Shape in{input.size(0), s.channels, model.height, model.width};
  SCN_CHECK(input.shape() == in, what, ": the input of layer ", layer + 1, " is ", input.shape().str(), ", expected ",
            in.str());
  SCN_CHECK(code.shape() == model.code_shape(layer, input.size(0)), what, ": the code of layer ", layer + 1, " is ",
            code.shape().str(), ", expected ", model.code_shape(layer, input.size(0)).str());
}
}  // namespace

void threshold_layer(Context& ctx, const SyntheticModel& model, int layer, double beta, const Tensor& input,
                     const Tensor& output, PursuitWorkspace& ws) {
  check_pursuit_shapes("thresholding", model, layer, input, output);
  SCN_CHECK(beta >= 0, "thresholding: β must be ≥ 0, got ", beta);
  set_parameters(ctx, ws, model.specs[static_cast<size_t>(layer)].atoms, beta, 1.0);
  // K = 0 with η = 1: the output is S_β(Dᵀ input) itself.
  const UnrolledPursuit pursuit(0, PursuitAlgorithm::fista);
  pursuit.forward(ctx, layer_dictionary(model, layer, ws.threshold, ws.step), input, output, ws.tape, false);
}

LassoReport solve_lasso(Context& ctx, const SyntheticModel& model, int layer, double lambda, const Tensor& input,
                        const Tensor& code, bool warm, const LassoOptions& options, PursuitWorkspace& ws) {
  check_pursuit_shapes("layered basis pursuit", model, layer, input, code);
  SCN_CHECK(lambda >= 0, "layered basis pursuit: λ must be ≥ 0, got ", lambda);
  SCN_CHECK(options.max_iterations >= 1 && options.tolerance > 0,
            "layered basis pursuit: needs max_iterations ≥ 1 and tolerance > 0");
  const double eta = 1 / model.lipschitz[static_cast<size_t>(layer)];
  set_parameters(ctx, ws, model.specs[static_cast<size_t>(layer)].atoms, eta * lambda, eta);  // θ = ηλ
  const Dictionary d = layer_dictionary(model, layer, ws.threshold, ws.step);
  const Shape shape = code.shape();
  ensure_tensor(ws.b, shape, DType::f32, Device::cpu());
  for (Tensor& t : ws.iterates) ensure_tensor(t, shape, DType::f32, Device::cpu());
  ensure_tensor(ws.step_buffers.point, shape, DType::f32, Device::cpu());
  ensure_tensor(ws.step_buffers.gram, shape, DType::f32, Device::cpu());
  ensure_tensor(ws.step_buffers.image, input.shape(), DType::f32, Device::cpu());
  correlate(ctx, d, ws.b, input);
  Tensor* previous = &ws.iterates[0];
  Tensor* current = &ws.iterates[1];
  Tensor* next = &ws.iterates[2];
  if (warm) current->copy_from(code);
  else first_code_forward(ctx, d, *current, ws.b);  // γ₀ = S_θ(η·b), the unrolled pursuit's start
  previous->copy_from(*current);
  const int64_t n = code.numel();
  LassoReport report;
  double t = 1;  // FISTA's tₖ
  for (int k = 1; k <= options.max_iterations; ++k) {
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    fista_extrapolate_forward(ctx, ws.step_buffers.point, *current, *previous, static_cast<float>((t - 1) / t_next));
    pursuit_step_forward(ctx, d, *next, ws.b, ws.step_buffers);
    // On the host (the CPU engine: no transfer): the step's size, and the restart test of O'Donoghue and
    // Candès — momentum that points against the step, ⟨z − γₖ, γₖ − γₖ₋₁⟩ > 0, is dropped (t back to 1),
    // which keeps FISTA monotone enough to converge in hundreds, not thousands, of steps on these
    // coherent dictionaries.
    const float* z = ws.step_buffers.point.data<float>();
    const float* g = next->data<float>();
    const float* g_old = current->data<float>();
    double change = 0, norm = 0, against = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double step = double(g[i]) - g_old[i];
      change += step * step;
      norm += double(g[i]) * g[i];
      against += (double(z[i]) - g[i]) * step;
    }
    std::swap(previous, current);
    std::swap(current, next);  // current = γₖ, previous = γₖ₋₁
    t = against > 0 ? 1 : t_next;
    report.iterations = k;
    if (change <= options.tolerance * options.tolerance * norm) {
      report.converged = true;
      break;
    }
  }
  code.copy_from(*current);
  return report;
}

// ---- the scores --------------------------------------------------------------------------------------

SupportCounts& SupportCounts::operator+=(const SupportCounts& o) {
  true_positive += o.true_positive, false_positive += o.false_positive, false_negative += o.false_negative;
  return *this;
}
double SupportCounts::precision() const {
  const int64_t claimed = true_positive + false_positive;
  return claimed ? double(true_positive) / double(claimed) : 1.0;
}
double SupportCounts::recall() const {
  const int64_t actual = true_positive + false_negative;
  return actual ? double(true_positive) / double(actual) : 1.0;
}
double SupportCounts::f1() const {
  const int64_t denominator = 2 * true_positive + false_positive + false_negative;
  return denominator ? 2.0 * double(true_positive) / double(denominator) : 1.0;
}

SupportCounts support_counts(const Tensor& estimate, const Tensor& truth) {
  check_host_f32("support", "estimate", estimate);
  check_host_f32("support", "truth", truth);
  SCN_CHECK(estimate.shape() == truth.shape(), "support: estimate ", estimate.shape().str(), " and truth ",
            truth.shape().str(), " differ in shape");
  const float* e = estimate.data<float>();
  const float* t = truth.data<float>();
  SupportCounts c;
  for (int64_t i = 0; i < truth.numel(); ++i) {
    const bool claimed = e[i] != 0, actual = t[i] != 0;
    c.true_positive += claimed && actual;
    c.false_positive += claimed && !actual;
    c.false_negative += !claimed && actual;
  }
  return c;
}

std::vector<double> l2_inf_norms(const Tensor& code, int window) {
  SCN_CHECK(code.rank() == 4, "ℓ2,∞ norm: the code must be (N, C, H, W), got ", code.shape().str());
  SCN_CHECK(window >= 1, "ℓ2,∞ norm: window must be at least 1, got ", window);
  check_host_f32("ℓ2,∞ norm", "code", code);
  const int64_t N = code.size(0), C = code.size(1), H = code.size(2), W = code.size(3);
  const int64_t wh = std::min<int64_t>(window, H), ww = std::min<int64_t>(window, W);
  const float* v = code.data<float>();
  std::vector<double> result(static_cast<size_t>(N));
  // Squared norms per position over the channels, then the largest w×w sum by a summed-area table (the
  // same full windows as local_sparsity).
  std::vector<double> table(static_cast<size_t>((H + 1) * (W + 1)));
  auto at = [&](int64_t y, int64_t x) -> double& { return table[static_cast<size_t>(y * (W + 1) + x)]; };
  for (int64_t n = 0; n < N; ++n) {
    std::fill(table.begin(), table.end(), 0.0);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        double s = 0;
        for (int64_t c = 0; c < C; ++c) {
          const double e = v[((n * C + c) * H + y) * W + x];
          s += e * e;
        }
        at(y + 1, x + 1) = s + at(y, x + 1) + at(y + 1, x) - at(y, x);
      }
    double best = 0;
    for (int64_t y = 0; y + wh <= H; ++y)
      for (int64_t x = 0; x + ww <= W; ++x)
        best = std::max(best, at(y + wh, x + ww) - at(y, x + ww) - at(y + wh, x) + at(y, x));
    result[static_cast<size_t>(n)] = std::sqrt(std::max(best, 0.0));
  }
  return result;
}

std::vector<double> l2_inf_errors(const Tensor& estimate, const Tensor& truth, int window) {
  check_host_f32("ℓ2,∞ error", "estimate", estimate);
  check_host_f32("ℓ2,∞ error", "truth", truth);
  SCN_CHECK(estimate.shape() == truth.shape(), "ℓ2,∞ error: estimate ", estimate.shape().str(), " and truth ",
            truth.shape().str(), " differ in shape");
  Tensor difference = Tensor::empty(truth.shape());
  const float* e = estimate.data<float>();
  const float* t = truth.data<float>();
  float* d = difference.data<float>();
  for (int64_t i = 0; i < truth.numel(); ++i) d[i] = e[i] - t[i];
  return l2_inf_norms(difference, window);
}

}  // namespace scn
