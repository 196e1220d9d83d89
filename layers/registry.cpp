#include "layers/registry.h"

#include <mutex>

namespace scn {

// Each built-in layer file defines its registration function.
void register_sparse_code_layer(LayerRegistry& registry);
void register_ml_pursuit_layer(LayerRegistry& registry);
void register_basic_layers(LayerRegistry& registry);  // conv, relu, batch_norm, pool, global_avg_pool, linear,
                                                      // dropout, add

LayerRegistry& LayerRegistry::instance() {
  static LayerRegistry registry;
  return registry;
}

void LayerRegistry::add(const std::string& type, LayerFactory factory) { factories_[type] = std::move(factory); }

std::unique_ptr<Layer> LayerRegistry::create(const std::string& type, const ConfigNode& node) const {
  auto it = factories_.find(type);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& kv : factories_) known += (known.empty() ? "" : ", ") + kv.first;
    node["type"].fail("unknown layer type '" + type + "' (known: " + known + ")");
  }
  return it->second(node);
}

std::vector<std::string> LayerRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& kv : factories_) out.push_back(kv.first);
  return out;
}

void register_builtin_layers() {
  static std::once_flag once;
  std::call_once(once, [] {
    LayerRegistry& r = LayerRegistry::instance();
    register_sparse_code_layer(r);
    register_ml_pursuit_layer(r);
    register_basic_layers(r);
  });
}

std::vector<std::string> layer_keys(std::initializer_list<const char*> own) {
  std::vector<std::string> keys = common_layer_keys();
  for (const char* k : own) keys.emplace_back(k);
  return keys;
}

}  // namespace scn
