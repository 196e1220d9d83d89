#pragma once
// Layers by their YAML `type`. Filled explicitly by register_builtin_layers() (no static initialisers).
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "layers/layer.h"

namespace scn {

// Builds a layer from its config node (already checked to be a map); the factory parses and validates its
// own keys (`type`, `name` and `inputs` are the net's and are allowed everywhere).
using LayerFactory = std::function<std::unique_ptr<Layer>(const ConfigNode& node)>;

class LayerRegistry {
 public:
  static LayerRegistry& instance();
  void add(const std::string& type, LayerFactory factory);
  bool has(const std::string& type) const { return factories_.count(type) > 0; }
  std::unique_ptr<Layer> create(const std::string& type, const ConfigNode& node) const;
  std::vector<std::string> types() const;

 private:
  std::map<std::string, LayerFactory> factories_;
};

// Registers every built-in layer once; safe to call many times.
void register_builtin_layers();

// The keys every layer node may carry besides its own.
inline const std::vector<std::string>& common_layer_keys() {
  static const std::vector<std::string> keys{"type", "name", "inputs"};
  return keys;
}
// common_layer_keys() + `own`.
std::vector<std::string> layer_keys(std::initializer_list<const char*> own);

}  // namespace scn
