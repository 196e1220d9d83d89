#pragma once
// The mutual coherence of a layer's dictionary: how alike its atoms are, the quantity every uniqueness and
// recovery guarantee of the (multi-layer) convolutional sparse model is stated in.
//
//   mutual   μ(D) of the convolutional dictionary: the largest |⟨d̂ᵢ, T_δ d̂ⱼ⟩| over atoms i, j and the shifts δ
//            at which they overlap (multiples of the stride, |δ| ≤ k − 1 per axis), except an atom with itself at
//            δ = 0 (atoms ℓ2-normalised, inner products summed over input channels)
//   patch    the same at δ = 0 only, i ≠ j: the coherence of the k×k patch dictionary A — the one SCN's
//            per-patch pursuit codes with, and the form of the tables of learned filters' coherence
//   mean/std of |⟨d̂ᵢ, d̂ⱼ⟩| over the pairs i < j at δ = 0
//   welch    lower bounds no dictionary of this size can beat (Welch): for the patch dictionary,
//            √((M − n)/(n(M − 1))) with M atoms in n = C·k² dimensions (0 when M ≤ n); for the convolutional
//            one, the same bound for the global dictionary on the smallest periodic signal that still holds
//            every overlap (P = s·⌈(2k − 1)/s⌉ per axis: N = M·(P/s)² atoms in d = C·P² dimensions) — for one
//            channel and stride 1 this is √((M − 1)/(M(2k − 1)² − 1)), the 2-D form of the convolutional bound of
//            Papyan, Sulam and Elad (2017).
#include <string>

#include "core/context.h"
#include "core/tensor.h"

namespace scn {

struct Coherence {
  int64_t atoms = 0;        // M
  int64_t atom_size = 0;    // n = C·k²
  int kernel = 0, stride = 1;
  double mutual = 0;        // μ(D), convolutional
  double patch = 0;         // μ(A), zero shift only
  double mean = 0, std = 0; // |⟨d̂ᵢ, d̂ⱼ⟩| over pairs i < j at zero shift
  double welch_patch = 0, welch_conv = 0;
  // Where μ(D) is attained: atoms i, j and the shift δ = (dy, dx) in input pixels.
  int64_t atom_i = -1, atom_j = -1;
  int shift_y = 0, shift_x = 0;
  int64_t zero_atoms = 0;   // atoms that are all zero (left out of every maximum)
};

// μ and the rest from the correlations of atom_correlations (kernels/atom_correlation.h) read on the host.
// correlations: (M, M, S, S), any device (copied to the host).
Coherence summarize_coherence(const Tensor& correlations, const Shape& weight_shape, int stride);

// The coherence of the dictionary W = (M, C, k, k) with stride s, through the FFT on W's device.
Coherence dictionary_coherence(Context& ctx, const Tensor& weight, int stride);

// The correlations of atom_correlations by the direct sum over shifts, channels and pixels, in double on
// the host: the reference the FFT is checked against (tests, tools/bench). weight: any device.
Tensor atom_correlations_direct(const Tensor& weight, int stride);

// The Welch bounds above, for M atoms of C·k·k values with stride s.
double welch_bound_patch(int64_t atoms, int64_t channels, int kernel);
double welch_bound_convolutional(int64_t atoms, int64_t channels, int kernel, int stride);

// Uniqueness and basis-pursuit success hold for ‖Γ‖₀,∞ < ½(1 + 1/μ); layered BP's stability for < ⅓(1 + 1/μ).
inline double uniqueness_bound(double mu) { return mu > 0 ? 0.5 * (1 + 1 / mu) : 0; }
inline double stability_bound(double mu) { return mu > 0 ? (1 + 1 / mu) / 3 : 0; }

}  // namespace scn
