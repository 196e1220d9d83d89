#pragma once
// The rank rule of accuracy_counts (see accuracy.h), shared by the CPU and CUDA kernels.
#include <cstdint>

#include "core/philox.h"  // SCN_HD

namespace scn {

// Rank of class `label` in the descending order of z (K entries), ties to the lower index.
template <class T>
SCN_HD int64_t label_rank(const T* z, int64_t classes, int64_t label) {
  const T v = z[label];
  int64_t rank = 0;
  for (int64_t j = 0; j < classes; ++j) rank += (z[j] > v || (j < label && z[j] == v)) ? 1 : 0;
  return rank;
}

}  // namespace scn
