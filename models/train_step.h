#pragma once
// One training step on a batch already in place: zero the gradients, forward, softmax cross-entropy (and
// the epoch's running sums), backward, the all-reduce of the gradient arena over the ranks of a data-parallel
// run (one collective per step), optimizer update. With `cuda_graph`, full-size steps on a GPU are
// captured once into a CUDA graph and then replayed with one launch; the labels and the learning rate reach
// the graph through device buffers written before each replay, so every step follows the schedule.
#include <memory>

#include "core/distributed/communicator.h"
#include "core/stream_graph.h"
#include "models/net.h"
#include "models/optimizer.h"

namespace scn {

// Running sums of an epoch, on the device; read only when progress or the epoch's end needs them.
struct EpochSums {
  Tensor loss_sum;   // (1) Σ batch·mean loss
  Tensor counts;     // (2) i32 top-1, top-5 correct
  Tensor one;        // (1) constant 1
  int64_t images = 0;
  void reset(Device device);  // zeroes in place after the first call (graph replays keep the pointers)
  double loss() const;
  double accuracy() const;
};

class TrainStep {
 public:
  // ranks: the other processes of a data-parallel run, or nullptr.
  TrainStep(Net& net, Optimizer& optimizer, double label_smoothing, bool cuda_graph, Communicator* ranks = nullptr);
  // x: (B, C, H, W) — with cuda_graph the same tensor, and the same B, every step (a replay reads it);
  // y: (B) i32 labels. loss_scale multiplies the loss's gradient (a rank's share, models/data_parallel.h).
  void run(Context& ctx, const Tensor& x, const Tensor& y, double lr, EpochSums& sums, double loss_scale = 1.0);
  // The last step's mean loss, (1) on the device.
  const Tensor& mean_loss() const { return mean_loss_; }
  bool replaying() const { return graph_ && graph_->captured(); }
  // Forgets the capture: after anything that may reallocate the net's buffers (an evaluation with another
  // batch size), the next step runs eagerly to size them again, and the one after is captured anew.
  void invalidate();

 private:
  void compute(Context& ctx, const Tensor& x, const Tensor& y, int64_t batch, double lr, EpochSums& sums,
               double loss_scale);
  Net& net_;
  Communicator* ranks_;
  Optimizer& optimizer_;
  double smoothing_;
  bool use_graph_;
  Tensor mean_loss_, per_sample_, dlogits_, labels_, lr_;
  std::unique_ptr<StreamGraph> graph_;
  const void* graph_x_ = nullptr;   // the input the graph was captured with
  int eager_steps_ = 0;             // steps run before capturing (they build plans and buffers)
  int64_t graph_workspace_grows_ = 0;  // the context's workspace generation the capture points into
};

}  // namespace scn
