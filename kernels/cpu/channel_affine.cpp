#include "kernels/channel_affine.h"

#include <vector>

#include "core/dispatch.h"
#include "kernels/channel_layout.h"

namespace scn {

namespace {

template <class T>
void forward_cpu(const Tensor& y, const Tensor& x, const Tensor& scale, const Tensor& bias, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  const T* sp = scale.defined() ? scale.data<T>() : nullptr;
  const T* bp = bias.defined() ? bias.data<T>() : nullptr;
  T* yp = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < l.batch; ++n)
    for (int64_t c = 0; c < l.channels; ++c) {
      const T s = sp ? sp[c] : T(1), b = bp ? bp[c] : T(0);
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) yp[base + i] = xp[base + i] * s + b;
    }
}

template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dscale, const Tensor& dbias, const Tensor& dy, const Tensor& x,
                  const Tensor& scale, bool accumulate, const ChannelLayout& l) {
  const T* gp = dy.data<T>();
  const T* xp = dscale.defined() ? x.data<T>() : nullptr;
  const T* sp = scale.defined() ? scale.data<T>() : nullptr;
  T* dxp = dx.defined() ? dx.data<T>() : nullptr;
  T* dsp = dscale.defined() ? dscale.data<T>() : nullptr;
  T* dbp = dbias.defined() ? dbias.data<T>() : nullptr;
  // Channels in parallel, elements of one channel in sequence: the sums do not depend on the thread count.
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    const T s = sp ? sp[c] : T(1);
    double sum_gx = 0, sum_g = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const int64_t base = (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const T g = gp[base + i];  // read before dx (which may alias dy) is written
        if (xp) sum_gx += static_cast<double>(g) * static_cast<double>(xp[base + i]);
        sum_g += static_cast<double>(g);
        if (dxp) dxp[base + i] = g * s;
      }
    }
    if (dsp) dsp[c] = static_cast<T>((accumulate ? static_cast<double>(dsp[c]) : 0.0) + sum_gx);
    if (dbp) dbp[c] = static_cast<T>((accumulate ? static_cast<double>(dbp[c]) : 0.0) + sum_g);
  }
}

void check_float(const char* op, const Tensor& x) {
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x is ", dtype_name(x.dtype()),
            ", expected f32 or f64");
}

void check_optional(const char* op, const char* name, const Tensor& t, const ChannelLayout& l, DType dtype) {
  if (!t.defined()) return;
  check_per_channel(op, name, t, l, /*allow_shared=*/false);
  check_dtype(op, name, t, dtype);
}

}  // namespace

void channel_affine_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& scale, const Tensor& bias) {
  const char* op = "channel_affine_forward";
  const ChannelLayout l = channel_layout(op, x);
  check_float(op, x);
  check_shape(op, "y", y, x.shape());
  check_dtype(op, "y", y, x.dtype());
  check_optional(op, "scale", scale, l, x.dtype());
  check_optional(op, "bias", bias, l, x.dtype());
  check_same_device(op, {&y, &x, &scale, &bias});
  SCN_DISPATCH_CUDA(x, cuda::channel_affine_forward(ctx, y, x, scale, bias));
  if (x.dtype() == DType::f64) return forward_cpu<double>(y, x, scale, bias, l);
  forward_cpu<float>(y, x, scale, bias, l);
}

void channel_affine_backward(Context& ctx, const Tensor& dx, const Tensor& dscale, const Tensor& dbias,
                             const Tensor& dy, const Tensor& x, const Tensor& scale, bool accumulate) {
  const char* op = "channel_affine_backward";
  check_defined(op, "dy", dy);
  const ChannelLayout l = channel_layout(op, dy);
  check_float(op, dy);
  const DType dt = dy.dtype();
  if (dx.defined()) {
    check_shape(op, "dx", dx, dy.shape());
    check_dtype(op, "dx", dx, dt);
  }
  if (dscale.defined()) {
    check_shape(op, "x", x, dy.shape());  // dscale needs the forward input
    check_dtype(op, "x", x, dt);
  }
  check_optional(op, "dscale", dscale, l, dt);
  check_optional(op, "dbias", dbias, l, dt);
  check_optional(op, "scale", scale, l, dt);
  check_same_device(op, {&dx, &dscale, &dbias, &dy, &x, &scale});
  SCN_DISPATCH_CUDA(dy, cuda::channel_affine_backward(ctx, dx, dscale, dbias, dy, x, scale, accumulate));
  if (dt == DType::f64) return backward_cpu<double>(dx, dscale, dbias, dy, x, scale, accumulate, l);
  backward_cpu<float>(dx, dscale, dbias, dy, x, scale, accumulate, l);
}

}  // namespace scn
