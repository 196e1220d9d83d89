// type: add — the sum of its `inputs:` (residual connections).
#include "kernels/elementwise.h"
#include "layers/registry.h"

namespace scn {

namespace {

class AddLayer : public Layer {
 public:
  explicit AddLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({}));
    if (!node["inputs"].defined()) node.fail("add needs `inputs:` naming at least two nodes");
  }
  std::string type() const override { return "add"; }
  int arity() const override { return -2; }  // two or more
  Shape output_shape(const Shapes& in) override {
    for (const Shape& s : in) SCN_CHECK(s == in[0], "add: input shapes differ (", in[0].str(), " and ", s.str(), ")");
    return in[0];
  }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode, LayerState&) override {
    add(ctx, out, in[0], in[1]);
    for (size_t k = 2; k < in.size(); ++k) axpy(ctx, out, 1.0f, in[k]);
  }
  void backward(Context&, const Tensors&, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState&) override {
    for (const Tensor& g : gin)
      if (g.defined()) g.copy_from(gout);
  }
};

}  // namespace

void register_add_layer(LayerRegistry& registry) {
  registry.add("add", [](const ConfigNode& node) { return std::make_unique<AddLayer>(node); });
}

}  // namespace scn
