#pragma once
// Shared launch conventions of scn's CUDA kernels: grid-stride loops over a capped grid, checked launches,
// one NVTX range per launcher (so nsys/ncu timelines name scn's ops), 16-byte vector access when aligned.
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda/check.h"
#include "core/cuda/resources.h"

namespace scn::cuda {

constexpr int kThreads = 256;

// Enough blocks to fill the device a few times over; grid-stride loops do the rest.
inline int grid_for(Context& ctx, int64_t work_items, int threads = kThreads) {
  const int64_t wanted = (work_items + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(ctx.cuda().properties.multiProcessorCount) * 8;
  return static_cast<int>(std::max<int64_t>(1, std::min(wanted, cap)));
}

// RAII NVTX range: opened by every launcher, closed when it returns.
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// True when every pointer is 16-byte aligned, so float4 loads and stores are legal.
template <class... Ptrs>
inline bool aligned16(const Ptrs*... ptrs) {
  return ((reinterpret_cast<uintptr_t>(ptrs) % 16 == 0) && ...);
}

// Block-wide sum; every thread gets the total. `scratch` holds 32 values.
template <class T>
__device__ inline T block_sum(T v, T* scratch) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // scratch may still be in use by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? scratch[threadIdx.x] : T(0);
  if (warp == 0)
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

}  // namespace scn::cuda
