#include "kernels/softmax_cross_entropy.h"

#include <cmath>

#include "core/dispatch.h"

namespace scn {

namespace {

// One sample: its loss (returned) and, when grad is not null, grad[k] = scale_n·(p_k − q_k).
template <class T>
double sample_cpu(T* grad, T scale_n, const T* z, int64_t label, int64_t classes, double eps) {
  double m = static_cast<double>(z[0]);
  for (int64_t k = 1; k < classes; ++k) m = std::max(m, static_cast<double>(z[k]));
  double sum_exp = 0, sum_z = 0;
  for (int64_t k = 0; k < classes; ++k) {
    sum_exp += std::exp(static_cast<double>(z[k]) - m);
    sum_z += static_cast<double>(z[k]);
  }
  const double lse = m + std::log(sum_exp);
  const double off = eps / static_cast<double>(classes);  // q_k for k ≠ label
  const double loss = lse - (1.0 - eps) * static_cast<double>(z[label]) - off * sum_z;
  if (grad)
    for (int64_t k = 0; k < classes; ++k) {
      const double q = off + (k == label ? 1.0 - eps : 0.0);
      grad[k] = scale_n * static_cast<T>(std::exp(static_cast<double>(z[k]) - lse) - q);
    }
  return loss;
}

template <class T>
void forward_cpu(const Tensor& loss, const Tensor& mean_loss, const Tensor& dlogits, const Tensor& logits,
                 const int32_t* labels, double eps) {
  const int64_t batch = logits.size(0), classes = logits.size(1);
  const T* z = logits.data<T>();
  T* lp = loss.data<T>();
  T* gp = dlogits.defined() ? dlogits.data<T>() : nullptr;
  const T scale = static_cast<T>(1.0 / static_cast<double>(batch));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n)
    lp[n] =
        static_cast<T>(sample_cpu(gp ? gp + n * classes : nullptr, scale, z + n * classes, labels[n], classes, eps));
  if (!mean_loss.defined()) return;
  double s = 0;
  for (int64_t n = 0; n < batch; ++n) s += static_cast<double>(lp[n]);
  mean_loss.data<T>()[0] = static_cast<T>(s / static_cast<double>(batch));
}

template <class T>
void backward_cpu(const Tensor& dlogits, const Tensor& dloss, const Tensor& logits, const int32_t* labels, double eps) {
  const int64_t batch = logits.size(0), classes = logits.size(1);
  const T* z = logits.data<T>();
  const T* dl = dloss.data<T>();
  T* gp = dlogits.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) sample_cpu(gp + n * classes, dl[n], z + n * classes, labels[n], classes, eps);
}

// Checks logits (N, K) and labels (N) i32; on the CPU also that every label is in [0, K).
void check_inputs(const char* op, const Tensor& logits, const Tensor& labels, double eps) {
  check_defined(op, "logits", logits);
  SCN_CHECK(logits.dtype() == DType::f32 || logits.dtype() == DType::f64, op, ": logits are ",
            dtype_name(logits.dtype()), ", expected f32 or f64");
  SCN_CHECK(logits.rank() == 2 && logits.size(0) > 0 && logits.size(1) > 0, op, ": logits have shape ",
            logits.shape().str(), ", expected (N, K) with N, K ≥ 1");
  check_shape(op, "labels", labels, Shape{logits.size(0)});
  check_dtype(op, "labels", labels, DType::i32);
  SCN_CHECK(eps >= 0 && eps <= 1, op, ": label smoothing must be in [0, 1], got ", eps);
  if (labels.is_cuda()) return;  // see the header: no host synchronisation inside an op
  const int32_t* lp = labels.data<int32_t>();
  const int64_t classes = logits.size(1);
  for (int64_t n = 0; n < labels.numel(); ++n)
    SCN_CHECK(lp[n] >= 0 && lp[n] < classes, op, ": labels[", n, "] = ", lp[n], " is out of range [0, ", classes, ")");
}

}  // namespace

void softmax_cross_entropy_forward(Context& ctx, const Tensor& loss, const Tensor& mean_loss, const Tensor& dlogits,
                                   const Tensor& logits, const Tensor& labels, double smoothing) {
  const char* op = "softmax_cross_entropy_forward";
  check_inputs(op, logits, labels, smoothing);
  const DType dt = logits.dtype();
  check_shape(op, "loss", loss, Shape{logits.size(0)});
  check_dtype(op, "loss", loss, dt);
  if (mean_loss.defined()) {
    check_shape(op, "mean_loss", mean_loss, Shape{1});
    check_dtype(op, "mean_loss", mean_loss, dt);
  }
  if (dlogits.defined()) {
    check_shape(op, "dlogits", dlogits, logits.shape());
    check_dtype(op, "dlogits", dlogits, dt);
  }
  check_same_device(op, {&loss, &mean_loss, &dlogits, &logits, &labels});
  SCN_DISPATCH_CUDA(logits,
                    cuda::softmax_cross_entropy_forward(ctx, loss, mean_loss, dlogits, logits, labels, smoothing));
  if (dt == DType::f64) return forward_cpu<double>(loss, mean_loss, dlogits, logits, labels.data<int32_t>(), smoothing);
  forward_cpu<float>(loss, mean_loss, dlogits, logits, labels.data<int32_t>(), smoothing);
}

void softmax_cross_entropy_backward(Context& ctx, const Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                                    const Tensor& labels, double smoothing) {
  const char* op = "softmax_cross_entropy_backward";
  check_inputs(op, logits, labels, smoothing);
  const DType dt = logits.dtype();
  check_shape(op, "dlogits", dlogits, logits.shape());
  check_dtype(op, "dlogits", dlogits, dt);
  check_shape(op, "dloss", dloss, Shape{logits.size(0)});
  check_dtype(op, "dloss", dloss, dt);
  check_same_device(op, {&dlogits, &dloss, &logits, &labels});
  SCN_DISPATCH_CUDA(logits, cuda::softmax_cross_entropy_backward(ctx, dlogits, dloss, logits, labels, smoothing));
  if (dt == DType::f64) return backward_cpu<double>(dlogits, dloss, logits, labels.data<int32_t>(), smoothing);
  backward_cpu<float>(dlogits, dloss, logits, labels.data<int32_t>(), smoothing);
}

}  // namespace scn
