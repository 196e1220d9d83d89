#include "kernels/accuracy.h"
#include "kernels/accuracy_math.h"
#include "kernels/cuda/per_channel.cuh"

namespace scn::cuda {

namespace {

// One block: each thread ranks its samples' labels, then two block sums. Integer sums are exact, so the counts
// are deterministic whatever the order. An evaluation batch is small (N·K a few hundred thousand at most: 256
// threads rank a few samples each), so one block keeps this a single launch without a zeroing pass or atomics;
// a grid would need both.
__global__ void count_correct(int32_t* counts, const float* logits, const int32_t* labels, int64_t batch,
                              int64_t classes, bool accumulate) {
  __shared__ int scratch[32];
  int top1 = 0, top5 = 0;
  for (int64_t n = threadIdx.x; n < batch; n += blockDim.x) {
    const int32_t label = labels[n];
    if (label < 0 || label >= classes) continue;  // invalid: counted as incorrect
    const int64_t rank = label_rank(logits + n * classes, classes, label);
    top1 += rank < 1;
    top5 += rank < 5;
  }
  top1 = block_sum(top1, scratch);
  top5 = block_sum(top5, scratch);
  if (threadIdx.x == 0) {
    counts[0] = (accumulate ? counts[0] : 0) + top1;
    counts[1] = (accumulate ? counts[1] : 0) + top5;
  }
}

}  // namespace

void accuracy_counts(Context& ctx, const Tensor& counts, const Tensor& logits, const Tensor& labels, bool accumulate) {
  NvtxRange range("accuracy_counts");
  require_cuda_f32("accuracy_counts", logits);
  count_correct<<<1, kThreads, 0, stream_of(ctx)>>>(counts.data<int32_t>(), logits.data<float>(),
                                                    labels.data<int32_t>(), logits.size(0), logits.size(1), accumulate);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
