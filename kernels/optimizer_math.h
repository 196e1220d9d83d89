#pragma once
// Per-element optimizer updates, shared by the CPU and CUDA kernels (see kernels/optimizer.h for the maths).
// lr and wd are the segment's: base value times its lr_mult / decay_mult.
#include <cmath>
#include <cstdint>

#include "core/philox.h"  // SCN_HD

namespace scn {

template <class T>
SCN_HD T optimizer_sqrt(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);
#else
  return std::sqrt(x);
#endif
}

// SGD with momentum (PyTorch semantics, no dampening); returns the new weight, updates v when use_v.
template <class T>
SCN_HD T sgd_element(T w, T g, T& v, T lr, T momentum, T wd, bool use_v, bool nesterov) {
  const T gd = g + wd * w;
  T update = gd;
  if (use_v) {
    v = momentum * v + gd;
    update = nesterov ? gd + momentum * v : v;
  }
  return w - lr * update;
}

// Adam / AdamW (PyTorch semantics); c1 = 1/(1 − β₁ᵗ), c2 = 1/√(1 − β₂ᵗ) from the host. Returns the new
// weight, updates the moments m and v.
template <class T>
SCN_HD T adam_element(T w, T g, T& m, T& v, T lr, T wd, T beta1, T beta2, T eps, T c1, T c2, bool decoupled) {
  if (decoupled) {
    w = w * (T(1) - lr * wd);
  } else {
    g = g + wd * w;
  }
  m = beta1 * m + (T(1) - beta1) * g;
  v = beta2 * v + (T(1) - beta2) * g * g;
  return w - lr * c1 * m / (optimizer_sqrt(v) * c2 + eps);
}

// Adam's bias corrections for step t ≥ 1, in double on the host once per step: c1 = 1/(1 − β₁ᵗ),
// c2 = 1/√(1 − β₂ᵗ).
inline void adam_bias_corrections(float beta1, float beta2, int64_t step, double& c1, double& c2) {
  const double t = static_cast<double>(step);
  c1 = 1.0 / (1.0 - std::pow(static_cast<double>(beta1), t));
  c2 = 1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t));
}

// Clamp that keeps NaN (std::clamp and fminf/fmaxf would not agree on it).
template <class T>
SCN_HD T clamp_element(T w, T lo, T hi) {
  return w < lo ? lo : (w > hi ? hi : w);
}

}  // namespace scn
