#include "checkpoint_run.h"

#include <filesystem>

#include "core/config/yaml_text.h"
#include "models/data_setup.h"

namespace scn::cli {

namespace {

RunConfig config_of(const std::string& config, const std::vector<std::string>& overrides,
                    const std::string& checkpoint, const CheckpointInfo& info) {
  if (!config.empty()) return RunConfig::load(config, overrides);
  SCN_CHECK(!info.config.empty(), checkpoint, ": holds no config (an older checkpoint): name the config file");
  RunConfig c = RunConfig::parse(ConfigNode::load_string(info.config, checkpoint + " (its config)", overrides));
  c.source = checkpoint;
  return c;
}

}  // namespace

CheckpointRun load_checkpoint_run(const std::string& config, const std::vector<std::string>& overrides,
                                  const std::string& checkpoint, const std::string& device) {
  const CheckpointInfo info = read_checkpoint_info(checkpoint);
  CheckpointRun r{config_of(config, overrides, checkpoint, info), parse_device(device), nullptr, info, {}, {}};
  r.net = Net::build(r.config.model);
  if (!config.empty() && !info.config.empty()) {
    // The same net, or the weights mean something else (a pursuit with other iterations, another step rule).
    const auto held = Net::build(ConfigNode::load_string(info.config, checkpoint + " (its config)")["model"]);
    const std::string difference = first_yaml_difference(r.net->to_yaml(), held->to_yaml(), "model");
    SCN_CHECK(difference.empty(), config, " does not describe the net of ", checkpoint, ": ", difference,
              " (the config against the checkpoint's). Leave the config out to use the checkpoint's own");
  }
  r.net->initialize(r.device, r.config.seed);
  r.info = load_checkpoint(checkpoint, *r.net);
  SCN_CHECK(r.info.class_names.empty() || static_cast<int>(r.info.class_names.size()) == r.net->classes(), checkpoint,
            ": metadata 'class_names' has ", r.info.class_names.size(), " names, but the net has ", r.net->classes(),
            " classes");
  r.mean = r.info.mean, r.std = r.info.std;
  if (r.mean.empty()) normalisation(r.config, load_split(r.config, "train"), r.mean, r.std);  // an older checkpoint
  return r;
}

void split_config_and_overrides(std::vector<std::string> positionals, std::string& config,
                                std::vector<std::string>& overrides) {
  config.clear();
  if (!positionals.empty() && positionals[0].find('=') == std::string::npos) {
    config = positionals[0];
    SCN_CHECK(std::filesystem::is_regular_file(config), config, ": no such config file");
    positionals.erase(positionals.begin());
  }
  for (const std::string& p : positionals)
    SCN_CHECK(p.find('=') != std::string::npos, "\"", p, "\" is not an override key.path=value (only the first argument may be a config file)");
  overrides = positionals;
}

}  // namespace scn::cli
