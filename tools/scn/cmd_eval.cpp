// scn eval CONFIG --checkpoint CKPT [--split test|val|train] [--dump-logits FILE] [--device D]
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "commands.h"
#include "output_file.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"
#include "models/data_setup.h"
#include "models/evaluator.h"

namespace scn::cli {

namespace {

struct EvalArgs {
  std::string config, checkpoint, split = "test", dump, device = "auto";
  std::vector<std::string> overrides;
  bool force = false;
};

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

int run_eval(const EvalArgs& a) {
  if (!a.dump.empty()) check_output_file(a.dump, a.force, {a.checkpoint, a.config});
  RunConfig config = RunConfig::load(a.config, a.overrides);
  const Device device = parse_device(a.device);
  Context& ctx = Context::get(device);
  auto net = Net::build(config.model);
  net->initialize(device, config.seed);
  CheckpointInfo info = load_checkpoint(a.checkpoint, *net);
  Dataset data = load_split(config, a.split);
  std::vector<double> mean = info.mean, std = info.std;
  if (mean.empty()) normalisation(config, load_split(config, "train"), mean, std);  // an older checkpoint
  BatchSource source(data, device, mean, std, AugmentParams{}, config.seed, false);
  EvalResult r = evaluate(ctx, *net, source, config.eval.batch, !a.dump.empty());
  std::printf("%s on %s (%lld images, checkpoint epoch %lld): loss %.4f  top-1 %.2f%%", a.checkpoint.c_str(),
              a.split.c_str(), static_cast<long long>(r.count), static_cast<long long>(info.epoch), r.loss,
              100 * r.top1);
  if (net->classes() > 10) std::printf("  top-5 %.2f%%", 100 * r.top5);
  std::printf("\n");
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
  sub->add_option("config", args->config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", args->overrides, "Config overrides key.path=value");
  sub->add_option("--checkpoint", args->checkpoint, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("--split", args->split, "test, val or train")->check(CLI::IsMember({"test", "val", "train"}));
  sub->add_option("--dump-logits", args->dump, "Write logits [N, classes] and labels [N] (safetensors)");
  sub->add_option("--device", args->device, "cpu, cuda, cuda:N or auto");
  sub->add_flag("--force", args->force, "Replace an existing --dump-logits file");
  sub->callback([args, &run] { run = [args] { return run_eval(*args); }; });
}

}  // namespace scn::cli
