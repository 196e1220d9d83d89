#include "kernels/ista_update.h"

#include <vector>

#include "core/dispatch.h"
#include "kernels/channel_layout.h"
#include "kernels/pursuit_math.h"
#include "kernels/threshold_math.h"

namespace scn {

namespace {

// Checks shared by forward and backward; returns the layout of b.
ChannelLayout check_ista(const char* op, const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta,
                         const Tensor& theta) {
  const ChannelLayout l = channel_layout(op, b);
  SCN_CHECK(b.dtype() == DType::f32 || b.dtype() == DType::f64, op, ": b is ", dtype_name(b.dtype()),
            ", expected f32 or f64");
  SCN_CHECK(z.defined() == G.defined(), op, ": z and G must be both defined (ISTA step) or both undefined ",
            "(first code), got z ", z.str(), " and G ", G.str());
  if (z.defined()) {
    check_shape(op, "z", z, b.shape());
    check_shape(op, "G", G, b.shape());
  }
  check_shape(op, "eta", eta, Shape{1});
  check_per_channel(op, "theta", theta, l);
  for (const Tensor* t : {&z, &G, &eta, &theta})
    SCN_CHECK(!t->defined() || t->dtype() == b.dtype(), op, ": dtypes differ (", t->str(), " and b ", b.str(), ")");
  check_same_device(op, {&z, &b, &G, &eta, &theta});
  return l;
}

template <class T, bool kFirst>
void forward_cpu(const Tensor& gamma, const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta,
                 const Tensor& theta, ThresholdMode mode, const ChannelLayout& l) {
  const T* zp = kFirst ? nullptr : z.data<T>();
  const T* Gp = kFirst ? nullptr : G.data<T>();
  const T* bp = b.data<T>();
  const T* th = theta.data<T>();
  const T e = eta.data<T>()[0];
  T* out = gamma.data<T>();
  const bool shared = theta.numel() == 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < l.batch; ++n)
    for (int64_t c = 0; c < l.channels; ++c) {
      const T t = th[shared ? 0 : c];
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = base; i < base + l.inner; ++i) {
        const T pre = ista_pre<kFirst>(kFirst ? T(0) : zp[i], bp[i], kFirst ? T(0) : Gp[i], e);
        out[i] = soft_threshold(pre, t, mode);
      }
    }
}

template <class T, bool kFirst>
void backward_cpu(const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta, const Tensor& g, const Tensor& z,
                  const Tensor& b, const Tensor& G, const Tensor& eta, const Tensor& theta, ThresholdMode mode,
                  bool accumulate, const ChannelLayout& l) {
  const T* zp = kFirst ? nullptr : z.data<T>();
  const T* Gp = kFirst ? nullptr : G.data<T>();
  const T* bp = b.data<T>();
  const T* gp = g.data<T>();
  const T* th = theta.data<T>();
  const T e = eta.data<T>()[0];
  T* out = g_pre.data<T>();
  const bool shared = theta.numel() == 1;
  // Per-channel sums in a fixed order (channels in parallel, elements in sequence): deterministic.
  std::vector<double> sum_theta(static_cast<size_t>(l.channels)), sum_eta(static_cast<size_t>(l.channels));
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const T t = th[shared ? 0 : c];
    double st = 0, se = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const int64_t base = (n * l.channels + c) * l.inner;
      // One plane sums in T (vectorisable); planes add up in double, in a fixed order.
      T plane_t = 0, plane_e = 0;
      for (int64_t i = base; i < base + l.inner; ++i) {
        const T zi = kFirst ? T(0) : zp[i], Gi = kFirst ? T(0) : Gp[i];
        const T pre = ista_pre<kFirst>(zi, bp[i], Gi, e);
        const T gi = gp[i] * soft_threshold_derivative(pre, t, mode);
        out[i] = gi;
        plane_t += gi * threshold_sign(pre, mode);
        plane_e += gi * ista_eta_factor<kFirst>(bp[i], Gi);
      }
      st += static_cast<double>(plane_t);
      se += static_cast<double>(plane_e);
    }
    sum_theta[static_cast<size_t>(c)] = -st;
    sum_eta[static_cast<size_t>(c)] = se;
  }
  if (dtheta.defined()) {
    T* dt = dtheta.data<T>();
    if (shared) {
      double total = 0;
      for (double s : sum_theta) total += s;
      dt[0] = static_cast<T>((accumulate ? dt[0] : T(0)) + total);
    } else {
      for (int64_t c = 0; c < l.channels; ++c)
        dt[c] = static_cast<T>((accumulate ? dt[c] : T(0)) + sum_theta[static_cast<size_t>(c)]);
    }
  }
  if (deta.defined()) {
    double total = 0;
    for (double s : sum_eta) total += s;
    T* de = deta.data<T>();
    de[0] = static_cast<T>((accumulate ? de[0] : T(0)) + total);
  }
}

}  // namespace

void ista_update_forward(Context& ctx, const Tensor& gamma, const Tensor& z, const Tensor& b, const Tensor& G,
                         const Tensor& eta, const Tensor& theta, ThresholdMode mode) {
  const char* op = "ista_update_forward";
  const ChannelLayout l = check_ista(op, z, b, G, eta, theta);
  check_shape(op, "gamma", gamma, b.shape());
  SCN_CHECK(gamma.dtype() == b.dtype(), op, ": gamma is ", dtype_name(gamma.dtype()), ", b is ", dtype_name(b.dtype()));
  check_same_device(op, {&gamma, &b});
  SCN_DISPATCH_CUDA(b, cuda::ista_update_forward(ctx, gamma, z, b, G, eta, theta, mode));
  const bool first = !z.defined();
  if (b.dtype() == DType::f64) {
    if (first) return forward_cpu<double, true>(gamma, z, b, G, eta, theta, mode, l);
    return forward_cpu<double, false>(gamma, z, b, G, eta, theta, mode, l);
  }
  if (first) return forward_cpu<float, true>(gamma, z, b, G, eta, theta, mode, l);
  forward_cpu<float, false>(gamma, z, b, G, eta, theta, mode, l);
}

void ista_update_backward(Context& ctx, const Tensor& g_pre, const Tensor& dtheta, const Tensor& deta, const Tensor& g,
                          const Tensor& z, const Tensor& b, const Tensor& G, const Tensor& eta, const Tensor& theta,
                          ThresholdMode mode, bool accumulate) {
  const char* op = "ista_update_backward";
  const ChannelLayout l = check_ista(op, z, b, G, eta, theta);
  check_shape(op, "g", g, b.shape());
  check_shape(op, "g_pre", g_pre, b.shape());
  if (dtheta.defined()) check_shape(op, "dtheta", dtheta, theta.shape());
  if (deta.defined()) check_shape(op, "deta", deta, Shape{1});
  for (const Tensor* t : {&g_pre, &dtheta, &deta, &g})
    SCN_CHECK(!t->defined() || t->dtype() == b.dtype(), op, ": dtypes differ (", t->str(), " and b ", b.str(), ")");
  check_same_device(op, {&g_pre, &dtheta, &deta, &g, &b});
  SCN_DISPATCH_CUDA(b, cuda::ista_update_backward(ctx, g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, accumulate));
  const bool first = !z.defined();
  if (b.dtype() == DType::f64) {
    if (first) return backward_cpu<double, true>(g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, accumulate, l);
    return backward_cpu<double, false>(g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, accumulate, l);
  }
  if (first) return backward_cpu<float, true>(g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, accumulate, l);
  backward_cpu<float, false>(g_pre, dtheta, deta, g, z, b, G, eta, theta, mode, accumulate, l);
}

}  // namespace scn
