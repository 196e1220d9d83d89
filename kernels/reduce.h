#pragma once
// Whole-tensor reductions into a tensor on the same device: nothing is read back on the host inside the
// op (the caller reads the result with item() or to_vector() when it needs it). Deterministic: a fixed
// partition into partial results combined in a fixed order (on a GPU: per-block partials from the
// workspace, then one finishing block), so repeated calls give bit-identical results.
// CPU: f32 and f64 (partials in double); CUDA: f32 (per-block partials in double).
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// out = Σ_i x_i (0 for an empty x).
// out: (1), dtype of x; x: any shape
void reduce_sum(Context& ctx, const Tensor& out, const Tensor& x);

// out = Σ_i x_i / numel(x); x must not be empty.
// out: (1), dtype of x; x: any shape
void reduce_mean(Context& ctx, const Tensor& out, const Tensor& x);

// out = Σ_i x_i·y_i (products and sums in double).
// out: (1), dtype of x; x: any shape; y: like x
void reduce_dot(Context& ctx, const Tensor& out, const Tensor& x, const Tensor& y);

// out = max_i |x_i| (0 for an empty x). A NaN anywhere makes the result NaN, so divergence shows.
// out: (1), dtype of x; x: any shape
void reduce_max_abs(Context& ctx, const Tensor& out, const Tensor& x);

// counts[c] = #{(n, j) : x[n, c, j] ≠ 0}, as floating-point counts (exact up to 2^24 per channel in f32).
// counts: (C), dtype of x; x: (N, C, ...)
void nnz_per_channel(Context& ctx, const Tensor& counts, const Tensor& x);

// counts[n, j] = #{c : x[n, c, j] ≠ 0}: the non-zeros over channels at every position of every image (the
// raw material of a code's local sparsity ‖Γ‖₀,∞, analysis/local_sparsity.h).
// counts: (N, H, W) — or any shape with N·(numel/(N·C)) elements — dtype of x; x: (N, C, ...)
void nnz_per_position(Context& ctx, const Tensor& counts, const Tensor& x);

namespace cuda {
void reduce_sum(Context& ctx, const Tensor& out, const Tensor& x);
void reduce_mean(Context& ctx, const Tensor& out, const Tensor& x);
void reduce_dot(Context& ctx, const Tensor& out, const Tensor& x, const Tensor& y);
void reduce_max_abs(Context& ctx, const Tensor& out, const Tensor& x);
void nnz_per_channel(Context& ctx, const Tensor& counts, const Tensor& x);
void nnz_per_position(Context& ctx, const Tensor& counts, const Tensor& x);
}  // namespace cuda

}  // namespace scn
