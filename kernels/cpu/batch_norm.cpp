#include "kernels/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/dispatch.h"
#include "kernels/channel_layout.h"

namespace scn {

namespace {

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// y = x·a[c] + b[c] over channel c of every sample (a = γ·invstd, b = β − μ·a).
template <class T>
void apply_channel(T* y, const T* x, int64_t c, T a, T b, const ChannelLayout& l) {
  for (int64_t n = 0; n < l.batch; ++n) {
    const int64_t base = (n * l.channels + c) * l.inner;
    for (int64_t i = 0; i < l.inner; ++i) y[base + i] = x[base + i] * a + b;
  }
}

template <class T>
void training_cpu(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& running_mean,
                  const Tensor& running_var, const Tensor& x, const Tensor& gamma, const Tensor& beta, double momentum,
                  double eps, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  const T* gp = ptr_or_null<T>(gamma);
  const T* bp = ptr_or_null<T>(beta);
  T* yp = y.data<T>();
  T* mean_out = save_mean.data<T>();
  T* invstd_out = save_invstd.data<T>();
  T* rm = running_mean.defined() ? running_mean.data<T>() : nullptr;
  T* rv = running_var.defined() ? running_var.data<T>() : nullptr;
  const double count = static_cast<double>(l.batch * l.inner);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    // Two passes in double: the mean, then the centred squares (no cancellation as in Σx² − Mμ²).
    double sum = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const T* p = xp + (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) sum += static_cast<double>(p[i]);
    }
    const double mean = sum / count;
    double m2 = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const T* p = xp + (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double d = static_cast<double>(p[i]) - mean;
        m2 += d * d;
      }
    }
    const double invstd = 1.0 / std::sqrt(m2 / count + eps);
    mean_out[c] = static_cast<T>(mean);
    invstd_out[c] = static_cast<T>(invstd);
    if (rm) rm[c] = static_cast<T>((1 - momentum) * static_cast<double>(rm[c]) + momentum * mean);
    if (rv) rv[c] = static_cast<T>((1 - momentum) * static_cast<double>(rv[c]) + momentum * m2 / (count - 1));
    const double a = (gp ? static_cast<double>(gp[c]) : 1.0) * invstd;
    const double b = (bp ? static_cast<double>(bp[c]) : 0.0) - mean * a;
    apply_channel(yp, xp, c, static_cast<T>(a), static_cast<T>(b), l);
  }
}

template <class T>
void inference_cpu(const Tensor& y, const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                   const Tensor& gamma, const Tensor& beta, double eps, const ChannelLayout& l) {
  const T* gp = ptr_or_null<T>(gamma);
  const T* bp = ptr_or_null<T>(beta);
  const T* rm = running_mean.data<T>();
  const T* rv = running_var.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const double a = (gp ? static_cast<double>(gp[c]) : 1.0) / std::sqrt(static_cast<double>(rv[c]) + eps);
    const double b = (bp ? static_cast<double>(bp[c]) : 0.0) - static_cast<double>(rm[c]) * a;
    apply_channel(y.data<T>(), x.data<T>(), c, static_cast<T>(a), static_cast<T>(b), l);
  }
}

// Channel c's Σ dy and Σ dy·x̂ over the batch and positions, also written (or added) to dγ[c] and dβ[c]:
// where both backwards start (the one-piece backward, and the sums half of the split one).
template <class T>
std::pair<double, double> channel_backward_sums(const T* gy, const T* xp, double mean, double invstd, T* dgp, T* dbp,
                                                bool accumulate, const ChannelLayout& l, int64_t c) {
  double sum_g = 0, sum_gx = 0;  // Σ dy and Σ dy·(x − μ)
  for (int64_t n = 0; n < l.batch; ++n) {
    const int64_t base = (n * l.channels + c) * l.inner;
    for (int64_t i = 0; i < l.inner; ++i) {
      const double g = static_cast<double>(gy[base + i]);
      sum_g += g;
      sum_gx += g * (static_cast<double>(xp[base + i]) - mean);
    }
  }
  const double sum_gxhat = sum_gx * invstd;
  if (dgp) dgp[c] = static_cast<T>((accumulate ? static_cast<double>(dgp[c]) : 0.0) + sum_gxhat);
  if (dbp) dbp[c] = static_cast<T>((accumulate ? static_cast<double>(dbp[c]) : 0.0) + sum_g);
  return {sum_g, sum_gxhat};
}

template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy, const Tensor& x,
                  const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma, bool accumulate,
                  const ChannelLayout& l) {
  const T* gy = dy.data<T>();
  const T* xp = x.data<T>();
  const T* mp = save_mean.data<T>();
  const T* sp = save_invstd.data<T>();
  const T* gp = ptr_or_null<T>(gamma);
  T* dxp = dx.defined() ? dx.data<T>() : nullptr;
  T* dgp = dgamma.defined() ? dgamma.data<T>() : nullptr;
  T* dbp = dbeta.defined() ? dbeta.data<T>() : nullptr;
  const double count = static_cast<double>(l.batch * l.inner);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const double mean = static_cast<double>(mp[c]), invstd = static_cast<double>(sp[c]);
    const auto [sum_g, sum_gxhat] = channel_backward_sums(gy, xp, mean, invstd, dgp, dbp, accumulate, l, c);
    if (!dxp) continue;
    // dx = a·(dy − k1 − (x − μ)·k2) with a = γ·invstd, k1 = Σdy/M, k2 = invstd·Σdy·x̂/M.
    const T a = static_cast<T>((gp ? static_cast<double>(gp[c]) : 1.0) * invstd);
    const T k1 = static_cast<T>(sum_g / count), k2 = static_cast<T>(invstd * sum_gxhat / count);
    const T mu = mp[c];
    for (int64_t n = 0; n < l.batch; ++n) {
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) dxp[base + i] = a * (gy[base + i] - k1 - (xp[base + i] - mu) * k2);
    }
  }
}

template <class T>
void moments_cpu(const Tensor& moments, const Tensor& x, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  double* m = moments.data<double>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    double sum = 0, squares = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const T* p = xp + (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double v = static_cast<double>(p[i]);
        sum += v;
        squares += v * v;
      }
    }
    m[c] = static_cast<double>(l.batch * l.inner);
    m[l.channels + c] = sum;
    m[2 * l.channels + c] = squares;
  }
}

template <class T>
void from_moments_cpu(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& running_mean,
                      const Tensor& running_var, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& moments, double momentum, double eps, const ChannelLayout& l) {
  const T* gp = ptr_or_null<T>(gamma);
  const T* bp = ptr_or_null<T>(beta);
  T* rm = running_mean.defined() ? running_mean.data<T>() : nullptr;
  T* rv = running_var.defined() ? running_var.data<T>() : nullptr;
  const double* m = moments.data<double>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const double count = m[c], mean = m[l.channels + c] / count;
    const double var = std::max(m[2 * l.channels + c] / count - mean * mean, 0.0);
    const double invstd = 1.0 / std::sqrt(var + eps);
    save_mean.data<T>()[c] = static_cast<T>(mean);
    save_invstd.data<T>()[c] = static_cast<T>(invstd);
    if (rm) rm[c] = static_cast<T>((1 - momentum) * static_cast<double>(rm[c]) + momentum * mean);
    if (rv) rv[c] = static_cast<T>((1 - momentum) * static_cast<double>(rv[c]) + momentum * var * count / (count - 1));
    const double a = (gp ? static_cast<double>(gp[c]) : 1.0) * invstd;
    const double b = (bp ? static_cast<double>(bp[c]) : 0.0) - mean * a;
    apply_channel(y.data<T>(), x.data<T>(), c, static_cast<T>(a), static_cast<T>(b), l);
  }
}

template <class T>
void backward_sums_cpu(const Tensor& sums, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                       const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, bool accumulate,
                       const ChannelLayout& l) {
  const T* gy = dy.data<T>();
  const T* xp = x.data<T>();
  T* dgp = dgamma.defined() ? dgamma.data<T>() : nullptr;
  T* dbp = dbeta.defined() ? dbeta.data<T>() : nullptr;
  double* out = sums.data<double>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const double mean = static_cast<double>(save_mean.data<T>()[c]);
    const double invstd = static_cast<double>(save_invstd.data<T>()[c]);
    const auto [sum_g, sum_gxhat] = channel_backward_sums(gy, xp, mean, invstd, dgp, dbp, accumulate, l, c);
    out[c] = sum_g;
    out[l.channels + c] = sum_gxhat;
  }
}

template <class T>
void backward_from_sums_cpu(const Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& save_mean,
                            const Tensor& save_invstd, const Tensor& gamma, const Tensor& sums, const Tensor& moments,
                            const ChannelLayout& l) {
  const T* gy = dy.data<T>();
  const T* xp = x.data<T>();
  const T* gp = ptr_or_null<T>(gamma);
  T* dxp = dx.data<T>();
  const double* s = sums.data<double>();
  const double* m = moments.data<double>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const double invstd = static_cast<double>(save_invstd.data<T>()[c]), count = m[c];
    const T a = static_cast<T>((gp ? static_cast<double>(gp[c]) : 1.0) * invstd);
    const T k1 = static_cast<T>(s[c] / count), k2 = static_cast<T>(invstd * s[l.channels + c] / count);
    const T mu = save_mean.data<T>()[c];
    for (int64_t n = 0; n < l.batch; ++n) {
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) dxp[base + i] = a * (gy[base + i] - k1 - (xp[base + i] - mu) * k2);
    }
  }
}

// moments (3, C) or sums (2, C), f64, on x's device.
void check_reduction(const char* op, const char* name, const Tensor& t, int64_t rows, const ChannelLayout& l) {
  check_shape(op, name, t, Shape{rows, l.channels});
  check_dtype(op, name, t, DType::f64);
}

void check_float(const char* op, const Tensor& x) {
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x is ", dtype_name(x.dtype()),
            ", expected f32 or f64");
}

void check_channel_param(const char* op, const char* name, const Tensor& t, const ChannelLayout& l, DType dtype,
                         bool optional) {
  if (optional && !t.defined()) return;
  check_per_channel(op, name, t, l, /*allow_shared=*/false);
  check_dtype(op, name, t, dtype);
}

// The arguments both training-mode forwards take (batch_norm_forward_training and …_from_moments).
void check_training_forward(const char* op, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                            const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                            const Tensor& gamma, const Tensor& beta, double momentum, double eps,
                            const ChannelLayout& l) {
  check_float(op, x);
  const DType dt = x.dtype();
  check_shape(op, "y", y, x.shape());
  check_dtype(op, "y", y, dt);
  SCN_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  SCN_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum must be in [0, 1], got ", momentum);
  SCN_CHECK(running_mean.defined() == running_var.defined(), op,
            ": running_mean and running_var must both be defined or both undefined");
  check_channel_param(op, "save_mean", save_mean, l, dt, false);
  check_channel_param(op, "save_invstd", save_invstd, l, dt, false);
  check_channel_param(op, "running_mean", running_mean, l, dt, true);
  check_channel_param(op, "running_var", running_var, l, dt, true);
  check_channel_param(op, "gamma", gamma, l, dt, true);
  check_channel_param(op, "beta", beta, l, dt, true);
}

// The arguments every backward takes (batch_norm_backward, …_sums, …_from_sums): dy shaped as x, and the
// statistics its training forward saved. Returns x's dtype, which every other argument must have too.
DType check_backward_inputs(const char* op, const Tensor& dy, const Tensor& x, const Tensor& save_mean,
                            const Tensor& save_invstd, const ChannelLayout& l) {
  check_float(op, x);
  const DType dt = x.dtype();
  check_shape(op, "dy", dy, x.shape());
  check_dtype(op, "dy", dy, dt);
  check_channel_param(op, "save_mean", save_mean, l, dt, false);
  check_channel_param(op, "save_invstd", save_invstd, l, dt, false);
  return dt;
}

}  // namespace

void batch_norm_forward_training(Context& ctx, const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                 const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                 const Tensor& gamma, const Tensor& beta, double momentum, double eps) {
  const char* op = "batch_norm_forward_training";
  const ChannelLayout l = channel_layout(op, x);
  check_training_forward(op, y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, momentum, eps, l);
  const DType dt = x.dtype();
  SCN_CHECK(l.batch * l.inner > 1, op, ": x has shape ", x.shape().str(),
            "; training needs more than one value per channel");
  check_same_device(op, {&y, &save_mean, &save_invstd, &running_mean, &running_var, &x, &gamma, &beta});
  SCN_DISPATCH_CUDA(x, cuda::batch_norm_forward_training(ctx, y, save_mean, save_invstd, running_mean, running_var, x,
                                                         gamma, beta, momentum, eps));
  if (dt == DType::f64)
    return training_cpu<double>(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, momentum, eps, l);
  training_cpu<float>(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, momentum, eps, l);
}

void batch_norm_forward_inference(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "batch_norm_forward_inference";
  const ChannelLayout l = channel_layout(op, x);
  check_float(op, x);
  const DType dt = x.dtype();
  check_shape(op, "y", y, x.shape());
  check_dtype(op, "y", y, dt);
  SCN_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  check_channel_param(op, "running_mean", running_mean, l, dt, false);
  check_channel_param(op, "running_var", running_var, l, dt, false);
  check_channel_param(op, "gamma", gamma, l, dt, true);
  check_channel_param(op, "beta", beta, l, dt, true);
  check_same_device(op, {&y, &x, &running_mean, &running_var, &gamma, &beta});
  SCN_DISPATCH_CUDA(x, cuda::batch_norm_forward_inference(ctx, y, x, running_mean, running_var, gamma, beta, eps));
  if (dt == DType::f64) return inference_cpu<double>(y, x, running_mean, running_var, gamma, beta, eps, l);
  inference_cpu<float>(y, x, running_mean, running_var, gamma, beta, eps, l);
}

void batch_norm_backward(Context& ctx, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy,
                         const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                         bool accumulate) {
  const char* op = "batch_norm_backward";
  const ChannelLayout l = channel_layout(op, x);
  const DType dt = check_backward_inputs(op, dy, x, save_mean, save_invstd, l);
  if (dx.defined()) {
    check_shape(op, "dx", dx, x.shape());
    check_dtype(op, "dx", dx, dt);
  }
  check_channel_param(op, "gamma", gamma, l, dt, true);
  check_channel_param(op, "dgamma", dgamma, l, dt, true);
  check_channel_param(op, "dbeta", dbeta, l, dt, true);
  check_same_device(op, {&dx, &dgamma, &dbeta, &dy, &x, &save_mean, &save_invstd, &gamma});
  SCN_DISPATCH_CUDA(
      x, cuda::batch_norm_backward(ctx, dx, dgamma, dbeta, dy, x, save_mean, save_invstd, gamma, accumulate));
  if (dt == DType::f64)
    return backward_cpu<double>(dx, dgamma, dbeta, dy, x, save_mean, save_invstd, gamma, accumulate, l);
  backward_cpu<float>(dx, dgamma, dbeta, dy, x, save_mean, save_invstd, gamma, accumulate, l);
}


void batch_norm_moments(Context& ctx, const Tensor& moments, const Tensor& x) {
  const char* op = "batch_norm_moments";
  const ChannelLayout l = channel_layout(op, x);
  check_float(op, x);
  check_reduction(op, "moments", moments, 3, l);
  check_same_device(op, {&moments, &x});
  SCN_DISPATCH_CUDA(x, cuda::batch_norm_moments(ctx, moments, x));
  if (x.dtype() == DType::f64) return moments_cpu<double>(moments, x, l);
  moments_cpu<float>(moments, x, l);
}

void batch_norm_forward_from_moments(Context& ctx, const Tensor& y, const Tensor& save_mean,
                                     const Tensor& save_invstd, const Tensor& running_mean,
                                     const Tensor& running_var, const Tensor& x, const Tensor& gamma,
                                     const Tensor& beta, const Tensor& moments, double momentum, double eps) {
  const char* op = "batch_norm_forward_from_moments";
  const ChannelLayout l = channel_layout(op, x);
  check_training_forward(op, y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, momentum, eps, l);
  const DType dt = x.dtype();
  check_reduction(op, "moments", moments, 3, l);
  check_same_device(op, {&y, &save_mean, &save_invstd, &running_mean, &running_var, &x, &gamma, &beta, &moments});
  SCN_DISPATCH_CUDA(x, cuda::batch_norm_forward_from_moments(ctx, y, save_mean, save_invstd, running_mean,
                                                             running_var, x, gamma, beta, moments, momentum, eps));
  if (dt == DType::f64)
    return from_moments_cpu<double>(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, moments,
                                    momentum, eps, l);
  from_moments_cpu<float>(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, moments, momentum,
                          eps, l);
}

void batch_norm_backward_sums(Context& ctx, const Tensor& sums, const Tensor& dgamma, const Tensor& dbeta,
                              const Tensor& dy, const Tensor& x, const Tensor& save_mean, const Tensor& save_invstd,
                              bool accumulate) {
  const char* op = "batch_norm_backward_sums";
  const ChannelLayout l = channel_layout(op, x);
  const DType dt = check_backward_inputs(op, dy, x, save_mean, save_invstd, l);
  check_reduction(op, "sums", sums, 2, l);
  check_channel_param(op, "dgamma", dgamma, l, dt, true);
  check_channel_param(op, "dbeta", dbeta, l, dt, true);
  check_same_device(op, {&sums, &dgamma, &dbeta, &dy, &x, &save_mean, &save_invstd});
  SCN_DISPATCH_CUDA(
      x, cuda::batch_norm_backward_sums(ctx, sums, dgamma, dbeta, dy, x, save_mean, save_invstd, accumulate));
  if (dt == DType::f64)
    return backward_sums_cpu<double>(sums, dgamma, dbeta, dy, x, save_mean, save_invstd, accumulate, l);
  backward_sums_cpu<float>(sums, dgamma, dbeta, dy, x, save_mean, save_invstd, accumulate, l);
}

void batch_norm_backward_from_sums(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& x,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& gamma,
                                   const Tensor& sums, const Tensor& moments) {
  const char* op = "batch_norm_backward_from_sums";
  const ChannelLayout l = channel_layout(op, x);
  const DType dt = check_backward_inputs(op, dy, x, save_mean, save_invstd, l);
  check_shape(op, "dx", dx, x.shape());
  check_dtype(op, "dx", dx, dt);
  check_reduction(op, "sums", sums, 2, l);
  check_reduction(op, "moments", moments, 3, l);
  check_channel_param(op, "gamma", gamma, l, dt, true);
  check_same_device(op, {&dx, &dy, &x, &save_mean, &save_invstd, &gamma, &sums, &moments});
  SCN_DISPATCH_CUDA(
      x, cuda::batch_norm_backward_from_sums(ctx, dx, dy, x, save_mean, save_invstd, gamma, sums, moments));
  if (dt == DType::f64)
    return backward_from_sums_cpu<double>(dx, dy, x, save_mean, save_invstd, gamma, sums, moments, l);
  backward_from_sums_cpu<float>(dx, dy, x, save_mean, save_invstd, gamma, sums, moments, l);
}

}  // namespace scn
