// scn info CONFIG [key.path=value ...] [--resolved]: the net's summary without touching data, or the resolved
// config (every default filled in, the layers flat), as a training run writes it into config.yaml.
#include <cstdio>

#include "core/config/yaml_text.h"

#include "commands.h"
#include "models/net.h"
#include "models/preflight.h"
#include "models/run_config.h"

namespace scn::cli {

void add_info(CLI::App& app, Action& run) {
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto resolved = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("info", "Print a config's net: layers, shapes, parameters, FLOPs");
  sub->add_option("config", *config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", *overrides, "Config overrides key.path=value");
  sub->add_flag("--resolved", *resolved,
                "Print the resolved config instead (YAML: every default filled in, repeat blocks and model.defaults "
                "expanded), as scn train writes it into the run folder's config.yaml");
  sub->callback([config, overrides, resolved, &run] {
    run = [config, overrides, resolved] {
      RunConfig rc = RunConfig::load(*config, *overrides);
      auto net = Net::build(rc.model);
      if (*resolved) {
        std::printf("%s", yaml_text(rc.to_yaml(net->to_yaml())).c_str());
        return 0;
      }
      std::printf("%s: input %s, %d classes\n%s%s\n", config->c_str(), net->input_shape().str().c_str(), net->classes(),
                  net->summary().c_str(), training_memory_line(*net, rc.train.batch).c_str());
      return 0;
    };
  });
}

}  // namespace scn::cli
