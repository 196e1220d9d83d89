// Exact reverse mode through the unrolled pursuit of SparseCodeLayer (DESIGN §1). With
// g_pre = ∂L/∂γₜ ⊙ S'(preₜ), preₜ = zₜ + η(b − Gₜ), Gₜ = Dᵀuₜ, uₜ = D zₜ:
//   ∂zₜ = g_pre − η·DᵀD g_pre        ∂b += η·g_pre        ∂η += Σ g_pre ⊙ (b − Gₜ)      ∂θ from the threshold
//   ∂W += weight gradient of Gₜ = conv(uₜ, W):            input uₜ,         output grad −η·g_pre
//   ∂W += weight gradient of uₜ = conv_transpose(zₜ, W):   input −η·D g_pre, output grad zₜ
// FISTA chains ∂zₜ into ∂γₜ₋₁ (1 + βₜ₋₁) and ∂γₜ₋₂ (−βₜ₋₁); γ₀ = S_θ(η·b) adds its own terms; finally
// ∂x = D ∂b and ∂W += the weight gradient of b = conv(x, W).
#include <map>
#include <tuple>

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/ista_update.h"
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

void SparseCodeLayer::backward(Context& ctx, const Tensors& inputs, const Tensor& output, const Tensor& grad_output,
                               const Tensors& grad_inputs, LayerState& state) {
  auto& s = static_cast<SparseCodeState&>(state);
  const Tensor& x = inputs.at(0);
  const Tensor dx = grad_inputs.empty() ? Tensor() : grad_inputs[0];
  if (!config_.recompute) return backward_stored(ctx, x, grad_output, dx, s);
  const std::string key = x.shape().str() + output.shape().str() + param(weight_).shape().str() + "/" +
                          std::to_string(config_.stride) + "/" + std::to_string(config_.pad) + "/" +
                          std::to_string(config_.iters);
  auto& scratch = ctx.state<RecomputeScratch>().by_shape[key];
  // The recomputed γ_K lands in a scratch copy of the output so the net's output tensor is not rewritten.
  ensure_tensor(scratch.recomputed_output, output.shape(), output.dtype(), output.device());
  scratch.power_vector = s.power_vector;  // step: auto — the forward's power vector, for ∂η/∂W
  run_pursuit(ctx, x, scratch.recomputed_output, scratch, true);
  backward_stored(ctx, x, grad_output, dx, scratch);
}

void SparseCodeLayer::backward_stored(Context& ctx, const Tensor& x, const Tensor& grad_output, const Tensor& dx,
                                      SparseCodeState& s) {
  const int K = config_.iters;
  const Device dev = x.device();
  const DType dt = x.dtype();
  const Shape code = grad_output.shape();
  const Tensor w = param(weight_), theta = param(threshold_), eta = param(step_);
  const Tensor dw = grad(weight_);
  const Tensor dtheta = config_.threshold_learn ? grad(threshold_) : Tensor();
  // step: auto makes η = 1/L(W) a function of the dictionary: its gradient is collected in scratch and
  // passed on to W below. A learnable step collects into its own gradient.
  Tensor deta;
  if (config_.step_auto) {
    ensure_tensor(s.deta_auto, Shape{1}, dt, dev);
    s.deta_auto.zero_();
    deta = s.deta_auto;
  } else if (config_.step_learn) {
    deta = grad(step_);
  }
  const ConvParams p = conv_params();

  ensure_tensor(s.db, code, dt, dev);
  ensure_tensor(s.g_pre, code, dt, dev);
  ensure_tensor(s.scaled, code, dt, dev);
  ensure_tensor(s.a, x.shape(), dt, dev);
  s.db.zero_();
  // ∂γₜ for t < K accumulate from later iterations; ∂γ_K is grad_output itself (never written).
  s.dgamma.resize(static_cast<size_t>(K) + 1);
  for (int t = 0; t < K; ++t) {
    ensure_tensor(s.dgamma[t], code, dt, dev);
    s.dgamma[t].zero_();
  }
  s.dgamma[K] = grad_output;

  for (int t = K; t >= 1; --t) {
    const size_t i = static_cast<size_t>(t - 1);
    ista_update_backward(ctx, s.g_pre, dtheta, deta, s.dgamma[t], s.z[i], s.b, s.g[i], eta, theta, config_.mode, true);
    scale_by_scalar(ctx, s.scaled, s.g_pre, eta, -1.0f);           // −η·g_pre
    axpy(ctx, s.db, -1.0f, s.scaled);                               // ∂b += η·g_pre
    conv2d_backward_weights(ctx, dw, s.u[i], s.scaled, p, 1.0f);    // from Gₜ = conv(uₜ, W)
    conv2d_backward_data(ctx, s.a, s.scaled, w, p);                 // a = −η·D g_pre
    conv2d_backward_weights(ctx, dw, s.a, s.z[i], p, 1.0f);         // from uₜ = conv_transpose(zₜ, W)
    conv2d_forward(ctx, s.g_pre, s.a, w, p, 1.0f);                  // g_pre becomes ∂zₜ = g_pre − η·DᵀD g_pre
    const Tensor& dz = s.g_pre;
    if (t == 1 || !config_.fista || betas_[t - 1] == 0.0f) {
      axpy(ctx, s.dgamma[t - 1], 1.0f, dz);                         // zₜ = γₜ₋₁
    } else {
      fista_extrapolate_backward(ctx, s.dgamma[t - 1], s.dgamma[t - 2], dz, betas_[t - 1], true, true);
    }
  }
  // γ₀ = S_θ(η·b).
  ista_first_code_backward(ctx, s.g_pre, dtheta, deta, s.dgamma[0], s.b, eta, theta, config_.mode, true);
  scale_by_scalar(ctx, s.scaled, s.g_pre, eta, -1.0f);
  axpy(ctx, s.db, -1.0f, s.scaled);
  // b = conv(x, W).
  conv2d_backward_weights(ctx, dw, x, s.db, p, 1.0f);
  if (config_.step_auto) add_step_auto_gradient(ctx, s);
  if (dx.defined()) conv2d_backward_data(ctx, dx, s.db, w, p);
}

// η = 1/L with L = ‖D v‖² for the top singular vector v of D (the power iteration's unit vector):
// ∂L/∂W = 2·(weight gradient of u = conv_transpose(v, W) with output gradient u) and ∂η/∂W = −η²·∂L/∂W.
// Without this term the optimizer would not see that growing W shrinks η, and learning crawls.
void SparseCodeLayer::add_step_auto_gradient(Context& ctx, SparseCodeState& s) {
  const Tensor w = param(weight_), dw = grad(weight_), eta = param(step_);
  ensure_tensor(s.power_image, Shape{1, in_shape_[0], in_shape_[1], in_shape_[2]}, w.dtype(), w.device());
  conv2d_backward_data(ctx, s.power_image, s.power_vector, w, conv_params());  // u = D v
  ensure_tensor(s.dw_scratch, w.shape(), w.dtype(), w.device());
  conv2d_backward_weights(ctx, s.dw_scratch, s.power_image, s.power_vector, conv_params());  // ½ ∂L/∂W
  scale_by_scalar(ctx, s.dw_scratch, s.dw_scratch, eta, 1.0f);  // η² on the device: no synchronisation
  scale_by_scalar(ctx, s.dw_scratch, s.dw_scratch, eta, 1.0f);
  add_scaled(ctx, dw, dw, -2.0f, s.deta_auto, s.dw_scratch);
}

}  // namespace scn
