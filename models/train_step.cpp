#include "models/train_step.h"

#include <algorithm>

#include "kernels/accuracy.h"
#include "kernels/elementwise.h"
#include "kernels/softmax_cross_entropy.h"

namespace scn {

void EpochSums::reset(Device device) {
  if (!loss_sum.defined() || loss_sum.device() != device) {
    loss_sum = Tensor::zeros({1}, DType::f32, device);
    counts = Tensor::zeros({2}, DType::i32, device);
    one = Tensor::from_vector({1.0}, {1}).to(device);
  } else {
    loss_sum.zero_();
    counts.zero_();
  }
  images = 0;
}

double EpochSums::loss() const { return images ? loss_sum.item() / static_cast<double>(images) : 0.0; }
double EpochSums::accuracy() const { return images ? counts.to_vector()[0] / static_cast<double>(images) : 0.0; }

TrainStep::TrainStep(Net& net, Optimizer& optimizer, double label_smoothing, bool cuda_graph, Communicator* ranks)
    : net_(net), ranks_(ranks), optimizer_(optimizer), smoothing_(label_smoothing), use_graph_(cuda_graph) {
  mean_loss_ = Tensor::zeros({1}, DType::f32, net.device());
  if (!use_graph_) return;
  SCN_CHECK(net.device().is_cuda(), "train.cuda_graph needs a CUDA device; the net is on ", net.device().str());
  SCN_CHECK(optimizer.type() == "sgd", "train.cuda_graph supports optimizer sgd only (Adam's bias correction ",
            "changes every step), the config uses ", optimizer.type());
  for (const NetNode& n : net.nodes()) {
    const std::string why = n.layer->graph_capture_refusal();
    SCN_CHECK(why.empty(), "train.cuda_graph: node '", n.name, "' ", why);
  }
  lr_ = Tensor::zeros({1}, DType::f32, net.device());
}

void TrainStep::invalidate() {
  graph_.reset();
  graph_x_ = nullptr;
  eager_steps_ = std::min(eager_steps_, 1);
}

void TrainStep::compute(Context& ctx, const Tensor& x, const Tensor& y, int64_t batch, double lr, EpochSums& sums,
                        double loss_scale) {
  net_.params().zero_grads();
  const Tensor& logits = net_.forward(ctx, x, Mode::train);
  softmax_cross_entropy_forward(ctx, per_sample_, mean_loss_, dlogits_, logits, y, smoothing_);
  accuracy_counts(ctx, sums.counts, logits, y, true);
  add_scaled(ctx, sums.loss_sum, sums.loss_sum, static_cast<float>(batch), mean_loss_, sums.one);
  if (loss_scale != 1.0) scale(ctx, dlogits_, static_cast<float>(loss_scale), dlogits_);
  net_.backward(ctx, dlogits_);
  if (ranks_) ranks_->all_reduce(ctx, net_.params().grads(), Reduce::average, "all-reduce of the gradients");
  if (use_graph_) {
    optimizer_.step(ctx, 1.0, lr_);  // the rate comes from lr_, written before the step or the replay
  } else {
    optimizer_.step(ctx, lr);
  }
}

void TrainStep::run(Context& ctx, const Tensor& x, const Tensor& y, double lr, EpochSums& sums, double loss_scale) {
  const int64_t b = x.size(0);
  const Device device = x.device();
  const Shape logits_shape{b, static_cast<int64_t>(net_.classes())};
  if (!dlogits_.defined() || dlogits_.shape() != logits_shape) {
    SCN_CHECK(!graph_, "a captured training step saw a batch of ", b, " images; with train.cuda_graph every batch ",
              "has the captured size (the trainer drops the last partial batch)");
    dlogits_ = Tensor::empty(logits_shape, DType::f32, device);
    per_sample_ = Tensor::empty({b}, DType::f32, device);
  }
  sums.images += b;
  if (!use_graph_) return compute(ctx, x, y, b, lr, sums, loss_scale);
  // Device-side inputs of the step: the learning rate and a fixed copy of the labels.
  fill(ctx, lr_, static_cast<float>(lr));
  if (!labels_.defined()) labels_ = Tensor::empty(y.shape(), DType::i32, device);
  labels_.copy_from(y);
  SCN_CHECK(graph_x_ == nullptr || graph_x_ == x.raw(), "a captured training step must read the same input tensor");
  // A grown workspace freed the buffer the capture points into: capture again.
  if (graph_ && ctx.stats().workspace_grows != graph_workspace_grows_) invalidate();
  // The first two steps run eagerly (they choose algorithms, size the workspace and allocate every buffer
  // the step uses); the third is captured, and from then on every step replays the capture.
  if (eager_steps_ < 2) {
    ++eager_steps_;
    return compute(ctx, x, labels_, b, lr, sums, loss_scale);
  }
  if (!graph_) {
    graph_ = std::make_unique<StreamGraph>(ctx);
    graph_->capture([&] { compute(ctx, x, labels_, b, lr, sums, loss_scale); });
    graph_x_ = x.raw();
    graph_workspace_grows_ = ctx.stats().workspace_grows;
  }
  graph_->replay();
}

}  // namespace scn
