#include "kernels/active_set_math.h"
#include "kernels/active_set_solve.h"
#include "kernels/cuda/launch.cuh"

namespace scn::cuda {

namespace {
// One thread per pixel of [first, first + count): its support, factor and work vector in workspace slots.
// Pixels are solved in chunks so that the scratch (C² + C doubles and C ints per pixel) stays bounded.
__global__ void solve_pixels(float* beta, const float* gram, const float* code, const float* g, int channels,
                             long long hw, long long first, long long count, double ridge, int* index, double* factor,
                             double* work) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= count) return;
  const long long p = first + t;
  const long long at = (p / hw) * channels * hw + p % hw;
  active_set_solve_pixel<float, double>(beta + at, gram, code + at, g + at, channels, hw, ridge, index + t * channels,
                                       factor + t * channels * channels, work + t * channels);
}
}  // namespace

void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge) {
  NvtxRange range("active_set_solve");
  SCN_CHECK(code.dtype() == DType::f32, "active_set_solve: the CUDA engine supports f32 only");
  const long long n = code.size(0), c = code.size(1), hw = code.numel() / (n * c), pixels = n * hw;
  if (pixels == 0) return;
  // The factorisation in double, as on the CPU: supports of nearly dependent atoms with ε = 1e-6 need it (the
  // H100/H200 class runs double at half the single rate). At most 256 MiB of scratch per chunk.
  const long long per_pixel = c * c * 8 + c * 8 + c * 4;
  const long long chunk = std::max<long long>(1, std::min<long long>(pixels, (256ll << 20) / per_pixel));
  char* scratch = static_cast<char*>(ctx.workspace(static_cast<size_t>(chunk * per_pixel)));
  double* factor = reinterpret_cast<double*>(scratch);
  double* work = reinterpret_cast<double*>(scratch + chunk * c * c * 8);
  int* index = reinterpret_cast<int*>(scratch + chunk * (c * c * 8 + c * 8));
  for (long long first = 0; first < pixels; first += chunk) {
    const long long count = std::min(chunk, pixels - first);
    solve_pixels<<<static_cast<unsigned>((count + kThreads - 1) / kThreads), kThreads, 0, stream_of(ctx)>>>(
        beta.data<float>(), gram.data<float>(), code.data<float>(), g.data<float>(), static_cast<int>(c), hw, first,
        count, ridge, index, factor, work);
    SCN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace scn::cuda
