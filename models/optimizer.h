#pragma once
// The optimizer of a run: SGD (momentum, Nesterov) or Adam/AdamW over the whole parameter arena in one call
// per step, then the projections (θ ≥ 0 and friends). Its state is stored
// inside the checkpoint (models/checkpoint.h): the weights and the state that continues their trajectory
// are written, and survive, as one file.
#include <map>
#include <string>
#include <utility>
#include <vector>

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

  // The state as named tensors ("optimizer/velocity", "optimizer/m", "optimizer/v") and metadata
  // ("optimizer", "optimizer_steps"), appended to what a checkpoint writes.
  void append_state(std::vector<std::pair<std::string, Tensor>>& tensors,
                    std::map<std::string, std::string>& metadata) const;
  // Restores the state from a checkpoint's tensors and metadata; `path` names the file in errors. Nothing
  // changes unless every tensor fits.
  void load_state(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata);

 private:
  void ensure_state();
  OptimizerConfig c_;
  ParamArena& arena_;
  ParamTable table_;
  Tensor m_, v_;         // SGD: m_ is the velocity; Adam: first and second moments
  int64_t steps_ = 0;
};

// Tensor names under this prefix are optimizer state; node names cannot contain '/', so none collides.
inline constexpr const char* kOptimizerPrefix = "optimizer/";

}  // namespace scn
