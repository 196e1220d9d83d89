#pragma once
// Backward of the patch pursuit's Gram matrix M = W_f·W_fᵀ (W_f: the atoms W viewed as C×F, F = Ci·k·k; M is
// formed by linear_forward) together with the step that `step: auto` derives from it, η = 1/ρ with
// ρ = vᵀM v at the unit power vector v (∂η/∂M = −η²·v vᵀ):
//   M̄ = scale·dM − ∂L/∂η·η²·v vᵀ,      dW_f += (M̄ + M̄ᵀ)·W_f
// One op for what is otherwise a GEMM, an axpy and the five ops of the step's chain rule. `scale` lets a
// caller that computed dM with the opposite sign (the implicit backward's −Σ β γᵀ) fold it here. The η term
// is left out when `vector` is undefined. CPU: f32 and f64; CUDA: f32.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// dweight: like weight, added to; weight: (C, Ci, k, k); dgram: (C, C) or (C, C, 1, 1); vector: C elements or
// undefined; deta, eta: (1) (read only with vector)
void gram_matrix_backward(Context& ctx, const Tensor& dweight, const Tensor& weight, const Tensor& dgram, float scale,
                          const Tensor& vector, const Tensor& deta, const Tensor& eta);

namespace cuda {
void gram_matrix_backward(Context& ctx, const Tensor& dweight, const Tensor& weight, const Tensor& dgram, float scale,
                          const Tensor& vector, const Tensor& deta, const Tensor& eta);
}  // namespace cuda

}  // namespace scn
