#pragma once
// One pixel of active_set_solve, shared by the CPU and CUDA kernels: gather the support, factor
// M_ΛΛ + εI = LLᵀ (Cholesky, in place in `factor`), solve L Lᵀ β_Λ = g_Λ, scatter β. Elements of one pixel
// are `stride` apart (NCHW: channel stride H·W). Scratch: `index` C ints, `factor` C² and `work` C values.
#include <cmath>

#include "core/philox.h"  // SCN_HD

namespace scn {

template <class T, class Acc>
SCN_HD void active_set_solve_pixel(T* beta, const T* gram, const T* code, const T* g, int channels, long long stride,
                                   Acc ridge, int* index, Acc* factor, Acc* work) {
  int n = 0;
  for (int c = 0; c < channels; ++c) {
    beta[c * stride] = T(0);
    if (code[c * stride] != T(0)) index[n++] = c;
  }
  if (n == 0) return;
  // The lower triangle of M_ΛΛ + εI, factored column by column (L[i][j] at factor[i·n + j]).
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) factor[i * n + j] = Acc(gram[index[i] * channels + index[j]]) + (i == j ? ridge : Acc(0));
  for (int j = 0; j < n; ++j) {
    Acc d = factor[j * n + j];
    for (int k = 0; k < j; ++k) d -= factor[j * n + k] * factor[j * n + k];
    d = d > Acc(0) ? sqrt(d) : Acc(1e-30);  // M is positive semidefinite; ε > 0 keeps d > 0 but for rounding
    factor[j * n + j] = d;
    for (int i = j + 1; i < n; ++i) {
      Acc s = factor[i * n + j];
      for (int k = 0; k < j; ++k) s -= factor[i * n + k] * factor[j * n + k];
      factor[i * n + j] = s / d;
    }
  }
  // L y = g_Λ, then Lᵀ β_Λ = y, both in `work`.
  for (int i = 0; i < n; ++i) {
    Acc s = Acc(g[index[i] * stride]);
    for (int k = 0; k < i; ++k) s -= factor[i * n + k] * work[k];
    work[i] = s / factor[i * n + i];
  }
  for (int i = n - 1; i >= 0; --i) {
    Acc s = work[i];
    for (int k = i + 1; k < n; ++k) s -= factor[k * n + i] * work[k];
    work[i] = s / factor[i * n + i];
  }
  for (int i = 0; i < n; ++i) beta[index[i] * stride] = T(work[i]);
}

}  // namespace scn
