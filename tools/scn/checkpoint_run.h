#pragma once
// What `eval` and `analyze` start from: a config, the net it builds with a checkpoint's weights on a
// device, and the checkpoint's input normalisation (from the training split for older checkpoints).
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

}  // namespace scn::cli
