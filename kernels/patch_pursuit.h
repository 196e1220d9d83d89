#pragma once
// SCN's per-patch pursuit (docs/design.md, `pursuit: patch`) as one op: all K steps of ISTA or FISTA at every
// pixel, with the codes of a tile of pixels kept in cache (CPU) or shared memory (GPU) for the whole pursuit.
// Every pixel's code is independent; its update is SCN's own form (fista_nonnegative_l1_gpu.m):
//   γ₀ = S_θ(η·b)
//   γₜ = S_θ(M' zₜ + η·b),   M' = I − η·M,   t = 1 … K        (= S_θ(zₜ + η(b − M zₜ)))
//   z₁ = γ₀,  zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂)   (FISTA, βₜ of fista_next_momentum; ISTA: βₜ = 0)
// where b = Aᵀy is the correlation of the patch (the layer's convolution, computed before) and M = AᵀA the
// Gram matrix of the atoms. Nothing but γ_K (and, when asked, γ_{K−1}) is written: the implicit backward and
// evaluation need no tape. The unfused composition of pursuit.h (a 1×1 convolution by M, the ISTA update and
// the FISTA extrapolation per step) is the reference this op is tested against.
// The FLOPs counted are the dense work, 2·C²·pixels per step; columns of M' whose codes are zero over a whole
// tile are skipped (exactly: they add nothing), so sparse codes run above the dense rate.
// CPU: f32 (vectorised over tiles of 16 pixels, M' in cache) and f64. CUDA: f32, one block per tile of
// pixels with the codes in shared memory, M' in shared memory when it fits and read through L2 otherwise.
#include "core/context.h"
#include "core/tensor.h"
#include "kernels/soft_threshold.h"

namespace scn {

// Channels (atoms) the op takes; layers with more use the unfused composition.
inline constexpr int64_t kPatchPursuitMaxChannels = 1024;

// gamma = γ_K; previous = γ_{K−1} when defined (K ≥ 1: the analysis of convergence reads it).
// gamma: (N, C, H, W); previous: like gamma or undefined; b: like gamma; gram: (C, C) or (C, C, 1, 1),
// symmetric; eta: (1); theta: (C) or (1), the applied threshold; iters: K ≥ 0; fista: momentum or ISTA
void patch_pursuit_forward(Context& ctx, const Tensor& gamma, const Tensor& previous, const Tensor& b,
                           const Tensor& gram, const Tensor& eta, const Tensor& theta, ThresholdMode mode, int iters,
                           bool fista);

namespace cuda {
void patch_pursuit_forward(Context& ctx, const Tensor& gamma, const Tensor& previous, const Tensor& b,
                           const Tensor& gram, const Tensor& eta, const Tensor& theta, ThresholdMode mode, int iters,
                           bool fista);
}  // namespace cuda

}  // namespace scn
