#pragma once
// CUDA building blocks of the per-channel ops (channel affine, batch norm) over (N, C, inner) tensors:
//   channel_map          y[i] = f(a[i], b[i], c) element-wise, float4 when every channel plane is a multiple of
//                        4 long and the pointers are 16-byte aligned, scalar otherwise;
//   channel_dot_partial  per (channel, block) partial sums Σ dy·(x − shift[c]) and Σ dy in a fixed order (pass 1
//                        of a deterministic two-pass reduction; pass 2 is a small per-op finish kernel), with an
//                        optional fused write dx = dy·scale[c].
#include <algorithm>

#include "core/dtype.h"
#include "core/tensor.h"
#include "kernels/channel_cursor.h"
#include "kernels/channel_layout.h"
#include "kernels/launch_shape.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/map.cuh"  // require_cuda_f32

namespace scn::cuda {

template <class T>
inline const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
inline T* mut_ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class F>
__global__ void channel_map_vec4(float4* y, const float4* a, const float4* b, int64_t inner4, int64_t channels,
                                 int64_t n4, F f) {
  for (ChannelCursor e(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner4, channels);
       e.i < n4; e.advance(inner4, channels)) {
    const int64_t i = e.i, c = e.c;
    const float4 u = a[i], v = b[i];
    y[i] = make_float4(f(u.x, v.x, c), f(u.y, v.y, c), f(u.z, v.z, c), f(u.w, v.w, c));
  }
}

template <class F>
__global__ void channel_map_scalar(float* y, const float* a, const float* b, int64_t inner, int64_t channels, int64_t n,
                                   F f) {
  for (ChannelCursor e(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner, channels);
       e.i < n; e.advance(inner, channels))
    y[e.i] = f(a[e.i], b[e.i], e.c);
}

// y[i] = f(a[i], b[i], channel of i); b == nullptr passes a twice. y may alias a or b (each element is read
// before it is written, by the same thread).
template <class F>
void channel_map(Context& ctx, float* y, const float* a, const float* b, const ChannelLayout& l, F f) {
  if (!b) b = a;
  const int64_t n = l.batch * l.channels * l.inner;
  if (n == 0) return;
  if (l.inner % 4 == 0 && aligned16(y, a, b)) {
    channel_map_vec4<<<grid_for(ctx, n / 4, channel_map_vec4<F>), kThreads, 0, stream_of(ctx)>>>(
        reinterpret_cast<float4*>(y), reinterpret_cast<const float4*>(a), reinterpret_cast<const float4*>(b),
        l.inner / 4, l.channels, n / 4, f);
  } else {
    channel_map_scalar<<<grid_for(ctx, n, channel_map_scalar<F>), kThreads, 0, stream_of(ctx)>>>(y, a, b, l.inner, l.channels, n, f);
  }
  SCN_CUDA_CHECK_LAUNCH();
}

// y = a·scale[c] + shift[c] (nullptr: 1 and 0).
struct AffineMap {
  const float* scale;
  const float* shift;
  __device__ float operator()(float a, float, int64_t c) const {
    return a * (scale ? scale[c] : 1.f) + (shift ? shift[c] : 0.f);
  }
};

// The grid of a per-channel reduction (kernels/launch_shape.h): blocks per channel, rows of channels.
struct ChannelGrid {
  int blocks = 1;
  int rows = 1;
  dim3 dims() const { return dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(rows)); }
};

inline ChannelGrid channel_grid(Context& ctx, const ChannelLayout& l) {
  const ChannelGridShape g =
      channel_grid_shape(l.batch, l.inner, l.channels, ctx.cuda().properties.multiProcessorCount, kThreads);
  return ChannelGrid{g.blocks, g.rows};
}

// partial[c·blocks + b] = Σ dy·(x − shift[c]) and partial[(C + c)·blocks + b] = Σ dy over block b's share of
// channel c (x == nullptr: the first sum is skipped; shift == nullptr: 0). When dx != nullptr also writes
// dx = dy·scale[c] (scale == nullptr: 1); dx may alias dy. grid = channel_grid(...).dims(). (A template so
// that every translation unit including this header may instantiate it.)
template <class T>
__global__ void channel_dot_partial(T* partial, T* dx, const T* dy, const T* x, const T* shift, const T* scale,
                                    int64_t batch, int64_t inner, int64_t channels) {
  __shared__ T scratch[32];
  const int64_t per_channel = batch * inner;
  for (int64_t c = blockIdx.y; c < channels; c += gridDim.y) {
    const T mu = shift ? shift[c] : T(0), s = scale ? scale[c] : T(1);
    T sum_gx = 0, sum_g = 0;
    for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner);
         p.j < per_channel; p.advance(inner)) {
      const int64_t i = p.at(channels, c, inner);
      const T g = dy[i];
      if (x) sum_gx += g * (x[i] - mu);
      sum_g += g;
      if (dx) dx[i] = g * s;
    }
    sum_gx = block_sum(sum_gx, scratch);
    sum_g = block_sum(sum_g, scratch);
    if (threadIdx.x == 0) {
      partial[c * gridDim.x + blockIdx.x] = sum_gx;
      partial[(channels + c) * gridDim.x + blockIdx.x] = sum_g;
    }
  }
}

}  // namespace scn::cuda
