#pragma once
// Layers by their YAML `type`. Filled explicitly by register_builtin_layers() (no static initialisers).
#include <functional>
#include <limits>
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

// Bounds of the sizes a layer's config may ask for: far above any real net, low enough that shapes, FLOP
// counts and byte sizes stay well inside 64 bits (and inside `int` where the kernels take one).
inline constexpr int64_t kMaxChannels = 1 << 16;  // channels, classes, input sizes
inline constexpr int64_t kMaxKernel = 64;         // kernel, stride and pad of convolutions and pools
inline constexpr int64_t kMaxPursuitIters = 10000;
// Elements of the input or of one node's output, per image (2³² floats are 16 GiB per image): with the bounds
// above, every shape, parameter count and byte size fits 64 bits.
inline constexpr int64_t kMaxActivationElements = int64_t{1} << 32;

// FLOP counts of absurd (but refused later) configs must not overflow: products are formed in double and
// saturate at the largest int64.
inline int64_t saturated_count(double v) {
  return v >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(v);
}

}  // namespace scn
