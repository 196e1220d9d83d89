#include "models/trainer.h"

#include <omp.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/config/yaml_text.h"
#include "kernels/accuracy.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/softmax_cross_entropy.h"
#include "models/batch_source.h"
#include "models/checkpoint.h"
#include "models/data_parallel.h"
#include "models/data_setup.h"
#include "models/divergence.h"
#include "models/batch_norm_statistics.h"
#include "models/evaluator.h"
#include "models/net_analysis.h"
#include "models/optimizer.h"
#include "models/preflight.h"
#include "models/progress.h"
#include "models/rank_agreement.h"
#include "models/run_folder_lock.h"
#include "models/run_identity.h"
#include "models/schedule.h"
#include "models/train_step.h"

namespace scn {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// train.threads, bounded by the machine: more OpenMP threads than cores only slow every step down (and
// tens of thousands crash libgomp).
void set_cpu_threads(int64_t wanted, bool quiet) {
  if (wanted <= 0) return;
  const int cores = std::max(1, omp_get_num_procs());
  if (wanted > cores && !quiet)
    std::fprintf(stderr, "scn: train.threads=%lld is more than the %d cores this process may use: using %d\n",
                 static_cast<long long>(wanted), cores, cores);
  omp_set_num_threads(static_cast<int>(std::min<int64_t>(wanted, cores)));
}

// The epoch's loss and accuracy so far over every rank's images (this rank's alone without ranks).
struct EpochTotals {
  double loss = 0, accuracy = 0, images = 0;
};
EpochTotals epoch_totals(const EpochSums& meter, Communicator* ranks) {
  double v[3] = {meter.loss() * static_cast<double>(meter.images), meter.accuracy() * static_cast<double>(meter.images),
                 static_cast<double>(meter.images)};
  if (ranks) ranks->all_reduce_host(std::span<double>(v, 3), Reduce::sum, "all-reduce of the epoch's loss");
  return {v[2] > 0 ? v[0] / v[2] : 0.0, v[2] > 0 ? v[1] / v[2] : 0.0, v[2]};
}

// Sets ctx.ranks for the length of a run.
struct RanksOnContext {
  Context& ctx;
  RanksOnContext(Context& c, Communicator* ranks) : ctx(c) { ctx.ranks = ranks; }
  ~RanksOnContext() { ctx.ranks = nullptr; }
};

}  // namespace

TrainSummary train(const RunConfig& config, const TrainOptions& options) {
  const TrainConfig& tc = config.train;
  Communicator* const ranks = options.ranks;
  const int rank_count = ranks ? ranks->size() : 1, rank = ranks ? ranks->rank() : 0;
  const bool root = rank == 0;  // writes the run folder, the logs and the progress line
  const Device device = ranks ? rank_device(options.device.empty() ? tc.device : options.device, ranks->local_rank())
                              : parse_device(options.device.empty() ? tc.device : options.device);
  set_cpu_threads(tc.threads, options.quiet || !root);
  // The folder is this run's from here to its end: a second process into it is refused now, not after it has
  // interleaved its metrics with ours (run_folder_lock.h).
  std::optional<RunFolderLock> folder_lock;
  if (root) {
    folder_lock.emplace(options.out_dir);
    prepare_run_folder(options.out_dir, !options.resume.empty(), options.force);
  }
  Context& ctx = Context::get(device);
  ctx.deterministic = tc.deterministic;
  RanksOnContext ranks_on_context(ctx, ranks);
  SCN_CHECK(!(ranks && tc.cuda_graph), "train.cuda_graph with ", rank_count, " ranks: captured steps are for one ",
            "process; set train.cuda_graph=false");
  SCN_CHECK(tc.batch >= rank_count, "train.batch ", tc.batch, " cannot give each of the ", rank_count,
            " ranks an image: the batch is global (split across the ranks)");

  auto net = Net::build(config.model);
  check_training_memory(*net, config, device);
  net->initialize(device, config.seed);
  const std::string resolved = yaml_text(config.to_yaml(net->to_yaml()));

  RunData data = load_run_data(config);
  check_images_fit(config, data.train, net->input_shape());
  check_images_fit(config, data.val, net->input_shape());
  BatchSource train_source(data.train, device, data.mean, data.std,
                           AugmentParams{static_cast<int>(config.data.crop_pad), config.data.flip}, config.seed, true);
  BatchSource val_source(data.val, device, data.mean, data.std, AugmentParams{}, config.seed, false);
  // Training images as evaluation sees them (no augmentation), in a fixed shuffled order: the batch norms'
  // statistics are recomputed from them at the end of each epoch (train.recalibrate_batch_norm).
  BatchSource calibration_source = train_source.unaugmented(config.seed + 1);
  // A batch of one cannot be batch-normalised: the last partial batch is dropped when it has one image.
  // A captured step has one batch size: with cuda_graph every partial batch is dropped.
  // Over R ranks, a last partial batch that cannot give every rank two images is dropped.
  const int64_t steps_per_epoch = tc.cuda_graph ? train_source.size() / tc.batch
                                                : scn::steps_per_epoch(train_source.size(), tc.batch, rank_count);
  SCN_CHECK(steps_per_epoch > 0, "train.batch ", tc.batch, " is larger than the ", train_source.size(), " training images");

  const std::string last_path = (fs::path(options.out_dir) / "last.safetensors").string();
  const std::string best_path = (fs::path(options.out_dir) / "best.safetensors").string();

  Optimizer optimizer(config.optimizer, net->params());
  LrSchedule schedule(config.schedule, config.optimizer.lr, tc.epochs);
  int64_t start_epoch = 0, start_step = 0, global_step = 0;
  TrainSummary summary;
  std::string run_id;  // rank 0's: recorded in config.yaml and every checkpoint (run_identity.h)
  CheckpointInfo resumed;
  if (!options.resume.empty()) {
    CheckpointInfo info = load_checkpoint(options.resume, *net, &optimizer);
    resumed = info;
    start_epoch = info.epoch;
    global_step = info.step;
    // The batch to continue from: recorded in the checkpoint (the same global batches whatever the number of
    // ranks), else derived from the step count (checkpoints written before it was recorded).
    start_step = info.epoch_step >= 0 ? info.epoch_step : global_step - start_epoch * steps_per_epoch;
    SCN_CHECK(start_step >= 0 && start_step <= steps_per_epoch, options.resume, ": step ", global_step,
              " does not fit epoch ", start_epoch, " of ", steps_per_epoch, " steps; was it made with another config?");
  }
  // Every rank runs the same config, data, checkpoint and scn, or none starts (rank_agreement.h).
  if (ranks) check_ranks_start_alike(*ranks, start_fingerprint(config, net->to_yaml(), data, *net, optimizer, resumed, options.version));
  // Only a run that will start writes its folder: a refused resume leaves config.yaml as it was.
  if (root) {
    run_id = options.resume.empty() ? new_run_id()
                                     : claim_folder_for_resume(options.out_dir, options.resume, resumed.run_id, options.force);
    YAML::Node with_id = config.to_yaml(net->to_yaml());
    with_id["run_id"] = run_id;
    write_string_atomically((fs::path(options.out_dir) / "config.yaml").string(), yaml_text(with_id));
  }

  summary.val_name = data.val_name;
  summary.epochs_done = start_epoch;
  summary.steps_done = global_step;
  // Only rank 0 opens the logs: another rank's stream stays closed and its writes go nowhere.
  std::ofstream metrics, steps_log;
  if (root) {
    const auto mode = options.resume.empty() ? std::ios::trunc : std::ios::app;
    for (auto [stream, name] : {std::pair{&metrics, "metrics.jsonl"}, std::pair{&steps_log, "steps.jsonl"}}) {
      const std::string path = (fs::path(options.out_dir) / name).string();
      check_regular_file_target(path);  // a FIFO there would block the open; a device would swallow the log
      stream->open(path, mode);
      SCN_CHECK(stream->is_open(), path, ": cannot open the log for writing (", std::strerror(errno), ")");
    }
  }
  const bool show = !options.quiet && root;
  ProgressLine progress(stdout, false, tc.progress_seconds);
  auto say = [&](const std::string& text) {
    if (show) progress.line(text);
  };
  const std::string on = ranks ? std::to_string(rank_count) + " ranks (" + ranks->backend() + ", rank 0 on " +
                                     device.str() + ", global batch " + std::to_string(tc.batch) + ")"
                               : device.str();
  say("training " + config.source + " on " + on + ": " + std::to_string(train_source.size()) + " images, " +
      std::to_string(steps_per_epoch) + " steps/epoch, " + data.val_name + " " + std::to_string(val_source.size()) +
      " images -> " + options.out_dir);
  if (start_epoch >= tc.epochs)
    say(options.resume + " is already at epoch " + std::to_string(start_epoch) + " of " + std::to_string(tc.epochs) +
        ": nothing to train (raise train.epochs to continue)");

  // epoch_step: the steps done in epoch `epochs_done` (0 at an epoch's end).
  auto save = [&](const std::string& path, int64_t epochs_done, int64_t epoch_step, double val_accuracy = -1) {
    if (!root) return;
    CheckpointInfo info{resolved, epochs_done, global_step, data.mean, data.std, val_accuracy, data.train.class_names,
                        epoch_step, run_id, false};
    save_checkpoint(path, *net, info, &optimizer);
  };
  // Divergence: stop, and say which checkpoint is the last good one.
  DivergenceGuard divergence(tc.max_loss_factor, net->classes());
  auto check_finite = [&](double loss, double grad_max, int64_t epoch, int64_t step, double lr) {
    const std::optional<std::string> reason = divergence.check(loss, grad_max);
    if (!reason) return;
    std::ostringstream os;
    os << "training diverged at epoch " << epoch + 1 << ", step " << step + 1 << " (lr " << lr << "): " << *reason
       << ". ";
    if (fs::exists(last_path)) {
      os << "The last good checkpoint is " << last_path << " (epoch " << read_checkpoint_info(last_path).epoch << ").";
    } else {
      os << "No checkpoint was written yet.";
    }
    os << " Lower optimizer.lr or add a warmup (schedule.warmup_epochs).";
    SCN_FAIL(os.str());
  };

  Tensor x, y;
  Tensor grad_max = Tensor::empty({1}, DType::f32, device);
  EpochSums meter;
  TrainStep train_step(*net, optimizer, tc.label_smoothing, tc.cuda_graph, ranks);
  // A resumed run keeps the best it had: best.safetensors is replaced only by a better evaluation.
  double best = -1;
  if (!options.resume.empty() && fs::exists(best_path)) best = read_checkpoint_info(best_path).val_accuracy;
  if (best >= 0) {
    summary.best_val_acc = best;
    summary.best_checkpoint = best_path;
  }
  double train_seconds_total = 0;  // training steps only (the images/s of the epoch lines and of the summary)
  const auto run_start = Clock::now();
  auto last_saved = Clock::now();
  int64_t images_total = 0;
  // Check every step on the CPU; on a GPU a check is a synchronisation, so only every 25 steps.
  const int64_t check_every = device.is_cpu() ? 1 : 25;
  for (int64_t epoch = start_epoch; epoch < tc.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    train_source.start_epoch(epoch);
    meter.reset(device);
    double lr = 0;
    const int64_t first = epoch == start_epoch ? start_step : 0;
    for (int64_t step = first; step < steps_per_epoch; ++step) {
      lr = schedule.at(epoch, step, steps_per_epoch);
      // b: the global batch; this rank trains on its share of it.
      const int64_t b = std::min(tc.batch, train_source.size() - step * tc.batch);
      const BatchShare share = batch_share(step * tc.batch, b, rank, rank_count);
      bool stop = false;  // an interrupt on any rank
      try {
        train_source.range(ctx, share.begin, share.count, x, y);
        train_step.run(ctx, x, y, lr, meter, share.loss_scale);
        if (step % check_every == 0 || step + 1 == steps_per_epoch) {
          reduce_max_abs(ctx, grad_max, net->params().grads());
          if (ranks) ranks->synchronize(ctx, "step (the gradient all-reduce queued on the GPU)");
          double loss = train_step.mean_loss().item();
          if (ranks) {
            // The global batch's loss (the gradients are already the same on every rank): every rank takes
            // the same decision on divergence and on an interrupt.
            loss = sum_over_ranks(*ranks, loss * static_cast<double>(share.count) / static_cast<double>(b),
                                  "all-reduce of the loss");
            stop = any_rank(*ranks, interrupt_requested(), "check for an interrupt on any rank");
          }
          check_finite(loss, grad_max.item(), epoch, step, lr);
        }
        if (options.check_ranks_every > 0 && ranks && (global_step + 1) % options.check_ranks_every == 0)
          check_ranks_agree(*net, *ranks, global_step + 1);
      } catch (const Error& e) {
        // A layer may trip over parameters that an earlier step made non-finite (between two checks on a
        // GPU): report that as the divergence it is.
        reduce_max_abs(ctx, grad_max, net->params().values());
        if (std::string(e.what()).rfind("training diverged", 0) != 0 && !std::isfinite(grad_max.item()))
          check_finite(train_step.mean_loss().item(), NAN, epoch, step, lr);
        throw;
      }
      ++global_step;
      images_total += b;
      // Every rank reaches a logged step (the collectives below are entered by all); the progress line is
      // rank 0's, with its own share's loss and accuracy between the logged steps.
      // Every log_every steps and at each epoch's last step, so that a short run's steps.jsonl is not empty.
      const bool log_step = tc.log_every > 0 && (global_step % tc.log_every == 0 || step + 1 == steps_per_epoch);
      const bool show_progress = show && progress.due();
      if (show_progress || log_step) {
        const double elapsed = seconds_since(run_start);
        const double rate = images_total / std::max(elapsed, 1e-9);
        const double remaining = ((tc.epochs - epoch - 1) * steps_per_epoch + (steps_per_epoch - step - 1)) *
                                 static_cast<double>(tc.batch) / std::max(rate, 1e-9);
        EpochTotals so_far{meter.loss(), meter.accuracy(), static_cast<double>(meter.images)};
        double step_loss = 0;
        if (log_step) {
          so_far = epoch_totals(meter, ranks);
          step_loss = train_step.mean_loss().item();
          if (ranks)
            step_loss = sum_over_ranks(*ranks, step_loss * static_cast<double>(share.count) / static_cast<double>(b),
                                       "all-reduce of the loss");
        }
        if (show_progress)
          progress.update(epoch + 1, tc.epochs, step + 1, steps_per_epoch, so_far.loss, so_far.accuracy, rate,
                          remaining);
        if (log_step && root) {
          // loss: this step's batch; epoch_loss, epoch_acc: the epoch so far (what the progress line shows).
          const nlohmann::json row = {{"epoch", epoch + 1},           {"step", global_step},
                                      {"epoch_step", step + 1},       {"loss", step_loss},
                                      {"epoch_loss", so_far.loss},    {"epoch_acc", so_far.accuracy},
                                      {"lr", lr},                     {"images_per_s", rate}};
          steps_log << row.dump() << "\n" << std::flush;
        }
      }
      // A long epoch also saves now and then (after a checked step), so that a killed run loses minutes,
      // not the epoch.
      const bool save_due = tc.checkpoint_minutes > 0 && step + 1 < steps_per_epoch &&
                            seconds_since(last_saved) >= 60 * tc.checkpoint_minutes && step % check_every == 0;
      if (!ranks) stop = interrupt_requested();
      if (save_due && !stop) {
        save(last_path, epoch, step + 1);
        last_saved = Clock::now();
      }
      if (stop) {
        // Never let an interrupt replace the last good checkpoint with diverged parameters (on a GPU the
        // guard runs only every few steps).
        reduce_max_abs(ctx, grad_max, net->params().values());
        check_finite(train_step.mean_loss().item(), grad_max.item(), epoch, step, lr);
        save(last_path, epoch, step + 1);
        summary.interrupted = true;
        summary.last_checkpoint = last_path;
        summary.epochs_done = epoch;
        summary.steps_done = global_step;
        say(std::string(interrupt_requested() ? "" : "another rank was ") + "interrupted at epoch " +
            std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) + ": saved " + last_path +
            " (resume with --resume " + last_path + ")");
        return summary;
      }
    }
    const double train_seconds = seconds_since(epoch_start);
    train_seconds_total += train_seconds;
    const EpochTotals epoch_sums = epoch_totals(meter, ranks);
    if (ranks) average_running_statistics(ctx, *net, *ranks);
    if (tc.recalibrate_batch_norm > 0 && has_batch_norm(*net)) {
      // Running averages lag the weights they were computed with; unrolled sparse-coding nets amplify the lag
      // until evaluation collapses (docs/batch-norm-in-unrolled-pursuits.md). Before evaluating and saving,
      // recompute them with the epoch's final weights.
      recalibrate_batch_norm(ctx, *net, calibration_source, tc.recalibrate_batch_norm, config.eval.batch);
      train_step.invalidate();
    }
    nlohmann::json row;
    row["epoch"] = epoch + 1;
    row["train_loss"] = epoch_sums.loss;
    row["train_acc"] = epoch_sums.accuracy;
    row["lr"] = lr;
    row["images_per_s"] = epoch_sums.images / std::max(train_seconds, 1e-9);
    if (ranks) row["ranks"] = rank_count;
    summary.train_loss = epoch_sums.loss;
    std::string line = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(tc.epochs);
    char buf[200];
    std::snprintf(buf, sizeof buf, "  train loss %.4f acc %.2f%%", epoch_sums.loss, 100 * epoch_sums.accuracy);
    line += buf;
    const bool last_epoch = epoch + 1 == tc.epochs;
    if ((epoch + 1) % config.eval.every == 0 || last_epoch) {
      CodeSparsityMeter sparsity(*net);
      std::function<void(const Net&)> count_codes;
      if (tc.log_sparsity) count_codes = [&](const Net& n) { sparsity.add(ctx, n); };
      // The ranks share the evaluation's batches and all get its totals.
      EvalResult ev = evaluate(ctx, *net, val_source, config.eval.batch, false, Mode::eval, count_codes, ranks);
      if (ranks && tc.log_sparsity) sparsity.combine(*ranks);
      row["val_loss"] = ev.loss;
      row["val_acc"] = ev.top1;
      if (tc.log_sparsity) row["sparsity"] = sparsity.fractions();
      if (has_batch_norm(*net)) {
        // The same images normalised with each batch's own statistics: a model whose running statistics
        // misrepresent it shows here first (docs/batch-norm-in-unrolled-pursuits.md).
        const EvalResult eb =
            evaluate(ctx, *net, val_source, config.eval.batch, false, Mode::eval_batch_statistics, {}, ranks);
        row["val_acc_batch_statistics"] = eb.top1;
        const std::string warning = batch_norm_gap_warning(ev.top1, eb.top1);
        if (!warning.empty()) say(warning);
      }
      train_step.invalidate();  // evaluation resized the net's buffers: a captured step would use stale ones
      summary.last_val_acc = ev.top1;
      std::snprintf(buf, sizeof buf, "  %s loss %.4f acc %.2f%%", data.val_name.c_str(), ev.loss, 100 * ev.top1);
      line += buf;
      if (ev.top1 > best) {
        best = ev.top1;
        save(best_path, epoch + 1, 0, ev.top1);
        summary.best_checkpoint = best_path;
        summary.best_val_acc = best;
      }
    } else {
      row["val_loss"] = nullptr;
      row["val_acc"] = nullptr;
    }
    if (tc.log_sparsity) {
      nlohmann::json coherence = nlohmann::json::object();
      for (const auto& [node, c] : dictionary_coherences(ctx, *net)) coherence[node] = c.mutual;
      row["coherence"] = coherence;
    }
    if (const double penalty = net->regularizer_value(ctx); penalty > 0) row["regularizer"] = penalty;
    const double epoch_seconds = seconds_since(epoch_start);
    row["seconds"] = epoch_seconds;
    std::snprintf(buf, sizeof buf, "  %.0f img/s  %s", epoch_sums.images / std::max(train_seconds, 1e-9),
                  format_duration(epoch_seconds).c_str());
    line += buf;
    if (root) metrics << row.dump() << "\n" << std::flush;
    SCN_CHECK(!root || metrics.good(), (fs::path(options.out_dir) / "metrics.jsonl").string(),
              ": cannot append the epoch's metrics (is the device full?)");
    if ((epoch + 1) % tc.checkpoint_every == 0 || last_epoch) {
      save(last_path, epoch + 1, 0);
      last_saved = Clock::now();
      summary.last_checkpoint = last_path;
    }
    say(line);
    summary.epochs_done = epoch + 1;
  }
  summary.steps_done = global_step;
  summary.seconds = seconds_since(run_start);
  summary.images_per_s = images_total / std::max(train_seconds_total, 1e-9);
  return summary;
}

}  // namespace scn
