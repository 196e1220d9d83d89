#include "layers/standalone_layer.h"

#include <string>

#include "core/config/config_node.h"
#include "layers/registry.h"

namespace scn {

StandaloneLayer::StandaloneLayer(const std::string& yaml, const Shapes& inputs, DType dtype, Device device,
                                 const std::string& source, const std::string& node)
    : inputs_(inputs), node_(node) {
  register_builtin_layers();
  // Under a key of its own so that errors read "<source>:1: layer.iters: ...".
  const ConfigNode root = ConfigNode::load_string("layer: " + yaml, source);
  const ConfigNode config = root["layer"];
  config.expect_map();
  layer_ = LayerRegistry::instance().create(config.require("type").as_string(), config);
  const int arity = layer_->arity();  // negative: at least -arity (add)
  const int given = static_cast<int>(inputs.size());
  SCN_CHECK(arity >= 0 ? given == arity : given >= -arity, source, ": a ", layer_->type(), " layer takes ",
            arity >= 0 ? std::to_string(arity) : "at least " + std::to_string(-arity), " input(s), given ", given);
  output_ = layer_->output_shape(inputs);
  layer_->register_params(arena_, node);
  arena_.allocate(device, dtype);
}

std::string StandaloneLayer::param_name(int index) const {
  const std::string& name = arena_.spec(index).name;
  return name.substr(node_.size() + 1);
}

std::string StandaloneLayer::resolved_yaml() const {
  YAML::Node node;
  node["type"] = layer_->type();
  layer_->to_yaml(node);
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace scn
