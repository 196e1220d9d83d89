// type: pool — max or average pooling (kernel, stride, pad); type: global_avg_pool — (C, H, W) → (C).
#include "kernels/global_avg_pool.h"
#include "kernels/pool2d.h"
#include "layers/registry.h"

namespace scn {

namespace {

struct MaxPoolState : LayerState {
  Tensor indices;  // i32 argmax per output element
};

class PoolLayer : public Layer {
 public:
  explicit PoolLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({"mode", "kernel", "stride", "pad"}));
    max_ = node.get_enum("mode", "max", {"max", "avg"}) == "max";
    p_.kernel = static_cast<int>(node.get_positive_int("kernel", 2, kMaxKernel));
    p_.stride = static_cast<int>(node.get_positive_int("stride", p_.kernel, kMaxKernel));
    p_.pad = static_cast<int>(node.get_nonneg_int("pad", 0, kMaxKernel));
  }
  std::string type() const override { return "pool"; }
  Shape output_shape(const Shapes& in) override {
    SCN_CHECK(in.at(0).rank() == 3, "pool expects a [C, H, W] input, got ", in.at(0).str());
    return Shape{in[0][0], pool2d_output_size("pool", in[0][1], p_), pool2d_output_size("pool", in[0][2], p_)};
  }
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<MaxPoolState>(); }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState& state) override {
    if (!max_) return avg_pool2d_forward(ctx, out, in[0], p_);
    auto& s = static_cast<MaxPoolState&>(state);
    ensure_tensor(s.indices, out.shape(), DType::i32, out.device());
    max_pool2d_forward(ctx, out, s.indices, in[0], p_);
  }
  void backward(Context& ctx, const Tensors&, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState& state) override {
    if (gin.empty() || !gin[0].defined()) return;
    if (!max_) return avg_pool2d_backward(ctx, gin[0], gout, p_);
    max_pool2d_backward(ctx, gin[0], gout, static_cast<MaxPoolState&>(state).indices, p_);
  }
  std::string describe() const override {
    return std::string(max_ ? "max " : "avg ") + std::to_string(p_.kernel) + "/" + std::to_string(p_.stride);
  }
  void to_yaml(YAML::Node& n) const override {
    n["mode"] = max_ ? "max" : "avg";
    n["kernel"] = p_.kernel;
    n["stride"] = p_.stride;
    n["pad"] = p_.pad;
  }

 private:
  bool max_ = true;
  Pool2d p_;
};

class GlobalAvgPoolLayer : public Layer {
 public:
  explicit GlobalAvgPoolLayer(const ConfigNode& node) { node.allow_keys(layer_keys({})); }
  std::string type() const override { return "global_avg_pool"; }
  Shape output_shape(const Shapes& in) override {
    SCN_CHECK(in.at(0).rank() == 3, "global_avg_pool expects a [C, H, W] input, got ", in.at(0).str());
    return Shape{in[0][0]};
  }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState&) override {
    global_avg_pool_forward(ctx, out, in[0]);
  }
  void backward(Context& ctx, const Tensors&, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState&) override {
    if (!gin.empty() && gin[0].defined()) global_avg_pool_backward(ctx, gin[0], gout);
  }
};

}  // namespace

void register_pool_layers(LayerRegistry& registry) {
  registry.add("pool", [](const ConfigNode& node) { return std::make_unique<PoolLayer>(node); });
  registry.add("global_avg_pool", [](const ConfigNode& node) { return std::make_unique<GlobalAvgPoolLayer>(node); });
}

}  // namespace scn
