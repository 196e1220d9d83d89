// scn: train, evaluate, inspect, convert, export and profile deep sparse coding networks.
// Exit status: 0 success, 1 an error (with a message), 2 bad usage (with a one-line reason), 128 + the signal
// when SIGINT or SIGTERM stops it.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <typeinfo>

#include <dnnl.h>

#include "commands.h"
#include "core/cuda_runtime.h"
#include "core/error.h"
#include "core/input_limits.h"
#include "core/memory.h"
#include "core/temporary_files.h"
#include "models/run_config.h"
#include "scn_version.h"

namespace {

// OpenMP threads that wait at a barrier spin for a while before they sleep (libgomp: 300,000 spins by
// default). When other processes share the cores, a spinning thread burns the time slice its partner needs.
// Measured on 2 cores, a 6,000-image quick-start epoch beside three busy processes: 146 images/s with the
// default, 274 with a spin of 10,000 (alone: 931 and 971, no cost); fully passive waiting (OMP_WAIT_POLICY=
// passive) reached 266 loaded but lost 17 % alone. libgomp reads the setting only when it loads, so scn sets
// it and starts itself again, once, unless the user chose a wait policy or spin count already.
void use_short_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  ::setenv("GOMP_SPINCOUNT", "10000", 1);
  ::execv("/proc/self/exe", argv);  // returns only when it fails: then run on with the default spin
}

// scn 0.1.0 (git 1a2b3c4d5e6f), oneDNN 3.0.0, CUDA runtime 13.0, ...
void print_version() {
  const dnnl_version_t* d = dnnl_version();
  std::printf("scn %s (git %s)\noneDNN %d.%d.%d\n%s\n", SCN_VERSION, SCN_GIT_REVISION, d->major, d->minor, d->patch,
              scn::cuda_rt::versions().c_str());
}

// CLI11 answers `scn foo` with "A subcommand is required": name the command it does not know instead.
bool is_unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[1]) return false;
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  std::fprintf(stderr, "scn: unknown command '%s' (the commands: %s; see scn --help)\n", argv[1], names.c_str());
  return true;
}

// The subcommand being parsed, as "scn data convert" (from argv: CLI11 may not have marked it yet).
std::string command_path(const CLI::App& app, int argc, char** argv, const CLI::App** deepest) {
  std::string path = "scn";
  const CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-")) continue;
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == arg) next = sub;
    if (!next) break;
    at = next;
    path += " " + arg;
  }
  if (deepest) *deepest = at;
  return path;
}

// The config keys of the run sections whose last part is `name` ("epochs" → train.epochs), for the hint after
// an unknown option --epochs: configs are changed by overrides, not options.
std::vector<std::string> config_keys_named(const std::string& name) {
  std::vector<std::string> found;
  try {
    const scn::RunConfig c = scn::RunConfig::parse(scn::ConfigNode::load_string(
        "model: {input: [1, 4, 4], classes: 2, layers: [{type: linear, out: 2}]}", "(defaults)"));
    const YAML::Node root = c.to_yaml(YAML::Node());
    for (const auto& section : root) {
      const std::string s = section.first.Scalar();
      if (s == "model") continue;
      if (section.second.IsScalar() && s == name) found.push_back(s);
      if (!section.second.IsMap()) continue;
      for (const auto& key : section.second) {
        const std::string k = key.first.Scalar();
        if (k == name) found.push_back(s + "." + k);
        if (key.second.IsMap())
          for (const auto& inner : key.second)
            if (inner.first.Scalar() == name) found.push_back(s + "." + k + "." + name);
      }
    }
  } catch (const std::exception&) {
  }
  return found;
}

// A usage error as one line that says what to do: the subcommand's own help, the subcommands to choose from,
// and for an unknown --option that is a config key, the override that sets it.
std::string usage_message(const CLI::App& app, int argc, char** argv, const CLI::ParseError& e) {
  const CLI::App* at = nullptr;
  const std::string path = command_path(app, argc, argv, &at);
  std::string message = e.what();
  if (dynamic_cast<const CLI::RequiredError*>(&e) && message.find("subcommand") != std::string::npos && at) {
    std::string names;
    for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    message = "a subcommand is required: " + names;
  }
  std::string hint;
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    for (int i = 1; i < argc && hint.empty(); ++i) {
      std::string arg = argv[i];
      if (!arg.starts_with("--") || arg.size() < 3) continue;
      std::string value = "VALUE";
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      } else if (i + 1 < argc && argv[i + 1][0] != '-') {
        value = argv[i + 1];
      }
      if (message.find(arg) == std::string::npos) continue;
      std::string key = arg.substr(2);
      for (char& c : key) c = c == '-' ? '_' : c;
      const std::vector<std::string> keys = config_keys_named(key);
      for (size_t k = 0; k < keys.size(); ++k)
        hint += (k ? " or " : "") + keys[k] + "=" + value;
      if (!hint.empty()) hint = "; " + arg + " is a config key, set it with an override after the config: " + hint;
    }
  }
  return path + ": " + message + hint + " (see " + path + " --help)";
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);
  // SIGXFSZ ignored (a write past `ulimit -f` fails with EFBIG and says "File too large"); SIGINT and SIGTERM
  // remove the temporary file of a write under way and say so (scn train installs its own handler later).
  scn::install_signal_cleanup();
  CLI::App app{"scn: deep sparse coding networks: train, evaluate, analyse and profile them", "scn"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");
  bool version = false;
  app.add_flag("--version", version, "Print the version, git revision and the libraries found, and exit");
  scn::cli::Action run;
  scn::cli::add_train(app, run);
  scn::cli::add_eval(app, run);
  scn::cli::add_predict(app, run);
  scn::cli::add_info(app, run);
  scn::cli::add_data(app, run);
  scn::cli::add_export(app, run);
  scn::cli::add_profile(app, run);
  scn::cli::add_analyze(app, run);
  scn::cli::add_synth(app, run);
  if (is_unknown_command(app, argc, argv)) return 2;
  // --version alone needs no subcommand.
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--version") {
      print_version();
      return 0;
    }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s\n", usage_message(app, argc, argv, e).c_str());
    return 2;
  }
  try {
    scn::input_limits();  // a bad SCN_MAX_* variable stops every command, before any work
    return run ? run() : 2;
  } catch (const scn::Error& e) {
    // The source location of the check helps with bugs, not with a missing file: shown with SCN_VERBOSE=1.
    std::fprintf(stderr, "scn: error: %s\n", std::getenv("SCN_VERBOSE") ? e.what() : scn::without_location(e.what()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "scn: error: out of memory (%s of host memory available); lower train.batch or the data "
                 "or net sizes\n", scn::format_bytes(static_cast<double>(scn::host_memory_available())).c_str());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // Names the path(s) and the system's reason.
    std::fprintf(stderr, "scn: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    // Every expected failure is an scn::Error with a message of ours; anything else is a bug to report.
    std::fprintf(stderr, "scn: error: %s (an unexpected %s; please report it)\n", scn::shorten(e.what(), 300).c_str(),
                 typeid(e).name());
    return 1;
  }
}
