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

// The same training-mode batch norm in halves, for statistics taken over the batches of several processes
// (`batch_norm.sync`): each half reduces over this process's batch, the caller sums the results over the
// processes, and the other half applies the totals. Over one process they give the functions above.
//
// Forward moments: moments (3, C) f64 = [Σ 1 | Σ x | Σ x²] over this batch (row 0 is the count M of every
// channel). Summed over the processes they are the moments of the whole batch.
void batch_norm_moments(Context& ctx, const Tensor& moments, const Tensor& x);

// Training-mode forward from summed moments: μ = Σx/M, σ² = Σx²/M − μ², then as batch_norm_forward_training
// (save μ and invstd, update the running statistics with σ²·M/(M − 1), y = γ·(x − μ)·invstd + β).
void batch_norm_forward_from_moments(Context& ctx, const Tensor& y, const Tensor& save_mean,
                                     const Tensor& save_invstd, const Tensor& running_mean,
                                     const Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                     const Tensor& beta, const Tensor& moments, double momentum, double eps);

// Backward sums: sums (2, C) f64 = [Σ dy | Σ dy·x̂] over this batch, and dγ (+)= Σ dy·x̂, dβ (+)= Σ dy from
// the same sums (this process's part of the parameter gradients, which the gradient all-reduce combines).
void batch_norm_backward_sums(Context& ctx, const Tensor& sums, const Tensor& dgamma, const Tensor& dbeta,
                              const Tensor& dy, const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd,
                              bool accumulate);

// Backward input gradient from summed sums and the summed moments of the forward (their row 0 is M):
//   dx = γ·invstd·(dy − Σdy/M − x̂·Σdy·x̂/M).
void batch_norm_backward_from_sums(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& x,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                                   const Tensor& sums, const Tensor& moments);

namespace cuda {
void batch_norm_forward_training(Context& ctx, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                 const Tensor& gamma, const Tensor& beta, double momentum, double eps);
void batch_norm_forward_inference(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps);
void batch_norm_backward(Context& ctx, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                         const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                         bool accumulate);
void batch_norm_moments(Context& ctx, const Tensor& moments, const Tensor& x);
void batch_norm_forward_from_moments(Context& ctx, const Tensor& y, const Tensor& save_mean,
                                     const Tensor& save_invstd, const Tensor& running_mean,
                                     const Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                     const Tensor& beta, const Tensor& moments, double momentum, double eps);
void batch_norm_backward_sums(Context& ctx, const Tensor& sums, const Tensor& dgamma, const Tensor& dbeta,
                              const Tensor& dy, const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd,
                              bool accumulate);
void batch_norm_backward_from_sums(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& x,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                                   const Tensor& sums, const Tensor& moments);
}  // namespace cuda

}  // namespace scn
