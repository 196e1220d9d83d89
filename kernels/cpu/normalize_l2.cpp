#include "kernels/normalize_l2.h"

#include <cmath>

#include "core/dispatch.h"

namespace scn {

namespace {
template <class T>
void normalize_cpu(const Tensor& y, const Tensor& norm, const Tensor& inverse, const Tensor& x) {
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  const int64_t n = x.numel();
  double s = 0;  // sequential: the vectors are small, and the sum is then independent of the thread count
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(xp[i]) * static_cast<double>(xp[i]);
  const double r = std::sqrt(s);
  const T scale = static_cast<T>(r > 0 ? 1.0 / r : 1.0);
  for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] * scale;
  norm.data<T>()[0] = static_cast<T>(r);
  if (inverse.defined()) inverse.data<T>()[0] = scale;
}
}  // namespace

void normalize_l2(Context& ctx, const Tensor& y, const Tensor& norm, const Tensor& inverse, const Tensor& x) {
  const char* op = "normalize_l2";
  check_shape(op, "y", y, x.shape());
  check_shape(op, "norm", norm, Shape{1});
  if (inverse.defined()) check_shape(op, "inverse", inverse, Shape{1});
  for (const Tensor* t : {&y, &norm, &inverse})
    SCN_CHECK(!t->defined() || t->dtype() == x.dtype(), op, ": dtypes differ (", t->str(), " and x ", x.str(), ")");
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x must be f32 or f64, got ", dtype_name(x.dtype()));
  check_same_device(op, {&y, &norm, &inverse, &x});
  SCN_DISPATCH_CUDA(x, cuda::normalize_l2(ctx, y, norm, inverse, x));
  if (x.dtype() == DType::f64) return normalize_cpu<double>(y, norm, inverse, x);
  normalize_cpu<float>(y, norm, inverse, x);
}

}  // namespace scn
