#pragma once
// The conformance harness's description of one op. Every op registers cases (tests/kernels/cases_*.cpp);
// tests/kernels/test_conformance.cpp runs each case through three suites:
//   ReferenceVsCpu  the op on the CPU (f32) against a naive reference written in the case (f64 loops);
//   CudaVsCpu       the op on a GPU against the CPU, forward and backward (skipped without a GPU);
//   GradCheck       backward against central finite differences of forward, in f64 on the CPU.
// Inputs are drawn fresh from a seed, with odd sizes, never all zeros, and away from kinks (kink rule:
// a case whose op is not smooth everywhere — thresholds, max pooling — generates inputs at least
// `kink_margin` from every kink, and the harness's finite-difference step stays below it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace scn::test {

using Tensors = std::vector<Tensor>;

struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-4;
};

struct OpCase {
  std::string name;  // letters, digits and '_' (a gtest name)
  // Fresh inputs on the CPU, in `dtype`, drawn from `seed`.
  std::function<Tensors(DType dtype, uint64_t seed)> make_inputs;
  // The op under test; inputs are on ctx's device, outputs come back on the same device.
  std::function<Tensors(Context& ctx, const Tensors& inputs)> forward;
  // Naive reference on CPU f64 inputs: plain loops, written for clarity, independent of the op's code.
  std::function<Tensors(const Tensors& inputs)> reference;
  // Optional: input gradients given output gradients (undefined tensors for inputs not differentiated).
  std::function<Tensors(Context& ctx, const Tensors& inputs, const Tensors& grad_outputs)> backward;
  // Which inputs the gradient check perturbs (empty: all inputs that backward returns).
  std::vector<int> differentiable;
  Tolerance tolerance;          // f32 op against the f64 reference, and CUDA against CPU
  double kink_margin = 1e-3;    // inputs are generated at least this far from any kink
  bool has_cuda = true;         // false: the op has no CUDA twin (CudaVsCpu reports the skip)
};

// gtest prints a case by its name.
inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

// All cases of all ops (tests/kernels/op_cases.cpp).
const std::vector<OpCase>& all_op_cases();

// Random CPU tensors for cases: uniform in [lo, hi) from a Philox stream keyed by `seed` and `stream`.
Tensor random_uniform(const Shape& shape, DType dtype, uint64_t seed, int stream, double lo = -1.0, double hi = 1.0);
// Random values that keep |v| - t at least `margin` away from 0 for every threshold t in `thresholds` taken
// per channel (dim 1), so soft thresholds are smooth around every element.
Tensor random_away_from(const Shape& shape, DType dtype, uint64_t seed, int stream, const Tensor& thresholds,
                        double margin, bool two_sided);

// Runs `f` and expects an scn::Error whose message contains every one of `parts` (the op, the tensor, …).
void expect_error_mentions(const std::function<void()>& f, const std::vector<std::string>& parts);
inline void expect_error_mention(const std::function<void()>& f, const std::string& part) {
  expect_error_mentions(f, std::vector<std::string>{part});
}

// Element-wise comparison: |a - b| <= atol + rtol·|b| everywhere. On failure the message names the worst
// index, both values and the error.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, Tolerance tol,
                                     const std::string& what = "");

}  // namespace scn::test
