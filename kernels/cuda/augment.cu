#include "kernels/augment.h"
#include "kernels/cuda/launch.cuh"

namespace scn::cuda {

namespace {

// Everything a thread needs, passed by value.
struct AugmentArgs {
  const uint8_t* images;   // (N, C, H, W)
  const int32_t* indices;  // (B)
  const float* mean;       // (C)
  const float* std;        // (C)
  int64_t count;           // N
  int64_t channels, height, width;
  AugmentParams params;
  RngKey key;
};

// One output row (b, c, y): its sample's draw, its channel's normalisation and the source row.
struct RowSource {
  const uint8_t* src;  // images[indices[b], c, sy, :], or nullptr when row sy lies in the padding
  AugmentDraw draw;
  float mean, std;
  bool invalid;  // indices[b] is outside [0, N): the sample is filled with NaN rather than read out of bounds
};

__device__ inline RowSource row_source(int64_t row, const AugmentArgs& a) {
  const int64_t y = row % a.height, bc = row / a.height;
  const int64_t c = bc % a.channels, b = bc / a.channels;
  RowSource r;
  r.draw = augment_draw(a.key, b, a.params);
  r.mean = a.mean[c];
  r.std = a.std[c];
  const int64_t index = a.indices[b];
  r.invalid = index < 0 || index >= a.count;
  const int64_t sy = y + r.draw.dy - a.params.crop_pad;
  r.src = (!r.invalid && sy >= 0 && sy < a.height) ? a.images + ((index * a.channels + c) * a.height + sy) * a.width
                                                   : nullptr;
  return r;
}

// Output column x of the row: (pixel / 255 − mean) / std in the same order as the CPU engine (IEEE division,
// no fusable multiply-add), so both give the same bits. Padding is pixel 0.
__device__ inline float value_at(const RowSource& r, int64_t x, const AugmentArgs& a) {
  if (r.invalid) return __int_as_float(0x7fc00000);  // quiet NaN
  const int64_t sx = (r.draw.flip ? a.width - 1 - x : x) + r.draw.dx - a.params.crop_pad;
  const float pixel = (r.src && sx >= 0 && sx < a.width) ? static_cast<float>(r.src[sx]) : 0.f;
  return (pixel / 255.f - r.mean) / r.std;
}

// One thread per output element.
__global__ void augment_scalar(float* out, AugmentArgs a, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const RowSource r = row_source(i / a.width, a);
    out[i] = value_at(r, i % a.width, a);
  }
}

// One thread per 4 outputs of a row (W a multiple of 4, out 16-byte aligned): one float4 store.
__global__ void augment_vec4(float4* out, AugmentArgs a, int64_t n4) {
  const int64_t width4 = a.width / 4;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4; i += int64_t(gridDim.x) * blockDim.x) {
    const RowSource r = row_source(i / width4, a);
    const int64_t x = (i % width4) * 4;
    out[i] = make_float4(value_at(r, x, a), value_at(r, x + 1, a), value_at(r, x + 2, a), value_at(r, x + 3, a));
  }
}

}  // namespace

void augment_batch(Context& ctx, const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean,
                   const Tensor& std, const AugmentParams& params, const RngKey& key) {
  NvtxRange range("augment_batch");
  SCN_CHECK(out.dtype() == DType::f32, "augment_batch: the CUDA engine supports f32 only, got ",
            dtype_name(out.dtype()));
  const int64_t n = out.numel();
  if (n == 0) return;
  const AugmentArgs a{images.data<uint8_t>(),
                      indices.data<int32_t>(),
                      mean.data<float>(),
                      std.data<float>(),
                      images.size(0),
                      out.size(1),
                      out.size(2),
                      out.size(3),
                      params,
                      key};
  float* op = out.data<float>();
  if (a.width % 4 == 0 && aligned16(op)) {
    augment_vec4<<<grid_for(ctx, n / 4, augment_vec4), kThreads, 0, stream_of(ctx)>>>(reinterpret_cast<float4*>(op), a, n / 4);
  } else {
    augment_scalar<<<grid_for(ctx, n, augment_scalar), kThreads, 0, stream_of(ctx)>>>(op, a, n);
  }
  SCN_CUDA_CHECK_LAUNCH();
}

}  // namespace scn::cuda
