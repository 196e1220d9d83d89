// Properties of augment_batch that the conformance harness does not cover: evaluation is plain
// normalisation, a sample's augmentation depends only on (seed, epoch, position), flips and offsets have
// the documented distribution and geometry, padding is zero in pixel space, bad arguments are clear errors,
// and the GPU gives the CPU's bits.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/device.h"
#include "kernels/augment.h"
#include "kernels/op_case.h"

namespace scn {
namespace {

Context& cpu() { return Context::get(Device::cpu()); }

// A u8 data set of `count` images with pixels from a simple hash: varied, every value in [0, 255].
Tensor make_images(int64_t count, int64_t channels, int64_t height, int64_t width) {
  std::vector<double> v(static_cast<size_t>(count * channels * height * width));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 2654435761u >> 7) % 256);
  return Tensor::from_vector(v, {count, channels, height, width}, DType::u8);
}

Tensor make_indices(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::i32);
}

Tensor run(const Tensor& images, const Tensor& indices, const Tensor& mean, const Tensor& std,
           const AugmentParams& params, const RngKey& key) {
  Tensor out = Tensor::empty({indices.size(0), images.size(1), images.size(2), images.size(3)}, mean.dtype());
  augment_batch(cpu(), out, images, indices, mean, std, params, key);
  return out;
}

TEST(AugmentBatch, NoAugmentationIsPlainNormalisation) {
  const Tensor images = make_images(4, 3, 5, 6);
  const Tensor indices = make_indices({3, 0, 2, 2, 1, 3});
  const std::vector<double> m = {0.49, 0.48, 0.45}, s = {0.25, 0.24, 0.26};
  const std::vector<double> px = images.to_vector(), idx = indices.to_vector();
  for (DType dtype : {DType::f32, DType::f64}) {
    const Tensor mean = Tensor::from_vector(m, {3}, dtype), std = Tensor::from_vector(s, {3}, dtype);
    const std::vector<double> a = run(images, indices, mean, std, {}, {1, RngPurpose::augment, 0}).to_vector();
    const std::vector<double> b = run(images, indices, mean, std, {}, {99, RngPurpose::augment, 12345}).to_vector();
    EXPECT_EQ(a, b) << "without augmentation the key must not matter";
    const int64_t plane = 3 * 5 * 6;
    for (int64_t i = 0; i < static_cast<int64_t>(a.size()); ++i) {
      const int64_t bi = i / plane, within = i % plane, c = within / 30;
      const double pixel = px[static_cast<int64_t>(idx[bi]) * plane + within];
      const double expected = (pixel / 255.0 - m[c]) / s[c];
      ASSERT_NEAR(a[i], expected, dtype == DType::f32 ? 2e-6 : 1e-13) << "element " << i;
    }
  }
}

// Runs one epoch of `perm` (the data-set index at each position) in batches of `batch_size`.
std::vector<double> run_epoch(const Tensor& images, const std::vector<double>& perm, int64_t batch_size,
                              const AugmentParams& params, uint64_t seed, int64_t epoch) {
  const int64_t n = static_cast<int64_t>(perm.size());
  const Tensor mean = Tensor::from_vector({0.4, 0.5, 0.6}, {3}), std = Tensor::from_vector({0.2, 0.3, 0.25}, {3});
  Tensor all = Tensor::empty({n, images.size(1), images.size(2), images.size(3)});
  for (int64_t first = 0; first < n; first += batch_size) {
    const int64_t last = std::min(n, first + batch_size);
    const Tensor indices = make_indices(std::vector<double>(perm.begin() + first, perm.begin() + last));
    augment_batch(cpu(), all.slice(first, last), images, indices, mean, std, params,
                  augment_key(seed, epoch, n, first));
  }
  return all.to_vector();
}

TEST(AugmentBatch, SampleDependsOnlyOnSeedEpochAndPosition) {
  const Tensor images = make_images(8, 3, 7, 9);
  const std::vector<double> perm = {5, 2, 7, 0, 0, 3, 6, 1, 4, 2};  // repeats, as a sampler with replacement
  const AugmentParams params{4, true};
  const std::vector<double> whole = run_epoch(images, perm, 10, params, 7, 3);
  for (int64_t batch_size : {1, 3, 4})
    EXPECT_EQ(run_epoch(images, perm, batch_size, params, 7, 3), whole) << "batch size " << batch_size;
  // A sample alone in a batch, at its position: the same as inside the whole epoch.
  const int64_t plane = 3 * 7 * 9;
  for (int64_t pos : {0, 4, 9}) {
    const Tensor mean = Tensor::from_vector({0.4, 0.5, 0.6}, {3}), std = Tensor::from_vector({0.2, 0.3, 0.25}, {3});
    const std::vector<double> one =
        run(images, make_indices({perm[pos]}), mean, std, params, augment_key(7, 3, 10, pos)).to_vector();
    EXPECT_EQ(one, std::vector<double>(whole.begin() + pos * plane, whole.begin() + (pos + 1) * plane)) << pos;
  }
  // Other epochs and other seeds draw other augmentations.
  EXPECT_NE(run_epoch(images, perm, 10, params, 7, 4), whole);
  EXPECT_NE(run_epoch(images, perm, 10, params, 8, 3), whole);
}

// Recovers each sample's (dy, dx, flip) from the output geometry alone: the image's pixels are 1..81 (all
// distinct and non-zero) and the normalisation is the identity up to the 1/255, so every output value names
// the source pixel, and padding reads 0.
struct Decoded {
  int dy, dx;
  bool flip;
};

void decode_batch(const AugmentParams& params, const RngKey& key, int64_t batch, std::vector<Decoded>* result) {
  const int64_t hw = 9, p = params.crop_pad;
  std::vector<double> px(hw * hw);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<double>(i + 1);
  const Tensor images = Tensor::from_vector(px, {1, 1, hw, hw}, DType::u8);
  const Tensor mean = Tensor::from_vector({0.0}, {1}), std = Tensor::from_vector({1.0}, {1});
  const std::vector<double> out =
      run(images, make_indices(std::vector<double>(batch, 0)), mean, std, params, key).to_vector();
  result->clear();
  for (int64_t b = 0; b < batch; ++b) {
    auto value = [&](int64_t y, int64_t x) { return static_cast<int>(std::lround(out[(b * hw + y) * hw + x] * 255)); };
    // Two horizontally adjacent image pixels: p ≤ 4 leaves at least 5 image rows and columns in the window.
    Decoded d{-1, -1, false};
    for (int64_t y = 0; y < hw && d.dy < 0; ++y)
      for (int64_t x = 0; x + 1 < hw && d.dy < 0; ++x) {
        const int v0 = value(y, x), v1 = value(y, x + 1);
        if (v0 == 0 || v1 == 0) continue;
        const int64_t sy = (v0 - 1) / hw, sx = (v0 - 1) % hw;
        d.flip = v1 < v0;
        d.dy = static_cast<int>(sy - y + p);
        d.dx = static_cast<int>(sx - (d.flip ? hw - 1 - x : x) + p);
      }
    EXPECT_GE(d.dy, 0) << "sample " << b << " shows no image pixels";
    // The whole sample must be that window of the zero-padded image, mirrored when flipped.
    for (int64_t y = 0; y < hw; ++y)
      for (int64_t x = 0; x < hw; ++x) {
        const int64_t sy = y + d.dy - p, sx = (d.flip ? hw - 1 - x : x) + d.dx - p;
        const int expected = (sy < 0 || sy >= hw || sx < 0 || sx >= hw) ? 0 : static_cast<int>(sy * hw + sx + 1);
        ASSERT_EQ(value(y, x), expected) << "sample " << b << " at (" << y << ", " << x << ")";
      }
    result->push_back(d);
  }
}

TEST(AugmentBatch, FlipsHalfTheTimeAndOffsetsCoverTheRange) {
  const int64_t batch = 3000;
  const RngKey key = augment_key(2024, 5, 50000, 1234);
  const AugmentParams params{4, true};
  std::vector<Decoded> with_flip, without_flip;
  ASSERT_NO_FATAL_FAILURE(decode_batch(params, key, batch, &with_flip));
  ASSERT_NO_FATAL_FAILURE(decode_batch({4, false}, key, batch, &without_flip));
  int flips = 0;
  std::vector<int> dx_count(9, 0), dy_count(9, 0);
  for (int64_t b = 0; b < batch; ++b) {
    const Decoded& d = with_flip[b];
    ASSERT_TRUE(d.dx >= 0 && d.dx <= 8 && d.dy >= 0 && d.dy <= 8) << "sample " << b;
    flips += d.flip;
    ++dx_count[d.dx];
    ++dy_count[d.dy];
    // The documented draw, and the words' independence: turning flip off keeps the offsets.
    const AugmentDraw expected = augment_draw(key, b, params);
    EXPECT_TRUE(expected.dx == d.dx && expected.dy == d.dy && expected.flip == d.flip) << "sample " << b;
    EXPECT_TRUE(without_flip[b].dx == d.dx && without_flip[b].dy == d.dy && !without_flip[b].flip) << b;
  }
  // Binomial(3000, 1/2) has σ ≈ 27 and Binomial(3000, 1/9) σ ≈ 17: the bounds are about 5σ wide.
  EXPECT_NEAR(flips, batch / 2, 140);
  for (int k = 0; k <= 8; ++k) {
    EXPECT_NEAR(dx_count[k], batch / 9, 90) << "dx = " << k;
    EXPECT_NEAR(dy_count[k], batch / 9, 90) << "dy = " << k;
  }
}

TEST(AugmentBatch, PaddingIsZeroInPixelSpace) {
  const Tensor images = Tensor::from_vector(std::vector<double>(2 * 2 * 7 * 9, 255), {2, 2, 7, 9}, DType::u8);
  const Tensor mean = Tensor::from_vector({0.5, 0.25}, {2}), std = Tensor::from_vector({0.25, 0.5}, {2});
  const std::vector<double> out =
      run(images, make_indices({0, 1, 1, 0, 1, 0, 0, 1}), mean, std, {3, true}, augment_key(1, 0, 8, 0)).to_vector();
  const double image_value[2] = {2.0, 1.5}, pad_value[2] = {-2.0, -0.5};  // (1 − m)/s and (0 − m)/s
  int padded = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const int c = static_cast<int>((i / 63) % 2);
    ASSERT_TRUE(out[i] == image_value[c] || out[i] == pad_value[c]) << "element " << i << " = " << out[i];
    padded += out[i] == pad_value[c];
  }
  EXPECT_GT(padded, 0);
}

void expect_error(const std::function<void()>& call, const std::string& part) {
  test::expect_error_mentions(call, {"augment", part});
}

TEST(AugmentBatch, BadArgumentsAreClearErrors) {
  const Tensor images = make_images(4, 3, 7, 9);
  const Tensor out = Tensor::empty({2, 3, 7, 9});
  const Tensor indices = make_indices({1, 3});
  const Tensor mean = Tensor::from_vector({0.5, 0.5, 0.5}, {3}), std = Tensor::from_vector({0.2, 0.2, 0.2}, {3});
  const RngKey key{1, RngPurpose::augment, 0};
  auto call = [&](const Tensor& o, const Tensor& im, const Tensor& ix, const Tensor& m, const Tensor& s, int pad) {
    return [=] { augment_batch(cpu(), o, im, ix, m, s, AugmentParams{pad, true}, key); };
  };
  call(out, images, indices, mean, std, 2)();  // the valid call succeeds
  expect_error(call(out, images, make_indices({1, 4}), mean, std, 2), "indices[1] = 4");
  expect_error(call(out, images, make_indices({-1, 0}), mean, std, 2), "indices[0] = -1");
  expect_error(call(out, images.to(DType::f32), indices, mean, std, 2), "images is f32, expected u8");
  expect_error(call(out, images, indices.to(DType::f32), mean, std, 2), "indices is f32, expected i32");
  expect_error(call(Tensor::empty({2, 3, 7, 9}, DType::i32), images, indices, mean, std, 2), "out is i32");
  expect_error(call(out, images, indices, mean.to(DType::f64), std, 2), "mean is f64, expected f32");
  expect_error(call(out, images, indices, mean, std.to(DType::f64), 2), "std is f64, expected f32");
  expect_error(call(out, make_images(4, 1, 7, 9), indices, mean, std, 2), "images has shape [4, 1, 7, 9]");
  expect_error(call(out, make_images(4, 3, 9, 7), indices, mean, std, 2), "expected [4, 3, 7, 9]");
  expect_error(call(out, images, make_indices({1, 2, 3}), mean, std, 2), "indices has shape [3]");
  expect_error(call(out, images, indices, Tensor::from_vector({0.5}, {1}), std, 2), "mean has shape [1]");
  expect_error(call(out, images, indices, mean, Tensor::from_vector({1, 1}, {2}), 2), "std has shape [2]");
  expect_error(call(out, images, indices, mean, Tensor::from_vector({1, 0, 1}, {3}), 2), "std[1] = 0");
  expect_error(call(Tensor::empty({2, 3, 63}), images, indices, mean, std, 2), "out has shape [2, 3, 63]");
  expect_error(call(out, images, indices, mean, std, -1), "crop_pad is -1");
  expect_error([] { augment_key(1, -1, 10, 0); }, "epoch -1");
}

TEST(AugmentBatch, CudaGivesTheCpuBitsAndMarksBadIndices) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Context& gpu = Context::get(Device::cuda(0));
  const Device dev = Device::cuda(0);
  for (int64_t hw : {9, 28}) {  // the scalar and the float4 kernel
    const Tensor images = make_images(6, 3, hw, hw);
    const Tensor indices = make_indices({5, 0, 3, 3, 1, 2, 4});
    const Tensor mean = Tensor::from_vector({0.49, 0.48, 0.45}, {3}),
                 std = Tensor::from_vector({0.25, 0.24, 0.26}, {3});
    const AugmentParams params{4, true};
    const RngKey key = augment_key(11, 2, 50000, 49997);
    const Tensor expected = run(images, indices, mean, std, params, key);
    Tensor out = Tensor::empty(expected.shape(), DType::f32, dev);
    augment_batch(gpu, out, images.to(dev), indices.to(dev), mean.to(dev), std.to(dev), params, key);
    EXPECT_EQ(out.to_vector(), expected.to_vector()) << hw << "×" << hw;
    // A view 4 bytes off 16-byte alignment takes the scalar kernel even when W is a multiple of 4.
    Tensor flat = Tensor::empty({expected.numel() + 1}, DType::f32, dev);
    Tensor shifted = flat.slice(1, expected.numel() + 1).view(expected.shape());
    augment_batch(gpu, shifted, images.to(dev), indices.to(dev), mean.to(dev), std.to(dev), params, key);
    EXPECT_EQ(shifted.to_vector(), expected.to_vector()) << "unaligned " << hw << "×" << hw;
    // An out-of-range index cannot be checked without a host sync: its sample is NaN, the others are intact.
    augment_batch(gpu, out, images.to(dev), make_indices({5, 0, 6, 3, 1, 2, 4}).to(dev), mean.to(dev), std.to(dev),
                  params, key);
    const std::vector<double> got = out.to_vector(), want = expected.to_vector();
    const size_t sample = static_cast<size_t>(3 * hw * hw);
    for (size_t i = 0; i < got.size(); ++i) {
      if (i / sample == 2)
        ASSERT_TRUE(std::isnan(got[i])) << i;
      else
        ASSERT_EQ(got[i], want[i]) << i;
    }
  }
}

}  // namespace
}  // namespace scn
