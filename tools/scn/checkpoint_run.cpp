#include "checkpoint_run.h"

#include "models/data_setup.h"

namespace scn::cli {

CheckpointRun load_checkpoint_run(const std::string& config, const std::vector<std::string>& overrides,
                                  const std::string& checkpoint, const std::string& device) {
  CheckpointRun r{RunConfig::load(config, overrides), parse_device(device), nullptr, {}, {}, {}};
  r.net = Net::build(r.config.model);
  r.net->initialize(r.device, r.config.seed);
  r.info = load_checkpoint(checkpoint, *r.net);
  r.mean = r.info.mean, r.std = r.info.std;
  if (r.mean.empty()) normalisation(r.config, load_split(r.config, "train"), r.mean, r.std);  // an older checkpoint
  return r;
}

}  // namespace scn::cli
