#pragma once
// y = alpha · s · x with `s` a one-element tensor on the device (a learnable scalar such as the step η):
// reading s on the host would force a synchronisation in the middle of a training step.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y: any shape (may alias x); x: like y; s: (1)
void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha);

namespace cuda {
void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha);
}  // namespace cuda

}  // namespace scn
