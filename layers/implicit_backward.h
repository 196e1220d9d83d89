#pragma once
// Implicit backward of a converged pursuit (docs/design.md), for either Gram form: differentiate the fixed point
//   γ = S_θ(γ + η(b − DᵀD γ))
// instead of the iterations that reached it. On the support Λ of γ (s = sign γ; nonneg: s = 1),
//   (DᵀD γ)_Λ = b_Λ − (θ/η)·s_Λ,
// so with β the solution of (DᵀD)_ΛΛ β_Λ = ∂L/∂γ_Λ (plus a small ridge) and β = 0 off Λ:
//   ∂L/∂b = β,   ∂L/∂x = D β,   ∂L/∂W = ∂⟨β, Dᵀx⟩/∂W − ∂⟨β, DᵀD γ⟩/∂W,   ∂L/∂(θ/η) = −Σ β·s
// (per channel, or over all for a shared θ). For SCN's per-patch lasso min ½‖y − Ax‖² + λᵀx this is
// β_Λ = (A_ΛᵀA_Λ + εI)⁻¹ ∂L/∂x_Λ, ∂L/∂y = Aβ, ∂L/∂A = −(Aβ)xᵀ + (y − Ax)βᵀ, ∂L/∂λ = −Σβ.
// The solve: patch form — active_set_solve per pixel (a masked Cholesky); convolution form — conjugate
// gradients on the masked operator P·DᵀD·P (one conv and one transposed conv per iteration): layered basis
// pursuit's gradient at a memory cost independent of the number of pursuit steps.
#include "layers/pursuit.h"

namespace scn {

struct ImplicitSolve {
  double ridge = 1e-6;      // ε of (DᵀD)_ΛΛ + εI
  int max_iters = 100;      // conjugate gradients (convolution form)
  double tolerance = 1e-4;  // stop when ‖r‖ ≤ tolerance·‖∂L/∂γ_Λ‖
};

// Conjugate gradients keep their scalars on the device and read the residual on the host only every this many
// iterations (to stop): a synchronisation per check on a GPU, not three per iteration.
inline constexpr int kConjugateGradientCheckEvery = 8;

// Scratch reused across calls.
struct ImplicitScratch {
  Tensor beta, residual, direction, product;  // like the code
  Tensor image, image_grad;                   // like the input: D γ and scratch (convolution form)
  Tensor zero_threshold, support_scratch;     // θ = 0 (the support test) and the masked copy
  Tensor rr, pq, rr_next, step, ratio;        // (1): conjugate gradients' scalars, on the device
  int last_iterations = 0;                    // conjugate gradient steps of the last call
  double last_relative_residual = 0;          // at the last check
};

// code: the converged γ (N, Co, Ho, Wo); grad_code: ∂L/∂γ; x: the input. Writes dx (when defined) and
// ∂L/∂(θ/η) into `dthreshold_over_step` (like θ; added to when `accumulate_threshold`, else overwritten; undefined:
// not computed). The weight gradient: convolution form — added to grads.weight; patch form — grads.gram_matrix
// is overwritten with Σ_pixels β γᵀ, whose negative is ∂L/∂(AᵀA): the caller folds it into W with
// finish_gram_backward(scale −1), which spares a negation and a zeroing.
void implicit_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const ImplicitSolve& solve,
                       const Tensor& x, const Tensor& code, const Tensor& grad_code, const Tensor& dx,
                       const Tensor& dthreshold_over_step, bool accumulate_threshold, ImplicitScratch& s);

}  // namespace scn
