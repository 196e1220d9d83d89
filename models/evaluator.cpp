#include "models/evaluator.h"

#include <cmath>

#include "kernels/accuracy.h"
#include "kernels/softmax_cross_entropy.h"

namespace scn {

EvalResult evaluate(Context& ctx, Net& net, BatchSource& source, int64_t batch, bool keep_logits, Mode mode,
                    const std::function<void(const Net&)>& after_forward, Communicator* ranks) {
  SCN_CHECK(!is_training(mode) && mode != Mode::calibrate, "evaluate: an inference mode is needed");
  SCN_CHECK(!(keep_logits && ranks), "evaluate: the logits of an evaluation shared by ranks stay on their ranks");
  const int64_t first = ranks ? ranks->rank() : 0, every = ranks ? ranks->size() : 1;
  const int classes = net.classes();
  EvalResult r;
  r.count = source.size();
  r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  if (keep_logits) r.logits = Tensor::empty({r.count, classes});
  source.start_epoch(0);
  Tensor x, y;
  Tensor mean_loss = Tensor::empty({1}, DType::f32, ctx.device());
  Tensor counts = Tensor::zeros({2}, DType::i32, ctx.device());
  double loss_sum = 0;
  const int64_t batches = source.batches(batch);
  for (int64_t i = first; i < batches; i += every) {
    const int64_t b = source.batch(ctx, i, batch, x, y);
    const Tensor& logits = net.forward(ctx, x, mode);
    if (after_forward) after_forward(net);
    Tensor per_sample = Tensor::empty({b}, DType::f32, ctx.device());
    softmax_cross_entropy_forward(ctx, per_sample, mean_loss, Tensor(), logits, y, 0.0);
    accuracy_counts(ctx, counts, logits, y, true);
    // The confusion matrix and the loss are summed on the host: evaluation is not the hot path.
    loss_sum += mean_loss.item() * static_cast<double>(b);
    std::vector<double> l = logits.to_vector(), t = y.to_vector();
    for (int64_t n = 0; n < b; ++n) {
      int best = 0;
      bool finite = true;
      for (int k = 0; k < classes; ++k) {
        finite = finite && std::isfinite(l[n * classes + k]);
        if (l[n * classes + k] > l[n * classes + best]) best = k;
      }
      if (!finite) {  // no prediction: counted wrong by accuracy_counts, left out of the confusion matrix
        ++r.non_finite;
        continue;
      }
      r.confusion[static_cast<int>(t[n])][best]++;
    }
    if (keep_logits) r.logits.slice(i * batch, i * batch + b).copy_from(logits.to(Device::cpu()));
  }
  std::vector<double> c = counts.to_vector();
  if (ranks) {
    // One all-reduce of every total: [loss, top-1, top-5, non-finite, confusion row by row].
    std::vector<double> totals = {loss_sum, c[0], c[1], static_cast<double>(r.non_finite)};
    for (const auto& row : r.confusion) totals.insert(totals.end(), row.begin(), row.end());
    ranks->all_reduce_host(totals, Reduce::sum, "all-reduce of the evaluation");
    loss_sum = totals[0];
    c = {totals[1], totals[2]};
    r.non_finite = static_cast<int64_t>(totals[3]);
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p) r.confusion[t][p] = static_cast<int64_t>(totals[4 + t * classes + p]);
  }
  r.loss = loss_sum / static_cast<double>(r.count);
  r.top1 = c[0] / static_cast<double>(r.count);
  r.top5 = c[1] / static_cast<double>(r.count);
  return r;
}

}  // namespace scn
