#pragma once
// Fully connected layer as PyTorch's nn.Linear: y = x·Wᵀ + b, with W stored (out, in). Inputs of higher rank
// are flattened by the caller (a view to (N, in)).
// CPU: plain loops (dot products of contiguous rows, row axpys), OpenMP over rows, deterministic.
// CUDA: cuBLAS SGEMM on the context's handle and stream (row-major through the transpose identity), the
// bias and its gradient by small deterministic kernels.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y = x·Wᵀ + b.
// y: (N, out); x: (N, in); w: (out, in); b: (out) or undefined (no bias)
void linear_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b);

// dx = dy·W (overwritten);  dw (+)= dyᵀ·x;  db (+)= Σ_n dy[n, :]   ((+)= : added to when `accumulate`).
// Every output may be undefined (not computed).
// dx: (N, in) or undefined; dw: (out, in) or undefined; db: (out) or undefined; dy: (N, out);
// x: (N, in) the forward input (always passed: it gives `in`; its values are read for dw);
// w: (out, in), read for dx (may be undefined when dx is)
void linear_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& dy,
                     const Tensor& x, const Tensor& w, bool accumulate);

namespace cuda {
void linear_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b);
void linear_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& dy,
                     const Tensor& x, const Tensor& w, bool accumulate);
}  // namespace cuda

}  // namespace scn
