#include "kernels/soft_threshold.h"

#include <vector>

#include "core/dispatch.h"
#include "kernels/channel_layout.h"
#include "kernels/threshold_math.h"

namespace scn {

namespace {

template <class T>
void forward_cpu(const Tensor& y, const Tensor& x, const Tensor& theta, ThresholdMode mode, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  const T* th = theta.data<T>();
  T* yp = y.data<T>();
  const bool shared = theta.numel() == 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < l.batch; ++n)
    for (int64_t c = 0; c < l.channels; ++c) {
      const T t = th[shared ? 0 : c];
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) yp[base + i] = soft_threshold(xp[base + i], t, mode);
    }
}

template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dtheta, const Tensor& dy, const Tensor& x, const Tensor& theta,
                  ThresholdMode mode, bool accumulate, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  const T* gp = dy.data<T>();
  const T* th = theta.data<T>();
  T* dxp = dx.data<T>();
  const bool shared = theta.numel() == 1;
  // Per-channel sums in a fixed order (channels in parallel, elements in sequence): deterministic.
  std::vector<double> sums(static_cast<size_t>(l.channels), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const T t = th[shared ? 0 : c];
    double s = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const int64_t base = (n * l.channels + c) * l.inner;
      T plane = 0;  // one plane sums in T (vectorisable); planes add up in double, in a fixed order
      for (int64_t i = 0; i < l.inner; ++i) {
        const T d = soft_threshold_derivative(xp[base + i], t, mode);  // 0 or 1
        const T g = gp[base + i];
        dxp[base + i] = g * d;
        plane += g * d * threshold_sign(xp[base + i], mode);
      }
      s += static_cast<double>(plane);
    }
    sums[c] = -s;
  }
  if (!dtheta.defined()) return;
  T* dt = dtheta.data<T>();
  if (shared) {
    double total = 0;
    for (double s : sums) total += s;
    dt[0] = static_cast<T>((accumulate ? dt[0] : T(0)) + total);
  } else {
    for (int64_t c = 0; c < l.channels; ++c) dt[c] = static_cast<T>((accumulate ? dt[c] : T(0)) + sums[c]);
  }
}

}  // namespace

void soft_threshold_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& theta, ThresholdMode mode) {
  const char* op = "soft_threshold_forward";
  const ChannelLayout l = channel_layout(op, x);
  check_shape(op, "y", y, x.shape());
  check_per_channel(op, "theta", theta, l);
  check_same_device(op, {&y, &x, &theta});
  SCN_CHECK(y.dtype() == x.dtype() && theta.dtype() == x.dtype(), op, ": dtypes differ");
  SCN_DISPATCH_CUDA(x, cuda::soft_threshold_forward(ctx, y, x, theta, mode));
  if (x.dtype() == DType::f64) return forward_cpu<double>(y, x, theta, mode, l);
  forward_cpu<float>(y, x, theta, mode, l);
}

void soft_threshold_backward(Context& ctx, const Tensor& dx, const Tensor& dtheta, const Tensor& dy, const Tensor& x,
                             const Tensor& theta, ThresholdMode mode, bool accumulate) {
  const char* op = "soft_threshold_backward";
  const ChannelLayout l = channel_layout(op, x);
  check_shape(op, "dx", dx, x.shape());
  check_shape(op, "dy", dy, x.shape());
  check_per_channel(op, "theta", theta, l);
  if (dtheta.defined()) check_shape(op, "dtheta", dtheta, theta.shape());
  check_same_device(op, {&dx, &dtheta, &dy, &x, &theta});
  SCN_DISPATCH_CUDA(x, cuda::soft_threshold_backward(ctx, dx, dtheta, dy, x, theta, mode, accumulate));
  if (x.dtype() == DType::f64) return backward_cpu<double>(dx, dtheta, dy, x, theta, mode, accumulate, l);
  backward_cpu<float>(dx, dtheta, dy, x, theta, mode, accumulate, l);
}

}  // namespace scn
