#include "layers/pursuit.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/gram_matrix.h"
#include "kernels/ista_update.h"
#include "kernels/linear.h"
#include "kernels/normalize_l2.h"
#include "kernels/pursuit_math.h"
#include "kernels/scalar_scale.h"

namespace scn {

namespace {
constexpr ConvParams kPointwise{1, 0};  // the patch form's Gram: a 1×1 convolution

Tensor flat_weight(const Tensor& w) { return w.view(Shape{w.size(0), w.numel() / w.size(0)}); }
Tensor square(const Tensor& m) { return m.view(Shape{m.size(0), m.size(1)}); }
}  // namespace

std::vector<float> fista_momenta(int iters) {
  std::vector<float> beta(static_cast<size_t>(std::max(iters, 0)) + 1, 0.0f);
  double t = 1.0;  // t₁ = 1: γ₀ is FISTA's first iterate
  // βₖ extrapolates to zₖ from γₖ₋₁ and γₖ₋₂; β₁ = 0 (there is no γ₋₁). The fused patch pursuit computes
  // the same sequence in its kernels.
  for (int k = 1; k <= iters; ++k) beta[static_cast<size_t>(k)] = fista_next_momentum(t);
  return beta;
}

void correlate(Context& ctx, const Dictionary& d, const Tensor& b, const Tensor& x) {
  conv2d_forward(ctx, b, x, d.weight, d.geometry);
}

void correlate_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dx,
                        const Tensor& db, const Tensor& x, bool accumulate_dx) {
  if (grads.weight.defined()) conv2d_backward_weights(ctx, grads.weight, x, db, d.geometry, 1.0f);
  if (dx.defined()) conv2d_backward_data(ctx, dx, db, d.weight, d.geometry, accumulate_dx ? 1.0f : 0.0f);
}

void reconstruct(Context& ctx, const Dictionary& d, const Tensor& image, const Tensor& code) {
  conv2d_backward_data(ctx, image, code, d.weight, d.geometry);
}

void reconstruct_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dcode,
                          bool accumulate, const Tensor& dimage, const Tensor& code) {
  // image = conv_transpose(code, W): ∂W += conv2d_backward_weights(dimage, code), ∂code = conv2d(dimage, W).
  if (grads.weight.defined()) conv2d_backward_weights(ctx, grads.weight, dimage, code, d.geometry, 1.0f);
  if (dcode.defined()) conv2d_forward(ctx, dcode, dimage, d.weight, d.geometry, accumulate ? 1.0f : 0.0f);
}

namespace {
// The atoms the Gram operator synthesises with, and where their gradient goes.
const Tensor& synthesis_of(const Dictionary& d) { return d.synthesis.defined() ? d.synthesis : d.weight; }
const Tensor& synthesis_grad_of(const Dictionary& d, const DictionaryGrads& g) {
  return d.synthesis.defined() ? g.synthesis : g.weight;
}
}  // namespace

void apply_gram(Context& ctx, const Dictionary& d, const Tensor& G, const Tensor& z, const Tensor& image) {
  if (d.form == GramForm::patch) {
    conv2d_forward(ctx, G, z, d.gram_matrix, kPointwise);
    return;
  }
  conv2d_backward_data(ctx, image, z, synthesis_of(d), d.geometry);  // S z (tied: D z)
  conv2d_forward(ctx, G, image, d.weight, d.geometry);               // Dᵀ(S z)
}

void gram_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dz,
                   bool accumulate_dz, const Tensor& dG, const Tensor& z, const Tensor& image, const Tensor& scratch) {
  const float beta = accumulate_dz ? 1.0f : 0.0f;
  if (d.form == GramForm::patch) {
    // G = M z at every pixel: ∂M += Σ dG zᵀ, ∂z = Mᵀ dG.
    if (grads.gram_matrix.defined()) conv2d_backward_weights(ctx, grads.gram_matrix, z, dG, kPointwise, 1.0f);
    if (dz.defined()) conv2d_backward_data(ctx, dz, dG, d.gram_matrix, kPointwise, beta);
    return;
  }
  // G = conv(u, W) with u = conv_transpose(z, S): W appears twice when tied (S = W).
  const Tensor& dsynthesis = synthesis_grad_of(d, grads);
  if (grads.weight.defined()) conv2d_backward_weights(ctx, grads.weight, image, dG, d.geometry, 1.0f);
  conv2d_backward_data(ctx, scratch, dG, d.weight, d.geometry);  // D dG
  if (dsynthesis.defined()) conv2d_backward_weights(ctx, dsynthesis, scratch, z, d.geometry, 1.0f);
  if (dz.defined()) conv2d_forward(ctx, dz, scratch, synthesis_of(d), d.geometry, beta);  // SᵀD dG
}

void form_gram_matrix(Context& ctx, const Dictionary& d) {
  const Tensor w = flat_weight(d.weight);
  linear_forward(ctx, square(d.gram_matrix), w, w, Tensor());
}

void finish_gram_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, float scale,
                          const Tensor& power_vector, const Tensor& deta) {
  if (!grads.weight.defined() || !grads.gram_matrix.defined()) return;
  gram_matrix_backward(ctx, grads.weight, d.weight, grads.gram_matrix, scale, power_vector, deta, d.step);
}

void first_code_forward(Context& ctx, const Dictionary& d, const Tensor& gamma, const Tensor& b) {
  ista_first_code_forward(ctx, gamma, b, d.step, d.threshold, d.mode);
}

void first_code_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& db,
                         const Tensor& dgamma, const Tensor& b, StepScratch& s) {
  ensure_tensor(s.g_pre, b.shape(), b.dtype(), b.device());
  ensure_tensor(s.scaled, b.shape(), b.dtype(), b.device());
  ista_first_code_backward(ctx, s.g_pre, grads.threshold, grads.step, dgamma, b, d.step, d.threshold, d.mode, true);
  scale_by_scalar(ctx, s.scaled, s.g_pre, d.step, -1.0f);
  axpy(ctx, db, -1.0f, s.scaled);  // ∂b += η·g_pre
}

void pursuit_step_forward(Context& ctx, const Dictionary& d, const Tensor& gamma, const Tensor& b,
                          const PursuitStep& step) {
  apply_gram(ctx, d, step.gram, step.point, step.image);
  ista_update_forward(ctx, gamma, step.point, b, step.gram, d.step, d.threshold, d.mode);
}

const Tensor& pursuit_step_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& db,
                                    const Tensor& dgamma, const Tensor& b, const PursuitStep& step, StepScratch& s) {
  ensure_tensor(s.g_pre, b.shape(), b.dtype(), b.device());
  ensure_tensor(s.scaled, b.shape(), b.dtype(), b.device());
  if (step.image.defined()) ensure_tensor(s.image, step.image.shape(), b.dtype(), b.device());
  ista_update_backward(ctx, s.g_pre, grads.threshold, grads.step, dgamma, step.point, b, step.gram, d.step,
                       d.threshold, d.mode, true);
  scale_by_scalar(ctx, s.scaled, s.g_pre, d.step, -1.0f);  // ∂L/∂G = −η·g_pre
  axpy(ctx, db, -1.0f, s.scaled);                          // ∂b += η·g_pre
  // ∂z = g_pre + DᵀD(−η·g_pre), in place in g_pre.
  gram_backward(ctx, d, grads, s.g_pre, true, s.scaled, step.point, step.image, s.image);
  return s.g_pre;
}

void power_iterate(Context& ctx, const Dictionary& d, PowerIteration& p, int iterations, const Tensor& step_out) {
  normalize_l2(ctx, p.vector, p.lipschitz, Tensor(), p.vector);
  for (int i = 0; i < iterations; ++i) {
    apply_gram(ctx, d, p.next, p.vector, p.image);
    normalize_l2(ctx, p.vector, p.lipschitz, i + 1 == iterations ? step_out : Tensor(), p.next);
  }
}

void add_step_auto_gradient(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& deta,
                            PowerIteration& p, const Tensor& scratch) {
  SCN_CHECK(d.form == GramForm::convolution, "add_step_auto_gradient: the patch form folds ∂η/∂W into finish_gram_backward");
  const Tensor target = grads.weight;
  if (!target.defined()) return;
  // ∂L/∂W of L = ⟨v, DᵀD v⟩ is gram_backward's weight term with dG = z = v.
  DictionaryGrads of_lipschitz;
  of_lipschitz.weight = scratch;
  scratch.zero_();
  reconstruct(ctx, d, p.image, p.vector);  // D v
  ensure_tensor(p.image_grad, p.image.shape(), p.image.dtype(), p.image.device());
  gram_backward(ctx, d, of_lipschitz, Tensor(), false, p.vector, p.vector, p.image, p.image_grad);
  // η² on the device (no synchronisation), then target −= ∂L/∂η · η² · ∂L/∂W.
  scale_by_scalar(ctx, scratch, scratch, d.step, 1.0f);
  scale_by_scalar(ctx, scratch, scratch, d.step, 1.0f);
  add_scaled(ctx, target, target, -1.0f, deta, scratch);
}

}  // namespace scn
