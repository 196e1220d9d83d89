// Backward of SparseCodeLayer: exact reverse mode through the unrolled pursuit (UnrolledPursuit::backward,
// DESIGN §1), then, under step: auto, the chain through η = 1/‖D‖² into W. With recompute: true the
// iterates are recomputed here from the input first.
#include <map>

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
  if (config_.threshold_learn) g.threshold = grad(threshold_);
  // step: auto makes η = 1/L(W) a function of the dictionary: its gradient is collected in scratch and
  // passed on to W after the sweep. A learnable step collects into its own gradient.
  if (config_.step_auto) {
    const Tensor w = param(weight_);
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
  if (!config_.recompute) return backward_taped(ctx, x, grad_output, dx, s);
  const std::string key = x.shape().str() + output.shape().str() + param(weight_).shape().str() + "/" +
                          std::to_string(config_.stride) + "/" + std::to_string(config_.pad) + "/" +
                          std::to_string(config_.iters);
  auto& scratch = ctx.state<RecomputeScratch>().by_shape[key];
  // The recomputed γ_K lands in a scratch copy of the output so the net's output tensor is not rewritten.
  ensure_tensor(scratch.recomputed_output, output.shape(), output.dtype(), output.device());
  scratch.power = s.power;  // step: auto — the forward's power vector, for ∂η/∂W
  pursuit_.forward(ctx, dictionary(), x, scratch.recomputed_output, scratch.tape, true);
  backward_taped(ctx, x, grad_output, dx, scratch);
}

void SparseCodeLayer::backward_taped(Context& ctx, const Tensor& x, const Tensor& grad_output, const Tensor& dx,
                                     SparseCodeState& s) {
  const Dictionary d = dictionary();
  const DictionaryGrads g = dictionary_grads(s);
  pursuit_.backward(ctx, d, g, x, grad_output, dx, s.tape);
  if (config_.step_auto) {
    // Without ∂η/∂W the optimizer would not see that growing W shrinks η, and learning crawls.
    const Tensor w = param(weight_);
    ensure_tensor(s.step_auto_scratch, w.shape(), w.dtype(), w.device());
    add_step_auto_gradient(ctx, d, g, s.deta_auto, s.power, s.step_auto_scratch);
  }
}

}  // namespace scn
