#include "kernels/gram_matrix.h"

#include "core/dispatch.h"

namespace scn {

namespace {
template <class T>
void backward_cpu(Context& ctx, const Tensor& dweight, const Tensor& weight, const Tensor& dgram, float scale,
                  const Tensor& vector, const Tensor& deta, const Tensor& eta) {
  const int64_t c = weight.size(0), f = weight.numel() / c;
  const T* m = dgram.data<T>();
  // S = M̄ + M̄ᵀ, symmetric, in the workspace.
  T* sym = static_cast<T*>(ctx.workspace(sizeof(T) * static_cast<size_t>(c * c)));
  const T* v = vector.defined() ? vector.data<T>() : nullptr;
  const T k = v ? deta.data<T>()[0] * eta.data<T>()[0] * eta.data<T>()[0] : T(0);  // ∂L/∂η·η²
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < c; ++j)
      sym[i * c + j] = static_cast<T>(scale) * (m[i * c + j] + m[j * c + i]) - (v ? T(2) * k * v[i] * v[j] : T(0));
  const T* w = weight.data<T>();
  T* dw = dweight.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const T s = sym[i * c + j];
      for (int64_t e = 0; e < f; ++e) dw[i * f + e] += s * w[j * f + e];
    }
}
}  // namespace

void gram_matrix_backward(Context& ctx, const Tensor& dweight, const Tensor& weight, const Tensor& dgram, float scale,
                          const Tensor& vector, const Tensor& deta, const Tensor& eta) {
  const char* op = "gram_matrix_backward";
  check_defined(op, "weight", weight);
  const int64_t c = weight.size(0);
  check_shape(op, "dweight", dweight, weight.shape());
  SCN_CHECK(dgram.numel() == c * c && dgram.size(0) == c, op, ": dgram must be (C, C) for C = ", c, ", got ",
            dgram.shape().str());
  if (vector.defined()) {
    SCN_CHECK(vector.numel() == c, op, ": vector must have ", c, " elements, got ", vector.shape().str());
    check_shape(op, "deta", deta, Shape{1});
    check_shape(op, "eta", eta, Shape{1});
  }
  const DType dt = weight.dtype();
  SCN_CHECK(dt == DType::f32 || dt == DType::f64, op, ": weight must be f32 or f64, got ", dtype_name(dt));
  for (const Tensor* t : {&dweight, &dgram, &vector, &deta, &eta})
    SCN_CHECK(!t->defined() || t->dtype() == dt, op, ": dtypes differ (", t->str(), " and weight ", weight.str(), ")");
  check_same_device(op, {&dweight, &weight, &dgram, &vector, &deta, &eta});
  count_flops(2.0 * static_cast<double>(c) * static_cast<double>(weight.numel()));
  SCN_DISPATCH_CUDA(weight, cuda::gram_matrix_backward(ctx, dweight, weight, dgram, scale, vector, deta, eta));
  if (dt == DType::f64) return backward_cpu<double>(ctx, dweight, weight, dgram, scale, vector, deta, eta);
  backward_cpu<float>(ctx, dweight, weight, dgram, scale, vector, deta, eta);
}

}  // namespace scn
