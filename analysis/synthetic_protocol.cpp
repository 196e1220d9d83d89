// The threshold-tuning protocol and the sweep points of the synthetic ML-CSC experiments
// (analysis/synthetic_mlcsc.h).
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

double max_abs(const Tensor& t) {
  const float* v = t.data<float>();
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, double(std::abs(v[i])));
  return m;
}

template <class T>
double mean(const std::vector<T>& v) {
  double s = 0;
  for (T x : v) s += static_cast<double>(x);
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace

// ---- the protocol ------------------------------------------------------------------------------------

std::string method_key(LayeredMethod method) {
  return method == LayeredMethod::thresholding ? "thresholding" : "layered_bp";
}

std::vector<double> default_threshold_grid() {
  constexpr int kValues = 18;
  constexpr double kLargest = 0.9, kSmallest = 0.002;
  std::vector<double> grid;
  for (int j = 0; j < kValues; ++j) grid.push_back(kLargest * std::pow(kSmallest / kLargest, double(j) / (kValues - 1)));
  return grid;
}

namespace {

// One method's pass over a batch, layer by layer; each layer reads the previous layer's estimate.
class LayeredRun {
 public:
  LayeredRun(Context& ctx, const SyntheticModel& model, LayeredMethod method, const LassoOptions& lasso)
      : ctx_(ctx), model_(model), method_(method), lasso_(lasso) {}

  // Runs layer `layer` on `input` at each threshold of `path` in turn (descending), into `code`: for layered
  // BP each solve starts from the last (continuation: the same minimiser, reached in fewer steps).
  // `visit` sees the code after each threshold and returns false to end the path there.
  void run_path(int layer, const Tensor& input, const std::vector<double>& path, const Tensor& code,
                const std::function<bool()>& visit) {
    for (size_t j = 0; j < path.size(); ++j) {
      if (method_ == LayeredMethod::thresholding) {
        threshold_layer(ctx_, model_, layer, path[j], input, code, ws_);
      } else {
        const LassoReport r = solve_lasso(ctx_, model_, layer, path[j], input, code, j > 0, lasso_, ws_);
        iterations_ += r.iterations;
        unconverged_ += !r.converged;
      }
      if (!visit()) return;
    }
  }

  // ‖Dᵢᵀ input‖∞: the scale of the layer's thresholds (the smallest λ with an all-zero lasso solution).
  double correlation_scale(int layer, const Tensor& input) {
    Tensor b = Tensor::empty(model_.code_shape(layer, input.size(0)));
    correlate(ctx_, layer_dictionary(model_, layer, Tensor(), Tensor()), b, input);
    const double s = max_abs(b);
    return s > 0 ? s : 1.0;
  }

  LayeredMethod method() const { return method_; }
  int64_t iterations() const { return iterations_; }
  int64_t unconverged() const { return unconverged_; }

 private:
  Context& ctx_;
  const SyntheticModel& model_;
  LayeredMethod method_;
  LassoOptions lasso_;
  PursuitWorkspace ws_;
  int64_t iterations_ = 0, unconverged_ = 0;
};

// The tuned thresholds of one method, layer by layer, and the continuation path that reaches each.
struct Tuning {
  std::vector<std::vector<double>> paths;  // per layer: the grid values down to the chosen one
  std::vector<double> chosen;
};

// The selection rule, the same for both methods. A layer's support F1 rises and then falls as the threshold
// drops; values within kF1Tolerance of the best F1 count as equally good, and among them the one with the
// smallest ℓ2,∞ error wins (soft thresholds shrink every kept coefficient, so F1 alone would often pick
// the largest of several thresholds that find the same support). The path ends after kPatience values in
// a row more than kGiveUpDrop below the best F1: then the threshold is far too small (noise and crosstalk
// pass it), and the small λ are the slowest lasso solves. Shallower dips are walked through, since the
// lasso's support does not move monotonically along the path.
constexpr double kF1Tolerance = 0.02;
constexpr double kGiveUpDrop = 0.1;
constexpr int kPatience = 3;

Tuning tune(LayeredRun& run, const SyntheticModel& model, const SyntheticBatch& draws,
            const std::vector<double>& grid) {
  Tuning tuning;
  Tensor input = draws.signal;
  for (int layer = 0; layer < static_cast<int>(draws.codes.size()); ++layer) {
    const Tensor& truth = draws.codes[static_cast<size_t>(layer)];
    const double scale = run.correlation_scale(layer, input);
    std::vector<double> path;
    for (double rho : grid) path.push_back(rho * scale);
    struct Visit {
      double f1, error;
      Tensor code;
    };
    std::vector<Visit> visits;
    double best_f1 = -1;
    int hopeless = 0;
    Tensor code = Tensor::zeros(truth.shape());
    run.run_path(layer, input, path, code, [&]() -> bool {
      const double f1 = support_counts(code, truth).f1();
      visits.push_back({f1, mean(l2_inf_errors(code, truth, model.stripe(layer))), code.clone()});
      best_f1 = std::max(best_f1, f1);
      hopeless = f1 < best_f1 - kGiveUpDrop ? hopeless + 1 : 0;
      return hopeless < kPatience;
    });
    size_t chosen = 0;
    for (size_t j = 0; j < visits.size(); ++j)
      if (visits[j].f1 >= best_f1 - kF1Tolerance &&
          (visits[chosen].f1 < best_f1 - kF1Tolerance || visits[j].error < visits[chosen].error))
        chosen = j;
    path.resize(chosen + 1);
    tuning.chosen.push_back(path.back());
    tuning.paths.push_back(path);
    input = visits[chosen].code;  // the next layer is tuned on this layer's tuned estimate
  }
  return tuning;
}

std::vector<LayerScore> score(Context& ctx, LayeredRun& run, const SyntheticModel& model, const Tuning& tuning,
                              const SyntheticBatch& draws) {
  std::vector<LayerScore> scores;
  Tensor input = draws.signal;
  for (int layer = 0; layer < static_cast<int>(draws.codes.size()); ++layer) {
    const Tensor& truth = draws.codes[static_cast<size_t>(layer)];
    Tensor code = Tensor::zeros(truth.shape());
    const std::vector<double>& path = tuning.paths[static_cast<size_t>(layer)];
    // Thresholding needs only the chosen β; layered BP walks the tuning path down to the chosen λ.
    const std::vector<double> thresholds =
        run.method() == LayeredMethod::thresholding ? std::vector<double>{path.back()} : path;
    run.run_path(layer, input, thresholds, code, [] { return true; });
    const int window = model.stripe(layer);
    const SupportCounts counts = support_counts(code, truth);
    LayerScore s;
    s.precision = counts.precision();
    s.recall = counts.recall();
    s.l2_inf_error = mean(l2_inf_errors(code, truth, window));
    s.l2_inf_truth = mean(l2_inf_norms(truth, window));
    s.threshold = path.back();
    s.true_local_sparsity = mean(code_local_sparsity(ctx, truth, window));
    scores.push_back(s);
    input = code;
  }
  return scores;
}

}  // namespace

PointResult evaluate_point(Context& ctx, const SyntheticModel& model, const SweepPoint& point,
                           const ProtocolOptions& options, uint64_t stream) {
  SCN_CHECK(options.trials >= 1 && options.tuning_trials >= 1, "synthetic protocol: needs at least one trial and "
            "one tuning draw, got ", options.trials, " and ", options.tuning_trials);
  const std::vector<double> grid = options.grid.empty() ? default_threshold_grid() : options.grid;
  for (size_t j = 0; j < grid.size(); ++j)
    SCN_CHECK(grid[j] > 0 && (j == 0 || grid[j] < grid[j - 1]), "synthetic protocol: the threshold grid must be "
              "positive and descending");
  CodeDrawSpec spec;
  spec.local_sparsity = point.local_sparsity;
  spec.contrast = point.contrast;
  spec.max_nonzeros = point.max_nonzeros;
  // Tuning and evaluation draws come from different streams: the scored draws were never seen in tuning.
  const SyntheticBatch tuning_draws =
      draw_batch(ctx, model, point.depth, options.tuning_trials, spec, point.noise, options.seed, 2 * stream);
  const SyntheticBatch evaluation_draws =
      draw_batch(ctx, model, point.depth, options.trials, spec, point.noise, options.seed, 2 * stream + 1);
  PointResult result;
  result.point = point;
  for (LayeredMethod method : {LayeredMethod::thresholding, LayeredMethod::basis_pursuit}) {
    LayeredRun run(ctx, model, method, options.lasso);
    const Tuning tuning = tune(run, model, tuning_draws, grid);
    std::vector<LayerScore> scores = score(ctx, run, model, tuning, evaluation_draws);
    (method == LayeredMethod::thresholding ? result.thresholding : result.layered_bp) = std::move(scores);
    result.lasso_iterations += run.iterations();
    result.lasso_unconverged += run.unconverged();
  }
  return result;
}

}  // namespace scn
