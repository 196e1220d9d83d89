#pragma once
// Batch normalisation over (N, C, ...) tensors, one set of statistics per channel (dim 1), as PyTorch's
// BatchNorm2d (BatchNorm1d for (N, C)). With M = N·H·W elements per channel:
//   training:  μ = (1/M) Σ x,  σ² = (1/M) Σ (x − μ)²   (biased, used to normalise)
//              y = γ·(x − μ)/√(σ² + ε) + β
//              running_mean = (1 − m)·running_mean + m·μ
//              running_var  = (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased, as PyTorch)
//   inference: y = γ·(x − running_mean)/√(running_var + ε) + β
// γ and β may be undefined (γ = 1, β = 0: `affine: false`, as the SCN nets use). The statistics are computed
// deterministically: two-pass in double on the CPU, Welford partials combined in a fixed order on CUDA.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// Training-mode forward; saves μ and 1/√(σ² + ε) for the backward pass and updates the running statistics.
// Needs M > 1 (the unbiased variance divides by M − 1).
// y: like x, may alias x; save_mean, save_invstd: (C) outputs;
// running_mean, running_var: (C) updated in place, or both undefined (not updated);
// x: (N, C, ...); gamma, beta: (C) or undefined (= 1, = 0)
void batch_norm_forward_training(Context& ctx, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                 const Tensor& gamma, const Tensor& beta, double momentum, double eps);

// Inference-mode forward with the running statistics.
// y: like x, may alias x; x: (N, C, ...); running_mean, running_var: (C); gamma, beta: (C) or undefined
void batch_norm_forward_inference(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps);

// Training-mode backward, with x̂ = (x − μ)·invstd:
//   dβ (+)= Σ dy,  dγ (+)= Σ dy·x̂,  dx = γ·invstd·(dy − Σ dy/M − x̂·Σ dy·x̂/M)
// (the Σ are over this call's batch; `accumulate` only adds them into dgamma and dbeta).
// dx: like x, may alias dy (undefined: not computed); dgamma, dbeta: (C) or undefined (not computed);
// dy: like x; x: the forward input; save_mean, save_invstd: (C) from batch_norm_forward_training;
// gamma: (C) or undefined (= 1)
void batch_norm_backward(Context& ctx, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                         const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                         bool accumulate);

// (An inference-mode backward is the per-channel scale dx = dy·γ/√(running_var + ε): channel_affine_backward.)

namespace cuda {
void batch_norm_forward_training(Context& ctx, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                 const Tensor& gamma, const Tensor& beta, double momentum, double eps);
void batch_norm_forward_inference(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps);
void batch_norm_backward(Context& ctx, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                         const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                         bool accumulate);
}  // namespace cuda

}  // namespace scn
