#pragma once
// The power iteration of the patch pursuit's step size, all iterations in one op on the device (docs/design.md):
// on the Gram matrix M = AᵀA (C×C) of the atoms, from the unit vector v = v_in/‖v_in‖,
//   `iterations` times:  v ← M v/‖M v‖,   ρ = ‖M v‖ → λ_max(M) = ‖A‖² as v converges,
// then η = 1/ρ (1 when ρ = 0) and, for the lasso threshold form, θ = η·λ. This is the composition
// normalize_l2, then (1×1 convolution by M, normalize_l2) per iteration, in one launch: the step of a
// training forward reads nothing on the host and makes one launch instead of 2·iterations + 1.
// Sums of squares in double. CPU: f32 and f64; CUDA: f32, one block.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// vector_out: C elements (may alias vector_in); lipschitz: (1), ρ (‖v_in‖ when iterations = 0); step: (1) or
// undefined, η = 1/ρ (written when iterations > 0); threshold: like lambda or undefined, η·λ (needs step);
// vector_in: C elements; gram: (C, C) or (C, C, 1, 1); lambda: (C) or (1) or undefined
void gram_power_iteration(Context& ctx, const Tensor& vector_out, const Tensor& lipschitz, const Tensor& step,
                          const Tensor& threshold, const Tensor& vector_in, const Tensor& gram, const Tensor& lambda,
                          int iterations);

namespace cuda {
void gram_power_iteration(Context& ctx, const Tensor& vector_out, const Tensor& lipschitz, const Tensor& step,
                          const Tensor& threshold, const Tensor& vector_in, const Tensor& gram, const Tensor& lambda,
                          int iterations);
}  // namespace cuda

}  // namespace scn
