// The reference convolution engine: the definitions in kernels/conv2d.h as plain loops, in f32 or f64.
// Each output element is a sum in a fixed order, accumulated in double, so results do not depend on the
// thread count. Every direction is written as a gather (one output element at a time) so that threads
// never write to the same element.
#include "kernels/conv2d.h"

namespace scn::reference {

namespace {

// out = beta·out + sum; beta = 0 does not read out (it may hold garbage, even NaN).
template <class T>
inline void store(T* out, double sum, float beta) {
  *out = static_cast<T>(beta == 0.f ? sum : beta * static_cast<double>(*out) + sum);
}

// The input row (or column) that output position `o` reads through kernel tap `a`: s·o + a − p.
inline int64_t input_index(int64_t o, int64_t a, const ConvGeometry& g) { return o * g.stride + a - g.pad; }

// y[n,o,i,j] = Σ_{c,a,b} x[n,c, s·i+a−p, s·j+b−p] · w[o,c,a,b]
template <class T>
void forward(const Tensor& y, const Tensor& x, const Tensor& w, const ConvGeometry& g, float beta) {
  const T* xp = x.data<T>();
  const T* wp = w.data<T>();
  T* yp = y.data<T>();
  const int64_t k = g.kernel;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < g.out_channels; ++o)
      for (int64_t i = 0; i < g.out_h; ++i)
        for (int64_t j = 0; j < g.out_w; ++j) {
          double sum = 0;
          for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t a = 0; a < k; ++a) {
              const int64_t h = input_index(i, a, g);
              if (h < 0 || h >= g.in_h) continue;
              for (int64_t b = 0; b < k; ++b) {
                const int64_t v = input_index(j, b, g);
                if (v < 0 || v >= g.in_w) continue;
                sum += double(xp[((n * g.in_channels + c) * g.in_h + h) * g.in_w + v]) *
                       double(wp[((o * g.in_channels + c) * k + a) * k + b]);
              }
            }
          store(&yp[((n * g.out_channels + o) * g.out_h + i) * g.out_w + j], sum, beta);
        }
}

// dx[n,c,h,v] = Σ over (o, a, b) with h = s·i+a−p and v = s·j+b−p for some output (i, j) of
// dy[n,o,i,j] · w[o,c,a,b]. For a tap a, i = (h + p − a)/s must be a whole number in [0, Ho).
template <class T>
void backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, const ConvGeometry& g, float beta) {
  const T* gp = dy.data<T>();
  const T* wp = w.data<T>();
  T* dxp = dx.data<T>();
  const int64_t k = g.kernel, s = g.stride;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t c = 0; c < g.in_channels; ++c)
      for (int64_t h = 0; h < g.in_h; ++h)
        for (int64_t v = 0; v < g.in_w; ++v) {
          double sum = 0;
          for (int64_t o = 0; o < g.out_channels; ++o)
            for (int64_t a = 0; a < k; ++a) {
              const int64_t ti = h + g.pad - a;
              if (ti < 0 || ti % s != 0 || ti / s >= g.out_h) continue;
              const int64_t i = ti / s;
              for (int64_t b = 0; b < k; ++b) {
                const int64_t tj = v + g.pad - b;
                if (tj < 0 || tj % s != 0 || tj / s >= g.out_w) continue;
                const int64_t j = tj / s;
                sum += double(gp[((n * g.out_channels + o) * g.out_h + i) * g.out_w + j]) *
                       double(wp[((o * g.in_channels + c) * k + a) * k + b]);
              }
            }
          store(&dxp[((n * g.in_channels + c) * g.in_h + h) * g.in_w + v], sum, beta);
        }
}

// dw[o,c,a,b] = Σ_{n,i,j} dy[n,o,i,j] · x[n,c, s·i+a−p, s·j+b−p]
template <class T>
void backward_weights(const Tensor& dw, const Tensor& x, const Tensor& dy, const ConvGeometry& g, float beta) {
  const T* xp = x.data<T>();
  const T* gp = dy.data<T>();
  T* dwp = dw.data<T>();
  const int64_t k = g.kernel;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < g.out_channels; ++o)
    for (int64_t c = 0; c < g.in_channels; ++c)
      for (int64_t a = 0; a < k; ++a)
        for (int64_t b = 0; b < k; ++b) {
          double sum = 0;
          for (int64_t n = 0; n < g.batch; ++n)
            for (int64_t i = 0; i < g.out_h; ++i) {
              const int64_t h = input_index(i, a, g);
              if (h < 0 || h >= g.in_h) continue;
              for (int64_t j = 0; j < g.out_w; ++j) {
                const int64_t v = input_index(j, b, g);
                if (v < 0 || v >= g.in_w) continue;
                sum += double(gp[((n * g.out_channels + o) * g.out_h + i) * g.out_w + j]) *
                       double(xp[((n * g.in_channels + c) * g.in_h + h) * g.in_w + v]);
              }
            }
          store(&dwp[((o * g.in_channels + c) * k + a) * k + b], sum, beta);
        }
}

}  // namespace

void conv2d_forward(Context&, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta) {
  const ConvGeometry g = conv_geometry(x, y, w, p);
  if (x.dtype() == DType::f64) return forward<double>(y, x, w, g, beta);
  forward<float>(y, x, w, g, beta);
}

void conv2d_backward_data(Context&, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta) {
  const ConvGeometry g = conv_geometry(dx, dy, w, p);
  if (dx.dtype() == DType::f64) return backward_data<double>(dx, dy, w, g, beta);
  backward_data<float>(dx, dy, w, g, beta);
}

void conv2d_backward_weights(Context&, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p, float beta) {
  const ConvGeometry g = conv_geometry(x, dy, dw, p);
  if (x.dtype() == DType::f64) return backward_weights<double>(dw, x, dy, g, beta);
  backward_weights<float>(dw, x, dy, g, beta);
}

}  // namespace scn::reference
