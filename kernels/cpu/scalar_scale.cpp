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

template <class T>
void divide_scalars_cpu(const Tensor& out, const Tensor& num, const Tensor& den) {
  const T d = den.data<T>()[0];
  out.data<T>()[0] = d > T(0) ? num.data<T>()[0] / d : T(0);
}

template <class T>
void divide_backward_cpu(const Tensor& dx, const Tensor& ds, const Tensor& dy, const Tensor& x, const Tensor& s,
                         bool accumulate) {
  const T sv = s.data<T>()[0];
  const T* dyp = dy.data<T>();
  const T* xp = x.data<T>();
  const int64_t n = x.numel();
  double sum = 0;  // sequential: these are per-channel vectors
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(dyp[i]) * static_cast<double>(xp[i]);
  if (dx.defined()) {
    T* dxp = dx.data<T>();
    for (int64_t i = 0; i < n; ++i) dxp[i] = (accumulate ? dxp[i] : T(0)) + dyp[i] / sv;
  }
  if (ds.defined()) {
    T* dsp = ds.data<T>();
    const double s2 = static_cast<double>(sv) * static_cast<double>(sv);
    dsp[0] = static_cast<T>((accumulate ? static_cast<double>(dsp[0]) : 0.0) - sum / s2);
  }
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

void divide_scalars(Context& ctx, const Tensor& out, const Tensor& num, const Tensor& den) {
  const char* op = "divide_scalars";
  for (const Tensor* t : {&out, &num, &den}) {
    check_defined(op, "a scalar", *t);
    SCN_CHECK(t->numel() == 1 && t->dtype() == out.dtype(), op, ": out, num and den must be one-element tensors of ",
              "one dtype, got ", t->str());
  }
  check_same_device(op, {&out, &num, &den});
  SCN_DISPATCH_CUDA(out, cuda::divide_scalars(ctx, out, num, den));
  if (out.dtype() == DType::f64) return divide_scalars_cpu<double>(out, num, den);
  SCN_CHECK(out.dtype() == DType::f32, op, ": float tensors only");
  divide_scalars_cpu<float>(out, num, den);
}

void divide_by_scalar_backward(Context& ctx, const Tensor& dx, const Tensor& ds, const Tensor& dy, const Tensor& x,
                               const Tensor& s, bool accumulate) {
  const char* op = "divide_by_scalar_backward";
  check_shape(op, "dy", dy, x.shape());
  if (dx.defined()) check_shape(op, "dx", dx, x.shape());
  if (ds.defined()) check_shape(op, "ds", ds, Shape{1});
  check_defined(op, "s", s);
  SCN_CHECK(s.numel() == 1, op, ": s must have one element, got ", s.shape().str());
  for (const Tensor* t : {&dx, &ds, &dy, &s})
    SCN_CHECK(!t->defined() || t->dtype() == x.dtype(), op, ": dtypes differ (", t->str(), " and x ", x.str(), ")");
  check_same_device(op, {&dx, &ds, &dy, &x, &s});
  SCN_DISPATCH_CUDA(x, cuda::divide_by_scalar_backward(ctx, dx, ds, dy, x, s, accumulate));
  if (x.dtype() == DType::f64) return divide_backward_cpu<double>(dx, ds, dy, x, s, accumulate);
  SCN_CHECK(x.dtype() == DType::f32, op, ": float tensors only");
  divide_backward_cpu<float>(dx, ds, dy, x, s, accumulate);
}

}  // namespace scn
