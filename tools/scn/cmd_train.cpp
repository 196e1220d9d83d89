// scn train CONFIG [key.path=value ...] [--resume CKPT] [--device cpu|cuda|auto] [--out DIR] [--force]
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "models/trainer.h"

namespace scn::cli {

namespace {
struct TrainArgs {
  std::string config, resume, device, out;
  std::vector<std::string> overrides;
  bool force = false;
};
}  // namespace

std::string default_run_dir(const RunConfig& config);

void add_train(CLI::App& app, Action& run) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train a net from a config file");
  sub->add_option("config", args->config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", args->overrides, "Config overrides key.path=value");
  sub->add_option("--resume", args->resume, "Continue from this checkpoint (it holds the optimizer state too)")
      ->check(CLI::ExistingFile);
  sub->add_option("--device", args->device, "cpu, cuda, cuda:N or auto (default: train.device)");
  sub->add_option("--out", args->out, "Run folder (default: output.dir or runs/<config name>)");
  sub->add_flag("--force", args->force, "Start afresh in a run folder that holds a run, replacing its files");
  sub->callback([args, &run] {
    run = [args] {
      RunConfig config = RunConfig::load(args->config, args->overrides);
      TrainOptions o;
      o.resume = args->resume;
      o.device = args->device;
      o.force = args->force;
      o.out_dir = !args->out.empty() ? args->out : default_run_dir(config);
      install_interrupt_handler();
      TrainSummary s = train(config, o);
      if (s.interrupted) return 128 + interrupt_signal();
      if (s.last_val_acc < 0) return 0;  // nothing was trained
      std::printf("done: %lld epochs, %.0f images/s, %s accuracy %.2f%% (best %.2f%%), checkpoint %s\n",
                  static_cast<long long>(s.epochs_done), s.images_per_s, s.val_name.c_str(), 100 * s.last_val_acc,
                  100 * s.best_val_acc, s.last_checkpoint.c_str());
      return 0;
    };
  });
}

std::string default_run_dir(const RunConfig& config) {
  if (!config.output.dir.empty()) return config.output.dir;
  return (std::filesystem::path("runs") / std::filesystem::path(config.source).stem()).string();
}

}  // namespace scn::cli
