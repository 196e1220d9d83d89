#pragma once
// The subcommands of the `scn` tool. Each adds itself to the app and sets `run` to its action when chosen.
#include <CLI/CLI.hpp>

#include <functional>

namespace scn::cli {

using Action = std::function<int()>;  // returns the exit status

void add_train(CLI::App& app, Action& run);
void add_eval(CLI::App& app, Action& run);
void add_info(CLI::App& app, Action& run);
void add_data(CLI::App& app, Action& run);
void add_export(CLI::App& app, Action& run);
void add_profile(CLI::App& app, Action& run);
void add_analyze(CLI::App& app, Action& run);
void add_synth(CLI::App& app, Action& run);
void add_predict(CLI::App& app, Action& run);

}  // namespace scn::cli
