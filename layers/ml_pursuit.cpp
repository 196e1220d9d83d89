#include "layers/ml_pursuit.h"

#include <sstream>

#include "kernels/elementwise.h"
#include "layers/pursuit_params.h"
#include "layers/registry.h"

namespace scn {

MlPursuitLayer::MlPursuitLayer(MlPursuitConfig config)
    : config_(std::move(config)), pursuit_(config_.algorithm, config_.iters, config_.back_project) {}

Shape MlPursuitLayer::output_shape(const Shapes& inputs) {
  const Shape& in = inputs.at(0);
  SCN_CHECK(in.rank() == 3, "ml_pursuit expects a [C, H, W] input, got ", in.str());
  shapes_ = {in};
  for (size_t i = 0; i < config_.layers.size(); ++i) {
    const MlPursuitConfig::Dict& d = config_.layers[i];
    const Shape& prev = shapes_.back();
    const ConvParams p{d.stride, d.pad};
    const int64_t h = conv2d_output_size(prev[1], d.kernel, p), w = conv2d_output_size(prev[2], d.kernel, p);
    SCN_CHECK(h > 0 && w > 0, "ml_pursuit: dictionary ", i + 1, " (kernel ", d.kernel, ", stride ", d.stride, ", pad ",
              d.pad, ") does not fit its ", prev.str(), " input");
    shapes_.push_back(Shape{d.out, h, w});
  }
  return shapes_.back();
}

void MlPursuitLayer::register_params(ParamArena& arena, const std::string& node) {
  arena_ = &arena;
  params_.clear();
  const size_t L = config_.layers.size();
  for (int u = 0; u < config_.sweeps_of_parameters(); ++u) {
    for (size_t i = 0; i < L; ++i) {
      const MlPursuitConfig::Dict& d = config_.layers[i];
      std::string prefix = node + ".layer" + std::to_string(i + 1);
      if (!config_.tied) prefix += ".sweep" + std::to_string(u);
      const Shape w{d.out, shapes_[i][0], d.kernel, d.kernel};
      DictParams p;
      p.weight = arena.add({prefix + ".weight", w});
      if (config_.has_encoder()) p.encoder = arena.add({prefix + ".encoder", w});
      p.threshold = arena.add(threshold_spec(prefix + ".threshold", d.out, config_.threshold_learn,
                                             config_.mode == ThresholdMode::two_sided));
      // The anchor's step cᵢ is unconstrained: no projection.
      p.step = arena.add(step_spec(prefix + ".step", config_.step_learn, false));
      params_.push_back(p);
    }
  }
}

void MlPursuitLayer::init_params(Context& ctx, uint64_t seed) {
  // Distinct streams per parameter, derived from the node's seed.
  uint64_t stream = 0;
  auto next_seed = [&] { return seed + 0x9E3779B97F4A7C15ull * ++stream; };
  for (const DictParams& p : params_) {
    config_.init.fill(ctx, param(p.weight), next_seed());
    if (p.encoder >= 0) config_.init.fill(ctx, param(p.encoder), next_seed());
    fill(ctx, param(p.threshold), static_cast<float>(config_.threshold_init));
    set_scalar(ctx, param(p.step), config_.step_init);
  }
}

MultiLayerDictionaries MlPursuitLayer::dictionaries() const {
  const size_t L = config_.layers.size();
  MultiLayerDictionaries ds(static_cast<size_t>(config_.sweeps_of_parameters()), std::vector<LayerDictionaries>(L));
  for (size_t u = 0; u < ds.size(); ++u) {
    for (size_t i = 0; i < L; ++i) {
      const DictParams& p = params_of(static_cast<int>(u), i);
      const MlPursuitConfig::Dict& c = config_.layers[i];
      Dictionary& code = ds[u][i].code;
      code.weight = param(p.weight);
      code.threshold = param(p.threshold);
      code.step = param(p.step);
      code.geometry = ConvParams{c.stride, c.pad};
      code.mode = config_.mode;
      ds[u][i].input = code;
      if (p.encoder >= 0) ds[u][i].input.weight = param(p.encoder);
    }
  }
  return ds;
}

MultiLayerGrads MlPursuitLayer::dictionary_grads() const {
  const size_t L = config_.layers.size();
  MultiLayerGrads gs(static_cast<size_t>(config_.sweeps_of_parameters()), std::vector<LayerDictionaryGrads>(L));
  for (size_t u = 0; u < gs.size(); ++u) {
    for (size_t i = 0; i < L; ++i) {
      const DictParams& p = params_of(static_cast<int>(u), i);
      DictionaryGrads& code = gs[u][i].code;
      code.weight = grad(p.weight);
      if (config_.threshold_learn) code.threshold = grad(p.threshold);
      if (config_.step_learn) code.step = grad(p.step);
      gs[u][i].input.weight = p.encoder >= 0 ? grad(p.encoder) : grad(p.weight);
    }
  }
  return gs;
}

void MlPursuitLayer::forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode, LayerState& state) {
  auto& s = static_cast<MlPursuitState&>(state);
  const int64_t n = inputs.at(0).size(0);
  s.code_shapes.clear();
  for (size_t i = 1; i < shapes_.size(); ++i) {
    const Shape& c = shapes_[i];
    s.code_shapes.push_back(Shape{n, c[0], c[1], c[2]});
  }
  pursuit_.forward(ctx, dictionaries(), inputs.at(0), s.code_shapes, output, s.tape);
}

void MlPursuitLayer::backward(Context& ctx, const Tensors& inputs, const Tensor&, const Tensor& grad_output,
                              const Tensors& grad_inputs, LayerState& state) {
  auto& s = static_cast<MlPursuitState&>(state);
  const Tensor dx = grad_inputs.empty() ? Tensor() : grad_inputs[0];
  pursuit_.backward(ctx, dictionaries(), dictionary_grads(), inputs.at(0), grad_output, dx, s.tape);
}

std::vector<Tensor> MlPursuitLayer::codes(const LayerState& state) const {
  return pursuit_.final_codes(static_cast<const MlPursuitState&>(state).tape);
}

std::vector<DictionaryInfo> MlPursuitLayer::dictionary_infos() const {
  std::vector<DictionaryInfo> out;
  const int last = config_.sweeps_of_parameters() - 1;
  for (size_t i = 0; i < config_.layers.size(); ++i) {
    DictionaryInfo d;
    d.weight = params_of(last, i).weight;
    d.stride = config_.layers[i].stride;
    d.pad = config_.layers[i].pad;
    d.iters = config_.iters;
    d.part = static_cast<int>(i);
    d.label = "layer" + std::to_string(i + 1);
    out.push_back(d);
  }
  return out;
}

double MlPursuitLayer::conv_flops(size_t i) const {
  const MlPursuitConfig::Dict& d = config_.layers[i];
  const Shape& out = shapes_[i + 1];
  return 2.0 * static_cast<double>(out[1] * out[2] * d.out) * static_cast<double>(shapes_[i][0] * d.kernel * d.kernel);
}

int64_t MlPursuitLayer::flops() const {
  // First codes: one correlation per dictionary. Every sweep: Bᵢᵀγᵢ₋₁ and AᵢᵀAᵢzᵢ (three convolutions per
  // dictionary; tied, B₁ᵀx is computed once), and the back-projections into the L − 1 shallower layers (LBP: none).
  const size_t L = config_.layers.size();
  const bool back = config_.back_project && config_.algorithm != MultiLayerAlgorithm::lbp;
  double first = 0, sweep = 0;
  for (size_t i = 0; i < L; ++i) {
    first += conv_flops(i);
    sweep += (i == 0 && config_.tied ? 2 : 3) * conv_flops(i) + (back && i > 0 ? conv_flops(i) : 0);
  }
  // LBP's layers correlate their input once: two convolutions per step.
  if (config_.algorithm == MultiLayerAlgorithm::lbp && config_.tied) sweep = 2 * first;
  return saturated_count(first + sweep * config_.iters);
}

int64_t MlPursuitLayer::forward_bytes(const Shapes& inputs, const Shape& output) const {
  (void)output;
  // Each convolution reads its input and writes its output once; each thresholded step reads z, b, G and
  // writes γ. Per sweep and dictionary: b (in, code), S z (code, in), Dᵀ(S z) (in, code), the step (4 codes),
  // the back-projection (code, in).
  int64_t elements = inputs.at(0).numel();
  for (size_t i = 0; i < config_.layers.size(); ++i) {
    const int64_t in = shapes_[i].numel(), code = shapes_[i + 1].numel();
    elements += 2 * (in + code) + config_.iters * (3 * (in + code) + 4 * code + (i > 0 ? in + code : 0));
  }
  return 4 * elements;
}

int64_t MlPursuitLayer::saved_elements(const Shapes& inputs, const Shape& output) const {
  (void)inputs, (void)output;
  // Per sweep and dictionary: γ, b, z, G (codes) and S z (an input); backward's scratch about three codes.
  int64_t elements = 0;
  for (size_t i = 0; i < config_.layers.size(); ++i)
    elements += (config_.iters + 1) * (4 * shapes_[i + 1].numel() + shapes_[i].numel()) + 3 * shapes_[i + 1].numel();
  return elements;
}

std::string MlPursuitLayer::describe() const {
  static const char* names[] = {"ml_ista", "ml_fista", "ml_lista", "lbp"};
  std::ostringstream os;
  os << "T=" << config_.iters << " " << names[static_cast<int>(config_.algorithm)] << " L=" << config_.layers.size()
     << (config_.tied ? "" : " untied") << (config_.back_project ? "" : " no-back-projection")
     << (config_.mode == ThresholdMode::nonneg ? " nonneg" : " two_sided");
  return os.str();
}

void register_ml_pursuit_layer(LayerRegistry& registry) {
  registry.add("ml_pursuit", [](const ConfigNode& node) {
    return std::make_unique<MlPursuitLayer>(MlPursuitConfig::parse(node));
  });
}

}  // namespace scn
