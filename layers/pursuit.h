#pragma once
// The pursuit module (docs/design.md): one dictionary and one pursuit step, forward and backward. Every
// sparse-coding layer is a composition of these — the unrolled K-step pursuit (unrolled_pursuit.h), the
// implicit backward at the fixed point (implicit_backward.h), the per-patch pursuit of SCN — so the maths
// of Dᵀx, Dγ, DᵀD z and of one thresholded gradient step live here once.
//
// Two forms of the Gram operator share everything else:
//   convolution  DᵀD z = conv2d(conv_transpose2d(z, W), W)                 (the convolutional sparse model)
//   patch        (AᵀA) z at every pixel, a 1×1 convolution by the Co×Co matrix AᵀA, where A's columns are
//                the atoms W[o] flattened to k·k·Ci: SCN's independent non-negative lasso per k×k patch.
// In both forms Dᵀx = conv2d(x, W) (for the patch form: Aᵀ applied to every zero-padded patch of x) and
// the input gradient of b = Dᵀx is conv_transpose2d (for the patch form: Aβ, then col2im).
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/soft_threshold.h"
#include "layers/layer.h"

namespace scn {

enum class PursuitAlgorithm { ista, fista };
enum class GramForm { convolution, patch };

// FISTA's momentum βₜ for the steps t = 1 … K (index 0 unused). Beck–Teboulle from a zero start: γ₀ is
// FISTA's first iterate x₁ with t₁ = 1, tₜ₊₁ = (1 + √(1 + 4tₜ²))/2, βₜ = (tₜ − 1)/tₜ₊₁, so β₁ = 0 and
// z₂ = γ₁ + β₂(γ₁ − γ₀) with β₂ ≈ 0.28: two FISTA steps already differ from two ISTA steps.
std::vector<float> fista_momenta(int iters);

// Views of one dictionary's parameters (looked up per call: the arena may move) and how it acts.
struct Dictionary {
  Tensor weight;       // W: (Co, Ci, k, k)
  // The atoms D z is synthesised with in the Gram operator, Dᵀ(S z): undefined for the tied DᵀD (S = W).
  // Untied pursuits (tied: false) set it to the dictionary that coded z (convolution form only).
  Tensor synthesis;
  Tensor threshold;    // θ, the threshold the step applies: (Co) or (1)
  Tensor step;         // η: (1)
  Tensor gram_matrix;  // patch form: AᵀA as a 1×1 filter (Co, Co, 1, 1), written by form_gram_matrix
  ConvParams geometry;
  ThresholdMode mode = ThresholdMode::nonneg;
  GramForm form = GramForm::convolution;
};

// Where backward adds gradients; an undefined member is not computed.
struct DictionaryGrads {
  Tensor weight;       // like Dictionary::weight
  Tensor synthesis;    // like Dictionary::synthesis, when that is defined
  Tensor threshold;    // like Dictionary::threshold
  Tensor step;         // (1)
  Tensor gram_matrix;  // patch form: ∂L/∂(AᵀA), (Co, Co, 1, 1); finish_gram_backward folds it into `weight`
};

// b = Dᵀx.  b: (N, Co, Ho, Wo); x: (N, Ci, H, W)
void correlate(Context& ctx, const Dictionary& d, const Tensor& b, const Tensor& x);
// Backward of b = Dᵀx: dx = D db (skipped when undefined; added to dx when `accumulate_dx`),
// grads.weight += ∂⟨db, Dᵀx⟩/∂W.
void correlate_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dx,
                        const Tensor& db, const Tensor& x, bool accumulate_dx = false);
// image = D code.  image: (N, Ci, H, W); code: (N, Co, Ho, Wo)
void reconstruct(Context& ctx, const Dictionary& d, const Tensor& image, const Tensor& code);
// Backward of image = D code: dcode (+)= Dᵀ dimage (added when `accumulate`), grads.weight += ∂⟨dimage, D code⟩/∂W.
void reconstruct_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dcode,
                          bool accumulate, const Tensor& dimage, const Tensor& code);

// G = DᵀD z (untied: Dᵀ S z). Convolution form: `image` receives D z (backward needs it); patch form: `image` is unused.
// G, z: (N, Co, Ho, Wo); image: (N, Ci, H, W) or undefined (patch form)
void apply_gram(Context& ctx, const Dictionary& d, const Tensor& G, const Tensor& z, const Tensor& image);
// Backward of G = DᵀD z for ∂L/∂G = dG: dz = DᵀD dG, added to dz when `accumulate_dz` (dz undefined:
// skipped); the weight term ∂⟨dG, DᵀD z⟩/∂W goes to grads.weight (convolution) or grads.gram_matrix
// (patch); untied, the synthesis term goes to grads.synthesis. `image` is the forward's D z (S z); `scratch`
// is image-sized (convolution form only).
void gram_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& dz,
                   bool accumulate_dz, const Tensor& dG, const Tensor& z, const Tensor& image, const Tensor& scratch);

// Patch form: AᵀA = W_f·W_fᵀ with W_f = W viewed as (Co, Ci·k·k), into d.gram_matrix.
void form_gram_matrix(Context& ctx, const Dictionary& d);
// Patch form: grads.weight += (M̄ + M̄ᵀ)·W_f for M̄ = scale·grads.gram_matrix, and under step: auto the
// chain of η = 1/ρ(AᵀA): M̄ −= ∂L/∂η·η²·v vᵀ with v the unit power vector (undefined: no step term) and
// deta = ∂L/∂η on the device. One op (kernels/gram_matrix.h).
void finish_gram_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, float scale,
                          const Tensor& power_vector, const Tensor& deta);

// One pursuit step γ = S_θ(z + η·(b − DᵀD z)) and the buffers it keeps, named by what they hold.
struct PursuitStep {
  Tensor point;  // z: where the gradient step is taken (γₜ₋₁, or FISTA's extrapolation of it)
  Tensor image;  // D z (convolution form; undefined in patch form)
  Tensor gram;   // DᵀD z
};
// Backward scratch of one step, reused by every step of a sweep.
struct StepScratch {
  Tensor g_pre;   // ∂L/∂pre, then ∂L/∂z            like the code
  Tensor scaled;  // −η·g_pre = ∂L/∂(DᵀD z)         like the code
  Tensor image;   // D(−η·g_pre)                    like the input (convolution form)
};

// The first code γ₀ = S_θ(η·b) (K = 0: the CNN layer) and its backward: db += η·g_pre, θ and η gradients.
void first_code_forward(Context& ctx, const Dictionary& d, const Tensor& gamma, const Tensor& b);
void first_code_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& db,
                         const Tensor& dgamma, const Tensor& b, StepScratch& scratch);
// γ = S_θ(z + η(b − DᵀD z)); fills step.image and step.gram (allocated by the caller) from step.point.
void pursuit_step_forward(Context& ctx, const Dictionary& d, const Tensor& gamma, const Tensor& b,
                          const PursuitStep& step);
// Backward of one step from ∂L/∂γ: db += η·g_pre, θ, η and weight gradients; returns ∂L/∂z (a view of
// scratch.g_pre, valid until the next call).
const Tensor& pursuit_step_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& db,
                                    const Tensor& dgamma, const Tensor& b, const PursuitStep& step,
                                    StepScratch& scratch);

// The power iteration for ‖D‖² = λ_max(DᵀD), warm-started from `vector` (one code for the convolution form,
// (1, Co, 1, 1) for the patch form), kept on the device (no synchronisation).
struct PowerIteration {
  Tensor vector;     // v, unit norm after every iteration
  Tensor image;      // D v scratch (convolution form)
  Tensor next;       // DᵀD v scratch
  Tensor image_grad; // step: auto backward scratch, like `image` (convolution form)
  Tensor lipschitz;  // (1): ‖DᵀD v‖ → ‖D‖²
};
// `iterations` steps v ← DᵀD v/‖DᵀD v‖; the last one writes η = 1/‖D‖² into `step_out` when defined.
void power_iterate(Context& ctx, const Dictionary& d, PowerIteration& p, int iterations, const Tensor& step_out);
// step: auto, convolution form — η = 1/L(W) with L = ⟨v, DᵀD v⟩ at the converged unit vector v: given ∂L/∂η
// (deta, (1) on the device), adds ∂L/∂η·∂η/∂W = −∂L/∂η·η²·∂L/∂W to the weight gradients (through `scratch`,
// W-shaped). The patch form folds this term into finish_gram_backward.
void add_step_auto_gradient(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& deta,
                            PowerIteration& p, const Tensor& scratch);

}  // namespace scn
