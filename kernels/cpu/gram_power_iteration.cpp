#include "kernels/gram_power_iteration.h"

#include <cmath>

#include "core/dispatch.h"

namespace scn {

namespace {
// y = x/‖x‖ (x when ‖x‖ = 0), as normalize_l2; returns ‖x‖ and the factor applied.
template <class T>
double normalize(T* y, const T* x, int64_t n, T& factor) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  const double r = std::sqrt(s);
  factor = static_cast<T>(r > 0 ? 1.0 / r : 1.0);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * factor;
  return r;
}

template <class T>
void iterate_cpu(Context& ctx, const Tensor& vector_out, const Tensor& lipschitz, const Tensor& step,
                 const Tensor& threshold, const Tensor& vector_in, const Tensor& gram, const Tensor& lambda,
                 int iterations) {
  const int64_t c = vector_in.numel();
  T* v = vector_out.data<T>();
  T* next = static_cast<T*>(ctx.workspace(sizeof(T) * static_cast<size_t>(c)));
  const T* m = gram.data<T>();
  T factor = T(1);
  double rho = normalize(v, vector_in.data<T>(), c, factor);
  for (int it = 0; it < iterations; ++it) {
#pragma omp parallel for schedule(static) if (c >= 256)
    for (int64_t i = 0; i < c; ++i) {
      T s = T(0);
      for (int64_t j = 0; j < c; ++j) s += m[i * c + j] * v[j];
      next[i] = s;
    }
    rho = normalize(v, next, c, factor);
  }
  lipschitz.data<T>()[0] = static_cast<T>(rho);
  if (iterations == 0 || !step.defined()) return;
  step.data<T>()[0] = factor;  // 1/ρ, or 1 when ρ = 0
  if (!threshold.defined()) return;
  const T* l = lambda.data<T>();
  T* th = threshold.data<T>();
  for (int64_t i = 0; i < threshold.numel(); ++i) th[i] = factor * l[i];
}
}  // namespace

void gram_power_iteration(Context& ctx, const Tensor& vector_out, const Tensor& lipschitz, const Tensor& step,
                          const Tensor& threshold, const Tensor& vector_in, const Tensor& gram, const Tensor& lambda,
                          int iterations) {
  const char* op = "gram_power_iteration";
  check_defined(op, "vector_in", vector_in);
  const int64_t c = vector_in.numel();
  SCN_CHECK(vector_out.defined() && vector_out.numel() == c, op, ": vector_out must have ", c, " elements");
  SCN_CHECK(gram.numel() == c * c && gram.size(0) == c, op, ": gram must be (C, C) for C = ", c, ", got ",
            gram.shape().str());
  check_shape(op, "lipschitz", lipschitz, Shape{1});
  if (step.defined()) check_shape(op, "step", step, Shape{1});
  if (threshold.defined()) {
    SCN_CHECK(step.defined(), op, ": the threshold η·λ needs the step η");
    check_defined(op, "lambda", lambda);
    check_shape(op, "threshold", threshold, lambda.shape());
  }
  SCN_CHECK(iterations >= 0, op, ": iterations must be >= 0, got ", iterations);
  const DType dt = vector_in.dtype();
  SCN_CHECK(dt == DType::f32 || dt == DType::f64, op, ": vector_in must be f32 or f64, got ", dtype_name(dt));
  for (const Tensor* t : {&vector_out, &lipschitz, &step, &threshold, &gram, &lambda})
    SCN_CHECK(!t->defined() || t->dtype() == dt, op, ": dtypes differ (", t->str(), " and vector_in ", vector_in.str(),
              ")");
  check_same_device(op, {&vector_out, &lipschitz, &step, &threshold, &vector_in, &gram, &lambda});
  count_flops(2.0 * static_cast<double>(c) * static_cast<double>(c) * iterations);
  SCN_DISPATCH_CUDA(vector_in, cuda::gram_power_iteration(ctx, vector_out, lipschitz, step, threshold, vector_in, gram,
                                                          lambda, iterations));
  if (dt == DType::f64)
    return iterate_cpu<double>(ctx, vector_out, lipschitz, step, threshold, vector_in, gram, lambda, iterations);
  iterate_cpu<float>(ctx, vector_out, lipschitz, step, threshold, vector_in, gram, lambda, iterations);
}

}  // namespace scn
