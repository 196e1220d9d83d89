#pragma once
// Per-channel affine map (bias add, per-channel scale, or both): y = x·scale[c] + bias[c], c = dim 1.
// An undefined scale means 1 and an undefined bias means 0, so the same op is "add bias" and "scale".
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y = x·scale[c] + bias[c].
// y: (N, C, ...) output, may alias x; x: (N, C, ...); scale: (C) or undefined (= 1); bias: (C) or undefined (= 0)
void channel_affine_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& scale, const Tensor& bias);

// dx = dy·scale[c];  dscale[c] (+)= Σ_{n,i} dy·x;  dbias[c] (+)= Σ_{n,i} dy.
// Every output may be undefined (not computed). dscale and dbias are overwritten, or added to when `accumulate`.
// dx: like x, may alias dy; dscale: (C) or undefined; dbias: (C) or undefined; dy: like x;
// x: (N, C, ...) the forward input (read only when dscale is defined, may then not be undefined);
// scale: (C) or undefined (= 1)
void channel_affine_backward(Context& ctx, const Tensor& dx, const Tensor& dscale, const Tensor& dbias,
                             const Tensor& dy, const Tensor& x, const Tensor& scale, bool accumulate);

namespace cuda {
void channel_affine_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& scale, const Tensor& bias);
void channel_affine_backward(Context& ctx, const Tensor& dx, const Tensor& dscale, const Tensor& dbias,
                             const Tensor& dy, const Tensor& x, const Tensor& scale, bool accumulate);
}  // namespace cuda

}  // namespace scn
