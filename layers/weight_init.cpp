#include "layers/weight_init.h"

#include <cmath>

#include "core/philox.h"
#include "kernels/random_fill.h"

namespace scn {

WeightInit WeightInit::parse(const ConfigNode& node, const std::string& default_type) {
  WeightInit w;
  w.type = default_type;
  if (!node.defined()) return w;
  node.allow_keys({"type", "std", "gain"});
  w.type = node.get_enum("type", default_type, {"normal", "kaiming", "uniform", "scn"});
  ConfigNode s = node["std"];
  if (s.defined()) {
    if (w.type != "normal") s.fail("'std' applies to type: normal only");
    if (!(s.is_scalar() && s.yaml().Scalar() == "auto")) w.std = s.as_positive_double();
  }
  w.gain = node.get_positive_double("gain", 1.0);
  return w;
}

void WeightInit::to_yaml(YAML::Node& node) const {
  node["type"] = type;
  if (type == "normal") {
    if (std < 0) node["std"] = "auto";
    else node["std"] = std;
  }
  if (gain != 1) node["gain"] = gain;
}

double WeightInit::resolved_std(int64_t fan_in) const {
  const double n = static_cast<double>(std::max<int64_t>(fan_in, 1));
  if (type == "kaiming") return gain * std::sqrt(2.0 / n);
  if (type == "scn") return gain / n;  // randn/(k²·C): the SCN code's dictionaries
  if (type == "uniform") return gain / std::sqrt(3.0 * n);  // U(-1/sqrt(n), 1/sqrt(n)) has this std
  return gain * (std > 0 ? std : 1.0 / std::sqrt(n));
}

void WeightInit::fill(Context& ctx, const Tensor& w, uint64_t seed) const {
  const int64_t fan_in = w.shape()[0] ? w.numel() / w.shape()[0] : 1;
  const RngKey key{seed, RngPurpose::init, 0};
  if (type == "uniform") {
    const double bound = gain / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
    fill_uniform(ctx, w, static_cast<float>(-bound), static_cast<float>(bound), key);
  } else {
    fill_normal(ctx, w, 0.0f, static_cast<float>(resolved_std(fan_in)), key);
  }
}

}  // namespace scn
