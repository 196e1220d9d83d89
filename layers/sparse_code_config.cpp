// The keys of `type: sparse_code` (configs/README.md lists them with their defaults), parsed strictly and
// written back for the resolved config. The patch pursuit changes four defaults to SCN's: its 50 FISTA steps
// (iters: 49, γ₀ being the first), step: auto (1/λ_max of AᵀA), the lasso form of the threshold (λ,
// initialised 0, kept ≥ 0) and the randn/(k²·C) initialisation.
#include "layers/registry.h"
#include "layers/sparse_code.h"

namespace scn {

namespace {
const char* name_of(GramForm f) { return f == GramForm::patch ? "patch" : "convolution"; }
const char* name_of(PursuitBackward b) { return b == PursuitBackward::implicit ? "implicit" : "unrolled"; }
const char* name_of(ThresholdForm f) { return f == ThresholdForm::lasso ? "lasso" : "absolute"; }
}  // namespace

SparseCodeConfig SparseCodeConfig::parse(const ConfigNode& node) {
  node.allow_keys(layer_keys({"out", "kernel", "stride", "pad", "iters", "algorithm", "mode", "step", "threshold",
                              "init", "recompute", "pursuit", "backward", "implicit", "regularizer", "tied"}));
  SparseCodeConfig c;
  c.pursuit = node.get_enum("pursuit", "convolution", {"convolution", "patch"}) == "patch" ? GramForm::patch
                                                                                          : GramForm::convolution;
  const bool patch = c.pursuit == GramForm::patch;
  c.backward = node.get_enum("backward", "unrolled", {"unrolled", "implicit"}) == "implicit"
                   ? PursuitBackward::implicit
                   : PursuitBackward::unrolled;
  c.out = node.require("out").as_positive_int(kMaxChannels);
  c.kernel = static_cast<int>(node.get_positive_int("kernel", 3, kMaxKernel));
  c.stride = static_cast<int>(node.get_positive_int("stride", 1, kMaxKernel));
  c.pad = static_cast<int>(node.get_nonneg_int("pad", c.kernel / 2, kMaxKernel));
  c.iters = static_cast<int>(node.get_nonneg_int("iters", patch ? kScnIters : 0, kMaxPursuitIters));
  c.algorithm = node.get_enum("algorithm", "fista", {"ista", "fista"}) == "fista" ? PursuitAlgorithm::fista
                                                                                 : PursuitAlgorithm::ista;
  c.mode = node.get_enum("mode", "nonneg", {"nonneg", "two_sided"}) == "nonneg" ? ThresholdMode::nonneg
                                                                               : ThresholdMode::two_sided;
  c.step_auto = patch;
  ConfigNode step = node["step"];
  if (step.defined()) {
    if (step.is_scalar()) {
      if (step.yaml().Scalar() != "auto") step.fail("expected auto or {init: <number>, learn: <bool>}, got \"" + step.yaml().Scalar() + "\"");
      c.step_auto = true;
    } else {
      step.allow_keys({"init", "learn"});
      c.step_auto = false;
      c.step_init = step.get_positive_double("init", 1.0);
      c.step_learn = step.get_bool("learn", true);
    }
  }
  c.threshold_form = patch ? ThresholdForm::lasso : ThresholdForm::absolute;
  ConfigNode th = node["threshold"];
  if (th.defined()) {
    th.allow_keys({"init", "learn", "shared", "form"});
    c.threshold_form = th.get_enum("form", name_of(c.threshold_form), {"absolute", "lasso"}) == "lasso"
                           ? ThresholdForm::lasso
                           : ThresholdForm::absolute;
    c.threshold_init = th.get_double("init", 0.0);
    c.threshold_learn = th.get_bool("learn", true);
    c.threshold_shared = th.get_bool("shared", false);
    if ((c.mode == ThresholdMode::two_sided || c.threshold_form == ThresholdForm::lasso) && c.threshold_init < 0)
      th["init"].fail(c.threshold_form == ThresholdForm::lasso ? "a lasso weight must be >= 0"
                                                               : "a two_sided threshold must be >= 0");
  }
  c.init = WeightInit::parse(node["init"], patch ? "scn" : "normal");
  c.recompute = node.get_bool("recompute", false);
  c.regularizer = CoherenceRegularizer::parse(node);
  ConfigNode implicit = node["implicit"];
  if (implicit.defined()) {
    if (c.backward != PursuitBackward::implicit) implicit.fail("'implicit' settings need backward: implicit");
    implicit.allow_keys({"ridge", "iters", "tolerance"});
    c.implicit.ridge = implicit.get_double("ridge", c.implicit.ridge);
    if (c.implicit.ridge < 0) implicit["ridge"].fail("expected a number >= 0");
    c.implicit.max_iters = static_cast<int>(implicit.get_positive_int("iters", c.implicit.max_iters, kMaxPursuitIters));
    c.implicit.tolerance = implicit.get_positive_double("tolerance", c.implicit.tolerance);
  }
  c.tied = node.get_bool("tied", true);
  if (!c.tied) {
    // Untied steps are plain convolutional LISTA: one learned (W, θ, η) per step.
    if (patch) node["tied"].fail("tied: false needs pursuit: convolution");
    if (c.step_auto) node["tied"].fail("tied: false learns a step per iteration: step: auto does not apply");
    if (c.threshold_form == ThresholdForm::lasso) node["tied"].fail("tied: false needs threshold.form: absolute");
    if (c.backward == PursuitBackward::implicit) node["tied"].fail("tied: false has no fixed point: backward: implicit does not apply");
    if (c.recompute) node["tied"].fail("tied: false keeps its iterates: recompute does not apply");
    if (c.regularizer.on()) node["tied"].fail("tied: false: the coherence regularizer applies to tied dictionaries only");
  }
  if (c.backward == PursuitBackward::implicit && c.iters == 0)
    node["backward"].fail("backward: implicit differentiates a converged pursuit: it needs iters > 0");
  if (c.backward == PursuitBackward::implicit && c.recompute)
    node["recompute"].fail("backward: implicit keeps no iterates: recompute does not apply");
  return c;
}

void SparseCodeConfig::to_yaml(YAML::Node& node) const {
  node["pursuit"] = name_of(pursuit);
  node["backward"] = name_of(backward);
  node["out"] = out;
  node["kernel"] = kernel;
  node["stride"] = stride;
  node["pad"] = pad;
  node["iters"] = iters;
  node["algorithm"] = algorithm == PursuitAlgorithm::fista ? "fista" : "ista";
  node["mode"] = mode == ThresholdMode::nonneg ? "nonneg" : "two_sided";
  if (step_auto) {
    node["step"] = "auto";
  } else {
    node["step"]["init"] = step_init;
    node["step"]["learn"] = step_learn;
  }
  node["threshold"]["form"] = name_of(threshold_form);
  node["threshold"]["init"] = threshold_init;
  node["threshold"]["learn"] = threshold_learn;
  node["threshold"]["shared"] = threshold_shared;
  YAML::Node init_node;
  init.to_yaml(init_node);
  node["init"] = init_node;
  node["recompute"] = recompute;
  if (!tied) node["tied"] = false;
  regularizer.to_yaml(node);
  if (backward == PursuitBackward::implicit) {
    node["implicit"]["ridge"] = implicit.ridge;
    node["implicit"]["iters"] = implicit.max_iters;
    node["implicit"]["tolerance"] = implicit.tolerance;
  }
}

}  // namespace scn
