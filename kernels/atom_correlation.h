#pragma once
// The correlations between the atoms of a convolutional dictionary at every shift where two atoms overlap:
// the raw material of its mutual coherence (analysis/coherence.h). Computed through the FFT — FFTW on the CPU,
// cuFFT and cuBLAS on CUDA — because the direct sum costs C·k² multiply-adds per shift and pair, the FFT one
// complex product per frequency: on SCN-4's widest layer about nine times fewer.
//
// Atom i is the filter W[i] (C·k·k values, ℓ2-normalised here; a zero atom stays zero). In the convolutional
// model X = Dγ the atom of code (i, p) sits at s·p, so two atoms overlap at the relative shifts δ = s·t with
// |s·t| ≤ k − 1 per axis: t ∈ [−R, R], R = ⌊(k − 1)/s⌋, S = 2R + 1 shifts per axis. The output is
//   out[i, j, a, b] = ⟨d̂ᵢ, T_δ d̂ⱼ⟩ = Σ_c Σ_{u,v} d̂ᵢ[c, u, v] · d̂ⱼ[c, u − δ_y, v − δ_x],  δ = s·(a − R, b − R)
// (T_δ moves an atom by +δ; values outside the k×k support are zero). out[i, i, R, R] = 1 for a non-zero atom.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// S = 2⌊(k − 1)/s⌋ + 1: the shifts per axis at which two atoms of a stride-s dictionary overlap.
int atom_correlation_shifts(int kernel, int stride);

// out: (M, M, S, S) f32; weight: (M, C, k, k) f32, square kernels; stride ≥ 1.
void atom_correlations(Context& ctx, const Tensor& out, const Tensor& weight, int stride);

namespace cuda {
void atom_correlations(Context& ctx, const Tensor& out, const Tensor& weight, int stride);
}  // namespace cuda

}  // namespace scn
