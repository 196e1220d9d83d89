#pragma once
// y = alpha · s · x with `s` a one-element tensor on the device (a learnable scalar such as the step η):
// reading s on the host would force a synchronisation in the middle of a training step.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y: any shape (may alias x); x: like y; s: (1)
void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha);

// Backward of y = x/s for a device scalar s: dx (+)= dy/s, ds (+)= −Σ dy·x/s² (the sum in double, in a fixed
// order). The implicit backward of a pursuit gives ∂L/∂(θ/η); this maps it to θ and η without reading η on
// the host. (+)= : added to when `accumulate`; dx or ds may be undefined (not computed).
// dx: like x or undefined; ds: (1) or undefined; dy: like x; x: any shape; s: (1)
void divide_by_scalar_backward(Context& ctx, const Tensor& dx, const Tensor& ds, const Tensor& dy, const Tensor& x,
                               const Tensor& s, bool accumulate);

// out = num/den for one-element device tensors, 0 when den is not > 0 (conjugate gradients' step lengths,
// which then stop moving once the residual or the curvature vanishes).
// out, num, den: (1)
void divide_scalars(Context& ctx, const Tensor& out, const Tensor& num, const Tensor& den);

namespace cuda {
void divide_scalars(Context& ctx, const Tensor& out, const Tensor& num, const Tensor& den);
void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha);
void divide_by_scalar_backward(Context& ctx, const Tensor& dx, const Tensor& ds, const Tensor& dy, const Tensor& x,
                               const Tensor& s, bool accumulate);
}  // namespace cuda

}  // namespace scn
