#pragma once
// The linear solve of the implicit backward of a per-patch non-negative (or two-sided) lasso (SCN, docs/design.md):
// at every pixel p, with the support Λ = {c : γ[p, c] ≠ 0} of the converged code,
//   β_Λ = (M_ΛΛ + ε·I)⁻¹ g_Λ,   β = 0 off the support,
// where M = AᵀA is the Gram matrix shared by all pixels and g = ∂L/∂γ. ε keeps a support whose atoms are
// (nearly) dependent solvable (SCN uses 1e-6).
// CPU: per pixel, the support gathered, a Cholesky factorisation of the |Λ|×|Λ| system in double, two
// triangular solves; OpenMP over pixels. CUDA: the same per pixel (also in double), one thread each, the
// factor in a chunk of the context's workspace. f32 and f64 on the CPU; f32 on CUDA.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// beta: like g (overwritten); gram: (C, C) or (C, C, 1, 1), symmetric; code: (N, C, H, W); g: like code
void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge);

namespace cuda {
void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge);
}  // namespace cuda

}  // namespace scn
