#include <algorithm>

#include "kernels/active_set_solve.h"
#include "kernels/cuda/launch.cuh"

namespace scn::cuda {

namespace {
// One warp per pixel, the warps persistent (a grid-stride loop over pixels), each with a scratch slot of its own
// in the context's workspace that it reuses for every pixel it takes: one launch, however many pixels, and the
// scratch sized from the device (resident warps, capped by a share of its memory), not by the problem.
// In double, as on the CPU: supports of nearly dependent atoms with ε = 1e-6 need it.
//
// A warp gathers the support with ballots (lanes over channels), then factors M_ΛΛ + εI = LLᵀ by columns
// (Crout): for column j every lane takes rows i ≥ j, reading column m of L at consecutive addresses
// (column-major packed storage, so a warp's reads coalesce) and L_jm as a broadcast. Forward substitution is
// by columns too; back substitution reduces each column over the warp.
constexpr int kWarps = 8;  // per block

struct Slot {
  int* index;      // the support's channels (C)
  double* work;    // g_Λ, then y, then β (C)
  double* inverse; // 1/L_jj (C)
  double* factor;  // L, lower triangle packed by columns: (i, m ≤ i) at m·u − m(m−1)/2 + (i − m)

  __host__ __device__ static long long bytes(long long c) {
    return ((c * 4 + 15) / 16 * 16) + 16 * c + 8 * (c * (c + 1) / 2);  // doubles after 16-byte-aligned ints
  }
  __device__ Slot(char* base, long long c) {
    index = reinterpret_cast<int*>(base);
    work = reinterpret_cast<double*>(base + (c * 4 + 15) / 16 * 16);
    inverse = work + c;
    factor = inverse + c;
  }
};

__device__ inline long long column_start(int m, int u) { return static_cast<long long>(m) * u - static_cast<long long>(m) * (m - 1) / 2; }

__device__ inline double warp_sum(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return __shfl_sync(0xffffffffu, v, 0);
}

__global__ void __launch_bounds__(kWarps * 32)
    solve_pixels(float* beta, const float* gram, const float* code, const float* g, int channels, long long hw,
                 long long pixels, double ridge, char* scratch, long long slot_bytes) {
  const int lane = threadIdx.x & 31;
  const long long warp = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) >> 5;
  const long long warps = (static_cast<long long>(gridDim.x) * blockDim.x) >> 5;
  Slot s(scratch + warp * slot_bytes, channels);
  for (long long p = warp; p < pixels; p += warps) {
    const long long at = (p / hw) * channels * hw + p % hw;  // channel 0 of pixel p
    // The support, in channel order: each lane looks at every 32nd channel; a ballot ranks the active ones.
    int u = 0;
    for (int c0 = 0; c0 < channels; c0 += 32) {
      const int c = c0 + lane;
      const bool active = c < channels && code[at + c * hw] != 0.f;
      if (c < channels) beta[at + c * hw] = 0.f;
      const unsigned mask = __ballot_sync(0xffffffffu, active);
      if (active) {
        const int k = u + __popc(mask & ((1u << lane) - 1u));
        s.index[k] = c;
        s.work[k] = g[at + c * hw];
      }
      u += __popc(mask);
    }
    __syncwarp();
    if (u == 0) continue;
    // A = M_ΛΛ + εI, lower triangle, column by column.
    for (int m = 0; m < u; ++m) {
      const long long col = column_start(m, u);
      for (int i = m + lane; i < u; i += 32)
        s.factor[col + (i - m)] =
            static_cast<double>(gram[static_cast<long long>(s.index[i]) * channels + s.index[m]]) + (i == m ? ridge : 0.0);
    }
    __syncwarp();
    // Crout: column j of L from the columns before it.
    for (int j = 0; j < u; ++j) {
      const long long col = column_start(j, u);
      for (int i = j + lane; i < u; i += 32) {
        double v = s.factor[col + (i - j)];
        for (int m = 0; m < j; ++m) {
          const long long cm = column_start(m, u);
          v -= s.factor[cm + (i - m)] * s.factor[cm + (j - m)];
        }
        s.factor[col + (i - j)] = v;
      }
      __syncwarp();
      const double pivot = s.factor[col];
      // M is positive semidefinite; ε > 0 keeps the pivot positive but for rounding (active_set_solve.h).
      const double d = pivot > 0.0 ? sqrt(pivot) : kActiveSetPivotFloor;
      const double inv = 1.0 / d;
      for (int i = j + 1 + lane; i < u; i += 32) s.factor[col + (i - j)] *= inv;
      if (lane == 0) {
        s.factor[col] = d;
        s.inverse[j] = inv;
      }
      __syncwarp();
    }
    // L y = g_Λ by columns.
    for (int j = 0; j < u; ++j) {
      const double y = s.work[j] * s.inverse[j];
      __syncwarp();
      const long long col = column_start(j, u);
      for (int i = j + 1 + lane; i < u; i += 32) s.work[i] -= s.factor[col + (i - j)] * y;
      if (lane == 0) s.work[j] = y;
      __syncwarp();
    }
    // Lᵀ β = y: β_i = (y_i − Σ_{k>i} L_ki β_k)/L_ii, the sum over the warp.
    for (int i = u - 1; i >= 0; --i) {
      const long long col = column_start(i, u);
      double partial = 0;
      for (int k = i + 1 + lane; k < u; k += 32) partial += s.factor[col + (k - i)] * s.work[k];
      const double sum = warp_sum(partial);
      if (lane == 0) s.work[i] = (s.work[i] - sum) * s.inverse[i];
      __syncwarp();
    }
    for (int i = lane; i < u; i += 32) beta[at + static_cast<long long>(s.index[i]) * hw] = static_cast<float>(s.work[i]);
    __syncwarp();  // the slot is reused by the warp's next pixel
  }
}
}  // namespace

void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge) {
  NvtxRange range("active_set_solve");
  SCN_CHECK(code.dtype() == DType::f32, "active_set_solve: the CUDA engine supports f32 only");
  const long long n = code.size(0), c = code.size(1), hw = code.numel() / (n * c), pixels = n * hw;
  if (pixels == 0) return;
  const cudaDeviceProp& prop = ctx.cuda().properties;
  // As many warps as the device keeps resident, fewer when their slots would take more than 1/16 of its
  // memory (C = 1024: 4 MiB a slot), never more than there are pixels.
  const long long slot = Slot::bytes(c);
  const long long resident = static_cast<long long>(prop.multiProcessorCount) * (prop.maxThreadsPerMultiProcessor / 32);
  const long long budget = static_cast<long long>(prop.totalGlobalMem / 16);
  const long long warps = std::max(1ll, std::min({pixels, resident, budget / slot}));
  const long long blocks = (warps + kWarps - 1) / kWarps;
  char* scratch = static_cast<char*>(ctx.workspace(static_cast<size_t>(blocks * kWarps * slot)));
  solve_pixels<<<static_cast<unsigned>(blocks), kWarps * 32, 0, stream_of(ctx)>>>(
      beta.data<float>(), gram.data<float>(), code.data<float>(), g.data<float>(), static_cast<int>(c), hw, pixels,
      ridge, scratch, slot);
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
