#pragma once
// Checkpoints: every entry of a net's parameter arena as `<node>.<param>` in a safetensors file (F32, shapes
// as PyTorch stores them: Conv2d [out, in, k, k], Linear [out, in]), with `__metadata__` holding the format
// version, the resolved config (YAML), the epoch and the step. A training checkpoint also holds the
// optimizer's state ("optimizer/…" tensors): weights and state are one file, written atomically, so a crash
// at any moment leaves either the old unit or the new one, never a mismatched pair.
// Reading checks every tensor against the net (names, dtypes, shapes, finite values) and the metadata (counts,
// a positive finite normalisation, printable class names) before anything is copied, so a mismatched, corrupt
// or diverged file changes nothing.
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "models/net.h"
#include "models/optimizer.h"

namespace scn {

inline constexpr const char* kCheckpointFormat = "scn-checkpoint-2";
// Format 1 kept the optimizer state in a second file; its weights still load (not its state).
inline constexpr const char* kCheckpointFormatV1 = "scn-checkpoint-1";

struct CheckpointInfo {
  std::string config;   // resolved config YAML
  int64_t epoch = 0;    // epochs completed
  int64_t step = 0;     // optimizer steps completed
  // The input normalisation the net was trained with (per channel), so evaluation needs no training data.
  std::vector<double> mean, std;
  double val_accuracy = -1;  // of the evaluation that made a best checkpoint (-1: none)
  std::vector<std::string> class_names;  // of the training data, for predictions (empty in older checkpoints)
  // Steps done in epoch `epoch` (0 at an epoch's end), so that a resume starts at the same global batch whatever
  // the steps per epoch of the run that resumes (they change with the number of ranks when a short last
  // batch is dropped); -1 in checkpoints written before it was recorded.
  int64_t epoch_step = -1;
  // The run that wrote it (models/run_identity.h); "" in checkpoints written before runs had ids.
  std::string run_id{};
  // An `scn export` file (format "pt"): the weights for inference, without the optimizer state and the power
  // vectors. load_checkpoint takes it for evaluation and predictions, never to continue training.
  bool is_export = false;
};

// Writes the net (and the optimizer's state when given). Refuses, writing nothing, when a parameter holds NaN
// or Inf: a file called a checkpoint is always one a run can continue from.
void save_checkpoint(const std::string& path, const Net& net, const CheckpointInfo& info,
                     const Optimizer* optimizer = nullptr);
// Loads the values into `net` (on whatever device it lives), and the optimizer's state when `optimizer` is
// given (the file must hold it), and returns the metadata.
CheckpointInfo load_checkpoint(const std::string& path, Net& net, Optimizer* optimizer = nullptr);
// Reads only the metadata (and validates the file).
CheckpointInfo read_checkpoint_info(const std::string& path);
// Reads the whole file after checking that it is an scn checkpoint whose tensors are all finite.
SafetensorsFile read_checkpoint_file(const std::string& path);

}  // namespace scn
