// type: conv — a convolution with optional bias: y = conv2d(x, W) + b.
#include "kernels/channel_affine.h"
#include "kernels/conv2d.h"
#include "kernels/elementwise.h"
#include "layers/coherence_regularizer.h"
#include "layers/registry.h"
#include "layers/weight_init.h"

namespace scn {

namespace {

struct ConvConfig {
  int64_t out = 0;
  int kernel = 3, stride = 1, pad = 1;
  bool bias = true;
  WeightInit init;
  CoherenceRegularizer regularizer;
};

class ConvLayer : public Layer {
 public:
  explicit ConvLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({"out", "kernel", "stride", "pad", "bias", "init", "regularizer"}));
    c_.out = node.require("out").as_positive_int(kMaxChannels);
    c_.kernel = static_cast<int>(node.get_positive_int("kernel", 3, kMaxKernel));
    c_.stride = static_cast<int>(node.get_positive_int("stride", 1, kMaxKernel));
    c_.pad = static_cast<int>(node.get_nonneg_int("pad", c_.kernel / 2, kMaxKernel));
    c_.bias = node.get_bool("bias", true);
    c_.init = WeightInit::parse(node["init"], "kaiming");
    c_.regularizer = CoherenceRegularizer::parse(node);
  }
  std::string type() const override { return "conv"; }
  Shape output_shape(const Shapes& in) override {
    SCN_CHECK(in.at(0).rank() == 3, "conv expects a [C, H, W] input, got ", in.at(0).str());
    in_ = in[0];
    const ConvParams p{c_.stride, c_.pad};
    out_ = Shape{c_.out, conv2d_output_size(in_[1], c_.kernel, p), conv2d_output_size(in_[2], c_.kernel, p)};
    SCN_CHECK(out_[1] > 0 && out_[2] > 0, "conv: kernel ", c_.kernel, " does not fit the ", in_.str(), " input");
    return out_;
  }
  void register_params(ParamArena& arena, const std::string& node) override {
    arena_ = &arena;
    weight_ = arena.add({node + ".weight", Shape{c_.out, in_[0], c_.kernel, c_.kernel}});
    if (c_.bias) {
      ParamSpec b{node + ".bias", Shape{c_.out}};
      b.decay_mult = 0.0f;
      bias_ = arena.add(b);
    }
  }
  void init_params(Context& ctx, uint64_t seed) override {
    c_.init.fill(ctx, param(weight_), seed);
    if (bias_ >= 0) fill(ctx, param(bias_), 0.0f);
  }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState&) override {
    conv2d_forward(ctx, out, in[0], param(weight_), {c_.stride, c_.pad});
    if (bias_ >= 0) channel_affine_forward(ctx, out, out, Tensor(), param(bias_));
  }
  void backward(Context& ctx, const Tensors& in, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState&) override {
    const ConvParams p{c_.stride, c_.pad};
    if (bias_ >= 0) channel_affine_backward(ctx, Tensor(), Tensor(), grad(bias_), gout, in[0], Tensor(), true);
    conv2d_backward_weights(ctx, grad(weight_), in[0], gout, p, 1.0f);
    if (!gin.empty() && gin[0].defined()) conv2d_backward_data(ctx, gin[0], gout, param(weight_), p);
  }
  int64_t flops() const override {
    return saturated_count(2.0 * static_cast<double>(out_[1] * out_[2] * c_.out) *
                           static_cast<double>(in_[0] * c_.kernel * c_.kernel));
  }
  std::string describe() const override { return c_.stride > 1 ? "s" + std::to_string(c_.stride) : ""; }
  void to_yaml(YAML::Node& n) const override {
    n["out"] = c_.out;
    n["kernel"] = c_.kernel;
    n["stride"] = c_.stride;
    n["pad"] = c_.pad;
    n["bias"] = c_.bias;
    YAML::Node init;
    c_.init.to_yaml(init);
    n["init"] = init;
    c_.regularizer.to_yaml(n);
  }
  std::optional<DictionaryInfo> dictionary_info() const override {
    return DictionaryInfo{weight_, c_.stride, c_.pad, false, 0, -1, ""};
  }
  void add_regularizer_gradient(Context& ctx) override { c_.regularizer.add_gradient(ctx, grad(weight_), param(weight_)); }
  double regularizer_value(Context& ctx) const override { return c_.regularizer.value(ctx, param(weight_)); }

 private:
  ConvConfig c_;
  Shape in_, out_;
  int weight_ = -1, bias_ = -1;
};

}  // namespace

void register_conv_layer(LayerRegistry& registry) {
  registry.add("conv", [](const ConfigNode& node) { return std::make_unique<ConvLayer>(node); });
}

}  // namespace scn
