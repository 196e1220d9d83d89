#pragma once
// The training loop: shuffled epochs of augmented mini-batches, softmax cross-entropy, the optimizer and
// schedule of the config, evaluation every `eval.every` epochs, checkpoints (last and best, atomic, with the
// optimizer state inside them), exact resume, SIGINT handling (finish the step, save, stop) and a divergence
// guard (NaN/Inf in the loss or the gradients stops the run and keeps the last good checkpoint).
// The run folder holds config.yaml (resolved, with the run's id), metrics.jsonl (one object per epoch),
// steps.jsonl, last.safetensors and best.safetensors (each with the optimizer state inside). It is locked for
// the run's life (run_folder_lock.h). A folder that already holds a run is never overwritten unless asked
// (`force`); continuing it is `resume`, which refuses a folder holding another run (run_identity.h).
//
// Data-parallel (`ranks`, models/data_parallel.h): every rank loads the whole data set and trains on its part
// of each global batch of train.batch images; the gradients are averaged over the ranks every step. Rank 0
// alone writes the run folder, the logs and the progress line; the checkpoints hold no rank state, so a run
// resumes on any number of ranks. An interrupt on any rank stops every rank after the same step.
#include <string>

#include "core/distributed/communicator.h"
#include "models/run_config.h"

namespace scn {

struct TrainOptions {
  std::string out_dir;        // the run folder
  std::string resume;         // a checkpoint to continue from ("" = start fresh)
  std::string device = "";    // overrides train.device when set
  bool force = false;         // start afresh in a run folder that holds a run, replacing its files
  bool quiet = false;         // no progress output (tests)
  Communicator* ranks = nullptr;   // the ranks of a data-parallel run (nullptr: this process alone)
  int64_t check_ranks_every = 0;   // > 0: every N steps, assert the ranks hold the same parameters (debug)
  std::string version;             // this scn's version and revision: ranks of different builds refuse to start
};

struct TrainSummary {
  int64_t epochs_done = 0;
  int64_t steps_done = 0;
  double last_val_acc = -1, best_val_acc = -1;
  double train_loss = 0;
  double seconds = 0, images_per_s = 0;
  bool interrupted = false;
  std::string val_name = "val";  // "val" (held out) or "test"
  std::string last_checkpoint, best_checkpoint;
};

TrainSummary train(const RunConfig& config, const TrainOptions& options);

// SIGINT or SIGTERM asks the running training to stop after its current step; a second signal exits at once.
void install_interrupt_handler();
void request_interrupt();  // what the handler does (tests call it directly)
bool interrupt_requested();
int interrupt_signal();    // the signal that asked (SIGINT when none did): the exit status is 128 + it
void clear_interrupt();

}  // namespace scn
