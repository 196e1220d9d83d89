#include "kernels/channel_cursor.h"
#include "kernels/channel_layout.h"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/per_channel.cuh"
#include "kernels/reduce.h"

namespace scn::cuda {

namespace {

// NaN wins, otherwise the larger value (fmax would drop NaNs and hide divergence).
__device__ inline double max_nan(double m, double a) { return (isnan(a) || a > m) ? a : m; }

// Block-wide max with max_nan; every thread gets the result. `scratch` holds 32 values.
__device__ double block_max(double v, double* scratch) {
  for (int off = 16; off > 0; off >>= 1) v = max_nan(v, __shfl_down_sync(0xffffffffu, v, off));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? scratch[threadIdx.x] : 0.0;
  if (warp == 0)
    for (int off = 16; off > 0; off >>= 1) v = max_nan(v, __shfl_down_sync(0xffffffffu, v, off));
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

template <bool kMaxAbs>
__device__ inline double combine(double acc, float v) {
  return kMaxAbs ? max_nan(acc, fabs(static_cast<double>(v))) : acc + static_cast<double>(v);
}

// Pass 1: one partial per block over a grid-stride range (float4 groups, then the scalar tail).
// With `y` (not null): the products x·y, each in double.
template <bool kMaxAbs>
__global__ void reduce_partial(double* partial, const float* x, const float* y, int64_t n, bool vec) {
  __shared__ double scratch[32];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  double acc = 0;
  int64_t tail = 0;
  if (y) {
    for (int64_t i = tid; i < n; i += stride) acc += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  } else if (vec) {
    for (int64_t i = tid; i < n / 4; i += stride) {
      const float4 v = load4(x, i);
      acc = combine<kMaxAbs>(combine<kMaxAbs>(combine<kMaxAbs>(combine<kMaxAbs>(acc, v.x), v.y), v.z), v.w);
    }
    tail = n / 4 * 4;
  }
  if (!y)
    for (int64_t i = tail + tid; i < n; i += stride) acc = combine<kMaxAbs>(acc, x[i]);
  acc = kMaxAbs ? block_max(acc, scratch) : block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Pass 2, one block: out = combine(partials)·scale, in a fixed order.
template <bool kMaxAbs>
__global__ void reduce_finish(float* out, const double* partial, int blocks, double scale) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) acc = kMaxAbs ? max_nan(acc, partial[b]) : acc + partial[b];
  acc = kMaxAbs ? block_max(acc, scratch) : block_sum(acc, scratch);
  if (threadIdx.x == 0) out[0] = static_cast<float>(acc * scale);
}

template <bool kMaxAbs>
void reduce_all(Context& ctx, const Tensor& out, const Tensor& x, double scale, const Tensor& y = Tensor()) {
  const int64_t n = x.numel();
  const float* xp = x.data<float>();
  const bool vec = aligned16(xp) && !y.defined();
  const int blocks = grid_for(ctx, vec ? n / 4 + 1 : n, reduce_partial<kMaxAbs>);
  double* partial = static_cast<double*>(ctx.workspace(sizeof(double) * blocks));
  reduce_partial<kMaxAbs><<<blocks, kThreads, 0, stream_of(ctx)>>>(partial, xp, y.defined() ? y.data<float>() : nullptr,
                                                                    n, vec);
  SCN_CUDA_CHECK_LAUNCH();
  reduce_finish<kMaxAbs><<<1, kThreads, 0, stream_of(ctx)>>>(out.data<float>(), partial, blocks, scale);
  SCN_CUDA_CHECK_LAUNCH();
}

// nnz pass 1: one count per (channel, block). grid = channel_grid(...).dims() (channels looped past 65,535)
__global__ void nnz_partial(unsigned long long* partial, const float* x, int64_t batch, int64_t inner,
                            int64_t channels) {
  __shared__ unsigned long long scratch[32];
  for (int64_t c = blockIdx.y; c < channels; c += gridDim.y) {
    unsigned long long k = 0;
    for (PlaneCursor p(blockIdx.x * int64_t(blockDim.x) + threadIdx.x, int64_t(gridDim.x) * blockDim.x, inner);
         p.j < batch * inner; p.advance(inner))
      k += x[p.at(channels, c, inner)] != 0.f;
    k = block_sum(k, scratch);
    if (threadIdx.x == 0) partial[c * gridDim.x + blockIdx.x] = k;
  }
}

// One thread per (image, position): channels are few enough (≤ a few thousand) for a serial count.
__global__ void nnz_positions(float* counts, const float* x, int64_t batch, int64_t inner, int64_t channels) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < batch * inner;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = e / inner, i = e - n * inner;
    const float* p = x + n * channels * inner + i;
    int k = 0;
    for (int64_t c = 0; c < channels; ++c) k += p[c * inner] != 0.f;
    counts[e] = static_cast<float>(k);
  }
}

__global__ void nnz_finish(float* counts, const unsigned long long* partial, int64_t channels, int blocks) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < channels; c += int64_t(gridDim.x) * blockDim.x) {
    unsigned long long k = 0;
    for (int b = 0; b < blocks; ++b) k += partial[c * blocks + b];
    counts[c] = static_cast<float>(k);
  }
}

}  // namespace

void reduce_sum(Context& ctx, const Tensor& out, const Tensor& x) {
  NvtxRange range("reduce_sum");
  require_cuda_f32("reduce_sum", x);
  reduce_all<false>(ctx, out, x, 1.0);
}

void reduce_mean(Context& ctx, const Tensor& out, const Tensor& x) {
  NvtxRange range("reduce_mean");
  require_cuda_f32("reduce_mean", x);
  reduce_all<false>(ctx, out, x, 1.0 / static_cast<double>(x.numel()));
}

void reduce_dot(Context& ctx, const Tensor& out, const Tensor& x, const Tensor& y) {
  NvtxRange range("reduce_dot");
  require_cuda_f32("reduce_dot", x);
  reduce_all<false>(ctx, out, x, 1.0, y);
}

void reduce_max_abs(Context& ctx, const Tensor& out, const Tensor& x) {
  NvtxRange range("reduce_max_abs");
  require_cuda_f32("reduce_max_abs", x);
  reduce_all<true>(ctx, out, x, 1.0);
}

void nnz_per_channel(Context& ctx, const Tensor& counts, const Tensor& x) {
  NvtxRange range("nnz_per_channel");
  require_cuda_f32("nnz_per_channel", x);
  const ChannelLayout l = channel_layout("nnz_per_channel", x);
  if (l.channels == 0) return;
  const ChannelGrid grid = channel_grid(ctx, l);
  const int blocks = grid.blocks;
  auto* partial = static_cast<unsigned long long*>(ctx.workspace(sizeof(unsigned long long) * l.channels * blocks));
  nnz_partial<<<grid.dims(), kThreads, 0, stream_of(ctx)>>>(
      partial, x.data<float>(), l.batch, l.inner, l.channels);
  SCN_CUDA_CHECK_LAUNCH();
  nnz_finish<<<grid_for(ctx, l.channels, nnz_finish), kThreads, 0, stream_of(ctx)>>>(counts.data<float>(), partial, l.channels,
                                                                         blocks);
  SCN_CUDA_CHECK_LAUNCH();
}

void nnz_per_position(Context& ctx, const Tensor& counts, const Tensor& x) {
  NvtxRange range("nnz_per_position");
  require_cuda_f32("nnz_per_position", x);
  const ChannelLayout l = channel_layout("nnz_per_position", x);
  if (l.batch * l.inner == 0) return;
  nnz_positions<<<grid_for(ctx, l.batch * l.inner, nnz_positions), kThreads, 0, stream_of(ctx)>>>(counts.data<float>(),
                                                                                 x.data<float>(), l.batch, l.inner,
                                                                                 l.channels);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
