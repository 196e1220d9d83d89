#pragma once
// Soft thresholds with one θ per channel (dim 1), or one θ for all channels (theta of one element).
//   nonneg:    S_θ(x) = max(x − θ, 0)                 (a ReLU with bias −θ)
//   two_sided: S_θ(x) = sign(x)·max(|x| − θ, 0)       (θ ≥ 0 is the caller's projection)
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

enum class ThresholdMode { nonneg, two_sided };

// y = S_θ(x).
// y: (N, C, ...) output; x: (N, C, ...); theta: (C) or (1)
void soft_threshold_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& theta, ThresholdMode mode);

// dx = dy ⊙ S'(x); dtheta (+)= ∂L/∂θ, the reduction fused into the same pass:
//   nonneg: −Σ dy over active elements (x > θ); two_sided: −Σ dy·sign(x) over active elements (|x| > θ).
// dx: like x (may alias dy); dtheta: like theta, overwritten, or accumulated into when `accumulate`;
// dy: like x; x: the forward input; theta: (C) or (1)
void soft_threshold_backward(Context& ctx, const Tensor& dx, const Tensor& dtheta, const Tensor& dy, const Tensor& x,
                             const Tensor& theta, ThresholdMode mode, bool accumulate);

namespace cuda {
void soft_threshold_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& theta, ThresholdMode mode);
void soft_threshold_backward(Context& ctx, const Tensor& dx, const Tensor& dtheta, const Tensor& dy, const Tensor& x,
                             const Tensor& theta, ThresholdMode mode, bool accumulate);
}  // namespace cuda

}  // namespace scn
