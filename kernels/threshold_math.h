#pragma once
// The scalar maths of soft thresholds, shared by the CPU and CUDA kernels so both compute the same thing.
#include "core/philox.h"  // SCN_HD
#include "kernels/soft_threshold.h"

namespace scn {

template <class T>
SCN_HD T soft_threshold(T x, T theta, ThresholdMode mode) {
  if (mode == ThresholdMode::nonneg) return x > theta ? x - theta : T(0);
  if (x > theta) return x - theta;
  if (x < -theta) return x + theta;
  return T(0);
}

// S'(x): 1 on the active set, 0 elsewhere (the kinks |x| = θ count as inactive).
template <class T>
SCN_HD T soft_threshold_derivative(T x, T theta, ThresholdMode mode) {
  if (mode == ThresholdMode::nonneg) return x > theta ? T(1) : T(0);
  return (x > theta || x < -theta) ? T(1) : T(0);
}

// ∂S/∂θ = −threshold_sign(x) on the active set: 1 for nonneg, sign(x) for two-sided.
template <class T>
SCN_HD T threshold_sign(T x, ThresholdMode mode) {
  if (mode == ThresholdMode::nonneg) return T(1);
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

}  // namespace scn
