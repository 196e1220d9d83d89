#pragma once
// Checks made before a training run starts, so that a run never fails late for a reason known early:
// the run folder (nothing of an earlier run is replaced unless asked) and the memory the net needs.
#include <string>

#include "models/net.h"
#include "models/run_config.h"

namespace scn {

// The files of an earlier run in `dir` that starting afresh would replace ("last.safetensors", …).
std::vector<std::string> earlier_run_files(const std::string& dir);

// Refuses to start a fresh run over an earlier one unless `force`; with `force`, removes its files so that
// nothing stale (a best checkpoint of another run) survives. Resuming keeps everything. Either way, removes
// the temporary files of atomic writes whose process is gone (a run killed mid-write leaves one).
void prepare_run_folder(const std::string& dir, bool resuming, bool force);

// Refuses a net whose training cannot fit in host memory (CPU runs), naming the config, the batch, the
// largest node and what the machine has; says nothing when it fits or the machine's memory is unknown.
void check_training_memory(const Net& net, const RunConfig& config, Device device);

// "training memory at batch 128: about 1.2 GiB (parameters 2.7 MiB, activations …; largest node l3 …)"
std::string training_memory_line(const Net& net, int64_t batch);

}  // namespace scn
