#pragma once
// The typed sections of a run config besides `model` (which Net::build reads): data, optimizer, schedule,
// train, eval, output, seed. Parsing is strict (unknown keys, wrong types and bad values are errors citing
// file, line and key path) and round-trips through to_yaml(). Defaults are documented in configs/README.md.
#include <string>
#include <vector>

#include "core/config/config_node.h"

namespace scn {

struct DataConfig {
  std::string format = "cifar10";          // cifar10 | cifar100 | fashion_mnist | mnist
  std::string dir = "data/cifar10";
  std::string label = "fine";              // cifar100: fine | coarse
  int64_t val_split = 0;                   // training images held out (stratified, seeded) for validation
  int64_t limit = 0;                       // train on the first N training images (0: all)
  int64_t test_limit = 0;                  // evaluate on the first N test images (0: all)
  bool normalize_auto = true;              // per-channel mean/std from the training split
  std::vector<double> mean, std;           // explicit normalisation when not auto (empty: none)
  int64_t crop_pad = 0;                    // random crop with zero padding (0: off)
  bool flip = false;                       // random horizontal flip
};

struct OptimizerConfig {
  std::string type = "sgd";                // sgd | adam | adamw
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

struct ScheduleConfig {
  std::string type = "constant";           // constant | step | multistep | cosine
  std::vector<int64_t> milestones;         // multistep: epochs where lr *= gamma
  int64_t step_size = 30;                  // step: every step_size epochs lr *= gamma
  double gamma = 0.1;
  double min_lr = 0.0;                     // cosine: final lr
  double warmup_epochs = 0.0;              // linear warmup from 0 over this many epochs (fractions allowed)
};

struct TrainConfig {
  int64_t epochs = 1;
  int64_t batch = 128;
  double label_smoothing = 0.0;
  bool deterministic = false;
  int64_t checkpoint_every = 1;            // epochs between checkpoints (the last epoch always saves)
  bool cuda_graph = false;                 // capture the training step in a CUDA graph (GPU, sgd)
  std::string device = "auto";             // cpu | cuda | cuda:N | auto
  int64_t threads = 0;                     // CPU threads (0: all cores; never more than the machine has)
  double checkpoint_minutes = 10;          // also save last.safetensors mid-epoch this often (0: never)
  double max_loss_factor = 100;            // stop when a step's loss exceeds this × the first step's (0: never)
  // At the end of every epoch, replace the batch norms' running averages by statistics recomputed over this
  // many training images (no augmentation) with the epoch's final weights (0: keep the running averages).
  int64_t recalibrate_batch_norm = 4096;
  // Per dictionary layer, the fraction of non-zero codes at each evaluation and the mutual coherence μ(D) each
  // epoch, in metrics.jsonl ("sparsity", "coherence"; models/net_analysis.h).
  bool log_sparsity = true;
  // Every this many optimizer steps, one line of steps.jsonl (step, loss, accuracy, lr, images/s; 0: none).
  int64_t log_every = 50;
  // Off a terminal (a log file, a batch system), a progress line every this many seconds (0: every step).
  double progress_seconds = 30;
};

struct EvalConfig {
  int64_t every = 1;                       // epochs between evaluations
  int64_t batch = 256;
};

struct OutputConfig {
  std::string dir = "";                    // run folder (empty: runs/<config name>)
};

// The layer list of a model section as the net is built from it (configs/README.md, "Short configs"): every
// `repeat: N` block replaced by N copies of its layers (a name declared inside gets `_1`, `_2`, … per copy, and
// so do the block's references to it in `inputs`; nested blocks append theirs first), then every layer given
// the keys of `model.defaults.<its type>` that it does not set itself. One node per layer, in order; each
// cites the file, line and key path it was written at (a key from the defaults cites the defaults entry).
std::vector<ConfigNode> expand_layers(const ConfigNode& model);
inline constexpr int64_t kMaxRepeat = 10000;  // copies of one repeat block
inline constexpr size_t kMaxLayers = 100000;  // layers of a net after expansion
inline constexpr int kMaxRepeatNesting = 32;  // repeat blocks inside repeat blocks

struct RunConfig {
  ConfigNode model;                        // the model section, for Net::build
  DataConfig data;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  TrainConfig train;
  EvalConfig eval;
  OutputConfig output;
  uint64_t seed = 0;
  std::string source;                      // the config file
  // The run a run folder's config.yaml belongs to (models/run_identity.h). Informational: scn train writes it
  // and never takes it from a config (a config copied from a run folder starts a new run with a new id).
  std::string run_id;

  // Reads and checks every section (the model is checked by building it).
  static RunConfig parse(const ConfigNode& root);
  static RunConfig load(const std::string& file, const std::vector<std::string>& overrides = {});
  // The resolved config (defaults filled in); `model` is the net's resolved model section.
  YAML::Node to_yaml(const YAML::Node& model) const;
};

}  // namespace scn
