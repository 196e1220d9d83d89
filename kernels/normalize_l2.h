#pragma once
// One step of a power iteration, kept on the device: the norm of a vector, the vector scaled to unit norm,
// and optionally the reciprocal of the norm (the sparse-coding step η = 1/‖DᵀD v‖). Nothing is read on the
// host, so a training step with `step: auto` does not synchronise.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// norm[0] = ‖x‖₂; y = x/‖x‖₂ (y = x when ‖x‖₂ = 0); inverse[0] = 1/‖x‖₂ (1 when ‖x‖₂ = 0) when defined.
// y: like x (may alias x); norm: (1); inverse: (1) or undefined; x: any shape
void normalize_l2(Context& ctx, const Tensor& y, const Tensor& norm, const Tensor& inverse, const Tensor& x);

namespace cuda {
void normalize_l2(Context& ctx, const Tensor& y, const Tensor& norm, const Tensor& inverse, const Tensor& x);
}  // namespace cuda

}  // namespace scn
