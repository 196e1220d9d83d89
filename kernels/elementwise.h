#pragma once
// Element-wise arithmetic over whole tensors of one shape (any rank). Scalars come from the host, except in
// add_scaled, whose scalar is a one-element tensor on the tensors' device (a learnable step η: reading it
// on the host would synchronise). Every output may alias any input: each element is read, then written,
// at the same index. CPU: f32 and f64; CUDA: f32, float4 access when aligned with a scalar tail.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// y = value.
// y: any shape
void fill(Context& ctx, const Tensor& y, float value);

// y = a + b.
// y: like a; a: any shape; b: like a
void add(Context& ctx, const Tensor& y, const Tensor& a, const Tensor& b);

// y += alpha·x.
// y: like x; x: any shape
void axpy(Context& ctx, const Tensor& y, float alpha, const Tensor& x);

// y = alpha·x.
// y: like x (may be x itself); x: any shape
void scale(Context& ctx, const Tensor& y, float alpha, const Tensor& x);

// y = alpha·x + beta·y. With beta = 0, y is not read (it may hold garbage, even NaN).
// y: like x; x: any shape
void axpby(Context& ctx, const Tensor& y, float alpha, const Tensor& x, float beta);

// y = a + s·α·b with α = alpha[0] read on the device. The sparse-coding backward uses it for
// ∂z = g_pre − η·DᵀD g_pre (s = −1) and ∂b += η·g_pre (a = y, s = 1).
// y: like a; a: any shape; alpha: (1), same device; b: like a
void add_scaled(Context& ctx, const Tensor& y, const Tensor& a, float s, const Tensor& alpha, const Tensor& b);

namespace cuda {
void fill(Context& ctx, const Tensor& y, float value);
void add(Context& ctx, const Tensor& y, const Tensor& a, const Tensor& b);
void axpby(Context& ctx, const Tensor& y, float alpha, const Tensor& x, float beta);  // also axpy and scale
void add_scaled(Context& ctx, const Tensor& y, const Tensor& a, float s, const Tensor& alpha, const Tensor& b);
}  // namespace cuda

}  // namespace scn
