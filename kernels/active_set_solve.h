#pragma once
// The linear solve of the implicit backward of a per-patch non-negative (or two-sided) lasso (SCN, docs/design.md):
// at every pixel p, with the support Λ = {c : γ[p, c] ≠ 0} of the converged code,
//   β_Λ = (M_ΛΛ + ε·I)⁻¹ g_Λ,   β = 0 off the support,
// where M = AᵀA is the Gram matrix shared by all pixels and g = ∂L/∂γ. ε keeps a support whose atoms are
// (nearly) dependent solvable (SCN uses 1e-6). A pivot that rounding makes ≤ 0 (M is positive semidefinite)
// is replaced by a tiny positive one, on every device alike.
// CPU: eight pixels at a time, one per lane of a vector of doubles, over the union of their supports (each lane
// the identity outside its own), a Cholesky factorisation and two triangular solves; past 40 atoms in the
// union, one pixel at a time; OpenMP over groups. CUDA: one warp per pixel, the warps
// persistent with a scratch slot each in the context's workspace (sized from the device), the factor packed by
// columns so that a warp's reads coalesce; in double too. f32 and f64 on the CPU; f32 on CUDA.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// L_jj where rounding leaves a pivot ≤ 0.
inline constexpr double kActiveSetPivotFloor = 1e-30;

// beta: like g (overwritten); gram: (C, C) or (C, C, 1, 1), symmetric; code: (N, C, H, W); g: like code
void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge);

namespace cuda {
void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge);
}  // namespace cuda

}  // namespace scn
