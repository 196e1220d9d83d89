// Runs every registered op case through the three conformance suites (see op_case.h).
#include <cmath>

#include "core/philox.h"
#include "kernels/op_case.h"

namespace scn::test {
namespace {

constexpr uint64_t kSeed = 20261129;

// A fresh seed per test run would make failures hard to reproduce; instead each case gets its own seed
// derived from its name, and SCN_TEST_SEED overrides the base to explore other inputs.
uint64_t case_seed(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  const char* env = std::getenv("SCN_TEST_SEED");
  return h ^ (env ? std::strtoull(env, nullptr, 10) : kSeed);
}

Tensors to_device(const Tensors& ts, Device d) {
  Tensors out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.to(d) : Tensor());
  return out;
}

Tensors to_dtype(const Tensors& ts, DType dtype) {
  Tensors out;
  for (const Tensor& t : ts) out.push_back(t.defined() && t.dtype() != dtype &&
                                                   (t.dtype() == DType::f32 || t.dtype() == DType::f64)
                                               ? t.to(dtype) : t);
  return out;
}

Tensors random_like(const Tensors& ts, uint64_t seed, int stream0) {
  Tensors out;
  for (size_t i = 0; i < ts.size(); ++i)
    out.push_back(ts[i].defined() ? random_uniform(ts[i].shape(), ts[i].dtype(), seed, stream0 + static_cast<int>(i))
                                  : Tensor());
  return out;
}

class OpConformance : public ::testing::TestWithParam<OpCase> {};
class ReferenceVsCpu : public OpConformance {};
class CudaVsCpu : public OpConformance {};
class GradCheck : public OpConformance {};

TEST_P(ReferenceVsCpu, ForwardMatchesNaiveReference) {
  const OpCase& c = GetParam();
  ASSERT_TRUE(c.reference) << c.name << " has no naive reference";
  Context& cpu = Context::get(Device::cpu());
  const uint64_t seed = case_seed(c.name);
  Tensors inputs = c.make_inputs(DType::f32, seed);
  Tensors expected = c.reference(to_dtype(inputs, DType::f64));
  Tensors actual = c.forward(cpu, inputs);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_TRUE(all_close(actual[i], expected[i], c.tolerance, c.name + " output " + std::to_string(i)));
}

TEST_P(CudaVsCpu, ForwardAndBackwardMatchCpu) {
  const OpCase& c = GetParam();
  if (!c.has_cuda) GTEST_SKIP() << c.name << " has no CUDA twin";
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  const uint64_t seed = case_seed(c.name);
  Tensors inputs = c.make_inputs(DType::f32, seed);
  Context& cpu = Context::get(Device::cpu());
  Context& gpu = Context::get(Device::cuda(0));
  Tensors gpu_inputs = to_device(inputs, Device::cuda(0));
  Tensors out_cpu = c.forward(cpu, inputs);
  Tensors out_gpu = c.forward(gpu, gpu_inputs);
  ASSERT_EQ(out_cpu.size(), out_gpu.size());
  for (size_t i = 0; i < out_cpu.size(); ++i)
    EXPECT_TRUE(all_close(out_gpu[i], out_cpu[i], c.tolerance, c.name + " forward output " + std::to_string(i)));
  if (!c.backward) return;
  Tensors grads = random_like(out_cpu, seed, 100);
  Tensors din_cpu = c.backward(cpu, inputs, grads);
  Tensors din_gpu = c.backward(gpu, gpu_inputs, to_device(grads, Device::cuda(0)));
  ASSERT_EQ(din_cpu.size(), din_gpu.size());
  for (size_t i = 0; i < din_cpu.size(); ++i)
    EXPECT_TRUE(all_close(din_gpu[i], din_cpu[i], c.tolerance, c.name + " gradient of input " + std::to_string(i)));
}

TEST_P(GradCheck, BackwardMatchesFiniteDifferences) {
  const OpCase& c = GetParam();
  ASSERT_TRUE(c.backward);
  Context& cpu = Context::get(Device::cpu());
  const uint64_t seed = case_seed(c.name);
  Tensors inputs = c.make_inputs(DType::f64, seed);
  Tensors outputs = c.forward(cpu, inputs);
  // L = Σ_o ⟨out_o, R_o⟩ with fixed random R: dL/d(out_o) = R_o.
  Tensors weights = random_like(outputs, seed, 200);
  Tensors analytic = c.backward(cpu, inputs, weights);
  ASSERT_EQ(analytic.size(), inputs.size()) << c.name << ": backward returns one gradient per input";
  auto loss = [&](const Tensors& in) {
    Tensors out = c.forward(cpu, in);
    double l = 0;
    for (size_t o = 0; o < out.size(); ++o) {
      std::vector<double> y = out[o].to_vector(), r = weights[o].to_vector();
      for (size_t k = 0; k < y.size(); ++k) l += y[k] * r[k];
    }
    return l;
  };
  std::vector<int> which = c.differentiable;
  if (which.empty())
    for (size_t i = 0; i < inputs.size(); ++i)
      if (analytic[i].defined()) which.push_back(static_cast<int>(i));
  ASSERT_FALSE(which.empty()) << c.name << ": nothing to differentiate";
  // The step stays well inside the kink margin so no difference straddles a kink.
  const double h = std::min(1e-6, c.kink_margin / 4);
  for (int i : which) {
    ASSERT_TRUE(analytic[i].defined()) << c.name << ": no gradient for input " << i;
    Tensor& x = inputs[i];
    ASSERT_EQ(x.dtype(), DType::f64);
    double* p = x.data<double>();
    const int64_t n = x.numel();
    // Up to 97 elements per input, spread over the whole tensor (all of them when small).
    const int64_t stride = std::max<int64_t>(1, n / 97);
    std::vector<double> g = analytic[i].to_vector();
    double worst = 0;
    int64_t worst_k = -1;
    double worst_num = 0;
    for (int64_t k = 0; k < n; k += stride) {
      const double saved = p[k];
      p[k] = saved + h;
      const double lp = loss(inputs);
      p[k] = saved - h;
      const double lm = loss(inputs);
      p[k] = saved;
      const double numeric = (lp - lm) / (2 * h);
      const double err = std::abs(numeric - g[k]) / (1e-6 + 1e-5 * std::abs(numeric) + 1e-5 * std::abs(g[k]));
      if (err > worst || std::isnan(err)) {
        worst = std::isnan(err) ? INFINITY : err;
        worst_k = k;
        worst_num = numeric;
      }
    }
    EXPECT_LE(worst, 1.0) << c.name << " input " << i << " element " << worst_k << ": analytic " << g[worst_k]
                          << ", finite difference " << worst_num;
  }
}

std::vector<OpCase> cases_with_backward() {
  std::vector<OpCase> out;
  for (const auto& c : all_op_cases())
    if (c.backward) out.push_back(c);
  return out;
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Ops, ReferenceVsCpu, ::testing::ValuesIn(all_op_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, CudaVsCpu, ::testing::ValuesIn(all_op_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, GradCheck, ::testing::ValuesIn(cases_with_backward()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GradCheck);

}  // namespace
}  // namespace scn::test
