#include "core/philox.h"
#include "kernels/op_case.h"
#include "layer_harness.h"
#include "layers/registry.h"

namespace scn::test {

const std::vector<LayerCase>& all_layer_cases() {
  static const std::vector<LayerCase> cases = {
      {"sparse_code_k0", "{type: sparse_code, out: 5, iters: 0, step: {init: 0.7}}", {Shape{3, 7, 9}}, 2},
      {"sparse_code_ista_k2", "{type: sparse_code, out: 5, iters: 2, algorithm: ista, step: {init: 0.3}}",
       {Shape{3, 7, 9}}, 2},
      {"sparse_code_fista_k3_stride2", "{type: sparse_code, out: 4, stride: 2, iters: 3, step: {init: 0.3}}",
       {Shape{3, 7, 9}}, 1},
      {"sparse_code_fista_two_sided_shared",
       "{type: sparse_code, out: 5, kernel: 1, iters: 3, mode: two_sided, step: {init: 0.3}, "
       "threshold: {init: 0.1, shared: true}}",
       {Shape{3, 5, 7}}, 2},
      {"sparse_code_step_auto", "{type: sparse_code, out: 4, iters: 2, step: auto}", {Shape{3, 6, 5}}, 2},
      // SCN's per-patch pursuit: unrolled with a learned step (θ = ηλ chains into η), under step: auto, and with
      // the implicit backward of the converged lasso (ridge ~0 so that it is the exact gradient).
      {"sparse_code_patch_k3", "{type: sparse_code, pursuit: patch, out: 4, iters: 3, step: {init: 0.3}}",
       {Shape{3, 6, 5}}, 2},
      {"sparse_code_patch_step_auto", "{type: sparse_code, pursuit: patch, out: 5, iters: 2, stride: 2}",
       {Shape{2, 7, 5}}, 1},
      {"sparse_code_patch_implicit",
       "{type: sparse_code, pursuit: patch, out: 3, iters: 300, backward: implicit, implicit: {ridge: 1.0e-12}}",
       {Shape{3, 5, 4}}, 1},
      {"sparse_code_conv_implicit",
       "{type: sparse_code, out: 3, stride: 2, iters: 400, step: auto, mode: two_sided, backward: implicit, "
       "implicit: {ridge: 0, tolerance: 1.0e-13, iters: 200}}",
       {Shape{3, 5, 5}}, 1},
      {"sparse_code_recompute", "{type: sparse_code, out: 4, iters: 3, recompute: true, step: {init: 0.3}}",
       {Shape{3, 5, 7}}, 2},
      {"conv", "{type: conv, out: 5, kernel: 3, stride: 2}", {Shape{3, 7, 9}}, 2},
      {"conv_no_bias", "{type: conv, out: 4, kernel: 1, bias: false}", {Shape{5, 5, 7}}, 1},
      // The coherence regularizer λ‖W_f W_fᵀ − I‖²: its gradient joins the loss's (harness: loss + R).
      {"conv_coherence_regularizer", "{type: conv, out: 6, kernel: 3, regularizer: {coherence: 0.3}}", {Shape{2, 5, 6}}, 1},
      {"sparse_code_coherence_regularizer",
       "{type: sparse_code, out: 5, iters: 1, regularizer: {coherence: 0.2}}", {Shape{3, 5, 4}}, 2},
      // tied: false — LISTA, one (W, θ, η) per step.
      {"sparse_code_untied_fista", "{type: sparse_code, out: 4, iters: 3, tied: false, step: {init: 0.3}}",
       {Shape{3, 6, 7}}, 2},
      {"sparse_code_untied_ista_stride2_two_sided",
       "{type: sparse_code, out: 5, iters: 2, stride: 2, algorithm: ista, mode: two_sided, tied: false, step: {init: 0.3}}",
       {Shape{2, 7, 6}}, 2},
      // The joint multi-layer pursuits (ml_pursuit): every algorithm, untied sweeps, two-sided thresholds.
      {"ml_pursuit_t0", "{type: ml_pursuit, layers: [{out: 4, kernel: 4, stride: 2, pad: 1}, {out: 5}]}",
       {Shape{3, 9, 7}}, 2},
      {"ml_pursuit_ml_ista", "{type: ml_pursuit, algorithm: ml_ista, iters: 2, layers: [{out: 4, kernel: 4, stride: 2, pad: 1}, {out: 3}, {out: 5, stride: 2}]}",
       {Shape{3, 9, 7}}, 2},
      {"ml_pursuit_ml_fista", "{type: ml_pursuit, algorithm: ml_fista, iters: 3, layers: [{out: 4}, {out: 5, kernel: 3, stride: 2}]}",
       {Shape{2, 7, 8}}, 2},
      {"ml_pursuit_ml_lista", "{type: ml_pursuit, algorithm: ml_lista, iters: 2, layers: [{out: 4}, {out: 5, stride: 2}]}",
       {Shape{2, 7, 8}}, 2},
      {"ml_pursuit_lbp", "{type: ml_pursuit, algorithm: lbp, iters: 2, layers: [{out: 4}, {out: 5, stride: 2}]}",
       {Shape{2, 7, 8}}, 2},
      {"ml_pursuit_all_free", "{type: ml_pursuit, algorithm: ml_ista, iters: 2, tied: false, back_project: false, layers: [{out: 4}, {out: 5, stride: 2}]}",
       {Shape{2, 7, 8}}, 2},
      {"ml_pursuit_untied_fista_two_sided", "{type: ml_pursuit, algorithm: ml_fista, iters: 3, tied: false, mode: two_sided, step: {learn: true}, layers: [{out: 4}, {out: 3, kernel: 3, stride: 2}]}",
       {Shape{2, 7, 8}}, 2},
      {"ml_pursuit_untied_lbp", "{type: ml_pursuit, algorithm: lbp, iters: 2, tied: false, step: {learn: true}, layers: [{out: 3}, {out: 4}]}",
       {Shape{2, 6, 5}}, 1},
      {"relu", "{type: relu}", {Shape{3, 5, 7}}, 2},
      {"dropout", "{type: dropout, p: 0.3}", {Shape{3, 5, 7}}, 2},
      {"batch_norm", "{type: batch_norm}", {Shape{5, 7, 9}}, 3},
      {"batch_norm_no_affine", "{type: batch_norm, affine: false}", {Shape{3, 5, 7}}, 2},
      {"batch_norm_features", "{type: batch_norm}", {Shape{17}}, 4},
      {"pool_max", "{type: pool, mode: max, kernel: 3, stride: 2, pad: 1}", {Shape{3, 7, 9}}, 2},
      {"pool_avg", "{type: pool, mode: avg, kernel: 2}", {Shape{3, 7, 9}}, 1},
      {"global_avg_pool", "{type: global_avg_pool}", {Shape{5, 7, 9}}, 2},
      {"linear", "{type: linear, out: 7}", {Shape{3, 5, 7}}, 2},
      {"add", "{type: add, inputs: [a, b]}", {Shape{3, 5, 7}, Shape{3, 5, 7}}, 2},
  };
  return cases;
}

namespace {
// Random parameter values in ranges where every layer is well behaved.
void randomize_params(ParamArena& arena, DType dtype, uint64_t seed) {
  for (int i = 0; i < arena.count(); ++i) {
    const ParamSpec& s = arena.spec(i);
    const std::string param = s.name.substr(s.name.rfind('.') + 1);
    double lo = -0.5, hi = 0.5;
    if (param == "threshold") lo = 0.02, hi = 0.2;
    if (param == "step") lo = 0.2, hi = 0.4;
    if (param == "running_var") lo = 0.5, hi = 1.5;
    if (s.kind == "norm" && param == "weight") lo = 0.5, hi = 1.5;
    arena.value(i).copy_from(random_uniform(s.shape, dtype, seed, 500 + i, lo, hi));
  }
}
}  // namespace

std::unique_ptr<BuiltLayer> build_layer(const LayerCase& c, DType dtype, Device device, uint64_t seed) {
  auto built = std::make_unique<BuiltLayer>(c, dtype);
  if (built->arena.count() == 0) {
    built->layer->init_params(Context::get(Device::cpu()), seed);  // seeds of parameter-free layers (dropout)
  } else {
    randomize_params(built->arena, dtype, seed);
  }
  built->arena.to(device);
  return built;
}

}  // namespace scn::test
