#include "kernels/cuda/map.cuh"
#include "kernels/elementwise.h"

namespace scn::cuda {

namespace {

struct FillOp {
  float* y;
  float v;
  __device__ void at(int64_t i) const { y[i] = v; }
  __device__ void at4(int64_t i) const { store4(y, i, make_float4(v, v, v, v)); }
};

struct AddOp {
  float* y;
  const float* a;
  const float* b;
  __device__ void at(int64_t i) const { y[i] = a[i] + b[i]; }
  __device__ void at4(int64_t i) const {
    store4(y, i, zip4(load4(a, i), load4(b, i), [](float p, float q) { return p + q; }));
  }
};

// y = alpha·x + beta·y; y is not read when beta = 0.
struct AxpbyOp {
  float* y;
  const float* x;
  float alpha, beta;
  __device__ void at(int64_t i) const { y[i] = beta == 0.f ? alpha * x[i] : alpha * x[i] + beta * y[i]; }
  __device__ void at4(int64_t i) const {
    const float a = alpha, b = beta;
    if (b == 0.f) {
      store4(y, i, map4(load4(x, i), [a](float p) { return a * p; }));
    } else {
      store4(y, i, zip4(load4(x, i), load4(y, i), [a, b](float p, float q) { return a * p + b * q; }));
    }
  }
};

// y = a + s·alpha[0]·b; the scalar is read on the device by every thread (one cached load).
struct AddScaledOp {
  float* y;
  const float* a;
  const float* b;
  const float* alpha;
  float s;
  __device__ void at(int64_t i) const { y[i] = a[i] + s * alpha[0] * b[i]; }
  __device__ void at4(int64_t i) const {
    const float k = s * alpha[0];
    store4(y, i, zip4(load4(a, i), load4(b, i), [k](float p, float q) { return p + k * q; }));
  }
};

}  // namespace

void fill(Context& ctx, const Tensor& y, float value) {
  NvtxRange range("fill");
  require_cuda_f32("fill", y);
  float* yp = y.data<float>();
  launch_map(ctx, FillOp{yp, value}, y.numel(), aligned16(yp));
}

void add(Context& ctx, const Tensor& y, const Tensor& a, const Tensor& b) {
  NvtxRange range("add");
  require_cuda_f32("add", y);
  AddOp op{y.data<float>(), a.data<float>(), b.data<float>()};
  launch_map(ctx, op, y.numel(), aligned16(op.y, op.a, op.b));
}

void axpby(Context& ctx, const Tensor& y, float alpha, const Tensor& x, float beta) {
  NvtxRange range("axpby");
  require_cuda_f32("axpby", y);
  AxpbyOp op{y.data<float>(), x.data<float>(), alpha, beta};
  launch_map(ctx, op, y.numel(), aligned16(op.y, op.x));
}

void add_scaled(Context& ctx, const Tensor& y, const Tensor& a, float s, const Tensor& alpha, const Tensor& b) {
  NvtxRange range("add_scaled");
  require_cuda_f32("add_scaled", y);
  AddScaledOp op{y.data<float>(), a.data<float>(), b.data<float>(), alpha.data<float>(), s};
  launch_map(ctx, op, y.numel(), aligned16(op.y, op.a, op.b));
}

}  // namespace scn::cuda
