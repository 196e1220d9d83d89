#include "kernels/augment.h"

#include "core/dispatch.h"

namespace scn {

namespace {

constexpr const char* kOp = "augment_batch";

// Shape, dtype and device checks shared by both engines; index values are checked by the CPU engine only
// (reading them on a GPU would synchronise the host).
void check_arguments(const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean,
                     const Tensor& std, const AugmentParams& params) {
  check_defined(kOp, "out", out);
  check_defined(kOp, "images", images);
  SCN_CHECK(out.rank() == 4, kOp, ": out has shape ", out.shape().str(), ", expected (B, C, H, W)");
  SCN_CHECK(images.rank() == 4, kOp, ": images has shape ", images.shape().str(), ", expected (N, C, H, W)");
  SCN_CHECK(out.dtype() == DType::f32 || out.dtype() == DType::f64, kOp, ": out is ", dtype_name(out.dtype()),
            ", expected f32 (or f64 on the CPU)");
  check_dtype(kOp, "images", images, DType::u8);
  check_dtype(kOp, "indices", indices, DType::i32);
  check_dtype(kOp, "mean", mean, out.dtype());
  check_dtype(kOp, "std", std, out.dtype());
  const int64_t batch = out.size(0), channels = out.size(1);
  check_shape(kOp, "images", images, {images.size(0), channels, out.size(2), out.size(3)});
  check_shape(kOp, "indices", indices, {batch});
  check_shape(kOp, "mean", mean, {channels});
  check_shape(kOp, "std", std, {channels});
  SCN_CHECK(params.crop_pad >= 0, kOp, ": crop_pad is ", params.crop_pad, ", expected >= 0");
  check_same_device(kOp, {&out, &images, &indices, &mean, &std});
}

template <class T>
void augment_cpu(const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean, const Tensor& std,
                 const AugmentParams& params, const RngKey& key) {
  const int64_t batch = out.size(0), channels = out.size(1), height = out.size(2), width = out.size(3);
  const int64_t count = images.size(0), plane = height * width;
  const int32_t* idx = indices.data<int32_t>();
  const T* mp = mean.data<T>();
  const T* sp = std.data<T>();
  for (int64_t b = 0; b < batch; ++b)
    SCN_CHECK(idx[b] >= 0 && idx[b] < count, kOp, ": indices[", b, "] = ", idx[b], " is outside the data set's ", count,
              " images");
  for (int64_t c = 0; c < channels; ++c) SCN_CHECK(sp[c] > T(0), kOp, ": std[", c, "] = ", sp[c], ", expected > 0");
  const uint8_t* img = images.data<uint8_t>();
  T* op = out.data<T>();
  const int64_t pad = params.crop_pad;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    const AugmentDraw d = augment_draw(key, b, params);
    const uint8_t* src = img + static_cast<int64_t>(idx[b]) * channels * plane;
    for (int64_t c = 0; c < channels; ++c) {
      const T m = mp[c], s = sp[c];
      // (pixel / 255 − mean) / std in exactly this order, as the CUDA kernel evaluates it.
      const T padded = (T(0) / T(255) - m) / s;
      for (int64_t y = 0; y < height; ++y) {
        T* row = op + ((b * channels + c) * height + y) * width;
        const int64_t sy = y + d.dy - pad;
        if (sy < 0 || sy >= height) {
          for (int64_t x = 0; x < width; ++x) row[x] = padded;
          continue;
        }
        const uint8_t* src_row = src + c * plane + sy * width;
        for (int64_t x = 0; x < width; ++x) {
          const int64_t sx = (d.flip ? width - 1 - x : x) + d.dx - pad;
          row[x] = (sx >= 0 && sx < width) ? (static_cast<T>(src_row[sx]) / T(255) - m) / s : padded;
        }
      }
    }
  }
}

}  // namespace

void augment_batch(Context& ctx, const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean,
                   const Tensor& std, const AugmentParams& params, const RngKey& key) {
  (void)ctx;  // the CPU engine needs no state; the CUDA engine uses ctx's stream
  check_arguments(out, images, indices, mean, std, params);
  SCN_DISPATCH_CUDA(out, cuda::augment_batch(ctx, out, images, indices, mean, std, params, key));
  if (out.dtype() == DType::f64) return augment_cpu<double>(out, images, indices, mean, std, params, key);
  augment_cpu<float>(out, images, indices, mean, std, params, key);
}

}  // namespace scn
