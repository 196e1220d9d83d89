// Backward of SparseCodeLayer: exact reverse mode through the unrolled pursuit (UnrolledPursuit::backward) or
// the implicit gradient of its fixed point (implicit_backward), then the chains the layer's parametrisation
// adds: the lasso form's θ = η·λ into λ and η, the patch pursuit's AᵀA into W, and under step: auto
// η = 1/‖D‖² into W. With recompute: true the iterates are recomputed here from the input first.
#include <map>

#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/scalar_scale.h"
#include "layers/sparse_code.h"

namespace scn {

namespace {
// recompute: true keeps no iterates between forward and backward. The iterates recomputed in backward live
// here, one set per distinct layer shape and K, shared by the layers of that shape (they run one at a time).
struct RecomputeScratch {
  std::map<std::string, SparseCodeState> by_shape;  // key: input, output and weight shapes, stride, pad, K
};
}  // namespace

DictionaryGrads SparseCodeLayer::dictionary_grads(SparseCodeState& s) const {
  DictionaryGrads g;
  g.weight = grad(weight_);
  const Tensor w = param(weight_);
  if (config_.threshold_learn || config_.threshold_form == ThresholdForm::lasso) {
    // The lasso form's sweep sees θ = η·λ: its gradient is collected in scratch (finish_backward maps it).
    if (config_.threshold_form == ThresholdForm::lasso) {
      ensure_tensor(s.dthreshold, param(threshold_).shape(), w.dtype(), w.device());
      s.dthreshold.zero_();
      g.threshold = s.dthreshold;
    } else {
      g.threshold = grad(threshold_);
    }
  }
  if (patch()) {
    ensure_tensor(s.dgram_matrix, Shape{config_.out, config_.out, 1, 1}, w.dtype(), w.device());
    s.dgram_matrix.zero_();
    g.gram_matrix = s.dgram_matrix;
  }
  // step: auto makes η = 1/L(W) a function of the dictionary: its gradient is collected in scratch and
  // passed on to W after the sweep. A learnable step collects into its own gradient.
  if (config_.step_auto) {
    ensure_tensor(s.deta_auto, Shape{1}, w.dtype(), w.device());
    s.deta_auto.zero_();
    g.step = s.deta_auto;
  } else if (config_.step_learn) {
    g.step = grad(step_);
  }
  return g;
}

void SparseCodeLayer::backward(Context& ctx, const Tensors& inputs, const Tensor& output, const Tensor& grad_output,
                               const Tensors& grad_inputs, LayerState& state) {
  auto& s = static_cast<SparseCodeState&>(state);
  const Tensor& x = inputs.at(0);
  const Tensor dx = grad_inputs.empty() ? Tensor() : grad_inputs[0];
  if (!config_.recompute) return backward_taped(ctx, x, output, grad_output, dx, s);
  const std::string key = x.shape().str() + output.shape().str() + param(weight_).shape().str() + "/" +
                          std::to_string(config_.stride) + "/" + std::to_string(config_.pad) + "/" +
                          std::to_string(config_.iters);
  auto& scratch = ctx.state<RecomputeScratch>().by_shape[key];
  // The recomputed γ_K lands in a scratch copy of the output so the net's output tensor is not rewritten.
  ensure_tensor(scratch.recomputed_output, output.shape(), output.dtype(), output.device());
  scratch.power = s.power;  // step: auto — the forward's power vector, for ∂η/∂W
  pursuit_.forward(ctx, dictionary(ctx, scratch, true), x, scratch.recomputed_output, scratch.tape, true);
  backward_taped(ctx, x, scratch.recomputed_output, grad_output, dx, scratch);
}

void SparseCodeLayer::backward_taped(Context& ctx, const Tensor& x, const Tensor& code, const Tensor& grad_output,
                                     const Tensor& dx, SparseCodeState& s) {
  if (!config_.tied) {
    pursuit_.backward(ctx, untied_dictionaries(), untied_grads(), x, grad_output, dx, s.tape);
    return;
  }
  if (config_.backward == PursuitBackward::implicit) return backward_implicit(ctx, x, code, grad_output, dx, s);
  const Dictionary d = dictionary(ctx, s, false);  // AᵀA and θ = ηλ as the forward formed them
  const DictionaryGrads g = dictionary_grads(s);
  pursuit_.backward(ctx, d, g, x, grad_output, dx, s.tape);
  finish_backward(ctx, d, g, s);
}

// The fixed point's gradient w.r.t. the threshold is ∂L/∂(θ/η) (implicit_backward.h). In the lasso form θ/η is λ,
// and the fixed point does not depend on η at all: the gradient goes straight to λ, and there is no ∂L/∂η to
// pass on. In the absolute form it maps to θ and η on the device (divide_by_scalar_backward). Nothing is read on
// the host; the patch form's solve and its weight gradient are single ops.
void SparseCodeLayer::backward_implicit(Context& ctx, const Tensor& x, const Tensor& code, const Tensor& grad_output,
                                        const Tensor& dx, SparseCodeState& s) {
  const Dictionary d = dictionary(ctx, s, false);  // AᵀA and θ = ηλ as the forward formed them
  const Tensor w = param(weight_);
  DictionaryGrads g;
  g.weight = grad(weight_);
  if (patch()) {
    ensure_tensor(s.dgram_matrix, Shape{config_.out, config_.out, 1, 1}, w.dtype(), w.device());
    g.gram_matrix = s.dgram_matrix;  // written by implicit_backward: Σ β γᵀ = −∂L/∂(AᵀA)
  }
  // Absolute form: ∂L/∂η — into a learnable step's gradient, or collected for step: auto's chain into W.
  Tensor deta;
  if (!lasso() && config_.step_auto) {
    ensure_tensor(s.deta_auto, Shape{1}, w.dtype(), w.device());
    s.deta_auto.zero_();
    deta = s.deta_auto;
  } else if (!lasso() && config_.step_learn) {
    deta = grad(step_);
  }
  Tensor fixed_point_threshold;  // where ∂L/∂(θ/η) goes
  if (lasso()) {
    if (config_.threshold_learn) fixed_point_threshold = grad(threshold_);
  } else if (config_.threshold_learn || deta.defined()) {
    ensure_tensor(s.dthreshold, param(threshold_).shape(), w.dtype(), w.device());
    fixed_point_threshold = s.dthreshold;
  }
  implicit_backward(ctx, d, g, config_.implicit, x, code, grad_output, dx, fixed_point_threshold, lasso(), s.implicit);
  if (!lasso() && fixed_point_threshold.defined())  // θ/η: ∂L/∂θ += it/η, ∂L/∂η += −Σ θ·it/η²
    divide_by_scalar_backward(ctx, config_.threshold_learn ? grad(threshold_) : Tensor(), deta, s.dthreshold,
                              param(threshold_), d.step, true);
  const bool step_chain = config_.step_auto && !lasso();  // ∂L/∂η ≠ 0 only in the absolute form
  if (patch()) {
    finish_gram_backward(ctx, d, g, -1.0f, step_chain ? param(power_) : Tensor(), s.deta_auto);
  } else if (step_chain) {
    ensure_tensor(s.step_auto_scratch, w.shape(), w.dtype(), w.device());
    add_step_auto_gradient(ctx, d, g, s.deta_auto, s.power, s.step_auto_scratch);
  }
}

void SparseCodeLayer::finish_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& g, SparseCodeState& s) {
  const Tensor w = param(weight_);
  if (lasso()) {
    // θ = η·λ: ∂L/∂λ = η·∂L/∂θ, ∂L/∂η += ⟨λ, ∂L/∂θ⟩ (a 1×C by C×1 product on the device).
    const Tensor lambda = param(threshold_);
    if (config_.threshold_learn) add_scaled(ctx, grad(threshold_), grad(threshold_), 1.0f, d.step, s.dthreshold);
    if (g.step.defined()) {
      ensure_tensor(s.product, Shape{1, 1}, w.dtype(), w.device());
      linear_forward(ctx, s.product, lambda.view(Shape{1, lambda.numel()}), s.dthreshold.view(Shape{1, lambda.numel()}),
                     Tensor());
      axpy(ctx, g.step, 1.0f, s.product.view(Shape{1}));
    }
  }
  // Without ∂η/∂W under step: auto the optimizer would not see that growing W shrinks η, and learning crawls.
  if (patch()) {
    // AᵀA's gradient into W, with the step's chain (one op).
    finish_gram_backward(ctx, d, g, 1.0f, config_.step_auto ? param(power_) : Tensor(), s.deta_auto);
  } else if (config_.step_auto) {
    ensure_tensor(s.step_auto_scratch, w.shape(), w.dtype(), w.device());
    add_step_auto_gradient(ctx, d, g, s.deta_auto, s.power, s.step_auto_scratch);
  }
}

}  // namespace scn
