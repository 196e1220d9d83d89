// scn analyze [CONFIG] [key=value...] --checkpoint CK [--split test|val|train] [--images N] [--out DIR] [--device D] [--no-plot]
// The sparse model inside a trained net: coherence of every dictionary, sparsity of its codes against the
// bounds of the theory, and how converged its pursuits are (analysis/net_analysis.h). Prints the table,
// writes DIR/analysis.json and, with tools/plot beside the build, its PNGs.
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "models/net_analysis.h"
#include "checkpoint_run.h"
#include "commands.h"
#include "option_checks.h"
#include "core/atomic_file.h"
#include "models/batch_source.h"
#include "models/data_setup.h"
#include "output_file.h"

namespace scn::cli {

namespace {

namespace fs = std::filesystem;

struct AnalyzeArgs {
  std::string config, checkpoint, split = "test", out, device = "auto";
  std::vector<std::string> positionals, overrides;
  int64_t images = 512, batch = 0;
  bool plot = true, force = false;
};

// $SCN_PLOT_TOOL, else tools/plot of the source tree this scn was built from (build/scn → tools/plot), if it
// is there.
std::string find_plot_tool() {
  if (const char* tool = std::getenv("SCN_PLOT_TOOL"); tool && *tool) return tool;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& p : {exe.parent_path().parent_path() / "tools" / "plot", exe.parent_path() / "tools" / "plot"})
    if (fs::exists(p, ec)) return p.string();
  return "";
}

// Runs `tool file` and returns its exit status (-1 when it did not start or did not exit). Not std::system:
// that ignores SIGINT in scn while the child runs, so Ctrl-C during the plotting was lost. Here scn's own
// handler (core/temporary_files.h) ends scn at once with 130, and the child, in scn's process group, gets the
// terminal's Ctrl-C itself.
int run_tool(const std::string& tool, const std::string& file) {
  std::fflush(stdout);  // before the tool writes to the same terminal
  std::string arg0 = tool, arg1 = file;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, tool.c_str(), nullptr, nullptr, argv, environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_analyze(AnalyzeArgs a) {
  split_config_and_overrides(a.positionals, a.config, a.overrides);
  const fs::path out = a.out.empty() ? fs::path(a.checkpoint).parent_path() / "analysis" : fs::path(a.out);
  const std::string json_path = (out / "analysis.json").string();
  std::filesystem::create_directories(out);
  check_output_file(json_path, a.force, a.config.empty() ? std::vector<std::string>{a.checkpoint}
                                                         : std::vector<std::string>{a.checkpoint, a.config});
  const auto start = std::chrono::steady_clock::now();
  CheckpointRun run = load_checkpoint_run(a.config, a.overrides, a.checkpoint, a.device);
  // Without a dictionary there is nothing to measure: an empty table and exit 0 would read as success.
  bool has_dictionary = false;
  for (const NetNode& n : run.net->nodes()) has_dictionary = has_dictionary || !n.layer->dictionary_infos().empty();
  SCN_CHECK(has_dictionary, a.checkpoint, ": its net has no dictionary layer (sparse_code, conv or ml_pursuit): there ",
            "is nothing for scn analyze to measure");
  Context& ctx = Context::get(run.device);
  Dataset data = load_split(run.config, a.split);
  check_images_fit(run.config, data, run.net->input_shape());
  BatchSource source(data, run.device, run.mean, run.std, AugmentParams{}, run.config.seed, false);
  const int64_t batch = a.batch > 0 ? a.batch : run.config.eval.batch;
  const NetAnalysis r = analyze_net(ctx, *run.net, source, a.images, batch);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s, %s split, %lld images (checkpoint epoch %lld), %.1f s:\n%s", a.checkpoint.c_str(), a.split.c_str(),
              static_cast<long long>(r.images), static_cast<long long>(run.info.epoch), seconds,
              format_analysis(r).c_str());
  nlohmann::json j = to_json(r);
  j["checkpoint"] = a.checkpoint;
  j["config"] = run.config.source;
  j["split"] = a.split;
  j["epoch"] = run.info.epoch;
  write_string_atomically(json_path, j.dump(1) + "\n");
  std::printf("analysis written to %s\n", json_path.c_str());
  std::fflush(stdout);  // before the plotting tool writes to the same terminal
  if (!a.plot) return 0;
  const std::string plot = find_plot_tool();
  const std::string command = (plot.empty() ? std::string("tools/plot") : plot) + " '" + json_path + "'";
  if (plot.empty() || run_tool(plot, json_path) != 0)
    std::printf("plots not drawn here; draw them with: %s\n", command.c_str());
  return 0;
}

}  // namespace

void add_analyze(CLI::App& app, Action& run) {
  auto a = std::make_shared<AnalyzeArgs>();
  CLI::App* sub = app.add_subcommand(
      "analyze", "The sparse model inside a checkpoint: coherence, local sparsity against the bounds, pursuits");
  sub->add_option("config", a->positionals,
                  "[CONFIG] [key.path=value ...]: the config file (default: the one the checkpoint holds) and "
                  "overrides");
  sub->add_option("--checkpoint", a->checkpoint, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("--split", a->split, "Images to code: test, val or train")
      ->check(CLI::IsMember({"test", "val", "train"}))
      ->capture_default_str();
  sub->add_option("--images", a->images, "Number of images")->check(whole_number(1, kMaxCount, "POSITIVE"))->capture_default_str();
  sub->add_option("--batch", a->batch, "Batch size (default: eval.batch)")->check(whole_number(1, 1 << 20, "POSITIVE"));
  sub->add_option("--out", a->out, "Folder for analysis.json and the plots (default: <checkpoint folder>/analysis)");
  sub->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_flag("!--no-plot", a->plot,
                "Do not draw the PNGs (tools/plot analysis.json draws them later; $SCN_PLOT_TOOL names another plotter)");
  sub->add_flag("--force", a->force, "Replace an existing analysis.json");
  sub->callback([a, &run] { run = [a] { return run_analyze(*a); }; });
}

}  // namespace scn::cli
