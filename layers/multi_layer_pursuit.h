#pragma once
// The joint pursuits of the multi-layer convolutional sparse model (ML-CSC: x = D₁γ₁, γ₁ = D₂γ₂, …), built
// on the pursuit module (pursuit.h). Layer i codes γᵢ₋₁ (γ₀ = x) with a dictionary Aᵢ, threshold θᵢ and
// step ηᵢ; its input is correlated with Bᵢ (Bᵢ = Aᵢ except for ML-LISTA):
//   first codes (the CNN):   γᵢ = S_θᵢ(ηᵢ Bᵢᵀγᵢ₋₁),  i = 1 … L
//   then T sweeps, each:
//     z_L = γ_L                              (ML-FISTA: z_L = γ_L + βₜ(γ_L − γ_L⁻), the previous sweep's γ_L⁻)
//     zᵢ = Bᵢ₊₁ zᵢ₊₁, i = L−1 … 1             back-projection (back_project: false: zᵢ = γᵢ)
//     γᵢ = S_θᵢ(zᵢ + ηᵢ(Bᵢᵀγᵢ₋₁ − AᵢᵀAᵢ zᵢ)), i = 1 … L, each with the γᵢ₋₁ just computed
// which is ML-ISTA (Bᵢ = Aᵢ), ML-FISTA, and ML-LISTA (ηᵢ = 1: γᵢ = S(zᵢ − AᵢᵀAᵢzᵢ + Bᵢᵀγᵢ₋₁)); the layered
// pursuit (LBP) instead runs T ISTA steps on layer 1, then on layer 2, … (UnrolledPursuit per layer).
// Untied (`tied: false`), every sweep t has its own Aᵢ⁽ᵗ⁾, Bᵢ⁽ᵗ⁾, θᵢ⁽ᵗ⁾, ηᵢ⁽ᵗ⁾, and a code made at sweep
// t − 1 is synthesised (in the Gram and the back-projection) with the dictionary of sweep t − 1:
//   γᵢ = S_θ(zᵢ + η(Bᵢ⁽ᵗ⁾ᵀγᵢ₋₁ − Aᵢ⁽ᵗ⁾ᵀ Aᵢ⁽ᵗ⁻¹⁾ zᵢ)),  the All-Free model with back_project: false.
// Backward is exact reverse mode through every sweep.
#include <vector>

#include "layers/unrolled_pursuit.h"

namespace scn {

enum class MultiLayerAlgorithm { ml_ista, ml_fista, ml_lista, lbp };

// Layer i's dictionaries at one sweep: `code` (Aᵢ, θᵢ, ηᵢ) takes the thresholded step, `input` (Bᵢ)
// correlates the shallower code and back-projects (ML-ISTA, ML-FISTA, LBP: the same dictionary).
struct LayerDictionaries {
  Dictionary code, input;
};
struct LayerDictionaryGrads {
  DictionaryGrads code, input;
};
// [sweep][layer]: one sweep (tied) or T + 1 (untied: the first codes, then sweep t at index t).
using MultiLayerDictionaries = std::vector<std::vector<LayerDictionaries>>;
using MultiLayerGrads = std::vector<std::vector<LayerDictionaryGrads>>;

// What the forward keeps for backward, [sweep][layer], and the scratch of backward.
struct MultiLayerTape {
  std::vector<std::vector<Tensor>> codes;          // γᵢ after sweep t (t = 0: the first codes)
  std::vector<std::vector<Tensor>> b;              // Bᵢᵀγᵢ₋₁ at sweep t
  std::vector<std::vector<PursuitStep>> steps;     // t ≥ 1: zᵢ, Aᵢzᵢ, AᵢᵀAᵢzᵢ
  std::vector<std::vector<Tensor>> point_buffers;  // owners of back-projected and extrapolated points
  std::vector<PursuitTape> layered;                // LBP: one unrolled pursuit per layer
  // Backward scratch.
  std::vector<std::vector<Tensor>> dcodes;         // ∂L/∂γᵢ after sweep t
  std::vector<Tensor> dpoints;                     // ∂L/∂zᵢ of one sweep
  std::vector<Tensor> db_by_layer;                 // ∂L/∂bᵢ of one step
  StepScratch scratch;
};

class MultiLayerPursuit {
 public:
  MultiLayerPursuit(MultiLayerAlgorithm algorithm, int iters, bool back_project);
  MultiLayerAlgorithm algorithm() const { return algorithm_; }
  int iters() const { return iters_; }

  // Runs the pursuit into `output`, the deepest code (N, C_L, H_L, W_L); `code_shapes` are every layer's
  // code shapes (with the batch dimension), the last equal to output's.
  void forward(Context& ctx, const MultiLayerDictionaries& ds, const Tensor& x, const std::vector<Shape>& code_shapes,
               const Tensor& output, MultiLayerTape& tape) const;
  // Reverse mode through the tape of the last forward: dx (undefined: not computed) is overwritten,
  // parameter gradients are added into `grads` (shaped like `ds`).
  void backward(Context& ctx, const MultiLayerDictionaries& ds, const MultiLayerGrads& grads, const Tensor& x,
                const Tensor& grad_output, const Tensor& dx, MultiLayerTape& tape) const;

  // The codes of every layer after the last forward (views into the tape).
  std::vector<Tensor> final_codes(const MultiLayerTape& tape) const;

 private:
  bool extrapolates(int t) const { return t >= 2 && momenta_[static_cast<size_t>(t)] != 0.0f; }
  void forward_layered(Context& ctx, const MultiLayerDictionaries& ds, const Tensor& x,
                       const std::vector<Shape>& code_shapes, const Tensor& output, MultiLayerTape& tape) const;
  void backward_layered(Context& ctx, const MultiLayerDictionaries& ds, const MultiLayerGrads& grads, const Tensor& x,
                        const Tensor& grad_output, const Tensor& dx, MultiLayerTape& tape) const;

  MultiLayerAlgorithm algorithm_;
  int iters_;
  bool back_project_;
  std::vector<float> momenta_;  // ML-FISTA's βₜ on the deepest code (fista_momenta); zero otherwise
  UnrolledPursuit layered_;     // LBP: T ISTA steps per layer
};

}  // namespace scn
