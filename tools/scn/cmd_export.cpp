// scn export CKPT --to OUT.safetensors: the net's tensors only (no optimizer state, no run state), for
// PyTorch's safetensors.torch.load_file. Names are <node>.<param>, layouts as PyTorch's modules store them.
#include <cstdio>

#include "commands.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"

namespace scn::cli {

void add_export(CLI::App& app, Action& run) {
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("export", "Write a checkpoint's weights for other tools (PyTorch)");
  sub->add_option("checkpoint", *in, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("--to", *out, "Output file (.safetensors)")->required();
  sub->callback([in, out, &run] {
    run = [in, out] {
      read_checkpoint_info(*in);  // refuses files that are not scn checkpoints
      SafetensorsFile f = read_safetensors(*in);
      std::vector<std::pair<std::string, Tensor>> kept;
      for (auto& [name, t] : f.tensors)
        if (name.size() < 13 || name.compare(name.size() - 13, 13, ".power_vector") != 0) kept.emplace_back(name, t);
      write_safetensors(*out, kept, {{"format", "pt"}});
      std::printf("exported %zu tensors from %s to %s\n", kept.size(), in->c_str(), out->c_str());
      return 0;
    };
  });
}

}  // namespace scn::cli
