#include "kernels/dropout.h"

#include "core/dispatch.h"

namespace scn {

namespace {
template <class T>
void forward_cpu(const Tensor& y, const Tensor& mask, const Tensor& x, float p, const RngKey& key) {
  const T keep = static_cast<T>(1.0 / (1.0 - p));
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  T* mp = mask.data<T>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T m = philox_uniform(key, static_cast<uint64_t>(i)) >= p ? keep : T(0);
    mp[i] = m;
    yp[i] = xp[i] * m;
  }
}
template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dy, const Tensor& mask) {
  const T* g = dy.data<T>();
  const T* m = mask.data<T>();
  T* d = dx.data<T>();
  const int64_t n = dy.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) d[i] = g[i] * m[i];
}
}  // namespace

void dropout_forward(Context& ctx, const Tensor& y, const Tensor& mask, const Tensor& x, float p, const RngKey& key) {
  const char* op = "dropout_forward";
  check_shape(op, "y", y, x.shape());
  check_shape(op, "mask", mask, x.shape());
  check_same_device(op, {&y, &mask, &x});
  SCN_CHECK(p >= 0 && p < 1, op, ": p must be in [0, 1), got ", p);
  SCN_CHECK(y.dtype() == x.dtype() && mask.dtype() == x.dtype(), op, ": dtypes differ");
  SCN_DISPATCH_CUDA(x, cuda::dropout_forward(ctx, y, mask, x, p, key));
  if (x.dtype() == DType::f64) return forward_cpu<double>(y, mask, x, p, key);
  forward_cpu<float>(y, mask, x, p, key);
}

void dropout_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& mask) {
  const char* op = "dropout_backward";
  check_shape(op, "dx", dx, dy.shape());
  check_shape(op, "mask", mask, dy.shape());
  check_same_device(op, {&dx, &dy, &mask});
  SCN_DISPATCH_CUDA(dy, cuda::dropout_backward(ctx, dx, dy, mask));
  if (dy.dtype() == DType::f64) return backward_cpu<double>(dx, dy, mask);
  backward_cpu<float>(dx, dy, mask);
}

}  // namespace scn
