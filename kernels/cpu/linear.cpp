#include "kernels/linear.h"

#include "core/dispatch.h"

namespace scn {

namespace {

struct LinearDims {
  int64_t batch, in, out;
  // Multiply-adds ×2 of one product of these sizes (forward, dx or dw).
  double flops() const { return 2.0 * static_cast<double>(batch) * static_cast<double>(in) * static_cast<double>(out); }
};

// y[n, o] = b[o] + Σ_i x[n, i]·w[o, i]: each output is a dot product of two contiguous rows. The classifier's
// x and W (at most a few hundred by a few hundred) stay in cache, so no further blocking pays here.
template <class T>
void forward_cpu(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const LinearDims& d) {
  const T* xp = x.data<T>();
  const T* wp = w.data<T>();
  const T* bp = b.defined() ? b.data<T>() : nullptr;
  T* yp = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < d.batch; ++n)
    for (int64_t o = 0; o < d.out; ++o) {
      const T* xr = xp + n * d.in;
      const T* wr = wp + o * d.in;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < d.in; ++i) s += xr[i] * wr[i];
      yp[n * d.out + o] = s + (bp ? bp[o] : T(0));
    }
}

template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& dy, const Tensor& x,
                  const Tensor& w, bool accumulate, const LinearDims& d) {
  const T* gp = dy.data<T>();
  if (dx.defined()) {
    // dx[n, :] = Σ_o dy[n, o]·w[o, :]: row axpys, contiguous in the inner loop.
    const T* wp = w.data<T>();
    T* dxp = dx.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < d.batch; ++n) {
      T* r = dxp + n * d.in;
      for (int64_t i = 0; i < d.in; ++i) r[i] = T(0);
      for (int64_t o = 0; o < d.out; ++o) {
        const T g = gp[n * d.out + o];
        const T* wr = wp + o * d.in;
#pragma omp simd
        for (int64_t i = 0; i < d.in; ++i) r[i] += g * wr[i];
      }
    }
  }
  if (dw.defined()) {
    // dw[o, :] (+)= Σ_n dy[n, o]·x[n, :]: rows of dw in parallel, the batch in sequence (deterministic).
    const T* xp = x.data<T>();
    T* dwp = dw.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < d.out; ++o) {
      T* r = dwp + o * d.in;
      if (!accumulate)
        for (int64_t i = 0; i < d.in; ++i) r[i] = T(0);
      for (int64_t n = 0; n < d.batch; ++n) {
        const T g = gp[n * d.out + o];
        const T* xr = xp + n * d.in;
#pragma omp simd
        for (int64_t i = 0; i < d.in; ++i) r[i] += g * xr[i];
      }
    }
  }
  if (db.defined()) {
    T* dbp = db.data<T>();
    for (int64_t o = 0; o < d.out; ++o) {
      T s = 0;
      for (int64_t n = 0; n < d.batch; ++n) s += gp[n * d.out + o];
      dbp[o] = (accumulate ? dbp[o] : T(0)) + s;
    }
  }
}

void check_matrix(const char* op, const char* name, const Tensor& t, DType dtype) {
  check_defined(op, name, t);
  SCN_CHECK(t.rank() == 2, op, ": ", name, " has shape ", t.shape().str(), ", expected a matrix (flatten with view)");
  check_dtype(op, name, t, dtype);
}

void check_float(const char* op, const char* name, const Tensor& t) {
  check_defined(op, name, t);
  SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": ", name, " is ", dtype_name(t.dtype()),
            ", expected f32 or f64");
}

}  // namespace

void linear_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  const char* op = "linear_forward";
  check_float(op, "x", x);
  const DType dt = x.dtype();
  check_matrix(op, "x", x, dt);
  check_matrix(op, "w", w, dt);
  const LinearDims d{x.size(0), x.size(1), w.size(0)};
  check_shape(op, "w", w, Shape{d.out, d.in});
  check_shape(op, "y", y, Shape{d.batch, d.out});
  check_dtype(op, "y", y, dt);
  if (b.defined()) {
    check_shape(op, "b", b, Shape{d.out});
    check_dtype(op, "b", b, dt);
  }
  check_same_device(op, {&y, &x, &w, &b});
  count_flops(d.flops());
  SCN_DISPATCH_CUDA(x, cuda::linear_forward(ctx, y, x, w, b));
  if (dt == DType::f64) return forward_cpu<double>(y, x, w, b, d);
  forward_cpu<float>(y, x, w, b, d);
}

void linear_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& dy,
                     const Tensor& x, const Tensor& w, bool accumulate) {
  const char* op = "linear_backward";
  check_float(op, "dy", dy);
  const DType dt = dy.dtype();
  check_matrix(op, "dy", dy, dt);
  check_matrix(op, "x", x, dt);
  const LinearDims d{dy.size(0), x.size(1), dy.size(1)};
  check_shape(op, "x", x, Shape{d.batch, d.in});
  if (dx.defined()) {
    check_shape(op, "dx", dx, x.shape());
    check_dtype(op, "dx", dx, dt);
    check_shape(op, "w", w, Shape{d.out, d.in});
    check_dtype(op, "w", w, dt);
  }
  if (dw.defined()) {
    check_shape(op, "dw", dw, Shape{d.out, d.in});
    check_dtype(op, "dw", dw, dt);
  }
  if (db.defined()) {
    check_shape(op, "db", db, Shape{d.out});
    check_dtype(op, "db", db, dt);
  }
  check_same_device(op, {&dx, &dw, &db, &dy, &x, &w});
  count_flops((dx.defined() ? d.flops() : 0.0) + (dw.defined() ? d.flops() : 0.0));
  SCN_DISPATCH_CUDA(dy, cuda::linear_backward(ctx, dx, dw, db, dy, x, w, accumulate));
  if (dt == DType::f64) return backward_cpu<double>(dx, dw, db, dy, x, w, accumulate, d);
  backward_cpu<float>(dx, dw, db, dy, x, w, accumulate, d);
}

}  // namespace scn
