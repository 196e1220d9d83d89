#pragma once
// Scalar maths of the pursuit steps (ISTA update, FISTA extrapolation), shared by the CPU and CUDA kernels
// so both compute the same expressions.
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

}  // namespace scn
