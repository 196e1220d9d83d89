#include "layers/sparse_code.h"

#include <cmath>
#include <sstream>

#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/gram_power_iteration.h"
#include "kernels/patch_pursuit.h"
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

// FLOPs are the multiply-adds ×2 of the convolutions and Gram products the pursuit runs (the ops count the
// same, tests/layers/test_flop_counts.cpp). One convolution of one image: pixels·Co·Ci·k² multiply-adds; the
// patch form's Gram step: pixels·Co². Element-wise work (thresholds, extrapolations) is not counted, nor the
// data-dependent solves of the implicit backward (the per-pixel Cholesky factorisations of the patch form,
// conjugate gradients' iterations of the convolution form).
namespace {
struct PursuitCosts {
  double conv = 0;  // one convolution by W of one image
  double gram = 0;  // one application of DᵀD to one image's code: two convolutions, or Co² per pixel
};

PursuitCosts costs_of(const SparseCodeConfig& c, const Shape& in, const Shape& out) {
  const double pixels = static_cast<double>(out[1] * out[2]);
  PursuitCosts k;
  k.conv = pixels * static_cast<double>(c.out * in[0] * c.kernel * c.kernel);
  k.gram = c.pursuit == GramForm::patch ? pixels * static_cast<double>(c.out * c.out) : 2 * k.conv;
  return k;
}
}  // namespace

int64_t SparseCodeLayer::flops() const {
  // b = Dᵀx, then every step one Gram product (and, untied, its own correlation Dₜᵀx).
  const PursuitCosts k = costs_of(config_, in_shape_, out_shape_);
  const double per_step = k.gram + (config_.tied ? 0 : k.conv);
  return saturated_count(2 * (k.conv + per_step * static_cast<double>(config_.iters)));
}

int64_t SparseCodeLayer::backward_flops() const {
  const PursuitCosts k = costs_of(config_, in_shape_, out_shape_);
  if (config_.backward == PursuitBackward::unrolled) {
    // Reverse mode costs two of each forward product (input and weight gradients); recompute reruns forward.
    return (config_.recompute ? 3 : 2) * flops();
  }
  // Implicit: β through b = Dᵀx (input and weight gradients, two convolutions), then the weight term of DᵀD at
  // the code — patch: Σ β γᵀ, one Co² product per pixel; convolution: Dγ and the two weight gradients and the
  // transposed convolution of gram_backward (four convolutions).
  const double weight_term = patch() ? k.gram : 4 * k.conv;
  return saturated_count(2 * (2 * k.conv + weight_term));
}

int64_t SparseCodeLayer::step_flops() const {
  if (!config_.tied) return 0;
  const double co = static_cast<double>(config_.out), atom = static_cast<double>(in_shape_[0] * config_.kernel * config_.kernel);
  if (patch()) {
    // AᵀA (Co²·atom) and, step: auto, 20 power iterations on it (Co² each); backward folds ∂L/∂(AᵀA) into W
    // (Co²·atom); unrolled lasso: ⟨λ, ∂L/∂θ⟩.
    double f = co * co * atom + (config_.step_auto ? co * co * kPatchPowerIterations : 0) + co * co * atom;
    if (config_.backward == PursuitBackward::unrolled && config_.recompute) f += co * co * atom;  // AᵀA again
    if (lambda_step_product()) f += static_cast<double>(config_.threshold_shared ? 1 : config_.out);
    return saturated_count(2 * f);
  }
  const PursuitCosts k = costs_of(config_, in_shape_, out_shape_);
  double f = 0;
  // step: auto — one power iteration on one code (DᵀD v: two convolutions) before each training forward, and
  // in backward, with a ∂L/∂η to pass on, ∂η/∂W: D v and gram_backward's three convolutions.
  if (config_.step_auto) {
    f += k.gram;
    const bool deta = config_.backward == PursuitBackward::unrolled || !lasso();
    if (deta) f += 4 * k.conv;
  }
  if (lambda_step_product()) f += static_cast<double>(config_.threshold_shared ? 1 : config_.out);
  return saturated_count(2 * f);
}

std::string SparseCodeLayer::graph_capture_refusal() const {
  if (config_.backward == PursuitBackward::implicit && !patch())
    return "differentiates its convolutional pursuit by conjugate gradients, whose stopping test reads the "
           "residual on the host; use backward: unrolled, or train.cuda_graph: false";
  return "";
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
  // Backward needs every iterate unless it recomputes them (recompute: true), differentiates the fixed point
  // (backward: implicit) or there is no backward.
  const bool keep = is_training(mode) && !config_.recompute && config_.backward == PursuitBackward::unrolled;
  if (patch()) return forward_patch(ctx, inputs.at(0), output, mode, s, keep);
  Dictionary d = dictionary(ctx, s, true);
  if (config_.step_auto && is_training(mode)) {
    // η = 1/L with L = ‖D‖² for the current weights, written on the device. One warm-started iteration per
    // step tracks the slowly moving weights; backward adds ∂η/∂W (sparse_code_backward.cpp).
    int iterations = 1;
    prepare_power_iteration(ctx, s, iterations);
    scn::power_iterate(ctx, d, s.power, iterations, param(step_));
    if (lasso()) scale_by_scalar(ctx, s.threshold_applied, param(threshold_), param(step_), 1.0f);  // θ = ηλ, new η
  }
  pursuit_.forward(ctx, d, inputs.at(0), output, s.tape, keep);
}

Dictionary SparseCodeLayer::patch_dictionary(Context& ctx, SparseCodeState& s, bool training) {
  Dictionary d = dictionary(ctx, s, false);
  form_gram_matrix(ctx, d);
  if (!config_.step_auto) {
    if (lasso()) scale_by_scalar(ctx, s.threshold_applied, param(threshold_), d.step, 1.0f);  // θ = ηλ
    return d;
  }
  // η = 1/λ_max(AᵀA) by warm-started power iterations on the device, θ = ηλ with it: one op. SCN computes the
  // step for every forward, and so does evaluation here, for the weights at hand: the atoms are not
  // normalised and can grow by orders of magnitude in one optimizer step (from randn/(k²C)), so the η of the
  // last training forward would make the pursuit diverge. Evaluation works in state of its own, from a copy
  // of the run's vector, and changes nothing of the run.
  const Tensor lambda = param(threshold_), vector = param(power_);
  const Tensor threshold = lasso() ? s.threshold_applied : Tensor();
  const DType dt = vector.dtype();
  const Device dev = vector.device();
  if (training) {
    ensure_tensor(s.power.lipschitz, Shape{1}, dt, dev);
    s.power.vector = vector;
    gram_power_iteration(ctx, vector, s.power.lipschitz, d.step, threshold, vector, d.gram_matrix, lambda,
                         kPatchPowerIterations);
    return d;
  }
  PowerIteration& p = s.eval_power;
  ensure_tensor(p.vector, vector.shape(), dt, dev);
  ensure_tensor(p.lipschitz, Shape{1}, dt, dev);
  ensure_tensor(s.eval_step, Shape{1}, dt, dev);
  gram_power_iteration(ctx, p.vector, p.lipschitz, s.eval_step, threshold, vector, d.gram_matrix, lambda,
                       kPatchPowerIterations);
  d.step = s.eval_step;
  return d;
}

void SparseCodeLayer::forward_patch(Context& ctx, const Tensor& x, const Tensor& output, Mode mode, SparseCodeState& s,
                                    bool keep) {
  const Dictionary d = patch_dictionary(ctx, s, is_training(mode));
  const bool fused = ctx.fused_pursuit && !keep && config_.out <= kPatchPursuitMaxChannels;
  if (!fused) return pursuit_.forward(ctx, d, x, output, s.tape, keep);
  PursuitTape& t = s.tape;
  ensure_tensor(t.b, output.shape(), output.dtype(), output.device());
  correlate(ctx, d, t.b, x);
  // After an inference forward last_pursuit reads γ_K and γ_{K−1} from the tape's slots, where the unrolled
  // pursuit leaves them (slot t mod 2); a training forward keeps γ_K only.
  const int K = config_.iters;
  Tensor previous;
  if (!is_training(mode) && K > 0) {
    t.code_buffers.resize(1);
    ensure_tensor(t.code_buffers[0], output.shape(), output.dtype(), output.device());
    previous = t.code_buffers[0];
    t.codes = K % 2 == 0 ? std::vector<Tensor>{output, previous} : std::vector<Tensor>{previous, output};
  } else {
    t.codes.assign(1, output);
  }
  patch_pursuit_forward(ctx, output, previous, t.b, d.gram_matrix, d.step, d.threshold, config_.mode, K,
                        config_.algorithm == PursuitAlgorithm::fista);
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
