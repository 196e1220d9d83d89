// scn eval [CONFIG] [key=value...] --checkpoint CKPT [--split test|val|train] [--dump-logits FILE] [--device D]
//          [--bn running|batch|recalibrate N] [--bn-report]
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "checkpoint_run.h"
#include "commands.h"
#include "output_file.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"
#include "models/data_setup.h"
#include "models/batch_norm_statistics.h"
#include "models/evaluator.h"

namespace scn::cli {

namespace {

struct EvalArgs {
  std::string config, checkpoint, split = "test", dump, device = "auto";
  std::vector<std::string> positionals, overrides;
  std::vector<std::string> bn{"running"};  // statistics, and for recalibrate the number of training images
  bool bn_report = false;
  bool force = false;
};

// --bn running | batch | recalibrate N
std::pair<BatchNormStatistics, int64_t> parse_bn(const std::vector<std::string>& bn) {
  const BatchNormStatistics s = parse_batch_norm_statistics(bn.at(0));
  if (s != BatchNormStatistics::recalibrate) {
    if (bn.size() > 1) throw Error("--bn " + bn[0] + " takes no number");
    return {s, 0};
  }
  if (bn.size() < 2) throw Error("--bn recalibrate needs the number of training images, e.g. --bn recalibrate 5000");
  const std::string& n = bn[1];
  if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos || std::stoll(n) == 0)
    throw Error("--bn recalibrate " + shorten(n) + ": expected a positive number of images");
  return {s, std::stoll(n)};
}

// Per-class accuracy and the most frequent confusions, in a few lines.
void print_confusion(const EvalResult& r, const std::vector<std::string>& names) {
  const size_t k = r.confusion.size();
  std::printf("per-class accuracy:\n");
  for (size_t c = 0; c < k; ++c) {
    int64_t total = 0;
    for (int64_t v : r.confusion[c]) total += v;
    const std::string name = c < names.size() ? names[c] : std::to_string(c);
    std::printf("  %-14s %6.2f%%  (%lld images)\n", name.c_str(), total ? 100.0 * r.confusion[c][c] / total : 0.0,
                static_cast<long long>(total));
    if (k > 20 && c == 9) {
      std::printf("  ... (%zu classes)\n", k);
      break;
    }
  }
  std::vector<std::tuple<int64_t, size_t, size_t>> off;
  for (size_t t = 0; t < k; ++t)
    for (size_t p = 0; p < k; ++p)
      if (t != p && r.confusion[t][p] > 0) off.emplace_back(r.confusion[t][p], t, p);
  std::sort(off.rbegin(), off.rend());
  std::printf("most frequent confusions (true -> predicted):\n");
  for (size_t i = 0; i < std::min<size_t>(5, off.size()); ++i) {
    auto [n, t, p] = off[i];
    std::printf("  %s -> %s: %lld\n", t < names.size() ? names[t].c_str() : std::to_string(t).c_str(),
                p < names.size() ? names[p].c_str() : std::to_string(p).c_str(), static_cast<long long>(n));
  }
}

int run_eval(EvalArgs a) {
  // --bn takes one value, so that the overrides after `--bn batch` stay overrides (two values made CLI11 take
  // the first override as the count: "--bn: At Most 2 required but received 3"). The count of
  // `--bn recalibrate N` is then the first positional that is a plain number: no config file or override is.
  if (a.bn.size() == 1 && a.bn[0] == "recalibrate")
    for (auto it = a.positionals.begin(); it != a.positionals.end(); ++it)
      if (!it->empty() && it->find_first_not_of("0123456789") == std::string::npos) {
        a.bn.push_back(*it);
        a.positionals.erase(it);
        break;
      }
  split_config_and_overrides(a.positionals, a.config, a.overrides);
  if (!a.dump.empty())
    check_output_file(a.dump, a.force, a.config.empty() ? std::vector<std::string>{a.checkpoint}
                                                        : std::vector<std::string>{a.checkpoint, a.config});
  const auto [statistics, calibration_images] = parse_bn(a.bn);
  CheckpointRun run = load_checkpoint_run(a.config, a.overrides, a.checkpoint, a.device);
  const RunConfig& config = run.config;
  const Device device = run.device;
  Context& ctx = Context::get(device);
  Net* net = run.net.get();
  const CheckpointInfo& info = run.info;
  const std::vector<double>& mean = run.mean, &std = run.std;
  Dataset data = load_split(config, a.split);
  check_images_fit(config, data, net->input_shape());
  BatchSource source(data, device, mean, std, AugmentParams{}, config.seed, false);
  const bool normalised = has_batch_norm(*net);
  if (statistics == BatchNormStatistics::recalibrate && normalised) {
    // Training images without augmentation, in a fixed shuffled order.
    Dataset train = load_split(config, "train");
    BatchSource calibration(train, device, mean, std, AugmentParams{}, config.seed, true);
    const int64_t used = recalibrate_batch_norm(ctx, *net, calibration, calibration_images, config.eval.batch);
    std::printf("batch-norm running statistics recomputed over %lld training images\n", static_cast<long long>(used));
  }
  if (a.bn_report && normalised) {
    Tensor x, y;
    source.start_epoch(0);
    source.batch(ctx, 0, config.eval.batch, x, y);
    std::printf("one batch of %lld images, running statistics against the batch's own, node by node:\n%s",
                static_cast<long long>(x.size(0)), format_statistics_gaps(compare_batch_norm_statistics(ctx, *net, x)).c_str());
  }
  EvalResult r = evaluate(ctx, *net, source, config.eval.batch, !a.dump.empty(), evaluation_mode(statistics));
  std::printf("%s on %s (%lld images, checkpoint epoch %lld): loss %.4f  top-1 %.2f%%", a.checkpoint.c_str(),
              a.split.c_str(), static_cast<long long>(r.count), static_cast<long long>(info.epoch), r.loss,
              100 * r.top1);
  if (net->classes() > 10) std::printf("  top-5 %.2f%%", 100 * r.top5);
  if (normalised) std::printf("  (batch norm: %s statistics)", a.bn[0].c_str());
  std::printf("\n");
  if (r.non_finite > 0)
    std::fprintf(stderr, "scn: warning: %lld of %lld images gave NaN or Inf logits (counted wrong): the checkpoint's "
                 "net diverges on them\n", static_cast<long long>(r.non_finite), static_cast<long long>(r.count));
  if (normalised && statistics != BatchNormStatistics::batch) {
    // The same images with each batch's own statistics: how much the fixed statistics cost.
    const EvalResult b = evaluate(ctx, *net, source, config.eval.batch, false, Mode::eval_batch_statistics);
    std::printf("with each batch's own batch-norm statistics (batches of %lld): loss %.4f  top-1 %.2f%%\n",
                static_cast<long long>(config.eval.batch), b.loss, 100 * b.top1);
    const std::string warning = batch_norm_gap_warning(r.top1, b.top1);
    if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  }
  print_confusion(r, data.class_names);
  if (!a.dump.empty()) {
    std::vector<double> labels = data.labels.to_vector();
    write_safetensors(a.dump, {{"logits", r.logits}, {"labels", Tensor::from_vector(labels, {r.count}, DType::i32)}},
                      {{"checkpoint", a.checkpoint}, {"split", a.split}});
    std::printf("logits written to %s\n", a.dump.c_str());
  }
  return 0;
}

}  // namespace

void add_eval(CLI::App& app, Action& run) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a checkpoint: accuracy, loss, confusions");
  sub->add_option("config", args->positionals,
                  "[CONFIG] [key.path=value ...]: the config file (default: the one the checkpoint holds) and "
                  "overrides");
  sub->add_option("--checkpoint", args->checkpoint, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("--split", args->split, "test, val or train")->check(CLI::IsMember({"test", "val", "train"}))->capture_default_str();
  sub->add_option("--dump-logits", args->dump, "Write logits [N, classes] and labels [N] (safetensors)");
  sub->add_option("--device", args->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--bn", args->bn,
                  "Batch-norm statistics: running (default), batch (each batch's own), or recalibrate N "
                  "(recompute the running statistics over N training images first)")
      ->expected(1)
      ->allow_extra_args(false);
  sub->add_flag("--bn-report", args->bn_report,
                "Print, node by node for one batch, how running and batch statistics change the activations");
  sub->add_flag("--force", args->force, "Replace an existing --dump-logits file");
  sub->callback([args, &run] { run = [args] { return run_eval(*args); }; });
}

}  // namespace scn::cli
