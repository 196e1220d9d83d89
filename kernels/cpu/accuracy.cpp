#include "kernels/accuracy.h"

#include "core/dispatch.h"
#include "kernels/accuracy_math.h"

namespace scn {

namespace {

template <class T>
void counts_cpu(int32_t* counts, const T* z, const int32_t* labels, int64_t batch, int64_t classes, bool accumulate) {
  int64_t top1 = 0, top5 = 0;
#pragma omp parallel for schedule(static) reduction(+ : top1, top5)
  for (int64_t n = 0; n < batch; ++n) {
    const int64_t rank = label_rank(z + n * classes, classes, labels[n]);
    top1 += rank < 1;
    top5 += rank < 5;
  }
  counts[0] = static_cast<int32_t>((accumulate ? counts[0] : 0) + top1);
  counts[1] = static_cast<int32_t>((accumulate ? counts[1] : 0) + top5);
}

}  // namespace

void accuracy_counts(Context& ctx, const Tensor& counts, const Tensor& logits, const Tensor& labels, bool accumulate) {
  const char* op = "accuracy_counts";
  check_defined(op, "logits", logits);
  SCN_CHECK(logits.dtype() == DType::f32 || logits.dtype() == DType::f64, op, ": logits are ",
            dtype_name(logits.dtype()), ", expected f32 or f64");
  SCN_CHECK(logits.rank() == 2 && logits.size(1) > 0, op, ": logits have shape ", logits.shape().str(),
            ", expected (N, K) with K ≥ 1");
  check_shape(op, "labels", labels, Shape{logits.size(0)});
  check_dtype(op, "labels", labels, DType::i32);
  check_shape(op, "counts", counts, Shape{2});
  check_dtype(op, "counts", counts, DType::i32);
  check_same_device(op, {&counts, &logits, &labels});
  SCN_DISPATCH_CUDA(logits, cuda::accuracy_counts(ctx, counts, logits, labels, accumulate));
  const int64_t batch = logits.size(0), classes = logits.size(1);
  const int32_t* lp = labels.data<int32_t>();
  for (int64_t n = 0; n < batch; ++n)
    SCN_CHECK(lp[n] >= 0 && lp[n] < classes, op, ": labels[", n, "] = ", lp[n], " is out of range [0, ", classes, ")");
  if (logits.dtype() == DType::f64)
    return counts_cpu(counts.data<int32_t>(), logits.data<double>(), lp, batch, classes, accumulate);
  counts_cpu(counts.data<int32_t>(), logits.data<float>(), lp, batch, classes, accumulate);
}

}  // namespace scn
