#pragma once
// The dispatch line: the one place an op hands a CUDA tensor to its CUDA twin. In a build without CUDA the
// branch raises a clear error instead. Use at the top of an op, after its argument checks:
//   SCN_DISPATCH_CUDA(x, cuda::soft_threshold_forward(ctx, y, x, theta, mode));
// Every op passes it exactly once, on every device, so it also counts the op (core/op_stats.h): the number
// of launches a step makes on a GPU is the number of ops it runs on the CPU.
#include "core/error.h"
#include "core/op_stats.h"

#ifdef SCN_WITH_CUDA
#define SCN_DISPATCH_CUDA(tensor, ...) \
  do {                                 \
    ::scn::count_op(__func__);         \
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
    ::scn::count_op(__func__);                                                                      \
    (void)sizeof((__VA_ARGS__, 0));                                                                 \
    if ((tensor).is_cuda()) SCN_FAIL("a CUDA tensor reached an op, but scn was built without CUDA"); \
  } while (0)
#endif
