#include "kernels/reduce.h"

#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "kernels/channel_layout.h"

namespace scn {

namespace {

// Elements per partial result. Fixed (not derived from the thread count) so the sum is the same whatever
// the number of threads.
constexpr int64_t kChunk = 16384;

void check_reduce(const char* op, const Tensor& out, const Tensor& x) {
  check_defined(op, "x", x);
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x is ", dtype_name(x.dtype()),
            ", expected f32 or f64");
  check_shape(op, "out", out, Shape{1});
  SCN_CHECK(out.dtype() == x.dtype(), op, ": out is ", dtype_name(out.dtype()), ", x is ", dtype_name(x.dtype()));
  check_same_device(op, {&out, &x});
}

// NaN wins, otherwise the larger value.
inline double max_nan(double m, double a) { return (std::isnan(a) || a > m) ? a : m; }

// Σ x (or max |x|, or with `y` defined Σ x·y) over fixed chunks, then the chunks in order.
template <class T, bool kMaxAbs>
double reduce_cpu(const Tensor& x, const Tensor& y = Tensor()) {
  const T* xp = x.data<T>();
  const T* yp = y.defined() ? y.data<T>() : nullptr;
  const int64_t n = x.numel();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    double acc = 0;
    const int64_t end = std::min(n, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < end; ++i) {
      const double v = yp ? static_cast<double>(xp[i]) * static_cast<double>(yp[i]) : static_cast<double>(xp[i]);
      acc = kMaxAbs ? max_nan(acc, std::abs(v)) : acc + v;
    }
    partial[static_cast<size_t>(c)] = acc;
  }
  double total = 0;
  for (double p : partial) total = kMaxAbs ? max_nan(total, p) : total + p;
  return total;
}

template <class T>
void store(const Tensor& out, double v) {
  out.data<T>()[0] = static_cast<T>(v);
}

template <class T>
void nnz_cpu(const Tensor& counts, const Tensor& x, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  T* cp = counts.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < l.channels; ++c) {
    int64_t k = 0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const T* plane = xp + (n * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) k += plane[i] != T(0);
    }
    cp[c] = static_cast<T>(k);
  }
}

template <class T>
void nnz_position_cpu(const Tensor& counts, const Tensor& x, const ChannelLayout& l) {
  const T* xp = x.data<T>();
  T* cp = counts.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < l.batch; ++n)
    for (int64_t i = 0; i < l.inner; ++i) {
      int64_t k = 0;
      for (int64_t c = 0; c < l.channels; ++c) k += xp[(n * l.channels + c) * l.inner + i] != T(0);
      cp[n * l.inner + i] = static_cast<T>(k);
    }
}

}  // namespace

void reduce_sum(Context& ctx, const Tensor& out, const Tensor& x) {
  check_reduce("reduce_sum", out, x);
  SCN_DISPATCH_CUDA(x, cuda::reduce_sum(ctx, out, x));
  if (x.dtype() == DType::f64) return store<double>(out, reduce_cpu<double, false>(x));
  store<float>(out, reduce_cpu<float, false>(x));
}

void reduce_mean(Context& ctx, const Tensor& out, const Tensor& x) {
  check_reduce("reduce_mean", out, x);
  SCN_CHECK(x.numel() > 0, "reduce_mean: x is empty (", x.shape().str(), ")");
  SCN_DISPATCH_CUDA(x, cuda::reduce_mean(ctx, out, x));
  const double n = static_cast<double>(x.numel());
  if (x.dtype() == DType::f64) return store<double>(out, reduce_cpu<double, false>(x) / n);
  store<float>(out, reduce_cpu<float, false>(x) / n);
}

void reduce_dot(Context& ctx, const Tensor& out, const Tensor& x, const Tensor& y) {
  check_reduce("reduce_dot", out, x);
  check_shape("reduce_dot", "y", y, x.shape());
  check_dtype("reduce_dot", "y", y, x.dtype());
  check_same_device("reduce_dot", {&x, &y});
  SCN_DISPATCH_CUDA(x, cuda::reduce_dot(ctx, out, x, y));
  if (x.dtype() == DType::f64) return store<double>(out, reduce_cpu<double, false>(x, y));
  store<float>(out, reduce_cpu<float, false>(x, y));
}

void reduce_max_abs(Context& ctx, const Tensor& out, const Tensor& x) {
  check_reduce("reduce_max_abs", out, x);
  SCN_DISPATCH_CUDA(x, cuda::reduce_max_abs(ctx, out, x));
  if (x.dtype() == DType::f64) return store<double>(out, reduce_cpu<double, true>(x));
  store<float>(out, reduce_cpu<float, true>(x));
}

void nnz_per_channel(Context& ctx, const Tensor& counts, const Tensor& x) {
  const char* op = "nnz_per_channel";
  const ChannelLayout l = channel_layout(op, x);
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x is ", dtype_name(x.dtype()),
            ", expected f32 or f64");
  check_shape(op, "counts", counts, Shape{l.channels});
  SCN_CHECK(counts.dtype() == x.dtype(), op, ": counts is ", dtype_name(counts.dtype()), ", x is ",
            dtype_name(x.dtype()));
  check_same_device(op, {&counts, &x});
  SCN_DISPATCH_CUDA(x, cuda::nnz_per_channel(ctx, counts, x));
  if (x.dtype() == DType::f64) return nnz_cpu<double>(counts, x, l);
  nnz_cpu<float>(counts, x, l);
}

void nnz_per_position(Context& ctx, const Tensor& counts, const Tensor& x) {
  const char* op = "nnz_per_position";
  const ChannelLayout l = channel_layout(op, x);
  SCN_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": x is ", dtype_name(x.dtype()),
            ", expected f32 or f64");
  SCN_CHECK(counts.numel() == l.batch * l.inner && (counts.rank() == 0 || counts.size(0) == l.batch), op,
            ": counts is ", counts.shape().str(), ", expected ", l.batch, " images of ", l.inner, " positions");
  SCN_CHECK(counts.dtype() == x.dtype(), op, ": counts is ", dtype_name(counts.dtype()), ", x is ",
            dtype_name(x.dtype()));
  check_same_device(op, {&counts, &x});
  SCN_DISPATCH_CUDA(x, cuda::nnz_per_position(ctx, counts, x));
  if (x.dtype() == DType::f64) return nnz_position_cpu<double>(counts, x, l);
  nnz_position_cpu<float>(counts, x, l);
}

}  // namespace scn
