// A sparse-coding layer's FLOP count (what `scn info` and `scn profile` report) against a direct count of the
// work its ops did: every dense op (convolutions, matrix products, the fused pursuit, the power iteration, the
// Gram matrix's backward) reports its multiply-adds ×2 to core/op_stats.h as it runs, and one training step of
// the layer on a small batch must add up to batch·(flops + backward_flops) + step_flops exactly. Before the
// fused pursuit, the patch form with backward: implicit counted a backward twice its forward (K Gram products
// it never ran), which put its profile at 94–215 % of the machine's GEMM rate. Not counted, on both sides: the
// data-dependent solves of the implicit backward (per-pixel Cholesky factorisations; conjugate gradients of the
// convolution form, which is why that form is not in this list) and element-wise work.
#include <gtest/gtest.h>

#include "core/op_stats.h"
#include "kernels/op_case.h"
#include "layer_harness.h"

namespace scn::test {
namespace {

struct FlopCase {
  std::string name, yaml;
  Shape input;
};
void PrintTo(const FlopCase& c, std::ostream* os) { *os << c.name; }


class FlopCounts : public ::testing::TestWithParam<FlopCase> {};

TEST_P(FlopCounts, ATrainingStepDoesTheWorkTheLayerCounts) {
  const FlopCase& f = GetParam();
  const int64_t batch = 3;
  for (bool fused : {true, false}) {
    SCOPED_TRACE(fused ? "fused pursuit" : "reference pursuit");
    Context& ctx = Context::get(Device::cpu());
    ctx.fused_pursuit = fused;
    auto b = build_layer(LayerCase{f.name, f.yaml, {f.input}, batch}, DType::f32, Device::cpu(), 5);
    const Shape& o = b->output_shape;
    const Tensor x = random_uniform({batch, f.input[0], f.input[1], f.input[2]}, DType::f32, 5, 1);
    Tensor y = Tensor::empty({batch, o[0], o[1], o[2]}), dx = Tensor::empty(x.shape());
    auto state = b->layer->make_state();
    b->arena.zero_grads();
    const OpCounts before = OpCounts::now();
    b->layer->forward(ctx, {x}, y, Mode::train, *state);
    b->layer->backward(ctx, {x}, y, random_uniform(y.shape(), DType::f32, 5, 2), {dx}, *state);
    const double done = (OpCounts::now() - before).flops;
    ctx.fused_pursuit = true;
    const double counted = static_cast<double>(batch) * static_cast<double>(b->layer->flops() + b->layer->backward_flops()) +
                           static_cast<double>(b->layer->step_flops());
    EXPECT_DOUBLE_EQ(counted, done) << f.yaml;
    EXPECT_GT(done, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    SparseCode, FlopCounts,
    ::testing::Values(
        FlopCase{"patch_implicit_scn", "{type: sparse_code, pursuit: patch, out: 6, iters: 7, backward: implicit}", {4, 7, 5}},
        FlopCase{"patch_implicit_absolute_learned_step",
                 "{type: sparse_code, pursuit: patch, out: 5, iters: 4, backward: implicit, step: {init: 0.3}, "
                 "threshold: {form: absolute}}",
                 {2, 5, 7}},
        FlopCase{"patch_implicit_absolute_step_auto",
                 "{type: sparse_code, pursuit: patch, out: 5, stride: 2, iters: 4, backward: implicit, threshold: {form: absolute}}",
                 {2, 9, 7}},
        FlopCase{"patch_unrolled", "{type: sparse_code, pursuit: patch, out: 6, iters: 3}", {3, 5, 5}},
        FlopCase{"patch_unrolled_recompute", "{type: sparse_code, pursuit: patch, out: 6, iters: 3, recompute: true}",
                 {3, 5, 5}},
        FlopCase{"patch_unrolled_learned_step_ista",
                 "{type: sparse_code, pursuit: patch, out: 4, iters: 2, algorithm: ista, step: {init: 0.3}}", {1, 6, 5}},
        FlopCase{"convolution_step_auto", "{type: sparse_code, out: 5, iters: 2, step: auto}", {3, 7, 6}},
        FlopCase{"convolution_learned_step_stride2", "{type: sparse_code, out: 5, stride: 2, iters: 3}", {3, 9, 8}},
        FlopCase{"convolution_lasso_step_auto",
                 "{type: sparse_code, out: 4, iters: 2, step: auto, threshold: {form: lasso}}", {2, 6, 6}},
        FlopCase{"convolution_recompute", "{type: sparse_code, out: 4, iters: 2, recompute: true}", {2, 6, 5}},
        FlopCase{"convolution_k0", "{type: sparse_code, out: 4, iters: 0}", {3, 6, 5}},
        FlopCase{"convolution_untied", "{type: sparse_code, out: 4, iters: 2, tied: false}", {3, 6, 5}}),
    [](const ::testing::TestParamInfo<FlopCase>& i) { return i.param.name; });

}  // namespace
}  // namespace scn::test
