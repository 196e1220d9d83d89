#pragma once
// Checkpoints: every entry of a net's parameter arena as `<node>.<param>` in a safetensors file (F32, shapes
// as PyTorch stores them: Conv2d [out, in, k, k], Linear [out, in]), with `__metadata__` holding the format
// version, the resolved config (YAML), the epoch and the step. Written atomically. Reading checks every
// tensor against the net (names, dtypes, shapes) before anything is copied, so a mismatched or corrupt file
// changes nothing.
#include <string>
#include <vector>

#include "models/net.h"

namespace scn {

inline constexpr const char* kCheckpointFormat = "scn-checkpoint-1";

struct CheckpointInfo {
  std::string config;   // resolved config YAML
  int64_t epoch = 0;    // epochs completed
  int64_t step = 0;     // optimizer steps completed
  // The input normalisation the net was trained with (per channel), so evaluation needs no training data.
  std::vector<double> mean, std;
  double val_accuracy = -1;  // of the evaluation that made a best checkpoint (-1: none)
};

void save_checkpoint(const std::string& path, const Net& net, const CheckpointInfo& info);
// Loads the values into `net` (on whatever device it lives) and returns the metadata.
CheckpointInfo load_checkpoint(const std::string& path, Net& net);
// Reads only the metadata (and validates the file).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace scn
