#pragma once
// Scalar maths of the pursuit steps (ISTA update, FISTA extrapolation), shared by the CPU and CUDA kernels
// so both compute the same expressions.
#include <cmath>

#include "core/philox.h"  // SCN_HD

namespace scn {

// The pre-activation of an ISTA step: z + η·(b − G); the first code's η·b when kFirst.
template <bool kFirst, class T>
SCN_HD T ista_pre(T z, T b, T G, T eta) {
  if constexpr (kFirst) {
    return eta * b;
  } else {
    return z + eta * (b - G);
  }
}

// What multiplies g_pre in ∂L/∂η: b − G (b for the first code).
template <bool kFirst, class T>
SCN_HD T ista_eta_factor(T b, T G) {
  if constexpr (kFirst) {
    return b;
  } else {
    return b - G;
  }
}

template <class T>
SCN_HD T fista_extrapolate(T gamma, T gamma_prev, T beta) {
  return gamma + beta * (gamma - gamma_prev);
}

// FISTA's momentum from a zero start (Beck–Teboulle; γ₀ is FISTA's first iterate x₁, t₁ = 1): given t = tₖ,
// returns βₖ = (tₖ − 1)/tₖ₊₁ and advances t to tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, so β₁ = 0, β₂ ≈ 0.2818. In double
// on every device (IEEE square roots are exact to the last bit), so host and kernels use the same βₖ.
SCN_HD float fista_next_momentum(double& t) {
  const double next = (1.0 + sqrt(1.0 + 4.0 * t * t)) / 2.0;
  const float beta = static_cast<float>((t - 1.0) / next);
  t = next;
  return beta;
}

}  // namespace scn
