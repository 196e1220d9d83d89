#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/patch_pursuit.h"
#include "kernels/pursuit_math.h"
#include "kernels/threshold_math.h"

namespace scn::cuda {

namespace {

// One block codes a tile of P pixels of one image for all K steps. Its four code buffers (c, zₜ, zₜ₊₁, γ)
// are Cp×P floats in shared memory, with Cp = C rounded up to 4 and P·Cp about 4096 (64 KiB in all). Each
// step is a small GEMM, M' (Cp×Cp) by zₜ (Cp×P): every thread owns register tiles of 4 rows × 4 pixels,
// reads M'ᵀ's column of its rows and zₜ's row of its pixels as float4s, and finishes its outputs in place
// (threshold, FISTA extrapolation), so one __syncthreads per step orders the steps.
// M'ᵀ (I − ηM, zero-padded to Cp) sits in shared memory when it fits beside the codes (Cp ≤ ~200 at fp32),
// and is read through L1/L2 otherwise (Cp = 256: 256 KiB, every block reads it each step from L2). Both
// are fp32: a narrower copy would move the codes by ~1e-3, far beyond what the CPU comparison allows.
constexpr int kBlock = 256;
constexpr int kGroup = 4;            // rows and pixels of one thread's register tile
constexpr int kTileElements = 4096;  // Cp·P: 64 KiB of codes per block

struct Geometry {
  int channels = 0, rows = 0, pixels = 0;  // C, Cp, P
  long long hw = 0, tiles_per_image = 0;
  size_t code_bytes = 0, gram_bytes = 0;
};

Geometry geometry_of(const Tensor& b) {
  Geometry g;
  g.channels = static_cast<int>(b.size(1));
  g.rows = (g.channels + kGroup - 1) / kGroup * kGroup;
  g.pixels = std::clamp(kTileElements / g.rows / kGroup * kGroup, kGroup, 256);
  g.hw = b.numel() / (b.size(0) * b.size(1));
  g.tiles_per_image = (g.hw + g.pixels - 1) / g.pixels;
  g.code_bytes = 4ull * g.rows * g.pixels * sizeof(float);
  g.gram_bytes = static_cast<size_t>(g.rows) * g.rows * sizeof(float);
  return g;
}

// M'ᵀ zero-padded: mt[j·Cp + i] = δᵢⱼ − η·M[i][j] for i, j < C, and 0 in the padding.
__global__ void pad_step_matrix(float* mt, const float* gram, const float* eta, int channels, int rows) {
  const float e = eta[0];
  const long long n = static_cast<long long>(rows) * rows;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(k / rows), i = static_cast<int>(k % rows);
    mt[k] = (i < channels && j < channels) ? (i == j ? 1.f : 0.f) - e * gram[static_cast<long long>(i) * channels + j]
                                           : 0.f;
  }
}

struct PursuitArgs {
  const float* b;
  float* gamma;
  float* previous;  // null: not written
  const float* mt;  // M'ᵀ padded, in global memory
  const float* eta;
  const float* theta;
  bool shared_theta, gram_in_shared, fista;
  ThresholdMode mode;
  int iters;
  Geometry g;
};

__device__ inline float theta_of(const PursuitArgs& a, int i) {
  return i < a.g.channels ? a.theta[a.shared_theta ? 0 : i] : 0.f;
}

// nonneg: θ is folded into the constant, S is max(·, 0); two-sided: S_θ.
__device__ inline float threshold_of(const PursuitArgs& a, float pre, int i) {
  return a.mode == ThresholdMode::nonneg ? fmaxf(pre, 0.f) : soft_threshold(pre, theta_of(a, i), a.mode);
}

__global__ void __launch_bounds__(kBlock) pursue_tiles(PursuitArgs a) {
  extern __shared__ float4 shared4[];
  const Geometry& g = a.g;
  const int rows = g.rows, P = g.pixels, elements = rows * P;
  float* constant = reinterpret_cast<float*>(shared4);
  float* point = constant + elements;
  float* next = point + elements;
  float* code = next + elements;
  const float* mt = a.mt;
  if (a.gram_in_shared) {
    float4* m = reinterpret_cast<float4*>(code + elements);
    const float4* src = reinterpret_cast<const float4*>(a.mt);
    for (int k = threadIdx.x; k < rows * rows / 4; k += blockDim.x) m[k] = src[k];
    mt = reinterpret_cast<const float*>(m);
  }
  const long long image = blockIdx.x / g.tiles_per_image;
  const long long first = (blockIdx.x % g.tiles_per_image) * P;
  const int lanes = static_cast<int>(min(static_cast<long long>(P), g.hw - first));
  const long long base = image * g.channels * g.hw + first;  // channel 0 of the tile's first pixel
  const float e = a.eta[0];
  // c = ηb − θ (nonneg) or ηb, and the first code γ₀ = S(c): γ₀ of `code`, z₁ of `point`.
  for (int k = threadIdx.x; k < elements; k += blockDim.x) {
    const int i = k / P, l = k % P;
    float c = 0.f;
    if (i < g.channels && l < lanes) {
      c = e * a.b[base + i * g.hw + l];
      if (a.mode == ThresholdMode::nonneg) c -= theta_of(a, i);
    }
    constant[k] = c;
    const float first_code = threshold_of(a, c, i);
    if (a.iters == 0) {
      if (i < g.channels && l < lanes) a.gamma[base + i * g.hw + l] = first_code;
      continue;
    }
    code[k] = first_code;
    point[k] = first_code;
  }
  if (a.iters == 0) return;
  __syncthreads();
  double momentum = 1.0;
  if (a.fista) fista_next_momentum(momentum);  // β₁ = 0: z₁ = γ₀
  const int groups_per_row = P / kGroup, groups = (rows / kGroup) * groups_per_row;
  for (int t = 1; t <= a.iters; ++t) {
    const bool last = t == a.iters;
    const float beta_next = a.fista && !last ? fista_next_momentum(momentum) : 0.f;
    for (int group = threadIdx.x; group < groups; group += blockDim.x) {
      const int r0 = group / groups_per_row * kGroup, p0 = group % groups_per_row * kGroup;
      float acc[kGroup][kGroup];
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        const float4 c = *reinterpret_cast<const float4*>(constant + (r0 + r) * P + p0);
        acc[r][0] = c.x, acc[r][1] = c.y, acc[r][2] = c.z, acc[r][3] = c.w;
      }
      for (int j = 0; j < g.channels; ++j) {
        const float4 m = *reinterpret_cast<const float4*>(mt + static_cast<long long>(j) * rows + r0);
        const float4 z = *reinterpret_cast<const float4*>(point + j * P + p0);
        const float mr[kGroup] = {m.x, m.y, m.z, m.w}, zq[kGroup] = {z.x, z.y, z.z, z.w};
#pragma unroll
        for (int r = 0; r < kGroup; ++r)
#pragma unroll
          for (int q = 0; q < kGroup; ++q) acc[r][q] = fmaf(mr[r], zq[q], acc[r][q]);
      }
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        const int i = r0 + r;
#pragma unroll
        for (int q = 0; q < kGroup; ++q) {
          const int l = p0 + q, k = i * P + l;
          const float gamma = threshold_of(a, acc[r][q], i), old = code[k];
          if (last) {
            if (i < g.channels && l < lanes) {
              a.gamma[base + i * g.hw + l] = gamma;
              if (a.previous) a.previous[base + i * g.hw + l] = old;
            }
            continue;
          }
          code[k] = gamma;
          next[k] = beta_next != 0.f ? fista_extrapolate(gamma, old, beta_next) : gamma;
        }
      }
    }
    __syncthreads();  // zₜ₊₁ complete before step t + 1 reads it; zₜ free to be overwritten
    float* swap = point;
    point = next;
    next = swap;
  }
}

}  // namespace

void patch_pursuit_forward(Context& ctx, const Tensor& gamma, const Tensor& previous, const Tensor& b,
                           const Tensor& gram, const Tensor& eta, const Tensor& theta, ThresholdMode mode, int iters,
                           bool fista) {
  NvtxRange range("patch_pursuit_forward");
  SCN_CHECK(b.dtype() == DType::f32, "patch_pursuit_forward: the CUDA engine supports f32 only");
  const Geometry g = geometry_of(b);
  const long long blocks = b.size(0) * g.tiles_per_image;
  if (blocks == 0) return;
  float* mt = static_cast<float*>(ctx.workspace(g.gram_bytes));
  pad_step_matrix<<<grid_for(ctx, static_cast<int64_t>(g.rows) * g.rows, pad_step_matrix), kThreads, 0, stream_of(ctx)>>>(
      mt, gram.data<float>(), eta.data<float>(), g.channels, g.rows);
  SCN_CUDA_CHECK_LAUNCH();
  const size_t optin = ctx.cuda().properties.sharedMemPerBlockOptin;
  SCN_CHECK(g.code_bytes <= optin, "patch_pursuit_forward: ", g.code_bytes, " bytes of codes per block exceed the ",
            optin, " bytes of shared memory this device gives a block");
  PursuitArgs a{b.data<float>(),
                gamma.data<float>(),
                previous.defined() ? previous.data<float>() : nullptr,
                mt,
                eta.data<float>(),
                theta.data<float>(),
                theta.numel() == 1,
                g.code_bytes + g.gram_bytes <= optin,
                fista,
                mode,
                iters,
                g};
  const size_t bytes = g.code_bytes + (a.gram_in_shared ? g.gram_bytes : 0);
  SCN_CUDA_CHECK(
      cudaFuncSetAttribute(pursue_tiles, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  SCN_CHECK(blocks <= 0x7fffffffll, "patch_pursuit_forward: ", blocks, " tiles exceed one launch's grid");
  pursue_tiles<<<static_cast<unsigned>(blocks), kBlock, bytes, stream_of(ctx)>>>(a);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
