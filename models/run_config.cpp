#include "models/run_config.h"

#include <limits>
#include <set>

#include "layers/registry.h"

namespace scn {

namespace {

DataConfig parse_data(const ConfigNode& n) {
  DataConfig d;
  if (!n.defined()) return d;
  n.allow_keys({"format", "dir", "label", "val_split", "limit", "test_limit", "normalize", "augment"});
  d.format = n.get_enum("format", d.format, {"cifar10", "cifar100", "fashion_mnist", "mnist"});
  d.dir = n.get_string("dir", d.format == "cifar100" ? "data/cifar100" : d.dir);
  d.label = n.get_enum("label", d.label, {"fine", "coarse"});
  d.val_split = n.get_nonneg_int("val_split", 0);
  d.limit = n.get_nonneg_int("limit", 0);
  d.test_limit = n.get_nonneg_int("test_limit", 0);
  ConfigNode norm = n["normalize"];
  if (norm.defined()) {
    if (norm.is_scalar()) {
      const std::string v = norm.as_enum({"auto", "none"});
      d.normalize_auto = v == "auto";
    } else {
      norm.allow_keys({"mean", "std"});
      d.normalize_auto = false;
      d.mean = norm.require("mean").as_double_list();
      d.std = norm.require("std").as_double_list();
      if (d.mean.size() != d.std.size()) norm.fail("mean and std need one value per channel each");
      for (double s : d.std)
        if (!(s > 0)) norm["std"].fail("every std must be positive");
    }
  }
  ConfigNode aug = n["augment"];
  if (aug.defined()) {
    aug.allow_keys({"crop_pad", "flip"});
    d.crop_pad = aug.get_nonneg_int("crop_pad", 0, 64);
    d.flip = aug.get_bool("flip", false);
  }
  return d;
}

OptimizerConfig parse_optimizer(const ConfigNode& n) {
  OptimizerConfig o;
  if (!n.defined()) return o;
  n.allow_keys({"type", "lr", "momentum", "nesterov", "weight_decay", "betas", "eps"});
  o.type = n.get_enum("type", o.type, {"sgd", "adam", "adamw"});
  o.lr = n.get_positive_double("lr", o.type == "sgd" ? 0.1 : 1e-3);
  o.momentum = n.get_double("momentum", o.type == "sgd" ? 0.9 : 0.0);
  if (o.momentum < 0 || o.momentum >= 1) n["momentum"].fail("expected a number in [0, 1)");
  o.nesterov = n.get_bool("nesterov", false);
  if (o.nesterov && o.momentum == 0) n["nesterov"].fail("nesterov needs momentum > 0");
  o.weight_decay = n.get_double("weight_decay", 0.0);
  if (o.weight_decay < 0) n["weight_decay"].fail("expected a non-negative number");
  ConfigNode betas = n["betas"];
  if (betas.defined()) {
    std::vector<double> b = betas.as_double_list();
    if (b.size() != 2 || b[0] < 0 || b[0] >= 1 || b[1] < 0 || b[1] >= 1) betas.fail("expected [beta1, beta2] in [0, 1)");
    o.beta1 = b[0];
    o.beta2 = b[1];
  }
  o.eps = n.get_positive_double("eps", o.eps);
  return o;
}

ScheduleConfig parse_schedule(const ConfigNode& n) {
  ScheduleConfig s;
  if (!n.defined()) return s;
  n.allow_keys({"type", "milestones", "step_size", "gamma", "min_lr", "warmup_epochs"});
  s.type = n.get_enum("type", s.type, {"constant", "step", "multistep", "cosine"});
  if (n["milestones"].defined()) {
    s.milestones = n["milestones"].as_int_list(1, ConfigNode::kMaxInt);
    for (size_t i = 0; i < s.milestones.size(); ++i)
      if (s.milestones[i] <= 0 || (i && s.milestones[i] <= s.milestones[i - 1]))
        n["milestones"].fail("expected increasing positive epochs");
  }
  if (s.type == "multistep" && s.milestones.empty()) n.fail("a multistep schedule needs milestones");
  s.step_size = n.get_positive_int("step_size", s.step_size);
  s.gamma = n.get_positive_double("gamma", s.gamma);
  s.min_lr = n.get_double("min_lr", 0.0);
  if (s.min_lr < 0) n["min_lr"].fail("expected a non-negative number");
  s.warmup_epochs = n.get_double("warmup_epochs", 0.0);
  if (s.warmup_epochs < 0) n["warmup_epochs"].fail("expected a non-negative number");
  return s;
}

TrainConfig parse_train(const ConfigNode& n) {
  TrainConfig t;
  if (!n.defined()) return t;
  n.allow_keys({"epochs", "batch", "label_smoothing", "deterministic", "checkpoint_every", "checkpoint_minutes",
                "cuda_graph", "device", "threads", "max_loss_factor", "recalibrate_batch_norm",
                "log_sparsity", "log_every", "progress_seconds"});
  t.epochs = n.get_positive_int("epochs", t.epochs);
  t.batch = n.get_positive_int("batch", t.batch, 1 << 20);
  t.label_smoothing = n.get_double("label_smoothing", 0.0);
  if (t.label_smoothing < 0 || t.label_smoothing >= 1) n["label_smoothing"].fail("expected a number in [0, 1)");
  t.deterministic = n.get_bool("deterministic", false);
  t.checkpoint_every = n.get_positive_int("checkpoint_every", 1);
  t.cuda_graph = n.get_bool("cuda_graph", false);
  t.device = n.get_string("device", t.device);
  t.threads = n.get_nonneg_int("threads", 0, 4096);
  t.checkpoint_minutes = n.get_double("checkpoint_minutes", t.checkpoint_minutes);
  if (t.checkpoint_minutes < 0) n["checkpoint_minutes"].fail("expected a non-negative number of minutes");
  t.max_loss_factor = n.get_double("max_loss_factor", t.max_loss_factor);
  if (t.max_loss_factor != 0 && t.max_loss_factor <= 1) n["max_loss_factor"].fail("expected 0 (off) or a number above 1");
  t.recalibrate_batch_norm = n.get_nonneg_int("recalibrate_batch_norm", t.recalibrate_batch_norm, ConfigNode::kMaxInt);
  t.log_sparsity = n.get_bool("log_sparsity", t.log_sparsity);
  t.log_every = n.get_nonneg_int("log_every", t.log_every, ConfigNode::kMaxInt);
  t.progress_seconds = n.get_double("progress_seconds", t.progress_seconds);
  if (t.progress_seconds < 0) n["progress_seconds"].fail("expected a number of seconds >= 0");
  return t;
}

// ---- model.layers: repeat blocks and model.defaults -------------------------------------------------------

// A layer of the expanded list: the node as written, and its name and inputs as renamed so far.
struct ExpandedLayer {
  ConfigNode node;
  std::string name;                 // its `name` ("" when it sets none, or not as a plain string)
  std::vector<std::string> inputs;  // its `inputs`, when they are a list of plain strings (inputs_known)
  bool inputs_known = false;
  bool renamed = false;
};

bool has_key(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return false;
  for (const auto& kv : map)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
  return false;
}

// The plain string under `key` of a map ("" when absent or not a scalar).
std::string scalar_of(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return "";
  const YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : "";
}

void expand_list(const ConfigNode& list, int depth, std::vector<ExpandedLayer>& out) {
  if (!list.is_sequence() || list.size() == 0) list.fail("expected a non-empty list of layers");
  for (size_t i = 0; i < list.size(); ++i) {
    const ConfigNode item = list.at(i);
    const YAML::Node& y = item.yaml();
    if (!has_key(y, "repeat")) {
      if (out.size() >= kMaxLayers) item.fail("the net has more than " + std::to_string(kMaxLayers) + " layers");
      ExpandedLayer l{item, scalar_of(y, "name"), {}, false, false};
      const YAML::Node inputs = y.IsMap() ? y["inputs"] : YAML::Node();
      if (inputs.IsDefined() && inputs.IsSequence()) {
        l.inputs_known = true;
        for (const auto& e : inputs) {
          if (!e.IsScalar()) l.inputs_known = false;
          if (e.IsScalar()) l.inputs.push_back(e.Scalar());
        }
      }
      out.push_back(std::move(l));
      continue;
    }
    item.allow_keys({"repeat", "layers"});
    // `repeat:` without a count: the empty value's position is the next line's, so cite the block's.
    if (!item["repeat"].defined())
      item.fail("repeat: no count given (expected a positive integer up to " + std::to_string(kMaxRepeat) + ")");
    const int64_t copies = item["repeat"].as_positive_int(kMaxRepeat);
    if (depth >= kMaxRepeatNesting)
      item.fail("repeat blocks nest at most " + std::to_string(kMaxRepeatNesting) + " deep");
    std::vector<ExpandedLayer> block;
    expand_list(item.require("layers"), depth + 1, block);
    if (static_cast<size_t>(copies) > (kMaxLayers - out.size()) / block.size())
      item.fail("repeat: " + std::to_string(copies) + " copies of " + std::to_string(block.size()) +
                " layers would make the net longer than " + std::to_string(kMaxLayers) + " layers");
    // Names declared in the block (at any depth) are per copy: `x` becomes `x_1`, `x_2`, …, and so do the
    // block's references to them. References to names outside the block are left alone.
    std::set<std::string> declared;
    for (const ExpandedLayer& l : block)
      if (!l.name.empty() && l.name != "input") declared.insert(l.name);
    for (int64_t r = 1; r <= copies; ++r) {
      const std::string suffix = "_" + std::to_string(r);
      for (ExpandedLayer l : block) {
        if (declared.count(l.name)) {
          l.name += suffix;
          l.renamed = true;
        }
        if (l.inputs_known)
          for (std::string& src : l.inputs)
            if (declared.count(src)) {
              src += suffix;
              l.renamed = true;
            }
        out.push_back(std::move(l));
      }
    }
  }
}

}  // namespace

std::vector<ConfigNode> expand_layers(const ConfigNode& model) {
  register_builtin_layers();
  std::vector<ExpandedLayer> flat;
  expand_list(model.require("layers"), 0, flat);

  // model.defaults: layer type -> the keys its layers get unless they set them.
  std::map<std::string, ConfigNode> defaults;
  const ConfigNode d = model["defaults"];
  if (d.yaml().IsDefined()) {
    if (!d.is_map()) d.fail("expected a map from layer type to a map of keys, e.g. {sparse_code: {iters: 2}}");
    d.allow_keys(d.keys());  // refuses repeated types
    for (const std::string& type : d.keys()) {
      const ConfigNode entry = d[type];
      if (!entry.is_map()) entry.fail("expected a map of the keys every '" + type + "' layer gets unless it sets them");
      entry.allow_keys(entry.keys());  // refuses repeated keys
      for (const std::string own : {"type", "name", "inputs"})
        if (has_key(entry.yaml(), own)) entry[own].fail("'" + own + "' has no default: every layer sets its own");
      defaults.emplace(type, entry);
    }
  }
  // A defaults entry no layer uses is a typo, not a no-op (unless a layer's type is unknown: building the
  // net says so at that layer, which is the more useful message).
  std::set<std::string> used;
  bool all_known = true;
  for (const ExpandedLayer& l : flat) {
    const std::string type = scalar_of(l.node.yaml(), "type");
    used.insert(type);
    all_known = all_known && LayerRegistry::instance().has(type);
  }
  if (all_known)
    for (const auto& [type, entry] : defaults)
      if (!used.count(type)) entry.fail("no layer has type '" + shorten(type) + "'");

  std::vector<ConfigNode> out;
  out.reserve(flat.size());
  for (const ExpandedLayer& l : flat) {
    const YAML::Node& y = l.node.yaml();
    auto def = defaults.find(scalar_of(y, "type"));
    const bool gets_defaults = y.IsMap() && def != defaults.end();
    if (!l.renamed && !gets_defaults) {
      out.push_back(l.node);
      continue;
    }
    // A new map holding the layer's own keys (the values themselves, so their lines stay), the renamed name
    // and inputs, and the defaults it does not set.
    YAML::Node copy(YAML::NodeType::Map);
    std::map<std::string, ConfigNode> borrowed;
    std::set<std::string> own;
    for (const auto& kv : y) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      own.insert(key);
      if (l.renamed && key == "name" && !l.name.empty()) {
        const YAML::Node v(l.name);
        copy.force_insert(kv.first, v);
        const ConfigNode written = l.node["name"];
        borrowed.emplace(key, written.derive(v, written.path(), written.line()));
      } else if (l.renamed && key == "inputs" && l.inputs_known) {
        YAML::Node v(YAML::NodeType::Sequence);
        for (const std::string& src : l.inputs) v.push_back(src);
        v.SetStyle(YAML::EmitterStyle::Flow);
        copy.force_insert(kv.first, v);
        const ConfigNode written = l.node["inputs"];
        borrowed.emplace(key, written.derive(v, written.path(), written.line()));
      } else {
        copy.force_insert(kv.first, kv.second);
      }
    }
    if (gets_defaults)
      for (const auto& kv : def->second.yaml()) {
        const std::string key = kv.first.Scalar();
        if (own.count(key)) continue;  // the layer's own key wins (a map value is replaced whole, not merged)
        copy.force_insert(kv.first, kv.second);
        borrowed.emplace(key, def->second[key]);
      }
    out.push_back(l.node.derive(copy, l.node.path(), l.node.line(), std::move(borrowed)));
  }
  return out;
}

RunConfig RunConfig::parse(const ConfigNode& root) {
  root.allow_keys({"model", "data", "optimizer", "schedule", "train", "eval", "output", "seed", "run_id"});
  RunConfig c{root.require("model"), {}, {}, {}, {}, {}, {}, 0, "", ""};
  for (const char* section : {"data", "optimizer", "schedule", "train", "eval", "output"}) {
    ConfigNode s = root[section];
    if (s.defined()) s.expect_map();
  }
  c.data = parse_data(root["data"]);
  c.optimizer = parse_optimizer(root["optimizer"]);
  c.schedule = parse_schedule(root["schedule"]);
  c.train = parse_train(root["train"]);
  ConfigNode ev = root["eval"];
  if (ev.defined()) {
    ev.allow_keys({"every", "batch"});
    c.eval.every = ev.get_positive_int("every", 1);
    c.eval.batch = ev.get_positive_int("batch", 256, 1 << 20);
  }
  ConfigNode out = root["output"];
  if (out.defined()) {
    out.allow_keys({"dir"});
    c.output.dir = out.get_string("dir", "");
  }
  c.seed = static_cast<uint64_t>(root.get_nonneg_int("seed", 0, std::numeric_limits<int64_t>::max()));
  c.run_id = root.get_string("run_id", "");
  return c;
}

RunConfig RunConfig::load(const std::string& file, const std::vector<std::string>& overrides) {
  RunConfig c = parse(ConfigNode::load_file(file, overrides));
  c.source = file;
  return c;
}

YAML::Node RunConfig::to_yaml(const YAML::Node& model) const {
  YAML::Node root;
  root["model"] = model;
  YAML::Node d;
  d["format"] = data.format;
  d["dir"] = data.dir;
  if (data.format == "cifar100") d["label"] = data.label;
  d["val_split"] = data.val_split;
  d["limit"] = data.limit;
  d["test_limit"] = data.test_limit;
  if (data.normalize_auto) {
    d["normalize"] = "auto";
  } else if (data.mean.empty()) {
    d["normalize"] = "none";
  } else {
    d["normalize"]["mean"] = data.mean;
    d["normalize"]["std"] = data.std;
  }
  d["augment"]["crop_pad"] = data.crop_pad;
  d["augment"]["flip"] = data.flip;
  root["data"] = d;
  YAML::Node o;
  o["type"] = optimizer.type;
  o["lr"] = optimizer.lr;
  o["momentum"] = optimizer.momentum;
  o["nesterov"] = optimizer.nesterov;
  o["weight_decay"] = optimizer.weight_decay;
  o["betas"].push_back(optimizer.beta1);
  o["betas"].push_back(optimizer.beta2);
  o["eps"] = optimizer.eps;
  root["optimizer"] = o;
  YAML::Node s;
  s["type"] = schedule.type;
  if (!schedule.milestones.empty()) s["milestones"] = schedule.milestones;
  s["step_size"] = schedule.step_size;
  s["gamma"] = schedule.gamma;
  s["min_lr"] = schedule.min_lr;
  s["warmup_epochs"] = schedule.warmup_epochs;
  root["schedule"] = s;
  YAML::Node t;
  t["epochs"] = train.epochs;
  t["batch"] = train.batch;
  t["label_smoothing"] = train.label_smoothing;
  t["deterministic"] = train.deterministic;
  t["checkpoint_every"] = train.checkpoint_every;
  t["cuda_graph"] = train.cuda_graph;
  t["device"] = train.device;
  t["threads"] = train.threads;
  t["checkpoint_minutes"] = train.checkpoint_minutes;
  t["max_loss_factor"] = train.max_loss_factor;
  t["recalibrate_batch_norm"] = train.recalibrate_batch_norm;
  t["log_sparsity"] = train.log_sparsity;
  t["log_every"] = train.log_every;
  t["progress_seconds"] = train.progress_seconds;
  root["train"] = t;
  root["eval"]["every"] = eval.every;
  root["eval"]["batch"] = eval.batch;
  root["output"]["dir"] = output.dir;
  root["seed"] = seed;
  return root;
}

}  // namespace scn
