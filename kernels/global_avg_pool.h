#pragma once
// Global average pooling: the mean of every (H, W) plane, (N, C, H, W) → (N, C).
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y[n, c] = (1/(H·W)) Σ_{h,w} x[n, c, h, w].
// y: (N, C); x: (N, C, H, W)
void global_avg_pool_forward(Context& ctx, const Tensor& y, const Tensor& x);
// dx[n, c, h, w] = dy[n, c]/(H·W) (overwritten).
// dx: (N, C, H, W); dy: (N, C)
void global_avg_pool_backward(Context& ctx, const Tensor& dx, const Tensor& dy);

namespace cuda {
void global_avg_pool_forward(Context& ctx, const Tensor& y, const Tensor& x);
void global_avg_pool_backward(Context& ctx, const Tensor& dx, const Tensor& dy);
}  // namespace cuda

}  // namespace scn
