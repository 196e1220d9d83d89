#pragma once
// The dispatch line: the one place an op hands a CUDA tensor to its CUDA twin. In a build without CUDA the
// branch raises a clear error instead. Use at the top of an op, after its argument checks:
//   SCN_DISPATCH_CUDA(x, cuda::soft_threshold_forward(ctx, y, x, theta, mode));
#include "core/error.h"

#ifdef SCN_WITH_CUDA
#define SCN_DISPATCH_CUDA(tensor, ...) \
  do {                                 \
    if ((tensor).is_cuda()) {          \
      __VA_ARGS__;                     \
      return;                          \
    }                                  \
  } while (0)
#else
// The call is named in an unevaluated sizeof, so its arguments (the context, mostly) count as used and a
// CPU-only build compiles without unused-parameter warnings, and without needing the CUDA symbols.
#define SCN_DISPATCH_CUDA(tensor, ...)                                                              \
  do {                                                                                              \
    (void)sizeof((__VA_ARGS__, 0));                                                                 \
    if ((tensor).is_cuda()) SCN_FAIL("a CUDA tensor reached an op, but scn was built without CUDA"); \
  } while (0)
#endif
