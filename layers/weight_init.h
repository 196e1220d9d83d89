#pragma once
// Initial values of convolution dictionaries and linear weights, drawn from Philox keyed by the net's seed
// and the parameter's index, so they do not depend on the device or the thread count.
#include <yaml-cpp/yaml.h>

#include <string>

#include "core/config/config_node.h"
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

struct WeightInit {
  std::string type = "normal";  // normal | kaiming | uniform (PyTorch's default for Conv2d/Linear) | scn (std 1/fan_in)
  double std = -1;              // normal: standard deviation; < 0 = auto = 1/sqrt(fan_in)
  double gain = 1;              // multiplies the standard deviation (uniform: the bound), e.g. the ML-ISTA
                                // code's 0.1/sqrt(fan_in) dictionaries
  static WeightInit parse(const ConfigNode& node, const std::string& default_type = "normal");
  void to_yaml(YAML::Node& node) const;
  // Fills w, whose fan-in is the product of all dimensions but the first.
  void fill(Context& ctx, const Tensor& w, uint64_t seed) const;
  // The standard deviation that `fill` uses for this fan-in.
  double resolved_std(int64_t fan_in) const;
};

}  // namespace scn
