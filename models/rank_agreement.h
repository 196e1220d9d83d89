#pragma once
// Ranks agree before the first step. Data-parallel training averages gradients that only make sense when
// every rank builds the same net from the same config, reads the same data and continues the same checkpoint
// with the same scn: a rank that differs would corrupt a collective (a parameter arena of another size) or,
// worse, train a silently different replica. At start-up every rank gathers a fingerprint of what it is about
// to run; the first rank that differs from rank 0 stops every rank with a message naming it and the first
// differing key.
#include <yaml-cpp/yaml.h>

#include <string>

#include "core/distributed/communicator.h"
#include "models/checkpoint.h"
#include "models/data_setup.h"
#include "models/net.h"
#include "models/optimizer.h"
#include "models/run_config.h"

namespace scn {

// What a rank is about to run, as a YAML tree whose keys name each part:
//   scn: the version and revision;
//   config: the resolved config with the net's model section (less data.dir and output.dir, which may be
//           paths of each machine's own: the data is compared by content below);
//   data: per split (train, val) the images, shape, classes and an FNV-1a hash of the first 64 records'
//         pixels and labels, and the normalisation;
//   state: an FNV-1a hash of the parameters and the optimizer state the first step starts from (initialised
//          from the seed, or loaded: two copies of one checkpoint agree, two checkpoints of equal weights from
//          separate runs too);
//   resume: the checkpoint's epoch, step and epoch_step (absent for a fresh run).
YAML::Node start_fingerprint(const RunConfig& config, const YAML::Node& model, const RunData& data,
                             const Net& net, const Optimizer& optimizer, const CheckpointInfo& resumed,
                             const std::string& version);

// Rank 0's fingerprint to every rank (fixed-size length, then the text), every rank's comparison to every
// rank. When they agree it returns on every rank; otherwise every rank throws RanksDisagree naming the first
// rank that differs and its first differing key ("rank 1: config.model.layers[0].kernel is 5 there and 3 on
// rank 0"). Every message exchanged has a size known to all ranks before it is sent, so ranks that differ in
// anything cannot corrupt this exchange.
void check_ranks_start_alike(Communicator& comm, const YAML::Node& fingerprint);

// An error every rank raises together, with the same message: rank 0 reports it, the others exit quietly.
class RanksDisagree : public Error {
 public:
  using Error::Error;
};

}  // namespace scn
