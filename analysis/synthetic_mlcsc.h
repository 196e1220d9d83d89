#pragma once
// Synthetic multi-layer convolutional sparse coding (ML-CSC): signals drawn from the model
//   X = D₁Γ₁ + noise,  Γ₁ = D₂Γ₂,  …,  Γ_{L−1} = D_L Γ_L
// with known codes, and the two layered pursuits that estimate Γ₁ … Γ_L back from X:
//   layered thresholding    Γ̂ᵢ = S_β(Dᵢᵀ Γ̂ᵢ₋₁)                        (the CNN forward pass)
//   layered basis pursuit   Γ̂ᵢ = argmin ½‖Γ̂ᵢ₋₁ − Dᵢγ‖² + λᵢ‖γ‖₁        (one lasso per layer, to convergence)
// scored per layer against the truth. `scn synth` sweeps contrast, local sparsity, noise and depth with
// it (docs/theory.md). Implemented in synthetic_model.cpp (dictionaries, draws), synthetic_pursuits.cpp
// (pursuits, scores) and synthetic_protocol.cpp (tuning, sweep points). Both pursuits run through the
// pursuit module (layers/pursuit.h): no convolution of their own.
//
// Norms of a code Γ (N, C, H, W) over stripes — the w×w windows of positions over all channels whose
// atoms overlap one patch of the layer below, w = stripe_width(k, s) (analysis/local_sparsity.h):
//   ‖Γ‖₀,∞  the most non-zeros in one stripe                       (code_local_sparsity)
//   ‖Γ‖₂,∞  the largest ℓ2 norm of one stripe                      (l2_inf_norms below)
// Windows are those of local_sparsity: full windows only, clipped to the code when it is smaller.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analysis/coherence.h"
#include "core/context.h"
#include "core/tensor.h"
#include "layers/pursuit.h"
#include "layers/unrolled_pursuit.h"

namespace scn {

// ---- the model ---------------------------------------------------------------------------------------

// One layer's dictionary Dᵢ, a convolution weight (atoms, channels, kernel, kernel) with pad kernel/2.
// atom_nonzeros = 0: dense Gaussian atoms (the first layer); n > 0: n non-zeros of equal magnitude and
// random sign per atom, so that Γᵢ₋₁ = DᵢΓᵢ stays sparse (the deeper layers).
struct SyntheticLayerSpec {
  int atoms = 16;
  int channels = 1;  // the atoms of the layer below (1 for the image)
  int kernel = 5;
  int stride = 1;
  int atom_nonzeros = 0;
};

struct SyntheticModel {
  int64_t height = 32, width = 32;    // the image X: (1, height, width)
  std::vector<SyntheticLayerSpec> specs;
  std::vector<Tensor> weights;        // Wᵢ: (Mᵢ, Cᵢ, k, k) f32 on the CPU, unit-norm atoms
  std::vector<Coherence> coherence;   // μ(Dᵢ) and the rest
  std::vector<double> lipschitz;      // ‖Dᵢ‖² on a code of the model's size (power iteration)

  int depth() const { return static_cast<int>(specs.size()); }
  ConvParams geometry(int layer) const;  // layer 0-based
  int stripe(int layer) const;           // w of the stripes of Γ_{layer+1}
  Shape code_shape(int layer, int64_t count) const;  // (count, Mᵢ, H, W)
};

// Draws every dictionary from `seed` (Philox, reproducible), measures μ and ‖D‖². A sparse dictionary
// whose μ reaches 1 (two atoms equal up to a shift and sign: no pursuit can tell them apart) is redrawn.
SyntheticModel make_synthetic_model(Context& ctx, int64_t height, int64_t width,
                                    const std::vector<SyntheticLayerSpec>& specs, uint64_t seed);

// The dictionary of one layer as the pursuit module sees it, with its own θ and η tensors.
Dictionary layer_dictionary(const SyntheticModel& model, int layer, const Tensor& threshold, const Tensor& step);

// ---- the draws ---------------------------------------------------------------------------------------

// The deepest code Γ_L: ‖Γ_L‖₀,∞ exactly `local_sparsity` in every image, non-zero magnitudes uniform in
// [contrast·amplitude, amplitude] with random signs.
struct CodeDrawSpec {
  int local_sparsity = 2;
  double contrast = 1.0;        // |Γ_min|/|Γ_max| ∈ (0, 1]
  double amplitude = 1.0;       // |Γ_max|
  int64_t max_nonzeros = 0;     // stop the greedy fill after this many non-zeros per image (0: fill up)
  int margin = 0;               // positions this close to a border stay zero
};

// One batch of signals: codes[i] = Γ_{i+1} (count, M_{i+1}, H, W) and X = D₁Γ₁ + σ·N(0, 1).
struct SyntheticBatch {
  std::vector<Tensor> codes;
  Tensor signal;  // (count, 1, H, W)
};

// Γ (count, channels, H, W) with exactly ‖Γ‖₀,∞ = spec.local_sparsity over w×w stripes: spec.local_sparsity
// non-zeros at random inside one random stripe (so the target is attained), then greedy placement over a
// random order of all positions and channels, each kept only if every stripe holding it stays ≤ the target.
// Only positions at least spec.margin from every border are used.
Tensor draw_sparse_code(const CodeDrawSpec& spec, int64_t count, int64_t channels, int64_t height, int64_t width,
                        int window, uint64_t seed, uint64_t stream);

// Σ kᵢ/2 over the first `depth` layers: a deepest non-zero this far from the borders has every atom it
// spreads into, down to the image, whole. Zero padding cuts the atoms nearer the border (their norm inside
// the image is below 1, which the theory's unit-norm atoms do not allow), so the draws keep clear of it.
int whole_atom_margin(const SyntheticModel& model, int depth);

// A batch of `depth` layers (the first `depth` dictionaries of the model) from stream `stream` of `seed`;
// Γ_L keeps at least whole_atom_margin(model, depth) from the borders.
SyntheticBatch draw_batch(Context& ctx, const SyntheticModel& model, int depth, int64_t count,
                          const CodeDrawSpec& spec, double noise, uint64_t seed, uint64_t stream);

// ---- the pursuits ------------------------------------------------------------------------------------

// Per-layer threshold and step tensors, rewritten for every call (η = 1 for thresholding, 1/‖D‖² for BP).
struct PursuitWorkspace {
  Tensor threshold, step;
  PursuitTape tape;              // thresholding's UnrolledPursuit
  Tensor b;                      // Dᵀ input
  Tensor iterates[3];            // FISTA's γₜ₋₁, γₜ and the next one, in rotation
  PursuitStep step_buffers;      // z, D z and DᵀD z of one FISTA step
};

// Γ̂ = S_β(Dᵀ input): UnrolledPursuit with K = 0 and η = 1. output: like the layer's code.
void threshold_layer(Context& ctx, const SyntheticModel& model, int layer, double beta, const Tensor& input,
                     const Tensor& output, PursuitWorkspace& ws);

struct LassoOptions {
  int max_iterations = 3000;
  double tolerance = 1e-5;  // stop when ‖γₜ − γₜ₋₁‖ ≤ tolerance·‖γₜ‖
};
struct LassoReport {
  int iterations = 0;
  bool converged = false;
};

// min ½‖input − Dγ‖² + λ‖γ‖₁ by FISTA (θ = ηλ, η = 1/‖D‖²) with adaptive restart of the momentum,
// into `code`. warm: start from `code`'s contents (a solution for a nearby λ); otherwise from S_θ(η·Dᵀx).
LassoReport solve_lasso(Context& ctx, const SyntheticModel& model, int layer, double lambda, const Tensor& input,
                        const Tensor& code, bool warm, const LassoOptions& options, PursuitWorkspace& ws);

// ---- the scores --------------------------------------------------------------------------------------

// Support agreement summed over a batch: support = the non-zeros.
struct SupportCounts {
  int64_t true_positive = 0, false_positive = 0, false_negative = 0;
  SupportCounts& operator+=(const SupportCounts& o);
  double precision() const;  // TP/(TP + FP); 1 for an empty estimate (it claims nothing false)
  double recall() const;     // TP/(TP + FN); 1 for an empty truth
  double f1() const;         // 2TP/(2TP + FP + FN)
};
SupportCounts support_counts(const Tensor& estimate, const Tensor& truth);

// ‖Γ‖₂,∞ of every image of a code (N, C, H, W) over w×w stripes.
std::vector<double> l2_inf_norms(const Tensor& code, int window);
// ‖estimate − truth‖₂,∞ per image.
std::vector<double> l2_inf_errors(const Tensor& estimate, const Tensor& truth, int window);

struct LayerScore {
  double precision = 0, recall = 0;
  double l2_inf_error = 0;          // mean over the images of ‖Γ̂ − Γ‖₂,∞
  double l2_inf_truth = 0;          // mean ‖Γ‖₂,∞, the scale of that error
  double threshold = 0;             // β or λ chosen on the tuning draws
  double true_local_sparsity = 0;   // mean ‖Γᵢ‖₀,∞ of the evaluation draws
};

// ---- the protocol ------------------------------------------------------------------------------------

enum class LayeredMethod { thresholding, basis_pursuit };
std::string method_key(LayeredMethod method);  // "thresholding", "layered_bp"

struct SweepPoint {
  int local_sparsity = 2;  // ‖Γ_L‖₀,∞
  double contrast = 1.0;
  double noise = 0.0;      // σ
  int depth = 2;           // L
  int64_t max_nonzeros = 0;  // of Γ_L per image (CodeDrawSpec::max_nonzeros; 0: fill up)
};

// Thresholds are tuned per point and method, layer by layer from the first, on `tuning_trials` draws:
// layer i walks the grid values ρ·‖Dᵢᵀ Γ̂ᵢ₋₁‖∞ from the largest (Γ̂ᵢ₋₁ the tuned estimate of the layer
// before; the walk ends once F1 has stayed 0.1 below its best for three values) and keeps, among those
// whose support F1 is within 0.02 of the best, the one with the smallest mean ‖Γ̂ᵢ − Γᵢ‖₂,∞.
// The chosen values are then applied unchanged to `trials` fresh draws, which alone are scored. Layered
// BP reaches each λ by continuation down the grid (warm starts: the same minimiser, fewer steps).
struct ProtocolOptions {
  int64_t trials = 10, tuning_trials = 10;
  std::vector<double> grid;  // ρ, descending; empty: default_threshold_grid()
  LassoOptions lasso;
  uint64_t seed = 1;
};
std::vector<double> default_threshold_grid();  // 18 values log-spaced from 0.9 down to 0.002

struct PointResult {
  SweepPoint point;
  std::vector<LayerScore> thresholding, layered_bp;  // one per layer
  int64_t lasso_iterations = 0;                      // FISTA steps spent, tuning and evaluation
  int64_t lasso_unconverged = 0;                     // solves that hit max_iterations
};

// Tunes and scores both methods at one point; `stream` keeps the points' draws apart.
PointResult evaluate_point(Context& ctx, const SyntheticModel& model, const SweepPoint& point,
                           const ProtocolOptions& options, uint64_t stream);

}  // namespace scn
