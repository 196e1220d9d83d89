// type: relu — max(x, 0), the nonneg soft threshold at θ = 0.
// type: dropout — inverted dropout in training, identity in evaluation.
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/soft_threshold.h"
#include "layers/registry.h"

namespace scn {

namespace {

struct ReluState : LayerState {
  Tensor zero;  // θ = 0, one shared element on the layer's device
};

class ReluLayer : public Layer {
 public:
  explicit ReluLayer(const ConfigNode& node) { node.allow_keys(layer_keys({})); }
  std::string type() const override { return "relu"; }
  Shape output_shape(const Shapes& in) override {
    SCN_CHECK(in.at(0).rank() >= 1, "relu needs a non-scalar input");
    return in[0];
  }
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<ReluState>(); }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState& state) override {
    soft_threshold_forward(ctx, out, as_channels(in[0]), zero(ctx, state, in[0]), ThresholdMode::nonneg);
  }
  void backward(Context& ctx, const Tensors& in, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState& state) override {
    if (gin.empty() || !gin[0].defined()) return;
    soft_threshold_backward(ctx, as_channels(gin[0]), Tensor(), as_channels(gout), as_channels(in[0]),
                            zero(ctx, state, in[0]), ThresholdMode::nonneg, false);
  }

 private:
  // The threshold ops want (N, C, ...): view (N, F) tensors as they are, anything else as (N, 1, rest).
  static Tensor as_channels(const Tensor& t) {
    return t.rank() >= 2 ? t : t.view({t.size(0), 1});
  }
  static const Tensor& zero(Context& ctx, LayerState& state, const Tensor& like) {
    auto& s = static_cast<ReluState&>(state);
    if (!s.zero.defined() || s.zero.device() != like.device() || s.zero.dtype() != like.dtype()) {
      s.zero = Tensor::empty({1}, like.dtype(), like.device());
      fill(ctx, s.zero, 0.0f);
    }
    return s.zero;
  }
};

struct DropoutState : LayerState {
  Tensor mask;
  uint64_t calls = 0;  // training forwards so far: each draws a fresh mask
};

class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({"p"}));
    p_ = node.get_double("p", 0.5);
    if (p_ < 0 || p_ >= 1) node["p"].fail("expected a probability in [0, 1)");
  }
  std::string type() const override { return "dropout"; }
  std::string graph_capture_refusal() const override {
    return "is a dropout layer, whose masks change every step; a captured step would repeat one mask";
  }
  Shape output_shape(const Shapes& in) override { return in.at(0); }
  void init_params(Context&, uint64_t seed) override { seed_ = seed; }
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<DropoutState>(); }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode mode, LayerState& state) override {
    auto& s = static_cast<DropoutState&>(state);
    if (!is_training(mode) || p_ == 0) {
      out.copy_from(in[0]);
      s.mask = Tensor();
      return;
    }
    ensure_tensor(s.mask, in[0].shape(), in[0].dtype(), in[0].device());
    const RngKey key{seed_, RngPurpose::dropout, s.calls++ * static_cast<uint64_t>(in[0].numel())};
    dropout_forward(ctx, out, s.mask, in[0], static_cast<float>(p_), key);
  }
  void backward(Context& ctx, const Tensors&, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState& state) override {
    if (gin.empty() || !gin[0].defined()) return;
    auto& s = static_cast<DropoutState&>(state);
    if (s.mask.defined()) {
      dropout_backward(ctx, gin[0], gout, s.mask);
    } else {
      gin[0].copy_from(gout);
    }
  }
  std::string describe() const override { return "p=" + std::to_string(p_).substr(0, 4); }
  void to_yaml(YAML::Node& n) const override { n["p"] = p_; }

 private:
  double p_ = 0.5;
  uint64_t seed_ = 0;
};

}  // namespace

void register_activation_layers(LayerRegistry& registry) {
  registry.add("relu", [](const ConfigNode& node) { return std::make_unique<ReluLayer>(node); });
  registry.add("dropout", [](const ConfigNode& node) { return std::make_unique<DropoutLayer>(node); });
}

}  // namespace scn
