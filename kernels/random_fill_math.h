#pragma once
// The values of the random fills, shared by the CPU and CUDA kernels. a + b·u is formed in double from
// floats: the product of two floats is exact in double, so the one rounding of the sum is the same whether
// or not a compiler contracts it into a fused multiply-add (nvcc does by default); the result is then
// rounded once to float. CPU and GPU therefore agree bit for bit.
#include "core/philox.h"

namespace scn {

SCN_HD float affine_exact(float a, float b, float u) {
  return static_cast<float>(static_cast<double>(a) + static_cast<double>(b) * static_cast<double>(u));
}

SCN_HD float random_uniform_value(const RngKey& key, uint64_t i, float lo, float hi) {
  return affine_exact(lo, hi - lo, philox_uniform(key, i));
}

SCN_HD float random_normal_value(const RngKey& key, uint64_t i, float mean, float std) {
  return affine_exact(mean, std, philox_normal(key, i));
}

}  // namespace scn
