#pragma once
// type: ml_pursuit — a joint pursuit of the multi-layer convolutional sparse model over several dictionaries
// as one block (multi_layer_pursuit.h holds the maths):
//   algorithm: ml_ista | ml_fista | ml_lista | lbp,  iters: T sweeps (0: the CNN, layered thresholding)
//   layers:    one {out, kernel, stride, pad} per dictionary, shallowest first; the output is the deepest code
//   tied:      false gives every sweep its own dictionaries, thresholds and steps (All-Free, LISTA-style)
//   back_project: false skips zᵢ = Bᵢ₊₁zᵢ₊₁ (the All-Free model of the ML-ISTA code has none)
// Parameters per dictionary (and per sweep when untied): weight Aᵢ, threshold θᵢ per channel (the ReLU's
// bias is −θᵢ), step ηᵢ (the anchor's cᵢ), and for ML-LISTA the encoder Bᵢ.
#include <vector>

#include "layers/layer.h"
#include "layers/multi_layer_pursuit.h"
#include "layers/weight_init.h"

namespace scn {

struct MlPursuitConfig {
  struct Dict {
    int64_t out = 0;
    int kernel = 3, stride = 1, pad = 1;
  };
  MultiLayerAlgorithm algorithm = MultiLayerAlgorithm::ml_ista;
  std::vector<Dict> layers;
  int iters = 0;
  bool tied = true;
  bool back_project = true;
  ThresholdMode mode = ThresholdMode::nonneg;
  double step_init = 1.0;
  bool step_learn = true;  // ML-LISTA and untied sweeps: false (η = 1, as their anchors)
  double threshold_init = 0.0;
  bool threshold_learn = true;
  WeightInit init;

  static MlPursuitConfig parse(const ConfigNode& node);
  void to_yaml(YAML::Node& node) const;
  bool has_encoder() const { return algorithm == MultiLayerAlgorithm::ml_lista; }
  int sweeps_of_parameters() const { return tied ? 1 : iters + 1; }
};

struct MlPursuitState : LayerState {
  MultiLayerTape tape;
  std::vector<Shape> code_shapes;  // with the batch dimension of the last forward
};

class MlPursuitLayer : public Layer {
 public:
  explicit MlPursuitLayer(MlPursuitConfig config);
  std::string type() const override { return "ml_pursuit"; }
  Shape output_shape(const Shapes& inputs) override;
  void register_params(ParamArena& arena, const std::string& node) override;
  void init_params(Context& ctx, uint64_t seed) override;
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<MlPursuitState>(); }
  void forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode mode, LayerState& state) override;
  void backward(Context& ctx, const Tensors& inputs, const Tensor& output, const Tensor& grad_output,
                const Tensors& grad_inputs, LayerState& state) override;
  int64_t flops() const override;
  int64_t forward_bytes(const Shapes& inputs, const Shape& output) const override;
  int64_t saved_elements(const Shapes& inputs, const Shape& output) const override;
  std::string describe() const override;
  void to_yaml(YAML::Node& node) const override { config_.to_yaml(node); }

  // Each dictionary as the analysis reads it: the last sweep's (which made the final codes), codes from the state.
  std::vector<DictionaryInfo> dictionary_infos() const override;
  Tensor code_of(const LayerState& state, int part) const override { return codes(state).at(static_cast<size_t>(part)); }

  const MlPursuitConfig& config() const { return config_; }
  // Every layer's code after the last forward with `state`, shallowest first (views).
  std::vector<Tensor> codes(const LayerState& state) const;

 private:
  // Arena indices of one dictionary's parameters at one sweep.
  struct DictParams {
    int weight = -1, encoder = -1, threshold = -1, step = -1;
  };
  const DictParams& params_of(int sweep, size_t layer) const {
    return params_[static_cast<size_t>(sweep) * config_.layers.size() + layer];
  }
  MultiLayerDictionaries dictionaries() const;
  MultiLayerGrads dictionary_grads() const;
  // Multiply-adds ×2 of one convolution by dictionary i for one image.
  double conv_flops(size_t i) const;

  MlPursuitConfig config_;
  MultiLayerPursuit pursuit_;
  std::vector<Shape> shapes_;  // [C, H, W] of x, γ₁, …, γ_L
  std::vector<DictParams> params_;  // [sweep × layer]
};

}  // namespace scn
