#pragma once
// The rank rule of accuracy_counts (see accuracy.h), shared by the CPU and CUDA kernels.
#include <cstdint>

#include "core/philox.h"  // SCN_HD

namespace scn {

// Rank of class `label` in the descending order of z (K entries), ties to the lower index. A row holding a NaN
// has no order: its rank is beyond any k, wrong in top-1 and top-5 alike (every comparison with NaN is false, so without
// this rule a diverged net would score a perfect rank 0 on every image).
template <class T>
SCN_HD int64_t label_rank(const T* z, int64_t classes, int64_t label) {
  const T v = z[label];
  int64_t rank = 0;
  for (int64_t j = 0; j < classes; ++j) {
    if (z[j] != z[j]) return int64_t(1) << 62;
    rank += (z[j] > v || (j < label && z[j] == v)) ? 1 : 0;
  }
  return rank;
}

}  // namespace scn
