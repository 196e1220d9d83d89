#include "kernels/elementwise.h"

#include "core/dispatch.h"

namespace scn {

namespace {

void check_float(const char* op, const char* name, const Tensor& t) {
  check_defined(op, name, t);
  SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": ", name, " is ", dtype_name(t.dtype()),
            ", expected f32 or f64");
}

// y and every other tensor: same shape, same dtype (f32 or f64), same device.
void check_like(const char* op, const Tensor& y, std::initializer_list<std::pair<const char*, const Tensor*>> others) {
  check_float(op, "y", y);
  for (const auto& [name, t] : others) {
    check_shape(op, name, *t, y.shape());
    SCN_CHECK(t->dtype() == y.dtype(), op, ": ", name, " is ", dtype_name(t->dtype()), ", y is ",
              dtype_name(y.dtype()));
  }
  for (const auto& [name, t] : others) check_same_device(op, {&y, t});
}

template <class T>
void fill_cpu(const Tensor& y, float value) {
  T* yp = y.data<T>();
  const int64_t n = y.numel();
  const T v = static_cast<T>(value);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) yp[i] = v;
}

template <class T>
void add_cpu(const Tensor& y, const Tensor& a, const Tensor& b) {
  T* yp = y.data<T>();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const int64_t n = y.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) yp[i] = ap[i] + bp[i];
}

template <class T>
void axpby_cpu(const Tensor& y, float alpha, const Tensor& x, float beta) {
  T* yp = y.data<T>();
  const T* xp = x.data<T>();
  const int64_t n = y.numel();
  const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
  if (beta == 0.f) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) yp[i] = a * xp[i];
  } else {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) yp[i] = a * xp[i] + b * yp[i];
  }
}

template <class T>
void add_scaled_cpu(const Tensor& y, const Tensor& a, float s, const Tensor& alpha, const Tensor& b) {
  T* yp = y.data<T>();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const T k = static_cast<T>(s) * alpha.data<T>()[0];
  const int64_t n = y.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) yp[i] = ap[i] + k * bp[i];
}

}  // namespace

void fill(Context& ctx, const Tensor& y, float value) {
  check_float("fill", "y", y);
  SCN_DISPATCH_CUDA(y, cuda::fill(ctx, y, value));
  if (y.dtype() == DType::f64) return fill_cpu<double>(y, value);
  fill_cpu<float>(y, value);
}

void add(Context& ctx, const Tensor& y, const Tensor& a, const Tensor& b) {
  check_defined("add", "a", a);
  check_like("add", y, {{"a", &a}, {"b", &b}});
  SCN_DISPATCH_CUDA(y, cuda::add(ctx, y, a, b));
  if (y.dtype() == DType::f64) return add_cpu<double>(y, a, b);
  add_cpu<float>(y, a, b);
}

void axpby(Context& ctx, const Tensor& y, float alpha, const Tensor& x, float beta) {
  check_defined("axpby", "x", x);
  check_like("axpby", y, {{"x", &x}});
  SCN_DISPATCH_CUDA(y, cuda::axpby(ctx, y, alpha, x, beta));
  if (y.dtype() == DType::f64) return axpby_cpu<double>(y, alpha, x, beta);
  axpby_cpu<float>(y, alpha, x, beta);
}

void axpy(Context& ctx, const Tensor& y, float alpha, const Tensor& x) { axpby(ctx, y, alpha, x, 1.f); }

void scale(Context& ctx, const Tensor& y, float alpha, const Tensor& x) { axpby(ctx, y, alpha, x, 0.f); }

void add_scaled(Context& ctx, const Tensor& y, const Tensor& a, float s, const Tensor& alpha, const Tensor& b) {
  const char* op = "add_scaled";
  check_defined(op, "a", a);
  check_like(op, y, {{"a", &a}, {"b", &b}});
  check_shape(op, "alpha", alpha, Shape{1});
  SCN_CHECK(alpha.dtype() == y.dtype(), op, ": alpha is ", dtype_name(alpha.dtype()), ", y is ", dtype_name(y.dtype()));
  check_same_device(op, {&y, &alpha});
  SCN_DISPATCH_CUDA(y, cuda::add_scaled(ctx, y, a, s, alpha, b));
  if (y.dtype() == DType::f64) return add_scaled_cpu<double>(y, a, s, alpha, b);
  add_scaled_cpu<float>(y, a, s, alpha, b);
}

}  // namespace scn
