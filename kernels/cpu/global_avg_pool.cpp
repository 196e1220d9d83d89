#include "kernels/global_avg_pool.h"

#include "core/dispatch.h"

namespace scn {

namespace {

template <class T>
void forward_cpu(const Tensor& y, const Tensor& x, int64_t planes, int64_t area) {
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (int64_t i = 0; i < area; ++i) s += static_cast<double>(xp[p * area + i]);
    yp[p] = static_cast<T>(s / static_cast<double>(area));
  }
}

template <class T>
void backward_cpu(const Tensor& dx, const Tensor& dy, int64_t planes, int64_t area) {
  const T* gp = dy.data<T>();
  T* dxp = dx.data<T>();
  const T inv_area = T(1) / static_cast<T>(area);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const T g = gp[p] * inv_area;
    for (int64_t i = 0; i < area; ++i) dxp[p * area + i] = g;
  }
}

// Checks the (N, C, H, W) tensor and its (N, C) partner; returns H·W.
int64_t check_pair(const char* op, const char* big_name, const Tensor& big, const char* small_name,
                   const Tensor& small) {
  check_defined(op, big_name, big);
  SCN_CHECK(big.dtype() == DType::f32 || big.dtype() == DType::f64, op, ": ", big_name, " is ", dtype_name(big.dtype()),
            ", expected f32 or f64");
  SCN_CHECK(big.rank() == 4, op, ": ", big_name, " has shape ", big.shape().str(), ", expected (N, C, H, W)");
  SCN_CHECK(big.size(2) * big.size(3) > 0, op, ": ", big_name, " has empty planes ", big.shape().str());
  check_shape(op, small_name, small, Shape{big.size(0), big.size(1)});
  check_dtype(op, small_name, small, big.dtype());
  check_same_device(op, {&big, &small});
  return big.size(2) * big.size(3);
}

}  // namespace

void global_avg_pool_forward(Context& ctx, const Tensor& y, const Tensor& x) {
  const int64_t area = check_pair("global_avg_pool_forward", "x", x, "y", y);
  SCN_DISPATCH_CUDA(x, cuda::global_avg_pool_forward(ctx, y, x));
  if (x.dtype() == DType::f64) return forward_cpu<double>(y, x, y.numel(), area);
  forward_cpu<float>(y, x, y.numel(), area);
}

void global_avg_pool_backward(Context& ctx, const Tensor& dx, const Tensor& dy) {
  const int64_t area = check_pair("global_avg_pool_backward", "dx", dx, "dy", dy);
  SCN_DISPATCH_CUDA(dx, cuda::global_avg_pool_backward(ctx, dx, dy));
  if (dx.dtype() == DType::f64) return backward_cpu<double>(dx, dy, dy.numel(), area);
  backward_cpu<float>(dx, dy, dy.numel(), area);
}

}  // namespace scn
