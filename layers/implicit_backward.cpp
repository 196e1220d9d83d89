#include "layers/implicit_backward.h"

#include <cmath>

#include "kernels/active_set_solve.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/scalar_scale.h"

namespace scn {

namespace {

constexpr ConvParams kPointwise{1, 0};  // the patch form's Gram: a 1×1 convolution

// y = x on the support of `code` (γ ≠ 0), 0 elsewhere: the soft threshold's derivative at θ = 0.
void mask_to_support(Context& ctx, const Dictionary& d, const Tensor& y, const Tensor& x, const Tensor& code,
                     ImplicitScratch& s) {
  soft_threshold_backward(ctx, y, Tensor(), x, code, s.zero_threshold, d.mode, false);
}

// (P DᵀD P + εI) β = P g by conjugate gradients, β starting at 0 (on the support: the operator is symmetric
// positive definite there). The scalars stay on the device (scn's deterministic reductions and divide_scalars);
// the residual is read on the host every kConjugateGradientCheckEvery iterations to stop.
void solve_by_conjugate_gradients(Context& ctx, const Dictionary& d, const ImplicitSolve& solve, const Tensor& code,
                                  const Tensor& g, ImplicitScratch& s) {
  for (Tensor* t : {&s.rr, &s.pq, &s.rr_next, &s.step, &s.ratio}) ensure_tensor(*t, Shape{1}, code.dtype(), code.device());
  s.beta.zero_();
  mask_to_support(ctx, d, s.residual, g, code, s);
  s.direction.copy_from(s.residual);
  reduce_dot(ctx, s.rr, s.residual, s.residual);
  const double initial = s.rr.item(), stop = solve.tolerance * solve.tolerance * initial;
  s.last_iterations = 0;
  s.last_relative_residual = 0;
  if (initial == 0) return;
  for (int it = 0; it < solve.max_iters; ++it) {
    apply_gram(ctx, d, s.product, s.direction, s.image_grad);
    mask_to_support(ctx, d, s.product, s.product, code, s);
    axpy(ctx, s.product, static_cast<float>(solve.ridge), s.direction);
    reduce_dot(ctx, s.pq, s.direction, s.product);
    // α = r·r/p·q (0 where the support's operator is singular along p: ridge 0), β += αp, r −= αq.
    divide_scalars(ctx, s.step, s.rr, s.pq);
    add_scaled(ctx, s.beta, s.beta, 1.0f, s.step, s.direction);
    add_scaled(ctx, s.residual, s.residual, -1.0f, s.step, s.product);
    reduce_dot(ctx, s.rr_next, s.residual, s.residual);
    s.last_iterations = it + 1;
    const bool check = (it + 1) % kConjugateGradientCheckEvery == 0 || it + 1 == solve.max_iters;
    if (check) {
      const double next = s.rr_next.item();
      s.last_relative_residual = std::sqrt(next / initial);
      if (next <= stop || !(next > 0)) break;
    }
    divide_scalars(ctx, s.ratio, s.rr_next, s.rr);  // p = r + (r·r/old)·p
    add_scaled(ctx, s.direction, s.residual, 1.0f, s.ratio, s.direction);
    s.rr.copy_from(s.rr_next);
  }
}

}  // namespace

void implicit_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const ImplicitSolve& solve,
                       const Tensor& x, const Tensor& code, const Tensor& grad_code, const Tensor& dx,
                       const Tensor& dthreshold_over_step, bool accumulate_threshold, ImplicitScratch& s) {
  const Shape shape = code.shape();
  const DType dt = code.dtype();
  const Device dev = code.device();
  const bool patch = d.form == GramForm::patch;
  for (Tensor* t : {&s.beta, &s.support_scratch}) ensure_tensor(*t, shape, dt, dev);
  if (!s.zero_threshold.defined() || s.zero_threshold.shape() != d.threshold.shape() || s.zero_threshold.dtype() != dt ||
      s.zero_threshold.device() != dev) {
    s.zero_threshold = Tensor::zeros(d.threshold.shape(), dt, dev);  // θ = 0 once: the support test
  }
  if (patch) {
    active_set_solve(ctx, s.beta, d.gram_matrix, code, grad_code, solve.ridge);
  } else {
    for (Tensor* t : {&s.residual, &s.direction, &s.product}) ensure_tensor(*t, shape, dt, dev);
    ensure_tensor(s.image, x.shape(), dt, dev);
    ensure_tensor(s.image_grad, x.shape(), dt, dev);
    solve_by_conjugate_gradients(ctx, d, solve, code, grad_code, s);
  }
  // ∂L/∂b = β: through b = Dᵀx into x and W.
  correlate_backward(ctx, d, grads, dx, s.beta, x);
  // −∂⟨β, DᵀD γ⟩/∂W.
  if (patch) {
    // ∂L/∂M = −Σ β γᵀ: written as +Σ β γᵀ (the caller folds it with scale −1).
    if (grads.gram_matrix.defined()) conv2d_backward_weights(ctx, grads.gram_matrix, code, s.beta, kPointwise, 0.0f);
  } else {
    // gram_backward's weight term with ∂L/∂G = −β at z = γ.
    scale(ctx, s.product, -1.0f, s.beta);
    reconstruct(ctx, d, s.image, code);  // D γ
    gram_backward(ctx, d, grads, Tensor(), false, s.product, code, s.image, s.image_grad);
  }
  // ∂L/∂(θ/η) = −Σ β·s over the support: the soft threshold's θ-gradient at θ = 0.
  if (dthreshold_over_step.defined())
    soft_threshold_backward(ctx, s.support_scratch, dthreshold_over_step, s.beta, code, s.zero_threshold, d.mode,
                            accumulate_threshold);
}

}  // namespace scn
