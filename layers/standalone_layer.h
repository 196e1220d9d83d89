#pragma once
// One layer outside a net: built from its YAML node for given input shapes, with its parameters in an arena of
// their own. The layer conformance harness (tests/layers) and PyTorch's compiled ops (python/ops) run layers
// this way; a net (models/net.h) builds its nodes the same way but shares one arena among them.
#include <memory>
#include <string>

#include "core/param_arena.h"
#include "layers/layer.h"

namespace scn {

class StandaloneLayer {
 public:
  // `yaml`: the layer's node ("{type: sparse_code, out: 8, iters: 2}"); errors name `source` and the key.
  // Parameters are registered as "<node>.<param>" and allocated (zero) on `device` in `dtype`; nothing is
  // initialised (init_params does that).
  StandaloneLayer(const std::string& yaml, const Shapes& inputs, DType dtype, Device device,
                  const std::string& source = "layer", const std::string& node = "node");

  Layer& layer() const { return *layer_; }
  ParamArena& arena() { return arena_; }
  const ParamArena& arena() const { return arena_; }
  const Shapes& input_shapes() const { return inputs_; }
  const Shape& output_shape() const { return output_; }
  const std::string& node() const { return node_; }
  // The parameter's name without "<node>." ("weight", "power_vector").
  std::string param_name(int index) const;
  // The layer's node with every default filled in (Layer::to_yaml), as YAML text.
  std::string resolved_yaml() const;

 private:
  std::unique_ptr<Layer> layer_;
  ParamArena arena_;
  Shapes inputs_;
  Shape output_;
  std::string node_;
};

}  // namespace scn
