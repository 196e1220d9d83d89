#include "kernels/cuda/per_channel.cuh"
#include "kernels/linear.h"

namespace scn::cuda {

namespace {

// cuBLAS is column-major; a row-major (r, c) matrix is the column-major (c, r) matrix, its transpose. So every
// row-major product C = A·B is computed as the column-major Cᵀ = Bᵀ·Aᵀ with the same pointers:
//   y  (N, out) = x·Wᵀ    →  yᵀ  (out × N)  = op_T(W as in × out)·(xᵀ as in × N)
//   dx (N, in)  = dy·W    →  dxᵀ (in × N)   = (Wᵀ as in × out)·(dyᵀ as out × N)
//   dW (out,in) = dyᵀ·x   →  dWᵀ (in × out) = (xᵀ as in × N)·op_T(dyᵀ as out × N)

// y[n, o] += b[o], float4 when a row is a multiple of 4 long and aligned.
__global__ void add_bias_vec4(float4* y, const float4* b, int64_t out4, int64_t n4) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4; i += int64_t(gridDim.x) * blockDim.x) {
    float4 v = y[i];
    const float4 c = b[i % out4];
    y[i] = make_float4(v.x + c.x, v.y + c.y, v.z + c.z, v.w + c.w);
  }
}

__global__ void add_bias_scalar(float* y, const float* b, int64_t out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += b[i % out];
}

// db[o] (+)= Σ_n dy[n, o]: one thread per column, the batch in order (deterministic; neighbouring threads read
// neighbouring columns, so the loads coalesce).
__global__ void bias_grad(float* db, const float* dy, int64_t batch, int64_t out, bool accumulate) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < out; o += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int64_t n = 0; n < batch; ++n) s += dy[n * out + o];
    db[o] = (accumulate ? db[o] : 0.f) + s;
  }
}

int as_int(const char* op, int64_t v) {
  SCN_CHECK(v <= INT32_MAX, op, ": dimension ", v, " exceeds cuBLAS's int range");
  return static_cast<int>(v);
}

}  // namespace

void linear_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  const char* op = "linear_forward";
  NvtxRange range(op);
  require_cuda_f32(op, x);
  const int batch = as_int(op, x.size(0)), in = as_int(op, x.size(1)), out = as_int(op, w.size(0));
  if (y.numel() == 0) return;
  const float one = 1.f, zero = 0.f;
  // k = in may be 0: cuBLAS then only scales y by beta = 0, leaving y = 0 (+ b below), as the CPU does.
  SCN_CUBLAS_CHECK(cublasSgemm(cublas_handle(ctx, ctx.allow_tf32), CUBLAS_OP_T, CUBLAS_OP_N, out, batch, in, &one, w.data<float>(),
                               std::max(in, 1), x.data<float>(), std::max(in, 1), &zero, y.data<float>(), out));
  if (!b.defined()) return;
  const int64_t n = y.numel();
  if (out % 4 == 0 && aligned16(y.data<float>(), b.data<float>())) {
    add_bias_vec4<<<grid_for(ctx, n / 4, add_bias_vec4), kThreads, 0, stream_of(ctx)>>>(
        reinterpret_cast<float4*>(y.data<float>()), reinterpret_cast<const float4*>(b.data<float>()), out / 4, n / 4);
  } else {
    add_bias_scalar<<<grid_for(ctx, n, add_bias_scalar), kThreads, 0, stream_of(ctx)>>>(y.data<float>(), b.data<float>(), out, n);
  }
  SCN_CUDA_CHECK_LAUNCH();
}

void linear_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& dy,
                     const Tensor& x, const Tensor& w, bool accumulate) {
  const char* op = "linear_backward";
  NvtxRange range(op);
  require_cuda_f32(op, dy);
  const int batch = as_int(op, dy.size(0)), in = as_int(op, x.size(1)), out = as_int(op, dy.size(1));
  cublasHandle_t handle = cublas_handle(ctx, ctx.allow_tf32);
  const float one = 1.f, zero = 0.f;
  if (dx.defined() && dx.numel() > 0)
    SCN_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, in, batch, out, &one, w.data<float>(), in,
                                 dy.data<float>(), std::max(out, 1), &zero, dx.data<float>(), in));
  if (dw.defined() && dw.numel() > 0)
    SCN_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_T, in, out, batch, &one, x.data<float>(), in,
                                 dy.data<float>(), out, accumulate ? &one : &zero, dw.data<float>(), in));
  if (db.defined() && out > 0) {
    bias_grad<<<grid_for(ctx, out, bias_grad), kThreads, 0, stream_of(ctx)>>>(db.data<float>(), dy.data<float>(), batch, out,
                                                                   accumulate);
    SCN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace scn::cuda
