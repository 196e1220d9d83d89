#pragma once
// Inverted dropout: y = x · m / (1 − p) with m ~ Bernoulli(1 − p) drawn from Philox (element i of `key`),
// so the mask is the same on CPU and GPU. The mask is saved (as 0 or 1/(1 − p)) for backward.
#include "core/context.h"
#include "core/philox.h"
#include "core/tensor.h"

namespace scn {

// y, mask: like x; x: any shape; p in [0, 1)
void dropout_forward(Context& ctx, const Tensor& y, const Tensor& mask, const Tensor& x, float p, const RngKey& key);
// dx = dy ⊙ mask. dx: like dy (may alias); dy; mask: from forward
void dropout_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& mask);

namespace cuda {
void dropout_forward(Context& ctx, const Tensor& y, const Tensor& mask, const Tensor& x, float p, const RngKey& key);
void dropout_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& mask);
}  // namespace cuda

}  // namespace scn
