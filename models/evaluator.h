#pragma once
// Evaluation of a net on a data set: mean loss, top-1 and top-5 accuracy, the confusion matrix, and
// optionally the logits of every image in data-set order.
#include <functional>
#include <vector>

#include "core/distributed/communicator.h"
#include "models/batch_source.h"
#include "models/net.h"

namespace scn {

struct EvalResult {
  int64_t count = 0;
  double loss = 0;                         // mean softmax cross-entropy (no label smoothing)
  double top1 = 0, top5 = 0;               // fractions
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted], images with finite logits
  int64_t non_finite = 0;                  // images whose logits hold NaN or Inf: counted wrong
  Tensor logits;                           // (N, classes) on the CPU when asked for
};

// `mode`: Mode::eval (running batch-norm statistics) or Mode::eval_batch_statistics. `after_forward`, when
// set, sees the net after every batch's forward (its nodes' outputs: code statistics during evaluation).
// `ranks`: the ranks of a data-parallel run share the batches (rank r takes batches r, r + R, …) and every
// rank gets the totals over all of them (the same batches as one process: the same result). No logits then.
EvalResult evaluate(Context& ctx, Net& net, BatchSource& source, int64_t batch, bool keep_logits = false,
                    Mode mode = Mode::eval, const std::function<void(const Net&)>& after_forward = {},
                    Communicator* ranks = nullptr);

}  // namespace scn
