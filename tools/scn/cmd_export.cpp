// scn export CKPT --to OUT.safetensors: the net's tensors only (no optimizer state, no run state), for
// PyTorch's safetensors.torch.load_file. Names are <node>.<param>, layouts as PyTorch's modules store them.
// The metadata makes the file usable alone (python/scn_torch builds the torch.nn.Module from it):
//   format "pt", scn_export "1", scn_version, config (the resolved YAML of the run), normalize_mean and
//   normalize_std (per channel, for (pixel/255 − mean)/std), class_names (JSON list), epoch.
#include <cstdio>

#include "commands.h"
#include "output_file.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"
#include "scn_version.h"

namespace scn::cli {

void add_export(CLI::App& app, Action& run) {
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("export", "Write a checkpoint's weights for other tools (PyTorch)");
  sub->add_option("checkpoint", *in, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("--to", *out, "Output file (.safetensors)")->required();
  sub->add_flag("--force", *force, "Replace an existing output file");
  sub->callback([in, out, force, &run] {
    run = [in, out, force] {
      check_output_file(*out, *force, {*in});
      SafetensorsFile f = read_checkpoint_file(*in);
      std::vector<std::pair<std::string, Tensor>> kept;
      auto is_state = [](const std::string& name) {
        return name.rfind(kOptimizerPrefix, 0) == 0 ||
               (name.size() >= 13 && name.compare(name.size() - 13, 13, ".power_vector") == 0);
      };
      for (auto& [name, t] : f.tensors)
        if (!is_state(name)) kept.emplace_back(name, t);
      std::map<std::string, std::string> meta{{"format", "pt"}, {"scn_export", "1"}, {"scn_version", SCN_VERSION}};
      for (const char* key : {"config", "normalize_mean", "normalize_std", "class_names", "epoch"}) {
        auto it = f.metadata.find(key);
        if (it != f.metadata.end()) meta[key] = it->second;
      }
      write_safetensors(*out, kept, meta);
      std::printf("exported %zu tensors from %s to %s\n", kept.size(), in->c_str(), out->c_str());
      return 0;
    };
  });
}

}  // namespace scn::cli
