#pragma once
// Random fills keyed by an RngKey (core/philox.h): element i (in memory order) is a pure function of
// (key, i), so the CPU and a GPU, and any thread count, produce the same numbers.
//   uniform: t[i] = lo + (hi − lo)·U(key, i),  U = philox_uniform ∈ [0, 1)
//   normal:  t[i] = mean + std·Z(key, i),       Z = philox_normal
// The value is formed as in kernels/random_fill_math.h and stored in t's dtype (an f64 tensor holds the
// same values as an f32 one). CPU: f32 and f64; CUDA: f32.
#include "core/context.h"
#include "core/philox.h"
#include "core/tensor.h"

namespace scn {

// t: any shape
void fill_uniform(Context& ctx, const Tensor& t, float lo, float hi, const RngKey& key);
// t: any shape
void fill_normal(Context& ctx, const Tensor& t, float mean, float std, const RngKey& key);

namespace cuda {
void fill_uniform(Context& ctx, const Tensor& t, float lo, float hi, const RngKey& key);
void fill_normal(Context& ctx, const Tensor& t, float mean, float std, const RngKey& key);
}  // namespace cuda

}  // namespace scn
