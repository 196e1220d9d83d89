#pragma once
// The optimizer of a run: SGD (momentum, Nesterov) or Adam/AdamW over the whole parameter arena in one call
// per step, then the projections (θ ≥ 0 and friends). Its state lives beside the checkpoint in
// "<name>.optim.safetensors" so a resumed run continues the same trajectory.
#include <string>

#include "kernels/optimizer.h"
#include "models/run_config.h"

namespace scn {

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, ParamArena& arena);
  // One update with learning rate `lr` (times lr_scale[0] when given, a (1) device tensor) from the arena's
  // gradients, then the projections.
  void step(Context& ctx, double lr, const Tensor& lr_scale = Tensor());
  const std::string& type() const { return c_.type; }
  int64_t steps() const { return steps_; }

  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  void ensure_state();
  OptimizerConfig c_;
  ParamArena& arena_;
  ParamTable table_;
  Tensor m_, v_;         // SGD: m_ is the velocity; Adam: first and second moments
  int64_t steps_ = 0;
};

// "runs/x/last.safetensors" → "runs/x/last.optim.safetensors"
std::string optimizer_state_path(const std::string& checkpoint_path);

}  // namespace scn
