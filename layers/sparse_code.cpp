#include "layers/sparse_code.h"

#include <cmath>
#include <sstream>

#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/random_fill.h"
#include "layers/registry.h"

namespace scn {

SparseCodeConfig SparseCodeConfig::parse(const ConfigNode& node) {
  node.allow_keys(layer_keys({"out", "kernel", "stride", "pad", "iters", "algorithm", "mode", "step", "threshold",
                              "init", "recompute"}));
  SparseCodeConfig c;
  c.out = node.require("out").as_positive_int(kMaxChannels);
  c.kernel = static_cast<int>(node.get_positive_int("kernel", 3, kMaxKernel));
  c.stride = static_cast<int>(node.get_positive_int("stride", 1, kMaxKernel));
  c.pad = static_cast<int>(node.get_nonneg_int("pad", c.kernel / 2, kMaxKernel));
  c.iters = static_cast<int>(node.get_nonneg_int("iters", 0, kMaxPursuitIters));
  c.algorithm = node.get_enum("algorithm", "fista", {"ista", "fista"}) == "fista" ? PursuitAlgorithm::fista
                                                                                 : PursuitAlgorithm::ista;
  c.mode = node.get_enum("mode", "nonneg", {"nonneg", "two_sided"}) == "nonneg" ? ThresholdMode::nonneg
                                                                               : ThresholdMode::two_sided;
  ConfigNode step = node["step"];
  if (step.defined()) {
    if (step.is_scalar()) {
      if (step.yaml().Scalar() != "auto") step.fail("expected auto or {init: <number>, learn: <bool>}, got \"" + step.yaml().Scalar() + "\"");
      c.step_auto = true;
    } else {
      step.allow_keys({"init", "learn"});
      c.step_init = step.get_positive_double("init", 1.0);
      c.step_learn = step.get_bool("learn", true);
    }
  }
  ConfigNode th = node["threshold"];
  if (th.defined()) {
    th.allow_keys({"init", "learn", "shared"});
    c.threshold_init = th.get_double("init", 0.0);
    c.threshold_learn = th.get_bool("learn", true);
    c.threshold_shared = th.get_bool("shared", false);
    if (c.mode == ThresholdMode::two_sided && c.threshold_init < 0)
      th["init"].fail("a two_sided threshold must be >= 0");
  }
  c.init = WeightInit::parse(node["init"]);
  c.recompute = node.get_bool("recompute", false);
  return c;
}

void SparseCodeConfig::to_yaml(YAML::Node& node) const {
  node["out"] = out;
  node["kernel"] = kernel;
  node["stride"] = stride;
  node["pad"] = pad;
  node["iters"] = iters;
  node["algorithm"] = algorithm == PursuitAlgorithm::fista ? "fista" : "ista";
  node["mode"] = mode == ThresholdMode::nonneg ? "nonneg" : "two_sided";
  if (step_auto) {
    node["step"] = "auto";
  } else {
    node["step"]["init"] = step_init;
    node["step"]["learn"] = step_learn;
  }
  node["threshold"]["init"] = threshold_init;
  node["threshold"]["learn"] = threshold_learn;
  node["threshold"]["shared"] = threshold_shared;
  YAML::Node init_node;
  init.to_yaml(init_node);
  node["init"] = init_node;
  node["recompute"] = recompute;
}

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

void SparseCodeLayer::register_params(ParamArena& arena, const std::string& node) {
  arena_ = &arena;
  ParamSpec w{node + ".weight", Shape{config_.out, in_shape_[0], config_.kernel, config_.kernel}};
  weight_ = arena.add(w);
  ParamSpec th{node + ".threshold", Shape{config_.threshold_shared ? 1 : config_.out}};
  th.kind = "thresholds";
  th.decay_mult = 0.0f;  // thresholds are biases: no weight decay
  th.trainable = config_.threshold_learn;
  if (config_.mode == ThresholdMode::two_sided) th.clamp_min = 0.0f;
  threshold_ = arena.add(th);
  ParamSpec step{node + ".step", Shape{1}};
  step.kind = "steps";
  step.decay_mult = 0.0f;
  step.trainable = config_.step_learn && !config_.step_auto;
  step.clamp_min = 0.0f;  // η > 0 keeps the pursuit a descent
  step_ = arena.add(step);
  if (config_.step_auto) {
    // The power iteration's vector is state of the run: kept in the checkpoint so that a resumed run
    // estimates ‖D‖² exactly as the uninterrupted one would.
    ParamSpec v{node + ".power_vector", Shape{1, out_shape_[0], out_shape_[1], out_shape_[2]}};
    v.kind = "state";
    v.trainable = false;
    power_ = arena.add(v);
  }
}

void SparseCodeLayer::init_params(Context& ctx, uint64_t seed) {
  config_.init.fill(ctx, param(weight_), seed);
  fill(ctx, param(threshold_), static_cast<float>(config_.threshold_init));
  double eta = config_.step_init;
  if (config_.step_auto) {
    // Start from η = 1/‖D‖² of the initial dictionary, so evaluation before any training step is stable too.
    fill_normal(ctx, param(power_), 0.0f, 1.0f, RngKey{seed, RngPurpose::init, 1ull << 40});
    SparseCodeState scratch;
    const double lipschitz = estimate_lipschitz(ctx, scratch, 50);
    if (lipschitz > 0) {
      const Tensor w = param(weight_);
      scale(ctx, w, static_cast<float>(1.0 / std::sqrt(lipschitz)), w);
    }
    eta = 1.0;
  }
  set_step(ctx, eta);
}

void SparseCodeLayer::set_step(Context& ctx, double eta) {
  const Tensor step = param(step_);
  if (step.dtype() == DType::f64 && step.device().is_cpu()) {
    step.data<double>()[0] = eta;  // full precision for f64 gradient checks
  } else {
    fill(ctx, step, static_cast<float>(eta));
  }
}

int64_t SparseCodeLayer::flops() const {
  // One convolution: Ho·Wo·Co·Ci·k² multiply-adds. b costs one, every step two (D then Dᵀ).
  const double conv = static_cast<double>(out_shape_[1] * out_shape_[2] * config_.out) *
                      static_cast<double>(in_shape_[0] * config_.kernel * config_.kernel);
  return saturated_count(2 * conv * (1 + 2 * static_cast<double>(config_.iters)));
}

int64_t SparseCodeLayer::forward_bytes(const Shapes& inputs, const Shape& output) const {
  // b = Dᵀx: x in, b out. γ₀: b in, γ₀ out. Each step: D z (z in, u out), Dᵀu (u in, G out), the fused
  // update (z, b, G in, γ out), and from the second FISTA step the extrapolation (two in, one out).
  const int64_t in = inputs.at(0).numel(), code = output.numel(), k = config_.iters;
  const int64_t extrapolations = config_.algorithm == PursuitAlgorithm::fista ? std::max<int64_t>(k - 1, 0) : 0;
  return 4 * (in + 3 * code + k * (2 * in + 6 * code) + 3 * code * extrapolations);
}

std::string SparseCodeLayer::describe() const {
  std::ostringstream os;
  const bool fista = config_.algorithm == PursuitAlgorithm::fista;
  os << "K=" << config_.iters << (config_.iters ? (fista ? " fista" : " ista") : "")
     << (config_.mode == ThresholdMode::nonneg ? " nonneg" : " two_sided") << (config_.step_auto ? " step=auto" : "")
     << (config_.stride > 1 ? " s" + std::to_string(config_.stride) : "");
  return os.str();
}

Dictionary SparseCodeLayer::dictionary() const {
  Dictionary d;
  d.weight = param(weight_);
  d.threshold = param(threshold_);
  d.step = param(step_);
  d.geometry = conv_params();
  d.mode = config_.mode;
  return d;
}

void SparseCodeLayer::prepare_power_iteration(Context& ctx, SparseCodeState& s, int& iterations) {
  const Device dev = ctx.device();
  const Shape code{1, out_shape_[0], out_shape_[1], out_shape_[2]};
  const DType dt = arena_->values().dtype();
  PowerIteration& p = s.power;
  ensure_tensor(p.image, Shape{1, in_shape_[0], in_shape_[1], in_shape_[2]}, dt, dev);
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
  scn::power_iterate(ctx, dictionary(), s.power, iterations, step);
}

double SparseCodeLayer::estimate_lipschitz(Context& ctx, SparseCodeState& s, int iterations) {
  power_iterate(ctx, s, iterations, Tensor());
  const double lipschitz = s.power.lipschitz.item();
  SCN_CHECK(std::isfinite(lipschitz), "sparse_code: the dictionary holds NaN or Inf");
  return lipschitz;
}

void SparseCodeLayer::forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode mode,
                              LayerState& state) {
  auto& s = static_cast<SparseCodeState&>(state);
  if (config_.step_auto && is_training(mode)) {
    // η = 1/L with L = ‖D‖² for the current weights, written on the device. One warm-started iteration per
    // step tracks the slowly moving weights; backward adds ∂η/∂W (sparse_code_backward.cpp).
    power_iterate(ctx, s, 1, param(step_));
  }
  // Backward needs every iterate unless it recomputes them (recompute: true) or there is no backward.
  pursuit_.forward(ctx, dictionary(), inputs.at(0), output, s.tape, is_training(mode) && !config_.recompute);
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
  const int64_t k = config_.recompute ? 1 : config_.iters;
  return (3 * k + 6) * out + (k + 1) * in;
}

}  // namespace scn
