// The keys of `type: ml_pursuit` (configs/README.md lists them with their defaults), parsed strictly and
// written back for the resolved config.
#include "layers/ml_pursuit.h"
#include "layers/registry.h"

namespace scn {

namespace {
const std::vector<std::string> kAlgorithms{"ml_ista", "ml_fista", "ml_lista", "lbp"};
}  // namespace

MlPursuitConfig MlPursuitConfig::parse(const ConfigNode& node) {
  node.allow_keys(layer_keys({"algorithm", "layers", "iters", "tied", "back_project", "mode", "step", "threshold",
                              "init", "backward"}));
  MlPursuitConfig c;
  const std::string algorithm = node.get_enum("algorithm", "ml_ista", kAlgorithms);
  for (size_t a = 0; a < kAlgorithms.size(); ++a)
    if (algorithm == kAlgorithms[a]) c.algorithm = static_cast<MultiLayerAlgorithm>(a);
  c.iters = static_cast<int>(node.get_nonneg_int("iters", 0, kMaxPursuitIters));
  c.tied = node.get_bool("tied", true);
  const bool lbp = c.algorithm == MultiLayerAlgorithm::lbp;
  c.back_project = node.get_bool("back_project", !lbp);
  if (lbp && c.back_project)
    node["back_project"].fail("lbp pursues one layer at a time: it has no back-projection");
  c.mode = node.get_enum("mode", "nonneg", {"nonneg", "two_sided"}) == "nonneg" ? ThresholdMode::nonneg
                                                                               : ThresholdMode::two_sided;
  // The joint pursuits are differentiated through their sweeps; an implicit backward would need the fixed
  // point of the whole multi-layer problem.
  node.get_enum("backward", "unrolled", {"unrolled"});

  ConfigNode layers = node.require("layers");
  if (!layers.is_sequence() || layers.size() == 0) layers.fail("expected a list of dictionaries {out, kernel, stride, pad}");
  for (size_t i = 0; i < layers.size(); ++i) {
    ConfigNode l = layers.at(i);
    l.expect_map();
    l.allow_keys({"out", "kernel", "stride", "pad"});
    Dict d;
    d.out = l.require("out").as_positive_int(kMaxChannels);
    d.kernel = static_cast<int>(l.get_positive_int("kernel", 3, kMaxKernel));
    d.stride = static_cast<int>(l.get_positive_int("stride", 1, kMaxKernel));
    d.pad = static_cast<int>(l.get_nonneg_int("pad", d.kernel / 2, kMaxKernel));
    c.layers.push_back(d);
  }

  // ML-LISTA's and the untied sweeps' anchors have no step (η = 1): learn: false by default.
  c.step_learn = c.algorithm != MultiLayerAlgorithm::ml_lista && c.tied;
  ConfigNode step = node["step"];
  if (step.defined()) {
    step.allow_keys({"init", "learn"});
    c.step_init = step.get_double("init", 1.0);
    c.step_learn = step.get_bool("learn", c.step_learn);
  }
  ConfigNode th = node["threshold"];
  if (th.defined()) {
    th.allow_keys({"init", "learn"});
    c.threshold_init = th.get_double("init", 0.0);
    c.threshold_learn = th.get_bool("learn", true);
    if (c.mode == ThresholdMode::two_sided && c.threshold_init < 0) th["init"].fail("a two_sided threshold must be >= 0");
  }
  c.init = WeightInit::parse(node["init"], "normal");
  return c;
}

void MlPursuitConfig::to_yaml(YAML::Node& node) const {
  node["algorithm"] = kAlgorithms[static_cast<size_t>(algorithm)];
  node["iters"] = iters;
  node["tied"] = tied;
  node["back_project"] = back_project;
  node["mode"] = mode == ThresholdMode::nonneg ? "nonneg" : "two_sided";
  node["backward"] = "unrolled";
  YAML::Node list(YAML::NodeType::Sequence);
  for (const Dict& d : layers) {
    YAML::Node l;
    l["out"] = d.out;
    l["kernel"] = d.kernel;
    l["stride"] = d.stride;
    l["pad"] = d.pad;
    list.push_back(l);
  }
  node["layers"] = list;
  node["step"]["init"] = step_init;
  node["step"]["learn"] = step_learn;
  node["threshold"]["init"] = threshold_init;
  node["threshold"]["learn"] = threshold_learn;
  YAML::Node init_node;
  init.to_yaml(init_node);
  node["init"] = init_node;
}

}  // namespace scn
