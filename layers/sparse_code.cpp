#include "layers/sparse_code.h"

#include <cmath>
#include <sstream>

#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/random_fill.h"
#include "kernels/scalar_scale.h"
#include "layers/pursuit_params.h"
#include "layers/registry.h"

namespace scn {

SparseCodeLayer::SparseCodeLayer(SparseCodeConfig config)
    : config_(std::move(config)), pursuit_(config_.iters, config_.algorithm) {}

Shape SparseCodeLayer::output_shape(const Shapes& inputs) {
  const Shape& in = inputs.at(0);
  SCN_CHECK(in.rank() == 3, "sparse_code expects a [C, H, W] input, got ", in.str());
  const int64_t h = conv2d_output_size(in[1], config_.kernel, conv_params());
  const int64_t w = conv2d_output_size(in[2], config_.kernel, conv_params());
  SCN_CHECK(h > 0 && w > 0, "sparse_code: kernel ", config_.kernel, " with stride ", config_.stride, " and pad ",
            config_.pad, " does not fit the ", in.str(), " input");
  in_shape_ = in;
  out_shape_ = Shape{config_.out, h, w};
  return out_shape_;
}

SparseCodeLayer::SweepParams SparseCodeLayer::register_dictionary(ParamArena& arena, const std::string& prefix) {
  SweepParams p;
  p.weight = arena.add({prefix + ".weight", Shape{config_.out, in_shape_[0], config_.kernel, config_.kernel}});
  // Two-sided thresholds and lasso weights are kept ≥ 0 (SCN projects λ after each step); η > 0 keeps the
  // pursuit a descent.
  const bool nonnegative = config_.mode == ThresholdMode::two_sided || config_.threshold_form == ThresholdForm::lasso;
  p.threshold = arena.add(threshold_spec(prefix + ".threshold", config_.threshold_shared ? 1 : config_.out,
                                         config_.threshold_learn, nonnegative));
  p.step = arena.add(step_spec(prefix + ".step", config_.step_learn && !config_.step_auto, true));
  return p;
}

void SparseCodeLayer::register_params(ParamArena& arena, const std::string& node) {
  arena_ = &arena;
  sweeps_.clear();
  if (!config_.tied) {
    // One (W, θ, η) per step, "<node>.sweep<t>.*"; validation allowed only the convolutional absolute form.
    for (int t = 0; t <= config_.iters; ++t) sweeps_.push_back(register_dictionary(arena, node + ".sweep" + std::to_string(t)));
  }
  const SweepParams first = config_.tied ? register_dictionary(arena, node) : sweeps_[0];
  weight_ = first.weight, threshold_ = first.threshold, step_ = first.step;
  if (config_.step_auto) {
    // The power iteration's vector is state of the run: kept in the checkpoint so that a resumed run
    // estimates ‖D‖² exactly as the uninterrupted one would.
    const Shape vector = patch() ? Shape{1, out_shape_[0], 1, 1} : Shape{1, out_shape_[0], out_shape_[1], out_shape_[2]};
    ParamSpec v{node + ".power_vector", vector};
    v.kind = "state";
    v.trainable = false;
    power_ = arena.add(v);
  }
}

void SparseCodeLayer::init_params(Context& ctx, uint64_t seed) {
  if (!config_.tied) {
    for (size_t t = 0; t < sweeps_.size(); ++t) {
      config_.init.fill(ctx, param(sweeps_[t].weight), seed + 0x9E3779B97F4A7C15ull * t);
      fill(ctx, param(sweeps_[t].threshold), static_cast<float>(config_.threshold_init));
      set_scalar(ctx, param(sweeps_[t].step), config_.step_init);
    }
    return;
  }
  config_.init.fill(ctx, param(weight_), seed);
  fill(ctx, param(threshold_), static_cast<float>(config_.threshold_init));
  double eta = config_.step_init;
  if (config_.step_auto) {
    // Start from η = 1/‖D‖² of the initial dictionary, so evaluation before any training step is stable too.
    fill_normal(ctx, param(power_), 0.0f, 1.0f, RngKey{seed, RngPurpose::init, 1ull << 40});
    SparseCodeState scratch;
    const double lipschitz = estimate_lipschitz(ctx, scratch, 50);
    if (patch()) {
      eta = lipschitz > 0 ? 1.0 / lipschitz : 1.0;  // SCN's atoms are not normalised: η = 1/λ_max(AᵀA)
    } else {
      if (lipschitz > 0) {
        const Tensor w = param(weight_);
        scale(ctx, w, static_cast<float>(1.0 / std::sqrt(lipschitz)), w);
      }
      eta = 1.0;
    }
  }
  set_step(ctx, eta);
}

void SparseCodeLayer::set_step(Context& ctx, double eta) { set_scalar(ctx, param(step_), eta); }

int64_t SparseCodeLayer::flops() const {
  // One convolution: Ho·Wo·Co·Ci·k² multiply-adds. b costs one; every step two (D then Dᵀ), or for the
  // patch pursuit one Co×Co product per pixel.
  const double pixels = static_cast<double>(out_shape_[1] * out_shape_[2]);
  const double conv = pixels * static_cast<double>(config_.out * in_shape_[0] * config_.kernel * config_.kernel);
  const double gram = patch() ? pixels * static_cast<double>(config_.out * config_.out) : 2 * conv;
  // Untied steps correlate the input with their own dictionary: one more convolution each.
  const double per_step = gram + (config_.tied ? 0 : conv);
  return saturated_count(2 * (conv + per_step * static_cast<double>(config_.iters)));
}

int64_t SparseCodeLayer::forward_bytes(const Shapes& inputs, const Shape& output) const {
  // b = Dᵀx: x in, b out. γ₀: b in, γ₀ out. Each step: D z (z in, u out), Dᵀu (u in, G out) — for the patch
  // pursuit M z (z in, G out) — the fused
  // update (z, b, G in, γ out), and from the second FISTA step the extrapolation (two in, one out).
  const int64_t in = inputs.at(0).numel(), code = output.numel(), k = config_.iters;
  const int64_t extrapolations = config_.algorithm == PursuitAlgorithm::fista ? std::max<int64_t>(k - 1, 0) : 0;
  // The patch pursuit's Gram is a 1×1 operator on the code: no image-sized traffic per step.
  const int64_t per_step = patch() ? 6 * code : 2 * in + 6 * code;
  return 4 * (in + 3 * code + k * per_step + 3 * code * extrapolations);
}

std::string SparseCodeLayer::describe() const {
  std::ostringstream os;
  const bool fista = config_.algorithm == PursuitAlgorithm::fista;
  os << "K=" << config_.iters << (config_.iters ? (fista ? " fista" : " ista") : "")
     << (config_.mode == ThresholdMode::nonneg ? " nonneg" : " two_sided") << (config_.step_auto ? " step=auto" : "")
     << (config_.stride > 1 ? " s" + std::to_string(config_.stride) : "") << (patch() ? " patch" : "")
     << (config_.backward == PursuitBackward::implicit ? " implicit" : "")
     << (config_.threshold_form == ThresholdForm::lasso ? " lasso" : "");
  return os.str();
}

Dictionary SparseCodeLayer::dictionary(Context& ctx, SparseCodeState& s, bool refresh) const {
  Dictionary d;
  d.weight = param(weight_);
  d.threshold = param(threshold_);
  d.step = param(step_);
  d.geometry = conv_params();
  d.mode = config_.mode;
  d.form = config_.pursuit;
  const DType dt = d.weight.dtype();
  const Device dev = d.weight.device();
  if (patch()) {
    ensure_tensor(s.gram_matrix, Shape{config_.out, config_.out, 1, 1}, dt, dev);
    d.gram_matrix = s.gram_matrix;
    if (refresh) form_gram_matrix(ctx, d);
  }
  if (config_.threshold_form == ThresholdForm::lasso) {
    // The applied threshold θ = η·λ, so that the pursuit solves min ½‖x − Dγ‖² + λ‖γ‖₁ whatever η is.
    ensure_tensor(s.threshold_applied, d.threshold.shape(), dt, dev);
    if (refresh) scale_by_scalar(ctx, s.threshold_applied, d.threshold, d.step, 1.0f);
    d.threshold = s.threshold_applied;
  }
  return d;
}

void SparseCodeLayer::prepare_power_iteration(Context& ctx, SparseCodeState& s, int& iterations) {
  const Device dev = ctx.device();
  const Shape code = patch() ? Shape{1, out_shape_[0], 1, 1} : Shape{1, out_shape_[0], out_shape_[1], out_shape_[2]};
  const DType dt = arena_->values().dtype();
  PowerIteration& p = s.power;
  if (!patch()) ensure_tensor(p.image, Shape{1, in_shape_[0], in_shape_[1], in_shape_[2]}, dt, dev);  // D v
  ensure_tensor(p.next, code, dt, dev);
  ensure_tensor(p.lipschitz, Shape{1}, dt, dev);
  if (power_ >= 0) {
    p.vector = param(power_);  // warm start from the run's own vector
  } else if (!p.vector.defined() || p.vector.shape() != code) {
    p.vector = Tensor::empty(code, dt, dev);
    fill_normal(ctx, p.vector, 0.0f, 1.0f, RngKey{0x5eed, RngPurpose::init, 1});
    iterations = std::max(iterations, 30);  // cold start: converge first
  }
}

void SparseCodeLayer::power_iterate(Context& ctx, SparseCodeState& s, int iterations, const Tensor& step) {
  prepare_power_iteration(ctx, s, iterations);
  scn::power_iterate(ctx, dictionary(ctx, s, true), s.power, iterations, step);
}

double SparseCodeLayer::estimate_lipschitz(Context& ctx, SparseCodeState& s, int iterations) {
  power_iterate(ctx, s, iterations, Tensor());
  const double lipschitz = s.power.lipschitz.item();
  SCN_CHECK(std::isfinite(lipschitz), "sparse_code: the dictionary holds NaN or Inf");
  return lipschitz;
}

std::vector<Dictionary> SparseCodeLayer::untied_dictionaries() const {
  std::vector<Dictionary> ds;
  for (const SweepParams& p : sweeps_) {
    Dictionary d;
    d.weight = param(p.weight);
    d.threshold = param(p.threshold);
    d.step = param(p.step);
    d.geometry = conv_params();
    d.mode = config_.mode;
    ds.push_back(d);
  }
  return ds;
}

std::vector<DictionaryGrads> SparseCodeLayer::untied_grads() const {
  std::vector<DictionaryGrads> gs;
  for (const SweepParams& p : sweeps_) {
    DictionaryGrads g;
    g.weight = grad(p.weight);
    if (config_.threshold_learn) g.threshold = grad(p.threshold);
    if (config_.step_learn) g.step = grad(p.step);
    gs.push_back(g);
  }
  return gs;
}

void SparseCodeLayer::forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode mode,
                              LayerState& state) {
  auto& s = static_cast<SparseCodeState&>(state);
  if (!config_.tied) {
    pursuit_.forward(ctx, untied_dictionaries(), inputs.at(0), output, s.tape, is_training(mode));
    return;
  }
  Dictionary d = dictionary(ctx, s, true);  // forms AᵀA (patch) once per call
  if (config_.step_auto && is_training(mode)) {
    // η = 1/L with L = ‖D‖² for the current weights, written on the device. One warm-started iteration per
    // step tracks the slowly moving weights (the patch pursuit's Co-vector costs nothing: 20); backward adds
    // ∂η/∂W (sparse_code_backward.cpp).
    int iterations = patch() ? 20 : 1;
    prepare_power_iteration(ctx, s, iterations);
    scn::power_iterate(ctx, d, s.power, iterations, param(step_));
    if (config_.threshold_form == ThresholdForm::lasso)
      scale_by_scalar(ctx, s.threshold_applied, param(threshold_), param(step_), 1.0f);  // θ = ηλ with the new η
  } else if (config_.step_auto && patch()) {
    // SCN computes the step for every forward. The η of the last training forward belongs to the weights
    // before the optimizer's last step, and the patch pursuit's unnormalised atoms can grow by orders of
    // magnitude in one step (from randn/(k²C)): 50 FISTA steps with that η diverge. So evaluation recomputes
    // it — twenty power iterations on a Co-vector — into state of its own.
    PowerIteration& p = s.eval_power;
    ensure_tensor(p.vector, Shape{1, out_shape_[0], 1, 1}, d.weight.dtype(), d.weight.device());
    if (power_ >= 0) p.vector.copy_from(param(power_));
    else fill_normal(ctx, p.vector, 0.0f, 1.0f, RngKey{0x5eed, RngPurpose::init, 2});
    ensure_tensor(p.next, p.vector.shape(), d.weight.dtype(), d.weight.device());
    ensure_tensor(p.lipschitz, Shape{1}, d.weight.dtype(), d.weight.device());
    ensure_tensor(s.eval_step, Shape{1}, d.weight.dtype(), d.weight.device());
    scn::power_iterate(ctx, d, p, power_ >= 0 ? 20 : 50, s.eval_step);
    d.step = s.eval_step;
    if (config_.threshold_form == ThresholdForm::lasso)
      scale_by_scalar(ctx, s.threshold_applied, param(threshold_), d.step, 1.0f);
  }
  // Backward needs every iterate unless it recomputes them (recompute: true), differentiates the fixed point
  // (backward: implicit) or there is no backward.
  const bool keep = is_training(mode) && !config_.recompute && config_.backward == PursuitBackward::unrolled;
  pursuit_.forward(ctx, d, inputs.at(0), output, s.tape, keep);
}

SparseCodeLayer::PursuitView SparseCodeLayer::last_pursuit(Context& ctx, LayerState& state) const {
  auto& s = static_cast<SparseCodeState&>(state);
  PursuitView v;
  v.dictionary = dictionary(ctx, s, false);
  if (config_.step_auto && patch() && s.eval_step.defined()) v.dictionary.step = s.eval_step;  // as forward
  const PursuitTape& t = s.tape;
  SCN_CHECK(!t.codes.empty(), "sparse_code: last_pursuit before a forward");
  const size_t slots = t.codes.size(), K = static_cast<size_t>(config_.iters);
  v.b = t.b;
  if (!config_.tied) {
    // The last step's own dictionary and correlation.
    v.dictionary = untied_dictionaries().back();
    if (K > 0) v.b = t.untied_b.back();
  }
  v.last = t.codes[K % slots];
  if (K > 0) v.previous = t.codes[(K - 1) % slots];
  return v;
}

void register_sparse_code_layer(LayerRegistry& registry) {
  registry.add("sparse_code", [](const ConfigNode& node) {
    return std::make_unique<SparseCodeLayer>(SparseCodeConfig::parse(node));
  });
}

int64_t SparseCodeLayer::saved_elements(const Shapes& inputs, const Shape& output) const {
  // b, γ₀…γ_K, z₁…z_K, DᵀD zₜ and D zₜ per iteration, and backward's scratch (about four codes and an
  // input); recompute keeps only the scratch of one iteration.
  const int64_t out = output.numel(), in = inputs.at(0).numel();
  if (config_.backward == PursuitBackward::implicit) return 9 * out + 2 * in;  // β, CG vectors, D γ
  const int64_t k = config_.recompute ? 1 : config_.iters;
  return (3 * k + 6) * out + (patch() ? 1 : k + 1) * in;
}

}  // namespace scn
