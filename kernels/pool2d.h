#pragma once
// 2-D max and average pooling over (N, C, H, W), square windows, as PyTorch's MaxPool2d / AvgPool2d with
// ceil_mode=False: output size (in + 2·pad − kernel)/stride + 1 (floor), pad ≤ kernel/2.
//   max: padding never wins (it is −∞); the output saves the argmax as a flat index h·W + w into its input
//        plane (as PyTorch's `indices`), the first maximum in raster order on ties; NaN propagates.
//   avg: padding counts as zeros and the divisor is always kernel² (count_include_pad=True; with pad ≤ kernel/2
//        no window reaches beyond the padding, so PyTorch's divisor is kernel² too).
// Backward is a gather over the windows that cover each input element, in raster order: deterministic on both
// engines without atomics.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

struct Pool2d {
  int kernel = 2;
  int stride = 2;
  int pad = 0;
};

// Output extent of one spatial dimension; throws scn::Error (naming `op`) for invalid parameters.
int64_t pool2d_output_size(const char* op, int64_t in, const Pool2d& p);
// (N, C, Ho, Wo) for an (N, C, H, W) input.
Shape pool2d_output_shape(const char* op, const Shape& x, const Pool2d& p);

// y: (N, C, Ho, Wo); indices: (N, C, Ho, Wo) i32, argmax within the input plane; x: (N, C, H, W)
void max_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2d& p);
// dx[argmax] = Σ dy over the windows whose maximum it is; 0 elsewhere (overwritten).
// dx: (N, C, H, W); dy: (N, C, Ho, Wo); indices: (N, C, Ho, Wo) i32 from max_pool2d_forward
void max_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& indices, const Pool2d& p);

// y: (N, C, Ho, Wo); x: (N, C, H, W)
void avg_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Pool2d& p);
// dx = Σ over the windows covering each element of dy/kernel² (overwritten).
// dx: (N, C, H, W); dy: (N, C, Ho, Wo)
void avg_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Pool2d& p);

namespace cuda {
void max_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2d& p);
void max_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& indices, const Pool2d& p);
void avg_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Pool2d& p);
void avg_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Pool2d& p);
}  // namespace cuda

}  // namespace scn
