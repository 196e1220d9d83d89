#pragma once
// The parameters every pursuit layer gives each dictionary besides its weights — a threshold θ per atom (or one
// for the layer) and a scalar step η — with the rules they share: no weight decay (they are biases and step
// sizes, not weights), their own kinds in counts and checkpoints, and optional projections after each step.
#include <string>

#include "core/context.h"
#include "core/param_arena.h"

namespace scn {

// θ of `channels` values; `nonnegative` keeps it ≥ 0 (two-sided thresholds, lasso weights).
ParamSpec threshold_spec(const std::string& name, int64_t channels, bool learn, bool nonnegative);
// η, one value; `nonnegative` keeps it ≥ 0 (a descent step).
ParamSpec step_spec(const std::string& name, bool learn, bool nonnegative);
// Writes a scalar parameter: in full precision into an f64 host tensor (gradient checks), else as f32.
void set_scalar(Context& ctx, const Tensor& t, double value);

}  // namespace scn
