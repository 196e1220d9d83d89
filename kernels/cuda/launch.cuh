#pragma once
// Shared launch conventions of scn's CUDA kernels: grid-stride loops over a capped grid, checked launches,
// one NVTX range per launcher (so nsys/ncu timelines name scn's ops), 16-byte vector access when aligned.
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "core/cuda/check.h"
#include "core/cuda/resources.h"
#include "kernels/gpu_math.h"

namespace scn::cuda {

constexpr int kThreads = 256;

// How many blocks of a kernel fit on one multiprocessor at once (registers, shared memory, threads), by
// cudaOccupancyMaxActiveBlocksPerMultiprocessor, asked once per (kernel, block size, shared memory).
struct OccupancyCache {
  std::mutex mutex;
  std::map<std::tuple<const void*, int, size_t>, int> blocks_per_sm;
};
inline int resident_blocks(Context& ctx, const void* kernel, int threads, size_t smem) {
  OccupancyCache& cache = ctx.state<OccupancyCache>();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto [it, added] = cache.blocks_per_sm.try_emplace({kernel, threads, smem}, 0);
  if (added) SCN_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&it->second, kernel, threads, smem));
  return std::max(it->second, 1);
}

// Blocks for a grid-stride kernel: one wave — as many as fit on the device at once (kernels of 40–64
// registers fit 4–5 blocks of 256 threads on a multiprocessor, not a fixed 8), fewer when there is less work.
template <class Kernel>
inline int grid_for(Context& ctx, int64_t work_items, Kernel kernel, int threads = kThreads, size_t smem = 0) {
  const int64_t wanted = (work_items + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(ctx.cuda().properties.multiProcessorCount) *
                      resident_blocks(ctx, reinterpret_cast<const void*>(kernel), threads, smem);
  return static_cast<int>(std::max<int64_t>(1, std::min(wanted, cap)));
}

// The context's cuBLAS handle in the math mode kernels/gpu_math.h gives: `tf32` is the context's allow_tf32
// for a layer's GEMMs; analyses pass false (true fp32 always). The mode stays on the handle, so every product
// sets the one it needs.
inline cublasHandle_t cublas_handle(Context& ctx, bool tf32) {
  cublasHandle_t h = ctx.cuda().cublas;
  SCN_CUBLAS_CHECK(cublasSetMathMode(
      h, gemm_math(tf32) == GemmMath::tf32_tensor_op ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return h;
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
