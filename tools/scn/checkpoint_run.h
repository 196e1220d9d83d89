#pragma once
// What `eval`, `analyze` and `predict` start from: a config, the net it builds with a checkpoint's weights on
// a device, and the checkpoint's input normalisation (from the training split for older checkpoints).
// Without a config file, the config the checkpoint holds is used (overrides apply to it); with one, its net
// must be the checkpoint's: a different net is refused, naming the first difference.
#include <memory>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/net.h"
#include "models/run_config.h"

namespace scn::cli {

struct CheckpointRun {
  RunConfig config;
  Device device = Device::cpu();
  std::unique_ptr<Net> net;
  CheckpointInfo info;
  std::vector<double> mean, std;
};

CheckpointRun load_checkpoint_run(const std::string& config, const std::vector<std::string>& overrides,
                                  const std::string& checkpoint, const std::string& device);

// `eval [CONFIG] [key=value...]`: the positionals split into an optional config file (the first, when it is not
// an override) and the overrides.
void split_config_and_overrides(std::vector<std::string> positionals, std::string& config,
                                std::vector<std::string>& overrides);

}  // namespace scn::cli
