// The patch pursuit's layer with the fused op (kernels/patch_pursuit.h) against the same layer with the unfused
// reference (Context::fused_pursuit = false: a 1×1 convolution by AᵀA, the ISTA update and the FISTA
// extrapolation per step): evaluation outputs, and the implicit backward's gradients after a training forward,
// for atom counts from 1 to 256, 0 to 50 steps, strides 1 and 2, odd image sizes, both algorithms, both
// threshold modes, shared and per-atom thresholds. (The op alone against a textbook loop, and CUDA against the
// CPU, are conformance cases: tests/kernels/cases_patch_pursuit.cpp.)
#include <gtest/gtest.h>

#include <optional>

#include "kernels/op_case.h"
#include "layer_harness.h"

namespace scn::test {
namespace {

// Selects the unfused reference for its lifetime.
class ReferencePursuit {
 public:
  explicit ReferencePursuit(Context& ctx) : ctx_(ctx), was_(ctx.fused_pursuit) { ctx.fused_pursuit = false; }
  ~ReferencePursuit() { ctx_.fused_pursuit = was_; }

 private:
  Context& ctx_;
  bool was_;
};

struct Outcome {
  Tensor output, dx, grads;
};

// Forward in `mode` (and, for training, the backward of a fixed random output gradient) with either engine.
Outcome run(const LayerCase& c, bool fused, Mode mode) {
  Context& ctx = Context::get(Device::cpu());
  std::optional<ReferencePursuit> reference;
  if (!fused) reference.emplace(ctx);
  auto b = build_layer(c, DType::f32, Device::cpu(), 17);
  const Shape& in = b->input_shapes[0];
  const Shape& o = b->output_shape;
  const Tensor x = random_uniform({c.batch, in[0], in[1], in[2]}, DType::f32, 17, 1);
  Outcome r;
  r.output = Tensor::empty({c.batch, o[0], o[1], o[2]});
  auto state = b->layer->make_state();
  b->layer->forward(ctx, {x}, r.output, mode, *state);
  if (!is_training(mode)) return r;
  r.dx = Tensor::empty(x.shape());
  b->arena.zero_grads();
  b->layer->backward(ctx, {x}, r.output, random_uniform(r.output.shape(), DType::f32, 17, 2), {r.dx}, *state);
  r.grads = b->arena.grads().clone();
  return r;
}

struct FusedCase {
  std::string name, yaml;
  Shape input;
};
void PrintTo(const FusedCase& c, std::ostream* os) { *os << c.name; }


class FusedPursuit : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedPursuit, EvaluationEqualsTheReference) {
  const FusedCase& f = GetParam();
  const LayerCase c{f.name, f.yaml, {f.input}, 2};
  const Outcome fused = run(c, true, Mode::eval), reference = run(c, false, Mode::eval);
  // Rounding apart (the fused op applies I − ηM, the reference M and then the step), the same 50 steps.
  EXPECT_TRUE(all_close(fused.output, reference.output, Tolerance{1e-5, 1e-3}, f.name + " output"));
  const std::vector<double> v = fused.output.to_vector();
  int64_t nonzero = 0;
  for (double e : v) nonzero += e != 0;
  EXPECT_GT(nonzero, 0) << "all codes are zero: the comparison shows nothing";
}

TEST_P(FusedPursuit, ImplicitGradientsEqualTheReference) {
  const FusedCase& f = GetParam();
  if (f.yaml.find("iters: 0") != std::string::npos) GTEST_SKIP() << "backward: implicit needs iters > 0";
  const std::string implicit = f.yaml.substr(0, f.yaml.size() - 1) + ", backward: implicit}";
  const LayerCase c{f.name, implicit, {f.input}, 2};
  const Outcome fused = run(c, true, Mode::train), reference = run(c, false, Mode::train);
  EXPECT_TRUE(all_close(fused.output, reference.output, Tolerance{1e-5, 1e-3}, f.name + " output"));
  EXPECT_TRUE(all_close(fused.dx, reference.dx, Tolerance{1e-4, 2e-3}, f.name + " input gradient"));
  EXPECT_TRUE(all_close(fused.grads, reference.grads, Tolerance{1e-4, 2e-3}, f.name + " parameter gradients"));
}

INSTANTIATE_TEST_SUITE_P(
    Layers, FusedPursuit,
    ::testing::Values(
        FusedCase{"c1_k50", "{type: sparse_code, pursuit: patch, out: 1, iters: 50}", {3, 7, 9}},
        FusedCase{"c7_k50_stride2_ista_two_sided",
                  "{type: sparse_code, pursuit: patch, out: 7, stride: 2, iters: 50, algorithm: ista, mode: two_sided}",
                  {4, 9, 11}},
        FusedCase{"c16_k0", "{type: sparse_code, pursuit: patch, out: 16, iters: 0}", {3, 11, 13}},
        FusedCase{"c16_k1", "{type: sparse_code, pursuit: patch, out: 16, iters: 1}", {3, 11, 13}},
        FusedCase{"c16_k2_shared",
                  "{type: sparse_code, pursuit: patch, out: 16, iters: 2, threshold: {shared: true}}",
                  {5, 9, 7}},
        FusedCase{"c16_k49_scn",
                  "{type: sparse_code, pursuit: patch, out: 16, iters: 49, threshold: {shared: true}}",
                  {16, 13, 11}},
        FusedCase{"c37_k50_stride2_two_sided",
                  "{type: sparse_code, pursuit: patch, out: 37, stride: 2, iters: 50, mode: two_sided}",
                  {6, 11, 9}},
        FusedCase{"c64_k50_absolute",
                  "{type: sparse_code, pursuit: patch, out: 64, iters: 50, threshold: {form: absolute}}",
                  {7, 5, 7}},
        // A learned η (0.2–0.4 from the harness) needs λ_max(AᵀA) < 2/η: one input channel keeps the atoms short.
        FusedCase{
            "c5_k50_absolute_learned_step",
            "{type: sparse_code, pursuit: patch, out: 5, iters: 50, step: {init: 0.3}, threshold: {form: absolute}}",
            {1, 7, 9}},
        FusedCase{"c130_k50_stride2", "{type: sparse_code, pursuit: patch, out: 130, stride: 2, iters: 50}", {9, 7, 5}},
        // Atoms longer than their count (32·3·3 = 288 > 256), so that AᵀA on a large support is not singular:
        // there the implicit backward's solve (ridge 1e-6) would amplify rounding without bound.
        FusedCase{"c256_k50", "{type: sparse_code, pursuit: patch, out: 256, iters: 50}", {32, 5, 3}}),
    [](const ::testing::TestParamInfo<FusedCase>& i) { return i.param.name; });

}  // namespace
}  // namespace scn::test
