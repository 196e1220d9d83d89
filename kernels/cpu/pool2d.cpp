#include "kernels/pool2d.h"

#include <algorithm>
#include <cstdint>

#include "core/dispatch.h"
#include "kernels/pool_math.h"

namespace scn {

namespace {

struct PoolDims {
  int64_t planes, h, w, ho, wo;
};

template <class T>
void max_forward_cpu(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2d& p, const PoolDims& d) {
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  int32_t* ip = indices.data<int32_t>();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < d.planes; ++pl) {
    const T* in = xp + pl * d.h * d.w;
    for (int64_t oh = 0; oh < d.ho; ++oh) {
      const PoolSpan rows = pool_window(oh, d.h, p.kernel, p.stride, p.pad);
      for (int64_t ow = 0; ow < d.wo; ++ow) {
        const PoolSpan cols = pool_window(ow, d.w, p.kernel, p.stride, p.pad);
        int64_t best_at = rows.begin * d.w + cols.begin;
        T best = in[best_at];
        for (int64_t ih = rows.begin; ih < rows.end; ++ih)
          for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
            const T v = in[ih * d.w + iw];
            if (v > best || (v != v && best == best)) {  // strictly greater: the first maximum wins; NaN wins
              best = v;
              best_at = ih * d.w + iw;
            }
          }
        const int64_t o = (pl * d.ho + oh) * d.wo + ow;
        yp[o] = best;
        ip[o] = static_cast<int32_t>(best_at);
      }
    }
  }
}

template <class T>
void max_backward_cpu(const Tensor& dx, const Tensor& dy, const Tensor& indices, const PoolDims& d) {
  const T* gp = dy.data<T>();
  const int32_t* ip = indices.data<int32_t>();
  T* dxp = dx.data<T>();
  const int64_t plane = d.h * d.w;
  int64_t first_bad = INT64_MAX;  // an exception must not leave the parallel region: report after it
#pragma omp parallel for schedule(static) reduction(min : first_bad)
  for (int64_t pl = 0; pl < d.planes; ++pl) {
    T* out = dxp + pl * plane;
    for (int64_t i = 0; i < plane; ++i) out[i] = T(0);
    // Outputs in raster order: the same summation order as the CUDA gather.
    for (int64_t o = pl * d.ho * d.wo; o < (pl + 1) * d.ho * d.wo; ++o) {
      const int32_t at = ip[o];
      if (at < 0 || at >= plane) {
        first_bad = std::min(first_bad, o);
        continue;
      }
      out[at] += gp[o];
    }
  }
  SCN_CHECK(first_bad == INT64_MAX, "max_pool2d_backward: indices[", first_bad, "] = ", ip[first_bad],
            " is outside the input plane of ", plane, " elements");
}

template <class T>
void avg_forward_cpu(const Tensor& y, const Tensor& x, const Pool2d& p, const PoolDims& d) {
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  const T inv_area = T(1) / static_cast<T>(p.kernel * p.kernel);
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < d.planes; ++pl) {
    const T* in = xp + pl * d.h * d.w;
    for (int64_t oh = 0; oh < d.ho; ++oh) {
      const PoolSpan rows = pool_window(oh, d.h, p.kernel, p.stride, p.pad);
      for (int64_t ow = 0; ow < d.wo; ++ow) {
        const PoolSpan cols = pool_window(ow, d.w, p.kernel, p.stride, p.pad);
        T s = 0;
        for (int64_t ih = rows.begin; ih < rows.end; ++ih)
          for (int64_t iw = cols.begin; iw < cols.end; ++iw) s += in[ih * d.w + iw];
        yp[(pl * d.ho + oh) * d.wo + ow] = s * inv_area;
      }
    }
  }
}

template <class T>
void avg_backward_cpu(const Tensor& dx, const Tensor& dy, const Pool2d& p, const PoolDims& d) {
  const T* gp = dy.data<T>();
  T* dxp = dx.data<T>();
  const T inv_area = T(1) / static_cast<T>(p.kernel * p.kernel);
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < d.planes; ++pl) {
    const T* g = gp + pl * d.ho * d.wo;
    for (int64_t ih = 0; ih < d.h; ++ih) {
      const PoolSpan rows = pool_covering(ih, d.ho, p.kernel, p.stride, p.pad);
      for (int64_t iw = 0; iw < d.w; ++iw) {
        const PoolSpan cols = pool_covering(iw, d.wo, p.kernel, p.stride, p.pad);
        T s = 0;
        for (int64_t oh = rows.begin; oh < rows.end; ++oh)
          for (int64_t ow = cols.begin; ow < cols.end; ++ow) s += g[oh * d.wo + ow];
        dxp[(pl * d.h + ih) * d.w + iw] = s * inv_area;
      }
    }
  }
}

void check_float(const char* op, const char* name, const Tensor& t) {
  check_defined(op, name, t);
  SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": ", name, " is ", dtype_name(t.dtype()),
            ", expected f32 or f64");
}

// Checks an (N, C, H, W) input and its pooled (N, C, Ho, Wo) partner; returns the sizes.
PoolDims check_pair(const char* op, const char* in_name, const Tensor& in, const char* out_name, const Tensor& out,
                    const Pool2d& p) {
  check_float(op, in_name, in);
  SCN_CHECK(in.rank() == 4, op, ": ", in_name, " has shape ", in.shape().str(), ", expected (N, C, H, W)");
  check_shape(op, out_name, out, pool2d_output_shape(op, in.shape(), p));
  check_dtype(op, out_name, out, in.dtype());
  return PoolDims{in.size(0) * in.size(1), in.size(2), in.size(3), out.size(2), out.size(3)};
}

}  // namespace

int64_t pool2d_output_size(const char* op, int64_t in, const Pool2d& p) {
  SCN_CHECK(p.kernel >= 1 && p.stride >= 1 && p.pad >= 0, op, ": invalid pooling kernel ", p.kernel, ", stride ",
            p.stride, ", pad ", p.pad);
  SCN_CHECK(2 * p.pad <= p.kernel, op, ": pad ", p.pad, " exceeds half the kernel ", p.kernel);
  SCN_CHECK(in + 2 * p.pad >= p.kernel, op, ": input extent ", in, " with pad ", p.pad, " is smaller than the kernel ",
            p.kernel);
  return (in + 2 * p.pad - p.kernel) / p.stride + 1;
}

Shape pool2d_output_shape(const char* op, const Shape& x, const Pool2d& p) {
  SCN_CHECK(x.rank() == 4, op, ": expected an (N, C, H, W) shape, got ", x.str());
  return Shape{x[0], x[1], pool2d_output_size(op, x[2], p), pool2d_output_size(op, x[3], p)};
}

void max_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2d& p) {
  const char* op = "max_pool2d_forward";
  const PoolDims d = check_pair(op, "x", x, "y", y, p);
  check_shape(op, "indices", indices, y.shape());
  check_dtype(op, "indices", indices, DType::i32);
  SCN_CHECK(d.h * d.w <= INT32_MAX, op, ": input planes of ", d.h * d.w, " elements overflow i32 indices");
  check_same_device(op, {&y, &indices, &x});
  SCN_DISPATCH_CUDA(x, cuda::max_pool2d_forward(ctx, y, indices, x, p));
  if (d.ho * d.wo == 0) return;
  if (x.dtype() == DType::f64) return max_forward_cpu<double>(y, indices, x, p, d);
  max_forward_cpu<float>(y, indices, x, p, d);
}

void max_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& indices, const Pool2d& p) {
  const char* op = "max_pool2d_backward";
  const PoolDims d = check_pair(op, "dx", dx, "dy", dy, p);
  check_shape(op, "indices", indices, dy.shape());
  check_dtype(op, "indices", indices, DType::i32);
  check_same_device(op, {&dx, &dy, &indices});
  SCN_DISPATCH_CUDA(dx, cuda::max_pool2d_backward(ctx, dx, dy, indices, p));
  if (dx.dtype() == DType::f64) return max_backward_cpu<double>(dx, dy, indices, d);
  max_backward_cpu<float>(dx, dy, indices, d);
}

void avg_pool2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Pool2d& p) {
  const char* op = "avg_pool2d_forward";
  const PoolDims d = check_pair(op, "x", x, "y", y, p);
  check_same_device(op, {&y, &x});
  SCN_DISPATCH_CUDA(x, cuda::avg_pool2d_forward(ctx, y, x, p));
  if (x.dtype() == DType::f64) return avg_forward_cpu<double>(y, x, p, d);
  avg_forward_cpu<float>(y, x, p, d);
}

void avg_pool2d_backward(Context& ctx, const Tensor& dx, const Tensor& dy, const Pool2d& p) {
  const char* op = "avg_pool2d_backward";
  const PoolDims d = check_pair(op, "dx", dx, "dy", dy, p);
  check_same_device(op, {&dx, &dy});
  SCN_DISPATCH_CUDA(dx, cuda::avg_pool2d_backward(ctx, dx, dy, p));
  if (dx.dtype() == DType::f64) return avg_backward_cpu<double>(dx, dy, p, d);
  avg_backward_cpu<float>(dx, dy, p, d);
}

}  // namespace scn
