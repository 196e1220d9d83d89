// type: batch_norm — per-channel batch normalisation; `affine: false` (as SCN uses before every sparse-coding
// layer) has no γ, β. Running statistics are arena entries of kind "statistics" (saved in checkpoints,
// never trained). `sync: true` takes the training statistics over the global batch of a data-parallel run
// (the moments and the backward sums all-reduced over the ranks, as PyTorch's SyncBatchNorm); by default,
// and always in a single process, each rank normalises with its own batch's statistics.
#include "core/distributed/communicator.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "layers/registry.h"

namespace scn {

namespace {

struct BatchNormState : LayerState {
  Tensor mean, invstd;           // (C) batch statistics of the last training forward
  Tensor moments, sums;          // sync: (3, C) and (2, C) f64 totals over the ranks (kernels/batch_norm.h)
  bool synced = false;           // the last training forward used the totals over the ranks
  int64_t calibration_batches = 0;  // Mode::calibrate: batches averaged into the running statistics so far
};

class BatchNormLayer : public Layer {
 public:
  explicit BatchNormLayer(const ConfigNode& node) {
    node.allow_keys(layer_keys({"affine", "momentum", "eps", "sync"}));
    sync_ = node.get_bool("sync", false);
    affine_ = node.get_bool("affine", true);
    momentum_ = node.get_double("momentum", 0.1);
    if (momentum_ < 0 || momentum_ > 1) node["momentum"].fail("expected a number in [0, 1]");
    eps_ = node.get_positive_double("eps", 1e-5);
  }
  std::string type() const override { return "batch_norm"; }
  Shape output_shape(const Shapes& in) override {
    SCN_CHECK(in.at(0).rank() == 3 || in.at(0).rank() == 1, "batch_norm expects [C, H, W] or [F], got ", in[0].str());
    channels_ = in[0][0];
    return in[0];
  }
  void register_params(ParamArena& arena, const std::string& node) override {
    arena_ = &arena;
    if (affine_) {
      ParamSpec g{node + ".weight", Shape{channels_}};
      g.kind = "norm";
      g.decay_mult = 0.0f;
      gamma_ = arena.add(g);
      ParamSpec b{node + ".bias", Shape{channels_}};
      b.kind = "norm";
      b.decay_mult = 0.0f;
      beta_ = arena.add(b);
    }
    for (const char* stat : {"running_mean", "running_var"}) {
      ParamSpec s{node + "." + stat, Shape{channels_}};
      s.kind = "statistics";
      s.trainable = false;
      (stat[8] == 'm' ? mean_ : var_) = arena.add(s);
    }
  }
  void init_params(Context& ctx, uint64_t) override {
    if (affine_) {
      fill(ctx, param(gamma_), 1.0f);
      fill(ctx, param(beta_), 0.0f);
    }
    fill(ctx, param(mean_), 0.0f);
    fill(ctx, param(var_), 1.0f);
  }
  std::unique_ptr<LayerState> make_state() const override { return std::make_unique<BatchNormState>(); }
  void forward(Context& ctx, const Tensors& in, const Tensor& out, Mode mode, LayerState& state) override {
    auto& s = static_cast<BatchNormState&>(state);
    const Tensor x = as_nchw(in[0]), y = as_nchw(out);
    const Tensor gamma = affine_ ? param(gamma_) : Tensor(), beta = affine_ ? param(beta_) : Tensor();
    if (mode == Mode::eval) {
      batch_norm_forward_inference(ctx, y, x, param(mean_), param(var_), gamma, beta, eps_);
      return;
    }
    ensure_tensor(s.mean, {channels_}, x.dtype(), x.device());
    ensure_tensor(s.invstd, {channels_}, x.dtype(), x.device());
    // Batch statistics in the three other modes; they differ in what happens to the running statistics:
    // updated with `momentum` (train), left alone (eval_batch_statistics), or replaced by the exact mean of
    // the batch statistics seen since the reset (calibrate: momentum 1/k for the k-th batch).
    Tensor running_mean = param(mean_), running_var = param(var_);
    double momentum = momentum_;
    if (mode == Mode::eval_batch_statistics) {
      running_mean = running_var = Tensor();
    } else if (mode == Mode::calibrate) {
      momentum = 1.0 / static_cast<double>(++s.calibration_batches);
    }
    s.synced = sync_ && mode == Mode::train && ctx.ranks != nullptr;
    if (!s.synced) {
      batch_norm_forward_training(ctx, y, s.mean, s.invstd, running_mean, running_var, x, gamma, beta, momentum, eps_);
      return;
    }
    ensure_tensor(s.moments, {3, channels_}, DType::f64, x.device());
    batch_norm_moments(ctx, s.moments, x);
    ctx.ranks->all_reduce(ctx, s.moments, Reduce::sum, "all-reduce of batch-norm moments (batch_norm.sync)");
    batch_norm_forward_from_moments(ctx, y, s.mean, s.invstd, running_mean, running_var, x, gamma, beta, s.moments,
                                    momentum, eps_);
  }
  void backward(Context& ctx, const Tensors& in, const Tensor&, const Tensor& gout, const Tensors& gin,
                LayerState& state) override {
    auto& s = static_cast<BatchNormState&>(state);
    const bool want_dx = !gin.empty() && gin[0].defined();
    if (!want_dx && !affine_) return;
    const Tensor dx = want_dx ? as_nchw(gin[0]) : Tensor();
    if (s.synced) {
      // Every rank's dy is the gradient of the same global loss (the trainer scales each rank's loss by its
      // share of the batch), so the sums add over the ranks. dγ, dβ keep this rank's part: the gradient
      // all-reduce combines them with the other parameters'.
      ensure_tensor(s.sums, {2, channels_}, DType::f64, gout.device());
      batch_norm_backward_sums(ctx, s.sums, affine_ ? grad(gamma_) : Tensor(), affine_ ? grad(beta_) : Tensor(),
                               as_nchw(gout), as_nchw(in[0]), s.mean, s.invstd, true);
      ctx.ranks->all_reduce(ctx, s.sums, Reduce::sum, "all-reduce of batch-norm gradient sums (batch_norm.sync)");
      if (want_dx)
        batch_norm_backward_from_sums(ctx, dx, as_nchw(gout), as_nchw(in[0]), s.mean, s.invstd,
                                      affine_ ? param(gamma_) : Tensor(), s.sums, s.moments);
      return;
    }
    batch_norm_backward(ctx, dx, affine_ ? grad(gamma_) : Tensor(), affine_ ? grad(beta_) : Tensor(), as_nchw(gout),
                        as_nchw(in[0]), s.mean, s.invstd, affine_ ? param(gamma_) : Tensor(), true);
  }
  std::string describe() const override {
    std::string d = affine_ ? "" : "affine=false";
    if (sync_) d += d.empty() ? "sync" : " sync";
    return d;
  }
  void to_yaml(YAML::Node& n) const override {
    n["affine"] = affine_;
    n["momentum"] = momentum_;
    n["eps"] = eps_;
    if (sync_) n["sync"] = true;
  }

 private:
  // (N, F) features normalise per feature: view them as (N, F, 1, 1).
  static Tensor as_nchw(const Tensor& t) { return t.rank() == 2 ? t.view({t.size(0), t.size(1), 1, 1}) : t; }
  bool affine_ = true, sync_ = false;
  double momentum_ = 0.1, eps_ = 1e-5;
  int64_t channels_ = 0;
  int gamma_ = -1, beta_ = -1, mean_ = -1, var_ = -1;
};

}  // namespace

void register_batch_norm_layer(LayerRegistry& registry) {
  registry.add("batch_norm", [](const ConfigNode& node) { return std::make_unique<BatchNormLayer>(node); });
}

}  // namespace scn
