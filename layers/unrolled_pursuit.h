#pragma once
// The unrolled pursuit of docs/design.md over one dictionary (either Gram form):
//   b = Dᵀx, γ₀ = S_θ(η·b), then K ISTA or FISTA steps γₜ = S_θ(zₜ + η(b − DᵀD zₜ)), output γ_K,
// with z₁ = γ₀ and, for FISTA, zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂) (βₜ from fista_momenta).
// Backward is exact reverse mode through the K steps: pursuit_step_backward per step, the FISTA chain
// through zₜ, the first code, and b = Dᵀx.
//
// Untied (LISTA-style, `tied: false`): one dictionary per unfolding, D₀ … D_K, each with its own θ and η.
// Step t codes with Dₜ and synthesises with the dictionary that coded its point:
//   γₜ = S_θₜ(zₜ + ηₜ(Dₜᵀx − Dₜᵀ Dₜ₋₁ zₜ)),   γ₀ = S_θ₀(η₀ D₀ᵀx)
// (for D₀ = … = D_K this is the tied pursuit).
#include <span>
#include <vector>

#include "layers/pursuit.h"

namespace scn {

// What the forward keeps for backward (and the buffers behind it, reused across calls).
struct PursuitTape {
  Tensor b;                        // Dᵀx                                  like the code
  std::vector<Tensor> untied_b;    // untied: Dₜᵀx for t = 1 … K (b is D₀ᵀx)
  std::vector<Tensor> codes;       // γ₀ … γ_K of the last call (views; γ_K is the output)
  std::vector<PursuitStep> steps;  // steps 1 … K at index t − 1
  std::vector<Tensor> code_buffers, point_buffers;  // owners behind the views
  // Backward scratch.
  Tensor db;                       // ∂L/∂b
  std::vector<Tensor> dcodes;      // ∂L/∂γₜ, t < K (∂L/∂γ_K is the output gradient)
  StepScratch scratch;
};

class UnrolledPursuit {
 public:
  UnrolledPursuit(int iters, PursuitAlgorithm algorithm);
  int iters() const { return iters_; }
  PursuitAlgorithm algorithm() const { return algorithm_; }
  // βₜ, t = 1 … K (index 0 unused; all zero for ISTA).
  const std::vector<float>& momenta() const { return momenta_; }

  // Runs the pursuit into `output` (N, Co, Ho, Wo). `keep` stores every iterate for backward; otherwise
  // three rolling codes suffice. `ds`: one dictionary (tied) or K + 1 (untied, unfolding t at index t).
  void forward(Context& ctx, std::span<const Dictionary> ds, const Tensor& x, const Tensor& output,
               PursuitTape& tape, bool keep) const;
  // Reverse mode through a tape written with keep = true; dx (undefined: not computed) is overwritten (added
  // to when `accumulate_dx`), parameter gradients are added into `grads` (one per dictionary of `ds`).
  void backward(Context& ctx, std::span<const Dictionary> ds, std::span<const DictionaryGrads> grads,
                const Tensor& x, const Tensor& grad_output, const Tensor& dx, PursuitTape& tape,
                bool accumulate_dx = false) const;
  // The tied pursuit over one dictionary (no container built: a training step's hot path).
  void forward(Context& ctx, const Dictionary& d, const Tensor& x, const Tensor& output, PursuitTape& tape,
               bool keep) const {
    forward(ctx, std::span<const Dictionary>(&d, 1), x, output, tape, keep);
  }
  void backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& x,
                const Tensor& grad_output, const Tensor& dx, PursuitTape& tape) const {
    backward(ctx, std::span<const Dictionary>(&d, 1), std::span<const DictionaryGrads>(&grads, 1), x, grad_output,
             dx, tape);
  }

 private:
  bool extrapolates(int t) const { return t >= 2 && momenta_[static_cast<size_t>(t)] != 0.0f; }

  int iters_;
  PursuitAlgorithm algorithm_;
  std::vector<float> momenta_;
};

}  // namespace scn
