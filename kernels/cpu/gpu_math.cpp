#include "kernels/gpu_math.h"

namespace scn {

bool conv_math_allowed(ConvMath math, bool allow_tf32) {
  switch (math) {
    case ConvMath::fma:
      return true;
    case ConvMath::default_math:
    case ConvMath::tensor_op:
      return allow_tf32;
    case ConvMath::tensor_op_conversion:
      return false;
  }
  return false;
}

int choose_conv_algorithm(const std::vector<ConvAlgorithmResult>& rows, bool deterministic, bool allow_tf32) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const ConvAlgorithmResult& r = rows[i];
    if (!r.ok || (deterministic && !r.deterministic) || !conv_math_allowed(r.math, allow_tf32)) continue;
    return static_cast<int>(i);
  }
  return -1;
}

ConvSearch conv_search(bool deterministic) { return deterministic ? ConvSearch::heuristic : ConvSearch::timed; }

GemmMath gemm_math(bool allow_tf32) { return allow_tf32 ? GemmMath::tf32_tensor_op : GemmMath::default_math; }

}  // namespace scn
