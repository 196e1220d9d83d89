#pragma once
// Which statistics batch normalisation uses in evaluation, and the tools to see what that choice does:
//   running      the running averages kept by training (the default; what a deployed model uses)
//   batch        each evaluation batch's own statistics (what training-mode normalisation does)
//   recalibrate  running statistics recomputed over N training images with the weights frozen
// Unrolled sparse-coding nets are where the choice matters (docs/batch-norm-in-unrolled-pursuits.md).
#include <string>
#include <vector>

#include "models/batch_source.h"
#include "models/evaluator.h"
#include "models/net.h"

namespace scn {

enum class BatchNormStatistics { running, batch, recalibrate };
BatchNormStatistics parse_batch_norm_statistics(const std::string& name);  // throws scn::Error naming the choices

bool has_batch_norm(const Net& net);
// The forward mode that evaluates with these statistics (recalibrate: eval, after recalibrate_batch_norm).
Mode evaluation_mode(BatchNormStatistics statistics);

// Replaces every batch norm's running statistics by the exact mean of its batch statistics over the first
// `images` images of `source`, rounded up to whole batches of `batch`, weights frozen. Returns the images used.
int64_t recalibrate_batch_norm(Context& ctx, Net& net, BatchSource& source, int64_t images, int64_t batch);

// One batch through the net twice — running statistics, then the batch's own — compared node by node.
struct NodeStatisticsGap {
  std::string name, type;
  double relative_difference = 0;  // ‖a − b‖/‖b‖ of the node's outputs (b: batch statistics)
  double active_running = 0, active_batch = 0;  // fraction of non-zero outputs
  double support_mismatch = 0;     // |supp a △ supp b| / |supp a ∪ supp b| (0 when both are empty)
  // Batch norms only (else negative), medians over channels, from the batch's own statistics μ_B, σ_B of
  // the node's input: how far the running mean is from μ_B in units of σ_B, and |μ_B|/σ_B (how much of the
  // input is a constant offset that normalisation must subtract).
  double mean_offset_in_std = -1, mean_over_std = -1;
};
std::vector<NodeStatisticsGap> compare_batch_norm_statistics(Context& ctx, Net& net, const Tensor& x);
std::string format_statistics_gaps(const std::vector<NodeStatisticsGap>& gaps);

// The warning printed when running statistics lose accuracy that batch statistics keep: empty when the two
// top-1 accuracies are within `points` percentage points.
std::string batch_norm_gap_warning(double top1_running, double top1_batch, double points = 5.0);

}  // namespace scn
