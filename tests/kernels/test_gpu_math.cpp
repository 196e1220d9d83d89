// The rules by which the GPU engines choose their math and their convolution algorithms (kernels/gpu_math.h),
// held on the CPU: cuDNN's rows in the order it returns them, and the choice a plan must make.
#include <gtest/gtest.h>

#include "kernels/gpu_math.h"

namespace scn::test {
namespace {

ConvAlgorithmResult row(int algo, ConvMath math, bool deterministic = true, bool ok = true) {
  return ConvAlgorithmResult{algo, ok, deterministic, math, 1024};
}

TEST(GpuMath, TrueFp32TakesOnlyFmaRows) {
  // cuDNN lists a TF32 (DEFAULT_MATH) row first on Ampere and newer even for an FMA descriptor: it was timed
  // with tensor cores, and running it as FMA is neither what was measured nor the CPU's f32.
  const std::vector<ConvAlgorithmResult> rows = {row(1, ConvMath::default_math), row(6, ConvMath::tensor_op),
                                                 row(0, ConvMath::fma), row(2, ConvMath::fma)};
  EXPECT_EQ(choose_conv_algorithm(rows, false, false), 2);
  EXPECT_EQ(choose_conv_algorithm(rows, false, true), 0);
}

TEST(GpuMath, HalfPrecisionConversionIsNeverTaken) {
  const std::vector<ConvAlgorithmResult> rows = {row(1, ConvMath::tensor_op_conversion), row(3, ConvMath::fma)};
  EXPECT_EQ(choose_conv_algorithm(rows, false, true), 1);
  EXPECT_EQ(choose_conv_algorithm({row(1, ConvMath::tensor_op_conversion)}, false, true), -1);
}

TEST(GpuMath, DeterministicRunsSkipAtomicAlgorithmsAndFailedRows) {
  const std::vector<ConvAlgorithmResult> rows = {row(0, ConvMath::fma, false), row(1, ConvMath::fma, true, false),
                                                 row(2, ConvMath::fma, true)};
  EXPECT_EQ(choose_conv_algorithm(rows, true, false), 2);
  EXPECT_EQ(choose_conv_algorithm(rows, false, false), 0);
  EXPECT_EQ(choose_conv_algorithm({row(0, ConvMath::fma, false)}, true, false), -1);
  EXPECT_EQ(choose_conv_algorithm({}, false, false), -1);
}

TEST(GpuMath, DeterministicRunsChooseByHeuristicsNotTiming) {
  EXPECT_EQ(conv_search(true), ConvSearch::heuristic);
  EXPECT_EQ(conv_search(false), ConvSearch::timed);
}

TEST(GpuMath, CublasFollowsTheSameSwitch) {
  EXPECT_EQ(gemm_math(false), GemmMath::default_math);
  EXPECT_EQ(gemm_math(true), GemmMath::tf32_tensor_op);
  EXPECT_TRUE(conv_math_allowed(ConvMath::fma, false));
  EXPECT_FALSE(conv_math_allowed(ConvMath::default_math, false));
  EXPECT_TRUE(conv_math_allowed(ConvMath::default_math, true));
}

}  // namespace
}  // namespace scn::test
