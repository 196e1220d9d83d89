// type: linear — y = x·Wᵀ + b over the flattened input; W is [out, in] as PyTorch's Linear stores it.
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "layers/registry.h"
#include "layers/weight_init.h"

namespace scn {

namespace {

class LinearLayer : public Layer {
 public:
  explicit LinearLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({"out", "bias", "init"}));
    out_ = node.require("out").as_positive_int(kMaxChannels);
    bias_on_ = node.get_bool("bias", true);
    init_ = WeightInit::parse(node["init"], "uniform");
  }
  std::string type() const override { return "linear"; }
  Shape output_shape(const Shapes& in) override {
    in_ = in.at(0).numel();
    return Shape{out_};
  }
  void register_params(ParamArena& arena, const std::string& node) override {
    arena_ = &arena;
    weight_ = arena.add({node + ".weight", Shape{out_, in_}});
    if (bias_on_) {
      ParamSpec b{node + ".bias", Shape{out_}};
      b.decay_mult = 1.0f;  // PyTorch's SGD decays every parameter it is given; SCN's recipe counts on it
      bias_ = arena.add(b);
    }
  }
  void init_params(Context& ctx, uint64_t seed) override {
    init_.fill(ctx, param(weight_), seed);
    if (bias_ >= 0) fill(ctx, param(bias_), 0.0f);
  }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState&) override {
    linear_forward(ctx, out, flat(in[0]), param(weight_), bias_ >= 0 ? param(bias_) : Tensor());
  }
  void backward(Context& ctx, const Tensors& in, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState&) override {
    const Tensor dx = (!gin.empty() && gin[0].defined()) ? flat(gin[0]) : Tensor();
    linear_backward(ctx, dx, grad(weight_), bias_ >= 0 ? grad(bias_) : Tensor(), gout, flat(in[0]), param(weight_),
                    true);
  }
  int64_t flops() const override { return saturated_count(2.0 * static_cast<double>(in_) * static_cast<double>(out_)); }
  void to_yaml(YAML::Node& n) const override {
    n["out"] = out_;
    n["bias"] = bias_on_;
    YAML::Node init;
    init_.to_yaml(init);
    n["init"] = init;
  }

 private:
  Tensor flat(const Tensor& t) const { return t.view({t.size(0), in_}); }
  int64_t out_ = 0, in_ = 0;
  bool bias_on_ = true;
  WeightInit init_;
  int weight_ = -1, bias_ = -1;
};

}  // namespace

void register_linear_layer(LayerRegistry& registry) {
  registry.add("linear", [](const ConfigNode& node) { return std::make_unique<LinearLayer>(node); });
}

}  // namespace scn
