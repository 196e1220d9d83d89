#include "kernels/scalar_scale.h"

#include "core/dispatch.h"

namespace scn {

namespace {
template <class T>
void scale_cpu(const Tensor& y, const Tensor& x, const Tensor& s, float alpha) {
  const T k = static_cast<T>(alpha) * s.data<T>()[0];
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) yp[i] = k * xp[i];
}
}  // namespace

void scale_by_scalar(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& s, float alpha) {
  const char* op = "scale_by_scalar";
  check_shape(op, "y", y, x.shape());
  check_defined(op, "s", s);
  SCN_CHECK(s.numel() == 1, op, ": s must have one element, got ", s.shape().str());
  SCN_CHECK(y.dtype() == x.dtype() && s.dtype() == x.dtype(), op, ": dtypes differ");
  check_same_device(op, {&y, &x, &s});
  SCN_DISPATCH_CUDA(x, cuda::scale_by_scalar(ctx, y, x, s, alpha));
  if (x.dtype() == DType::f64) return scale_cpu<double>(y, x, s, alpha);
  SCN_CHECK(x.dtype() == DType::f32, op, ": float tensors only");
  scale_cpu<float>(y, x, s, alpha);
}

}  // namespace scn
