// scn info CONFIG [key.path=value ...]: the net's summary without touching data.
#include <cstdio>

#include "commands.h"
#include "models/net.h"
#include "models/preflight.h"
#include "models/run_config.h"

namespace scn::cli {

void add_info(CLI::App& app, Action& run) {
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  CLI::App* sub = app.add_subcommand("info", "Print a config's net: layers, shapes, parameters, FLOPs");
  sub->add_option("config", *config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", *overrides, "Config overrides key.path=value");
  sub->callback([config, overrides, &run] {
    run = [config, overrides] {
      RunConfig rc = RunConfig::load(*config, *overrides);
      auto net = Net::build(rc.model);
      std::printf("%s: input %s, %d classes\n%s%s\n", config->c_str(), net->input_shape().str().c_str(), net->classes(),
                  net->summary().c_str(), training_memory_line(*net, rc.train.batch).c_str());
      return 0;
    };
  });
}

}  // namespace scn::cli
