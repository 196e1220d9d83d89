// The joint multi-layer pursuits against the theory: T = 0 is the CNN bit for bit; ML-ISTA run long reaches a
// fixed point of the multi-layer problem (each layer's proximal-gradient optimality conditions hold);
// ML-FISTA's objective falls faster than ML-ISTA's; untied sweeps with equal dictionaries are the tied pursuit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/conv2d.h"
#include "kernels/op_case.h"
#include "layer_harness.h"
#include "layers/ml_pursuit.h"
#include "models/net.h"

namespace scn::test {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

void set(ParamArena& a, const std::string& name, const std::vector<double>& v) {
  Tensor t = a.value(a.find(name));
  t.copy_from(Tensor::from_vector(v, t.shape(), t.dtype()));
}
std::vector<double> get(ParamArena& a, const std::string& name) { return a.value(a.find(name)).to_vector(); }

TEST(MlPursuit, ZeroSweepsIsTheCnnBitForBit) {
  // The same weights in both nets: the pursuit's ReLU(η·Wᵀx − θ) with η = 1 against conv (bias −θ) + relu.
  const char* pursuit = R"(model:
  input: [3, 13, 11]
  classes: 4
  layers:
    - {type: ml_pursuit, algorithm: ml_ista, iters: 0, name: p, layers: [{out: 5, kernel: 4, stride: 2, pad: 1}, {out: 6, kernel: 3, stride: 1, pad: 1}, {out: 7, kernel: 3, stride: 2, pad: 0}]}
    - {type: linear, out: 4, name: fc}
)";
  const char* cnn = R"(model:
  input: [3, 13, 11]
  classes: 4
  layers:
    - {type: conv, out: 5, kernel: 4, stride: 2, pad: 1, name: c1}
    - {type: relu}
    - {type: conv, out: 6, kernel: 3, stride: 1, pad: 1, name: c2}
    - {type: relu}
    - {type: conv, out: 7, kernel: 3, stride: 2, pad: 0, name: c3}
    - {type: relu}
    - {type: linear, out: 4, name: fc}
)";
  auto a = Net::build(ConfigNode::load_string(pursuit, "pursuit.yaml")["model"]);
  auto b = Net::build(ConfigNode::load_string(cnn, "cnn.yaml")["model"]);
  a->initialize(Device::cpu(), 3);
  b->initialize(Device::cpu(), 4);
  ParamArena& pa = a->params();
  ParamArena& pb = b->params();
  for (int i = 1; i <= 3; ++i) {
    const std::string layer = "p.layer" + std::to_string(i), conv = "c" + std::to_string(i);
    set(pb, conv + ".weight", get(pa, layer + ".weight"));
    // Thresholds of both signs (a threshold is the negated bias); the step stays 1.
    std::vector<double> theta = random_uniform(pa.value(pa.find(layer + ".threshold")).shape(), DType::f64, 7, i, -0.2, 0.2).to_vector();
    set(pa, layer + ".threshold", theta);
    for (double& t : theta) t = -t;
    set(pb, conv + ".bias", theta);
    EXPECT_EQ(get(pa, layer + ".step"), std::vector<double>{1.0});
  }
  set(pb, "fc.weight", get(pa, "fc.weight"));
  set(pb, "fc.bias", get(pa, "fc.bias"));
  const Tensor x = random_uniform({5, 3, 13, 11}, DType::f32, 11, 1);
  const std::vector<double> ya = a->forward(cpu(), x, Mode::eval).to_vector();
  const std::vector<double> yb = b->forward(cpu(), x, Mode::eval).to_vector();
  ASSERT_EQ(ya.size(), yb.size());
  int active = 0;
  for (size_t i = 0; i < ya.size(); ++i) {
    EXPECT_EQ(ya[i], yb[i]) << "logit " << i;
    active += ya[i] != 0;
  }
  EXPECT_GT(active, 0);
}

// ‖D‖² = λ_max(DᵀD) of a convolutional dictionary by power iteration on codes of `code` shape.
double squared_norm(const Tensor& w, ConvParams p, const Shape& image, const Shape& code) {
  Tensor v = random_uniform(code, DType::f64, 99, 1), u = Tensor::empty(image, DType::f64);
  double lipschitz = 0;
  for (int i = 0; i < 300; ++i) {
    conv2d_backward_data(Context::get(Device::cpu()), u, v, w, p);
    conv2d_forward(Context::get(Device::cpu()), v, u, w, p);
    std::vector<double> vv = v.to_vector();
    double n = 0;
    for (double e : vv) n += e * e;
    lipschitz = std::sqrt(n);
    for (double& e : vv) e /= lipschitz;
    v.copy_from(Tensor::from_vector(vv, code, DType::f64));
  }
  return lipschitz;
}

// A small two-layer problem in f64: x (1, 2, 9, 8), D₁ 4 atoms 3×3, D₂ 5 atoms 3×3 stride 2, every
// dictionary scaled to ‖D‖² = 0.9, common step η = 1 and thresholds θᵢ = η·λᵢ.
struct TwoLayerProblem {
  std::unique_ptr<BuiltLayer> built;
  MlPursuitLayer* layer = nullptr;
  Tensor x;
  std::vector<double> lambda{0.02, 0.01};
};

TwoLayerProblem make_problem(const std::string& algorithm, int iters, uint64_t seed = 5) {
  TwoLayerProblem p;
  const std::string yaml = "{type: ml_pursuit, algorithm: " + algorithm + ", iters: " + std::to_string(iters) +
                           ", layers: [{out: 4, kernel: 3}, {out: 5, kernel: 3, stride: 2}]}";
  p.built = build_layer(LayerCase{"ml", yaml, {Shape{2, 9, 8}}, 1}, DType::f64, Device::cpu(), seed);
  p.layer = dynamic_cast<MlPursuitLayer*>(p.built->layer);
  p.x = random_uniform({1, 2, 9, 8}, DType::f64, seed, 1);
  ParamArena& a = p.built->arena;
  for (int i = 1; i <= 2; ++i) {
    const std::string name = "node.layer" + std::to_string(i);
    std::vector<double> w = get(a, name + ".weight");
    const Shape image = i == 1 ? Shape{1, 2, 9, 8} : Shape{1, 4, 9, 8};
    const Shape code = i == 1 ? Shape{1, 4, 9, 8} : Shape{1, 5, 5, 4};
    const double lipschitz = squared_norm(a.value(a.find(name + ".weight")), i == 1 ? ConvParams{1, 1} : ConvParams{2, 1}, image, code);
    for (double& v : w) v *= std::sqrt(0.9 / lipschitz);
    set(a, name + ".weight", w);
    set(a, name + ".step", {1.0});
    set(a, name + ".threshold", std::vector<double>(a.value(a.find(name + ".threshold")).numel(), p.lambda[i - 1]));
  }
  return p;
}

// The codes of every layer after the layer's forward.
std::vector<Tensor> run(TwoLayerProblem& p, LayerState& state) {
  const Shape& o = p.built->output_shape;
  Tensor out = Tensor::empty(Shape{1, o[0], o[1], o[2]}, DType::f64);
  p.layer->forward(cpu(), {p.x}, out, Mode::eval, state);
  return p.layer->codes(state);
}

Tensor weight(TwoLayerProblem& p, int i) { return p.built->arena.value(p.built->arena.find("node.layer" + std::to_string(i) + ".weight")); }
ConvParams geometry(int i) { return i == 1 ? ConvParams{1, 1} : ConvParams{2, 1}; }

Tensor synthesise(TwoLayerProblem& p, int i, const Tensor& code, const Shape& image) {
  Tensor out = Tensor::empty(image, DType::f64);
  conv2d_backward_data(cpu(), out, code, weight(p, i), geometry(i));
  return out;
}
Tensor correlate(TwoLayerProblem& p, int i, const Tensor& image, const Shape& code) {
  Tensor out = Tensor::empty(code, DType::f64);
  conv2d_forward(cpu(), out, image, weight(p, i), geometry(i));
  return out;
}

// The largest violation of the optimality conditions of γ = argmin_u ½‖u − (z + η Dᵀ(y − D z))‖² + θ‖u‖₁,
// u ≥ 0, relative to the largest |pre|: on the support γ = pre − θ, off it pre ≤ θ.
double prox_violation(TwoLayerProblem& p, int i, const Tensor& gamma, const Tensor& z, const Tensor& y) {
  const Tensor dz = synthesise(p, i, z, y.shape());
  std::vector<double> r = y.to_vector();
  const std::vector<double> dzv = dz.to_vector();
  for (size_t k = 0; k < r.size(); ++k) r[k] -= dzv[k];
  const Tensor grad = correlate(p, i, Tensor::from_vector(r, y.shape(), DType::f64), gamma.shape());
  const std::vector<double> g = gamma.to_vector(), zv = z.to_vector(), gr = grad.to_vector();
  const double theta = p.lambda[static_cast<size_t>(i - 1)];
  double worst = 0, scale = 0;
  for (size_t k = 0; k < g.size(); ++k) {
    const double pre = zv[k] + gr[k];
    scale = std::max(scale, std::abs(pre));
    worst = std::max(worst, g[k] > 0 ? std::abs(g[k] - (pre - theta)) : std::max(0.0, pre - theta));
  }
  return worst / scale;
}

TEST(MlPursuit, MlIstaReachesAFixedPointOfTheMultiLayerProblem) {
  const int T = 3000;
  TwoLayerProblem p = make_problem("ml_ista", T);
  auto state = p.layer->make_state();
  const std::vector<Tensor> codes = run(p, *state);
  // Converged: one more sweep moves nothing.
  TwoLayerProblem q = make_problem("ml_ista", T - 1);
  auto previous_state = q.layer->make_state();
  const std::vector<double> last = codes[1].to_vector(), before = run(q, *previous_state)[1].to_vector();
  double change = 0, norm = 0;
  for (size_t k = 0; k < last.size(); ++k) {
    change = std::max(change, std::abs(last[k] - before[k]));
    norm = std::max(norm, std::abs(last[k]));
  }
  ASSERT_GT(norm, 0) << "the deepest code is all zeros: the test would check nothing";
  EXPECT_LT(change / norm, 1e-9);
  int support = 0;
  for (double v : last) support += v > 0;
  EXPECT_GT(support, 0);
  EXPECT_LT(support, static_cast<int>(last.size())) << "no threshold is active";
  // The deepest layer solves the non-negative lasso of γ₁ (KKT: z = γ₂), and γ₁ is the proximal-gradient
  // step from the back-projection z₁ = D₂γ₂ on ½‖x − D₁z‖².
  EXPECT_LT(prox_violation(p, 2, codes[1], codes[1], codes[0]), 1e-9);
  const Tensor z1 = synthesise(p, 2, codes[1], codes[0].shape());
  EXPECT_LT(prox_violation(p, 1, codes[0], z1, p.x), 1e-9);
  // A violated condition is detected (the check can fail): perturb the deepest code.
  std::vector<double> moved = last;
  for (double& v : moved) v *= 1.01;
  EXPECT_GT(prox_violation(p, 2, Tensor::from_vector(moved, codes[1].shape(), DType::f64), codes[1], codes[0]), 1e-5);
}

// The multi-layer basis-pursuit objective ML-ISTA and ML-FISTA minimise (Sulam et al.):
// F(γ₂) = ½‖x − D₁D₂γ₂‖² + λ₁‖D₂γ₂‖₁ + λ₂‖γ₂‖₁.
double ml_objective(TwoLayerProblem& p, const Tensor& deepest) {
  const Tensor g1 = synthesise(p, 2, deepest, Shape{1, 4, 9, 8});
  const Tensor image = synthesise(p, 1, g1, p.x.shape());
  const std::vector<double> x = p.x.to_vector(), r = image.to_vector(), a = g1.to_vector(), b = deepest.to_vector();
  double f = 0;
  for (size_t k = 0; k < x.size(); ++k) f += 0.5 * (x[k] - r[k]) * (x[k] - r[k]);
  for (double v : a) f += p.lambda[0] * std::abs(v);
  for (double v : b) f += p.lambda[1] * std::abs(v);
  return f;
}

TEST(MlPursuit, MlFistaObjectiveFallsFasterThanMlIsta) {
  TwoLayerProblem long_run = make_problem("ml_fista", 4000);
  auto state = long_run.layer->make_state();
  const double reference = ml_objective(long_run, run(long_run, *state)[1]);
  int fista_ahead = 0;
  const std::vector<int> sweeps{10, 20, 40, 80};
  for (int t : sweeps) {
    TwoLayerProblem ista = make_problem("ml_ista", t), fista = make_problem("ml_fista", t);
    auto si = ista.layer->make_state(), sf = fista.layer->make_state();
    const double gap_ista = ml_objective(ista, run(ista, *si)[1]) - reference;
    const double gap_fista = ml_objective(fista, run(fista, *sf)[1]) - reference;
    SCOPED_TRACE("sweeps " + std::to_string(t));
    EXPECT_GT(gap_ista, 0);
    fista_ahead += gap_fista < 0.5 * gap_ista;
  }
  EXPECT_EQ(fista_ahead, static_cast<int>(sweeps.size())) << "ML-FISTA's gap is not below half ML-ISTA's";
}

TEST(MlPursuit, UntiedSweepsWithEqualDictionariesAreTheTiedPursuit) {
  for (const std::string algorithm : {"ml_ista", "ml_fista", "ml_lista", "lbp"}) {
    SCOPED_TRACE(algorithm);
    const std::string layers = ", layers: [{out: 4, kernel: 3}, {out: 5, kernel: 3, stride: 2}]}";
    const std::string common = "{type: ml_pursuit, algorithm: " + algorithm + ", iters: 3, step: {learn: true}";
    auto tied = build_layer(LayerCase{"t", common + layers, {Shape{2, 9, 8}}, 2}, DType::f64, Device::cpu(), 9);
    auto untied = build_layer(LayerCase{"u", common + ", tied: false" + layers, {Shape{2, 9, 8}}, 2}, DType::f64,
                              Device::cpu(), 9);
    for (const ParamSpec& s : tied->arena.specs()) {
      const std::string rest = s.name.substr(std::string("node.layer1").size());  // ".weight", ...
      const std::string layer = s.name.substr(0, std::string("node.layer1").size());
      for (int u = 0; u <= 3; ++u) set(untied->arena, layer + ".sweep" + std::to_string(u) + rest, get(tied->arena, s.name));
    }
    const Tensor x = random_uniform({2, 2, 9, 8}, DType::f64, 4, 1, -3.0, 3.0);
    const Shape& o = tied->output_shape;
    Tensor a = Tensor::empty(Shape{2, o[0], o[1], o[2]}, DType::f64), b = Tensor::empty(a.shape(), DType::f64);
    auto sa = tied->layer->make_state(), sb = untied->layer->make_state();
    tied->layer->forward(cpu(), {x}, a, Mode::eval, *sa);
    untied->layer->forward(cpu(), {x}, b, Mode::eval, *sb);
    const std::vector<double> va = a.to_vector(), vb = b.to_vector();
    double diff = 0, norm = 0;
    for (size_t k = 0; k < va.size(); ++k) {
      diff = std::max(diff, std::abs(va[k] - vb[k]));
      norm = std::max(norm, std::abs(va[k]));
    }
    EXPECT_GT(norm, 0);
    EXPECT_LT(diff, 1e-12 * norm + 1e-300);
  }
}

TEST(SparseCodeUntied, EqualDictionariesAtEveryStepAreTheTiedPursuit) {
  for (const std::string algorithm : {"ista", "fista"}) {
    SCOPED_TRACE(algorithm);
    const std::string common = "{type: sparse_code, out: 4, iters: 4, stride: 2, algorithm: " + algorithm;
    auto tied = build_layer(LayerCase{"t", common + "}", {Shape{3, 9, 8}}, 2}, DType::f64, Device::cpu(), 2);
    auto untied = build_layer(LayerCase{"u", common + ", tied: false}", {Shape{3, 9, 8}}, 2}, DType::f64, Device::cpu(), 2);
    for (const char* p : {"weight", "threshold", "step"})
      for (int t = 0; t <= 4; ++t)
        set(untied->arena, "node.sweep" + std::to_string(t) + "." + p, get(tied->arena, std::string("node.") + p));
    const Tensor x = random_uniform({2, 3, 9, 8}, DType::f64, 4, 1, -3.0, 3.0);
    const Shape& o = tied->output_shape;
    Tensor a = Tensor::empty(Shape{2, o[0], o[1], o[2]}, DType::f64), b = Tensor::empty(a.shape(), DType::f64);
    auto sa = tied->layer->make_state(), sb = untied->layer->make_state();
    tied->layer->forward(cpu(), {x}, a, Mode::eval, *sa);
    untied->layer->forward(cpu(), {x}, b, Mode::eval, *sb);
    EXPECT_EQ(a.to_vector(), b.to_vector());
    double norm = 0;
    for (double v : a.to_vector()) norm = std::max(norm, std::abs(v));
    EXPECT_GT(norm, 0);
  }
}

TEST(MlPursuitConfig, RejectsWhatDoesNotApply) {
  auto parse_error = [](const std::string& yaml) {
    try {
      MlPursuitConfig::parse(ConfigNode::load_string(yaml, "x.yaml"));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(parse_error("{type: ml_pursuit, algorithm: lbp, back_project: true, layers: [{out: 3}]}").find("back_project"),
            std::string::npos);
  EXPECT_NE(parse_error("{type: ml_pursuit, layers: []}").find("layers"), std::string::npos);
  EXPECT_NE(parse_error("{type: ml_pursuit, layers: [{out: 3, kernal: 3}]}").find("kernal"), std::string::npos);
  EXPECT_NE(parse_error("{type: ml_pursuit, backward: implicit, layers: [{out: 3}]}").find("backward"), std::string::npos);
  EXPECT_EQ(parse_error("{type: ml_pursuit, algorithm: ml_fista, iters: 2, layers: [{out: 3}]}"), "");
}

}  // namespace
}  // namespace scn::test
