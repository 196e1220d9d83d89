#include "layers/implicit_backward.h"

#include <cmath>

#include "kernels/active_set_solve.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"

namespace scn {

namespace {

// ⟨a, b⟩ read on the host (conjugate gradients need it to choose the step): a 1×n by n×1 product.
double dot(Context& ctx, const Tensor& a, const Tensor& b, Tensor& out) {
  ensure_tensor(out, Shape{1, 1}, a.dtype(), a.device());
  linear_forward(ctx, out, a.view(Shape{1, a.numel()}), b.view(Shape{1, b.numel()}), Tensor());
  return out.item();
}

// y = x on the support of `code` (γ ≠ 0), 0 elsewhere: the soft threshold's derivative at θ = 0.
void mask_to_support(Context& ctx, const Dictionary& d, const Tensor& y, const Tensor& x, const Tensor& code,
                     ImplicitScratch& s) {
  soft_threshold_backward(ctx, y, Tensor(), x, code, s.zero_threshold, d.mode, false);
}

// (P DᵀD P + εI) β = P g by conjugate gradients, β starting at 0 (on the support: the operator is symmetric
// positive definite there).
void solve_by_conjugate_gradients(Context& ctx, const Dictionary& d, const ImplicitSolve& solve, const Tensor& code,
                                  const Tensor& g, ImplicitScratch& s) {
  s.beta.zero_();
  mask_to_support(ctx, d, s.residual, g, code, s);
  s.direction.copy_from(s.residual);
  double rr = dot(ctx, s.residual, s.residual, s.dot);
  const double initial = rr, stop = solve.tolerance * solve.tolerance * rr;
  s.last_iterations = 0;
  s.last_relative_residual = 0;
  if (rr == 0) return;
  for (int it = 0; it < solve.max_iters; ++it) {
    apply_gram(ctx, d, s.product, s.direction, s.image_grad);
    mask_to_support(ctx, d, s.product, s.product, code, s);
    axpy(ctx, s.product, static_cast<float>(solve.ridge), s.direction);
    const double pq = dot(ctx, s.direction, s.product, s.dot);
    if (!(pq > 0)) break;  // the support's operator is singular along this direction (ridge 0)
    const double alpha = rr / pq;
    axpy(ctx, s.beta, static_cast<float>(alpha), s.direction);
    axpy(ctx, s.residual, static_cast<float>(-alpha), s.product);
    const double next = dot(ctx, s.residual, s.residual, s.dot);
    s.last_iterations = it + 1;
    s.last_relative_residual = std::sqrt(next / initial);
    if (next <= stop) break;
    axpby(ctx, s.direction, 1.0f, s.residual, static_cast<float>(next / rr));  // p = r + (r·r/old)·p
    rr = next;
  }
}

}  // namespace

void implicit_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const ImplicitSolve& solve,
                       const Tensor& x, const Tensor& code, const Tensor& grad_code, const Tensor& dx,
                       const Tensor& dthreshold_over_step, ImplicitScratch& s) {
  const Shape shape = code.shape();
  const DType dt = code.dtype();
  const Device dev = code.device();
  for (Tensor* t : {&s.beta, &s.residual, &s.direction, &s.product, &s.support_scratch}) ensure_tensor(*t, shape, dt, dev);
  ensure_tensor(s.zero_threshold, d.threshold.shape(), dt, dev);
  s.zero_threshold.zero_();
  const bool patch = d.form == GramForm::patch;
  if (!patch) {
    ensure_tensor(s.image, x.shape(), dt, dev);
    ensure_tensor(s.image_grad, x.shape(), dt, dev);
  }
  if (patch) {
    active_set_solve(ctx, s.beta, d.gram_matrix, code, grad_code, solve.ridge);
  } else {
    solve_by_conjugate_gradients(ctx, d, solve, code, grad_code, s);
  }
  // ∂L/∂b = β: through b = Dᵀx into x and W.
  correlate_backward(ctx, d, grads, dx, s.beta, x);
  // −∂⟨β, DᵀD γ⟩/∂W: gram_backward's weight term with ∂L/∂G = −β at z = γ.
  scale(ctx, s.product, -1.0f, s.beta);
  if (!patch) reconstruct(ctx, d, s.image, code);  // D γ
  gram_backward(ctx, d, grads, Tensor(), false, s.product, code, s.image, s.image_grad);
  // ∂L/∂(θ/η) = −Σ β·s over the support: the soft threshold's θ-gradient at θ = 0.
  if (dthreshold_over_step.defined())
    soft_threshold_backward(ctx, s.support_scratch, dthreshold_over_step, s.beta, code, s.zero_threshold, d.mode, false);
}

}  // namespace scn
