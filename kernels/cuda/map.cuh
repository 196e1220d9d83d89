#pragma once
// One grid-stride kernel for element-wise ops. An op is a small struct with
//   __device__ void at(int64_t i) const     one element
//   __device__ void at4(int64_t i4) const   elements 4·i4 .. 4·i4 + 3 as one float4 (all pointers aligned)
// launch_map runs at4 over the whole float4 groups and at over the scalar tail when `vec`, else at for every
// element. Lambdas cannot cross into kernels without --extended-lambda, hence structs.
#include "core/tensor.h"
#include "kernels/cuda/launch.cuh"

namespace scn::cuda {

template <class Op>
__global__ void map_kernel(Op op, int64_t n, bool vec) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  int64_t tail = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t i = tid; i < n4; i += stride) op.at4(i);
    tail = n4 * 4;
  }
  for (int64_t i = tail + tid; i < n; i += stride) op.at(i);
}

template <class Op>
void launch_map(Context& ctx, const Op& op, int64_t n, bool vec) {
  if (n == 0) return;
  map_kernel<<<grid_for(ctx, vec ? n / 4 + 1 : n, map_kernel<Op>), kThreads, 0, stream_of(ctx)>>>(op, n, vec);
  SCN_CUDA_CHECK_LAUNCH();
}

__device__ inline float4 load4(const float* p, int64_t i4) { return reinterpret_cast<const float4*>(p)[i4]; }
__device__ inline void store4(float* p, int64_t i4, float4 v) { reinterpret_cast<float4*>(p)[i4] = v; }

// Component-wise f over one or two float4s.
template <class F>
__device__ inline float4 map4(float4 a, F f) {
  return make_float4(f(a.x), f(a.y), f(a.z), f(a.w));
}
template <class F>
__device__ inline float4 zip4(float4 a, float4 b, F f) {
  return make_float4(f(a.x, b.x), f(a.y, b.y), f(a.z, b.z), f(a.w, b.w));
}

inline void require_cuda_f32(const char* op, const Tensor& t) {
  SCN_CHECK(t.dtype() == DType::f32, op, ": the CUDA engine supports f32 only, got ", dtype_name(t.dtype()));
}

}  // namespace scn::cuda
