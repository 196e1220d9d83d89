#pragma once
// type: sparse_code — a sparse-coding pursuit of docs/design.md as one layer:
//   b = Dᵀx, γ₀ = S_θ(η·b), then K ISTA or FISTA steps γₜ = S_θ(zₜ + η(b − DᵀD zₜ)), output γ_K,
// with Dᵀ = conv2d(·, W) and one dictionary W, one θ (per channel or shared) and one η per layer.
//   pursuit: convolution  DᵀD z = conv2d(conv_transpose2d(z, W), W): the convolutional sparse model
//   pursuit: patch        DᵀD = AᵀA per pixel: SCN's independent non-negative lasso of every k×k patch
//   backward: unrolled    exact reverse mode through the K steps
//   backward: implicit    differentiate the fixed point on its support (implicit_backward.h)
//   threshold.form        absolute: θ is the parameter; lasso: the parameter is the lasso weight λ, θ = ηλ
//   tied: false           LISTA: every step t its own Dₜ, θₜ, ηₜ, γₜ = S_θₜ(zₜ + ηₜ(Dₜᵀx − DₜᵀDₜ₋₁zₜ))
// The layer is glue — parameters, config, step rule — over the pursuit module (pursuit.h,
// unrolled_pursuit.h, implicit_backward.h), which holds the maths.
#include <vector>

#include "layers/coherence_regularizer.h"
#include "layers/implicit_backward.h"
#include "layers/layer.h"
#include "layers/unrolled_pursuit.h"
#include "layers/weight_init.h"
namespace scn {

enum class PursuitBackward { unrolled, implicit };

// The patch pursuit's default K: SCN's FISTA (fista_nonnegative_l1_gpu.m, maxIter = 50) takes 50 proximal
// steps from zero, the first of which is scn's first code γ₀ = S(η·b); `iters` counts the steps after it.
inline constexpr int kScnIters = 49;

// Power iterations per forward of the patch pursuit under step: auto, warm-started (a C-vector: cheap).
inline constexpr int kPatchPowerIterations = 20;
enum class ThresholdForm { absolute, lasso };

struct SparseCodeConfig {
  GramForm pursuit = GramForm::convolution;
  PursuitBackward backward = PursuitBackward::unrolled;
  ThresholdForm threshold_form = ThresholdForm::absolute;  // patch pursuit: lasso
  ImplicitSolve implicit;
  int64_t out = 0;
  int kernel = 3;
  int stride = 1;
  int pad = 1;                     // default kernel / 2
  int iters = 0;                   // K (patch pursuit: 50)
  PursuitAlgorithm algorithm = PursuitAlgorithm::fista;
  ThresholdMode mode = ThresholdMode::nonneg;
  bool step_auto = false;          // step: auto → η = 1/‖D‖² by power iteration (patch pursuit: the default)
  double step_init = 1.0;
  bool step_learn = true;
  double threshold_init = 0.0;
  bool threshold_learn = true;
  bool threshold_shared = false;   // one θ for the layer (SCN) instead of one per channel
  WeightInit init;
  bool recompute = false;          // keep only the input; recompute the iterations in backward
  bool tied = true;                // false: every step t has its own Dₜ, θₜ, ηₜ (LISTA; unrolled_pursuit.h)
  CoherenceRegularizer regularizer;

  static SparseCodeConfig parse(const ConfigNode& node);
  void to_yaml(YAML::Node& node) const;
};

// What forward keeps for backward. With recompute, only scratch lives here between calls.
struct SparseCodeState : LayerState {
  PursuitTape tape;
  Tensor gram_matrix;                   // patch pursuit: AᵀA of this call's weights (Co, Co, 1, 1)
  Tensor threshold_applied;             // threshold.form lasso: θ = η·λ of this call
  // Backward scratch: gradients of the applied θ and of AᵀA, (1, 1) products.
  Tensor dthreshold, dgram_matrix, product;
  ImplicitScratch implicit;
  // Power iteration: the vector is a view of the arena's `power_vector` under step: auto (warm-started from
  // the previous call, saved in checkpoints), else owned here.
  PowerIteration power;
  // Patch pursuit in evaluation: η recomputed for the weights at hand (from a copy of the run's power vector,
  // so that evaluation changes no state of the run).
  PowerIteration eval_power;
  Tensor eval_step;
  Tensor deta_auto, step_auto_scratch;  // step: auto — ∂L/∂η, passed on to W through η = 1/‖D‖²
  Tensor recomputed_output;             // recompute: true — γ_K recomputed in backward (the net's output stays)
};

class SparseCodeLayer : public Layer {
 public:
  explicit SparseCodeLayer(SparseCodeConfig config);
  std::string type() const override { return "sparse_code"; }
  Shape output_shape(const Shapes& inputs) override;
  void register_params(ParamArena& arena, const std::string& node) override;
  void init_params(Context& ctx, uint64_t seed) override;
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<SparseCodeState>(); }
  int64_t saved_elements(const Shapes& inputs, const Shape& output) const override;
  void forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode mode, LayerState& state) override;
  void backward(Context& ctx, const Tensors& inputs, const Tensor& output, const Tensor& grad_output,
                const Tensors& grad_inputs, LayerState& state) override;
  int64_t flops() const override;
  int64_t backward_flops() const override;
  int64_t step_flops() const override;
  std::string graph_capture_refusal() const override;
  int64_t forward_bytes(const Shapes& inputs, const Shape& output) const override;
  std::string describe() const override;
  void to_yaml(YAML::Node& node) const override { config_.to_yaml(node); }
  std::optional<DictionaryInfo> dictionary_info() const override {
    return DictionaryInfo{weight_, config_.stride, config_.pad, patch(), config_.iters, -1, ""};
  }
  void add_regularizer_gradient(Context& ctx) override {
    config_.regularizer.add_gradient(ctx, grad(weight_), param(weight_));
  }
  double regularizer_value(Context& ctx) const override { return config_.regularizer.value(ctx, param(weight_)); }

  // After an inference forward: the dictionary it coded with (θ and η as applied), b = Dᵀx, and the last two
  // iterates γ_K and γ_{K−1} (undefined when K = 0). Views, valid until the next forward with `state`.
  struct PursuitView {
    Dictionary dictionary;
    Tensor b, last, previous;
  };
  PursuitView last_pursuit(Context& ctx, LayerState& state) const;

  const SparseCodeConfig& config() const { return config_; }
  // ‖D‖² by power iteration on DᵀD over one code of this layer's size, warm-started from `state`; reads the
  // result on the host (a synchronisation: for tests and initialisation, not for training steps).
  double estimate_lipschitz(Context& ctx, SparseCodeState& state, int iterations);
  // The same iterations without reading anything on the host; writes η = 1/‖D‖² into `step` when defined.
  void power_iterate(Context& ctx, SparseCodeState& state, int iterations, const Tensor& step);
  // FISTA momentum βₜ of zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂), t = 1 … K (index 0 unused; β₁ = 0).
  const std::vector<float>& fista_momenta() const { return pursuit_.momenta(); }

 private:
  // The dictionary's views for this call (patch: AᵀA formed, lasso form: θ = ηλ written when `refresh`), and
  // where backward adds its gradients.
  Dictionary dictionary(Context& ctx, SparseCodeState& s, bool refresh) const;
  // The patch pursuit's dictionary for a forward: AᵀA, then η (step: auto: the power iteration, one op) and θ.
  Dictionary patch_dictionary(Context& ctx, SparseCodeState& s, bool training);
  // The patch pursuit's forward: the fused op where no tape is kept, else the unrolled reference.
  void forward_patch(Context& ctx, const Tensor& x, const Tensor& output, Mode mode, SparseCodeState& s, bool keep);
  DictionaryGrads dictionary_grads(SparseCodeState& s) const;
  // tied: false — the dictionaries of steps 0 … K and their gradients.
  std::vector<Dictionary> untied_dictionaries() const;
  std::vector<DictionaryGrads> untied_grads() const;
  // After a backward sweep: the lasso form's θ-gradient to λ and η, AᵀA's gradient to W, ∂η/∂W.
  void finish_backward(Context& ctx, const Dictionary& d, const DictionaryGrads& g, SparseCodeState& s);
  // backward: implicit, every chain on the device.
  void backward_implicit(Context& ctx, const Tensor& x, const Tensor& code, const Tensor& grad_output, const Tensor& dx,
                         SparseCodeState& s);
  bool patch() const { return config_.pursuit == GramForm::patch; }
  void prepare_power_iteration(Context& ctx, SparseCodeState& s, int& iterations);
  // code: the forward's output γ_K (the implicit backward differentiates at it).
  void backward_taped(Context& ctx, const Tensor& x, const Tensor& code, const Tensor& grad_output, const Tensor& dx,
                      SparseCodeState& s);
  void set_step(Context& ctx, double eta);
  bool lasso() const { return config_.threshold_form == ThresholdForm::lasso; }
  // Unrolled lasso form with a step that has a gradient: backward takes ⟨λ, ∂L/∂θ⟩ into ∂L/∂η.
  bool lambda_step_product() const {
    return config_.backward == PursuitBackward::unrolled && lasso() && (config_.step_auto || config_.step_learn);
  }
  ConvParams conv_params() const { return ConvParams{config_.stride, config_.pad}; }

  SparseCodeConfig config_;
  UnrolledPursuit pursuit_;
  Shape in_shape_, out_shape_;  // [C, H, W]
  int weight_ = -1, threshold_ = -1, step_ = -1, power_ = -1;  // tied: false — those of step 0
  struct SweepParams {
    int weight = -1, threshold = -1, step = -1;
  };
  std::vector<SweepParams> sweeps_;  // tied: false — steps 0 … K
  // One dictionary's weight, threshold and step as "<prefix>.weight" etc.
  SweepParams register_dictionary(ParamArena& arena, const std::string& prefix);
};

}  // namespace scn
