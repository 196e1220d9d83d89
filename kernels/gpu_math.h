#pragma once
// How scn's fp32 work may use a GPU's tensor cores, decided in one place for cuDNN and cuBLAS, and which of
// cuDNN's convolution algorithms a plan takes. Host-side rules only (no CUDA types), so that CPU tests hold
// them; kernels/cuda/conv2d.cu and linear.cu map them onto the libraries' enums.
//
// Context::allow_tf32 off (the default): true fp32 everywhere, as the CPU computes — cuDNN's FMA math and
// cuBLAS's default math (which never rounds fp32 operands to TF32). On (`scn profile --tf32`): TF32 tensor
// cores for both libraries alike, so scn against PyTorch with TF32 on is like for like. Never cuDNN's
// TENSOR_OP_MATH_ALLOW_CONVERSION, which would round fp32 data to half precision.
#include <cstddef>
#include <vector>

namespace scn {

// cuDNN's math types: FMA (true fp32), DEFAULT (TF32 allowed on sm_80 and newer), TENSOR_OP (TF32 for fp32
// data), TENSOR_OP_ALLOW_CONVERSION (fp32 data converted to half).
enum class ConvMath { fma, default_math, tensor_op, tensor_op_conversion };

// One row of cuDNN's answer (Find: sorted by measured time; heuristics: by expected speed).
struct ConvAlgorithmResult {
  int algo = 0;
  bool ok = false;            // status == CUDNN_STATUS_SUCCESS
  bool deterministic = false;
  ConvMath math = ConvMath::fma;
  size_t workspace = 0;
};

// Whether a plan may run with `math`: FMA only, or with TF32 allowed also DEFAULT and TENSOR_OP.
bool conv_math_allowed(ConvMath math, bool allow_tf32);

// The index of the first row that ran, is deterministic when asked and whose math is allowed; −1 when none.
// The plan then runs that row's algorithm with that row's math type, as it was measured.
int choose_conv_algorithm(const std::vector<ConvAlgorithmResult>& rows, bool deterministic, bool allow_tf32);

// How the algorithm is chosen: by timing (cudnnFind*Ex, fastest on this run's data) or, with deterministic
// runs, by cuDNN's heuristics (cudnnGet*_v7), which depend only on the GPU model, the library version and the
// shapes — so that a resumed run takes the same algorithms and continues bit for bit.
enum class ConvSearch { timed, heuristic };
ConvSearch conv_search(bool deterministic);

// cuBLAS's math mode for fp32 GEMMs: default (true fp32) or TF32 tensor-op math.
enum class GemmMath { default_math, tf32_tensor_op };
GemmMath gemm_math(bool allow_tf32);

}  // namespace scn
