// scn profile CONFIG [--device cpu|cuda] [--batch N] [--steps N] [--warmup N] [--json FILE] [--reference-pursuit]
#include <cstdio>

#include "commands.h"
#include "option_checks.h"
#include "core/atomic_file.h"
#include "output_file.h"
#include "models/profiler.h"

namespace scn::cli {

void add_profile(CLI::App& app, Action& run) {
  struct Args {
    std::string config, json;
    std::vector<std::string> overrides;
    ProfileOptions options;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("profile", "Time every layer of a config's net against the device's peaks");
  sub->add_option("config", a->config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", a->overrides, "Config overrides key.path=value");
  sub->add_option("--device", a->options.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--batch", a->options.batch, "Batch size (default: train.batch)")->check(whole_number(1, 1 << 20, "POSITIVE"));
  sub->add_option("--steps", a->options.steps, "Timed steps")->check(whole_number(1, kMaxCount, "POSITIVE"))->capture_default_str();
  sub->add_option("--warmup", a->options.warmup, "Untimed steps first")->check(whole_number(0, kMaxCount, "NONNEGATIVE"))->capture_default_str();
  sub->add_option("--json", a->json, "Also write the report as JSON");
  sub->add_flag("--force", a->force, "Replace an existing --json file");
  sub->add_flag("--tf32", a->options.tf32, "Let cuDNN use TF32 tensor cores for fp32 convolutions");
  sub->add_flag("--reference-pursuit", a->options.reference_pursuit,
                "Run the patch pursuit as its unfused reference (a 1x1 convolution, an update and an extrapolation "
                "per step) instead of the fused op");
  sub->callback([a, &run] {
    run = [a] {
      if (!a->json.empty()) check_output_file(a->json, a->force, {a->config});  // before minutes of profiling
      RunConfig config = RunConfig::load(a->config, a->overrides);
      ProfileReport r = profile(config, a->options);
      std::printf("%s", format_profile(r).c_str());
      if (!a->json.empty()) {
        write_string_atomically(a->json, profile_json(r).dump(2) + "\n");
        std::printf("report written to %s\n", a->json.c_str());
      }
      return 0;
    };
  });
}

}  // namespace scn::cli
