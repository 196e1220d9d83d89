#pragma once
// Window arithmetic of 2-D pooling, shared by the CPU and CUDA kernels (see pool2d.h).
#include "core/philox.h"  // SCN_HD

namespace scn {

// Output o covers input rows [o·stride − pad, o·stride − pad + kernel) ∩ [0, in).
struct PoolSpan {
  int64_t begin, end;
};

SCN_HD PoolSpan pool_window(int64_t o, int64_t in, int kernel, int stride, int pad) {
  int64_t b = o * stride - pad, e = b + kernel;
  return PoolSpan{b < 0 ? 0 : b, e > in ? in : e};
}

// The outputs whose windows cover input row i: [ceil((i + pad − kernel + 1)/stride), floor((i + pad)/stride)]
// ∩ [0, out), as a half-open span.
SCN_HD PoolSpan pool_covering(int64_t i, int64_t out, int kernel, int stride, int pad) {
  const int64_t hi = i + pad;  // ≥ 0
  const int64_t lo = hi - kernel + 1;
  const int64_t first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  const int64_t last = hi / stride;  // inclusive
  return PoolSpan{first, last + 1 < out ? last + 1 : out};
}

}  // namespace scn
