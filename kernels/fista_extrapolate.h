#pragma once
// FISTA's extrapolation (docs/design.md): z = γ + β·(γ − γ_prev), β = (τₜ − 1)/τₜ₊₁ from the host (it
// depends only on the iteration index). Any shape; outputs may alias inputs (same-index read, then write).
// CPU: f32 and f64; CUDA: f32.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// z = gamma + beta·(gamma − gamma_prev).
// z: like gamma; gamma: any shape; gamma_prev: like gamma
void fista_extrapolate_forward(Context& ctx, const Tensor& z, const Tensor& gamma, const Tensor& gamma_prev,
                               float beta);

// dgamma (+)= (1 + beta)·dz and dgamma_prev (+)= −beta·dz, in one pass. Each output is overwritten or, with
// its own flag, added to: in the reverse sweep γₜ gets (1 + βₜ)·∂zₜ₊₁ on top of −βₜ₊₁·∂zₜ₊₂ already there,
// while γₜ₋₁'s gradient starts fresh. An overwritten output is not read (it may hold garbage). Either
// output may be undefined (skipped).
// dgamma: like dz or undefined; dgamma_prev: like dz or undefined; dz: any shape
void fista_extrapolate_backward(Context& ctx, const Tensor& dgamma, const Tensor& dgamma_prev, const Tensor& dz,
                                float beta, bool accumulate_dgamma, bool accumulate_dgamma_prev);

namespace cuda {
void fista_extrapolate_forward(Context& ctx, const Tensor& z, const Tensor& gamma, const Tensor& gamma_prev,
                               float beta);
void fista_extrapolate_backward(Context& ctx, const Tensor& dgamma, const Tensor& dgamma_prev, const Tensor& dz,
                                float beta, bool accumulate_dgamma, bool accumulate_dgamma_prev);
}  // namespace cuda

}  // namespace scn
