#pragma once
// The fused ISTA step of a sparse-coding layer (docs/design.md), one pass over the elements:
//   gamma = S_θ(pre),   pre = z + η·(b − G)       (G = DᵀD z, computed by the caller with convolutions)
// First code (K = 0, and FISTA's γ₀): pass z and G undefined (both); then pre = η·b.
// η is a (1) tensor on the tensors' device: a learnable parameter, never read on the host. θ is per
// channel (C) or shared (1); ThresholdMode and the threshold maths are those of soft_threshold.
// Outputs may alias inputs (every element is read before it is written, at the same index).
// CPU: f32 and f64; CUDA: f32.
#include "core/context.h"
#include "core/tensor.h"
#include "kernels/soft_threshold.h"

namespace scn {

// gamma = S_θ(z + η·(b − G)), or S_θ(η·b) when z and G are undefined.
// gamma: (N, C, ...); z: like gamma or undefined; b: like gamma; G: like gamma, undefined iff z is;
// eta: (1); theta: (C) or (1)
void ista_update_forward(Context& ctx, const Tensor& gamma, const Tensor& z, const Tensor& b, const Tensor& G,
                         const Tensor& eta, const Tensor& theta, ThresholdMode mode);

// Backward of the step, pre recomputed from (z, b, G, η) in the same pass:
//   g_pre  = g ⊙ S'(pre)                      (∂L/∂z of the step before the caller subtracts η·DᵀD g_pre;
//                                               ∂L/∂b = η·g_pre and ∂L/∂G = −η·g_pre: see add_scaled)
//   dtheta (+)= −Σ g_pre (nonneg) or −Σ g_pre·sign(pre) (two_sided), per channel, or over all for (1)
//   deta   (+)= Σ g_pre ⊙ (b − G)              (Σ g_pre ⊙ b for the first code)
// dtheta and deta are overwritten, or added to when `accumulate` (one flag for both: they are parameter
// gradients and follow the same convention); either may be undefined (not computed). The reductions
// are deterministic (CUDA: per-block partials from ctx.workspace, then a finishing kernel).
// g_pre: like g (may be g itself); dtheta: like theta or undefined; deta: (1) or undefined;
// g: like b; z, b, G, eta, theta: as in the forward
void ista_update_backward(Context& ctx, const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta, const Tensor& g,
                          const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta, const Tensor& theta,
                          ThresholdMode mode, bool accumulate);

// The first code γ₀ = S_θ(η·b) and its backward, spelled out.
inline void ista_first_code_forward(Context& ctx, const Tensor& gamma, const Tensor& b, const Tensor& eta,
                                    const Tensor& theta, ThresholdMode mode) {
  ista_update_forward(ctx, gamma, Tensor(), b, Tensor(), eta, theta, mode);
}
inline void ista_first_code_backward(Context& ctx, const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta,
                                     const Tensor& g, const Tensor& b, const Tensor& eta, const Tensor& theta,
                                     ThresholdMode mode, bool accumulate) {
  ista_update_backward(ctx, g_pre, dtheta, deta, g, Tensor(), b, Tensor(), eta, theta, mode, accumulate);
}

namespace cuda {
void ista_update_forward(Context& ctx, const Tensor& gamma, const Tensor& z, const Tensor& b, const Tensor& G,
                         const Tensor& eta, const Tensor& theta, ThresholdMode mode);
void ista_update_backward(Context& ctx, const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta, const Tensor& g,
                          const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta, const Tensor& theta,
                          ThresholdMode mode, bool accumulate);
}  // namespace cuda

}  // namespace scn
