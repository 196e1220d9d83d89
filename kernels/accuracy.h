#pragma once
// Top-1 and top-5 correct counts of a batch of logits, kept on the logits' device (no host synchronisation;
// with `accumulate` an evaluator sums a whole epoch there and reads the counts once).
// A sample is top-k correct when its label's rank is below k, where rank = #{j : z_j > z_label} +
// #{j < label : z_j = z_label} (ties go to the lower class index, as a stable descending sort orders them).
// With K < 5 classes every valid sample is top-5 correct.
// Labels: the CPU engine throws scn::Error for a label outside [0, K); the CUDA engine counts such a sample as
// incorrect (it cannot check without a host synchronisation; the data loaders validate labels).
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// counts[0] (+)= top-1 correct samples, counts[1] (+)= top-5 correct samples.
// counts: (2) i32, overwritten or added to when `accumulate`; logits: (N, K); labels: (N) i32
void accuracy_counts(Context& ctx, const Tensor& counts, const Tensor& logits, const Tensor& labels, bool accumulate);

namespace cuda {
void accuracy_counts(Context& ctx, const Tensor& counts, const Tensor& logits, const Tensor& labels, bool accumulate);
}  // namespace cuda

}  // namespace scn
