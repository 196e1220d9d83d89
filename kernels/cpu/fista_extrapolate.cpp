#include "kernels/fista_extrapolate.h"

#include "core/dispatch.h"
#include "kernels/pursuit_math.h"

namespace scn {

namespace {

void check_like(const char* op, const char* name, const Tensor& t, const Tensor& ref) {
  check_shape(op, name, t, ref.shape());
  SCN_CHECK(t.dtype() == ref.dtype(), op, ": ", name, " is ", dtype_name(t.dtype()), ", expected ",
            dtype_name(ref.dtype()));
}

void check_float(const char* op, const char* name, const Tensor& t) {
  check_defined(op, name, t);
  SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": ", name, " is ", dtype_name(t.dtype()),
            ", expected f32 or f64");
}

template <class T>
void forward_cpu(const Tensor& z, const Tensor& gamma, const Tensor& gamma_prev, float beta) {
  T* zp = z.data<T>();
  const T* g = gamma.data<T>();
  const T* gp = gamma_prev.data<T>();
  const T b = static_cast<T>(beta);
  const int64_t n = z.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) zp[i] = fista_extrapolate(g[i], gp[i], b);
}

template <class T>
void backward_cpu(const Tensor& dgamma, const Tensor& dgamma_prev, const Tensor& dz, float beta, bool acc_g,
                  bool acc_gp) {
  T* dg = dgamma.defined() ? dgamma.data<T>() : nullptr;
  T* dgp = dgamma_prev.defined() ? dgamma_prev.data<T>() : nullptr;
  const T* d = dz.data<T>();
  const T kg = T(1) + static_cast<T>(beta), kgp = -static_cast<T>(beta);
  const int64_t n = dz.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T v = d[i];
    if (dg) dg[i] = acc_g ? dg[i] + kg * v : kg * v;
    if (dgp) dgp[i] = acc_gp ? dgp[i] + kgp * v : kgp * v;
  }
}

}  // namespace

void fista_extrapolate_forward(Context& ctx, const Tensor& z, const Tensor& gamma, const Tensor& gamma_prev,
                               float beta) {
  const char* op = "fista_extrapolate_forward";
  check_float(op, "gamma", gamma);
  check_like(op, "z", z, gamma);
  check_like(op, "gamma_prev", gamma_prev, gamma);
  check_same_device(op, {&z, &gamma, &gamma_prev});
  SCN_DISPATCH_CUDA(gamma, cuda::fista_extrapolate_forward(ctx, z, gamma, gamma_prev, beta));
  if (gamma.dtype() == DType::f64) return forward_cpu<double>(z, gamma, gamma_prev, beta);
  forward_cpu<float>(z, gamma, gamma_prev, beta);
}

void fista_extrapolate_backward(Context& ctx, const Tensor& dgamma, const Tensor& dgamma_prev, const Tensor& dz,
                                float beta, bool accumulate_dgamma, bool accumulate_dgamma_prev) {
  const char* op = "fista_extrapolate_backward";
  check_float(op, "dz", dz);
  if (dgamma.defined()) check_like(op, "dgamma", dgamma, dz);
  if (dgamma_prev.defined()) check_like(op, "dgamma_prev", dgamma_prev, dz);
  check_same_device(op, {&dgamma, &dgamma_prev, &dz});
  SCN_DISPATCH_CUDA(dz, cuda::fista_extrapolate_backward(ctx, dgamma, dgamma_prev, dz, beta, accumulate_dgamma,
                                                         accumulate_dgamma_prev));
  if (dz.dtype() == DType::f64)
    return backward_cpu<double>(dgamma, dgamma_prev, dz, beta, accumulate_dgamma, accumulate_dgamma_prev);
  backward_cpu<float>(dgamma, dgamma_prev, dz, beta, accumulate_dgamma, accumulate_dgamma_prev);
}

}  // namespace scn
