// Conformance cases of the batch augmentation op (crop with zero padding, horizontal flip, normalisation):
// odd shapes, batch 1 and 5, crop_pad 0/2/4, flip on and off. The op has no backward.
#include <cmath>

#include "core/philox.h"
#include "kernels/augment.h"
#include "kernels/op_case.h"

namespace scn::test {

namespace {

struct AugmentSpec {
  std::string name;
  int64_t count, batch, channels, height, width;  // data set of `count` images; batch of `batch` samples
  int crop_pad;
  bool flip;
  uint64_t key_offset;  // counter of sample 0
};

constexpr uint64_t kKeySeed = 0x5eed0a06u;

// Inputs: images u8 (N, C, H, W) with every pixel value in [0, 255], indices i32 (B) with repeats allowed,
// mean and std (C) in `dtype`, shaped like a real data set's statistics.
Tensors make_augment_inputs(const AugmentSpec& s, DType dtype, uint64_t seed) {
  std::vector<double> px =
      random_uniform({s.count, s.channels, s.height, s.width}, DType::f64, seed, 0, 0, 256).to_vector();
  for (double& v : px) v = std::min(255.0, std::floor(v));
  px.front() = 0;  // both ends of the u8 range occur
  px.back() = 255;
  std::vector<double> idx = random_uniform({s.batch}, DType::f64, seed, 1, 0, double(s.count)).to_vector();
  for (double& v : idx) v = std::min(double(s.count - 1), std::floor(v));
  return Tensors{Tensor::from_vector(px, {s.count, s.channels, s.height, s.width}, DType::u8),
                 Tensor::from_vector(idx, {s.batch}, DType::i32),
                 random_uniform({s.channels}, dtype, seed, 2, 0.2, 0.7),
                 random_uniform({s.channels}, dtype, seed, 3, 0.15, 0.35)};
}

// Naive reference: the documented Philox words give (dx, dy, flip) of sample b; pad the image with p zero
// pixels on each side, cut the H×W window at (dy, dx), mirror it if flipped, then (pixel/255 − mean)/std.
Tensors naive_augment(const AugmentSpec& s, const Tensors& in) {
  const std::vector<double> px = in[0].to_vector(), idx = in[1].to_vector(), mean = in[2].to_vector(),
                            sd = in[3].to_vector();
  const int64_t H = s.height, W = s.width, C = s.channels, p = s.crop_pad;
  std::vector<double> out(static_cast<size_t>(s.batch * C * H * W));
  for (int64_t b = 0; b < s.batch; ++b) {
    const Philox4 r = philox4x32_10(kKeySeed, static_cast<uint32_t>(RngPurpose::augment), s.key_offset + b);
    const uint64_t positions = 2 * p + 1;  // window offsets 0..2p
    const int64_t dx = static_cast<int64_t>((uint64_t{r.v[0]} * positions) >> 32);
    const int64_t dy = static_cast<int64_t>((uint64_t{r.v[1]} * positions) >> 32);
    const bool flip = s.flip && r.v[2] >= 0x80000000u;
    const int64_t image = static_cast<int64_t>(idx[b]);
    // The padded image, (H + 2p) × (W + 2p) per channel, zero outside the original.
    auto padded = [&](int64_t c, int64_t py, int64_t pxl) -> double {
      const int64_t y = py - p, x = pxl - p;
      if (y < 0 || y >= H || x < 0 || x >= W) return 0.0;
      return px[((image * C + c) * H + y) * W + x];
    };
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const double cropped = padded(c, y + dy, (flip ? W - 1 - x : x) + dx);  // crop, then flip
          out[((b * C + c) * H + y) * W + x] = (cropped / 255.0 - mean[c]) / sd[c];
        }
  }
  return Tensors{Tensor::from_vector(out, {s.batch, C, H, W}, DType::f64)};
}

OpCase augment_case(const AugmentSpec& s) {
  OpCase c;
  c.name = s.name;
  c.make_inputs = [=](DType dtype, uint64_t seed) { return make_augment_inputs(s, dtype, seed); };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor out = Tensor::empty({s.batch, s.channels, s.height, s.width}, in[2].dtype(), in[2].device());
    augment_batch(ctx, out, in[0], in[1], in[2], in[3], AugmentParams{s.crop_pad, s.flip},
                  RngKey{kKeySeed, RngPurpose::augment, s.key_offset});
    return Tensors{out};
  };
  c.reference = [=](const Tensors& in) { return naive_augment(s, in); };
  return c;
}

}  // namespace

std::vector<OpCase> augment_cases() {
  // 7×9 planes take the scalar CUDA path, 28×28 the float4 one; the last case's counters cross 2^32.
  const std::vector<AugmentSpec> specs = {
      {"augment_eval_c3_7x9_b5", 6, 5, 3, 7, 9, 0, false, 0},
      {"augment_flip_c1_7x9_b5", 4, 5, 1, 7, 9, 0, true, 17},
      {"augment_pad2_c1_7x9_b1", 3, 1, 1, 7, 9, 2, false, 5},
      {"augment_pad2_flip_c3_7x9_b5", 7, 5, 3, 7, 9, 2, true, 1000},
      {"augment_pad4_flip_c3_7x9_b5", 5, 5, 3, 7, 9, 4, true, 123456789},
      {"augment_pad4_flip_c1_28x28_b5", 6, 5, 1, 28, 28, 4, true, 77},
      {"augment_pad4_c3_28x28_b1", 2, 1, 3, 28, 28, 4, false, 3},
      {"augment_pad2_flip_c3_28x28_b5", 3, 5, 3, 28, 28, 2, true, 0xfffffffeull},
  };
  std::vector<OpCase> cases;
  for (const AugmentSpec& s : specs) cases.push_back(augment_case(s));
  return cases;
}

}  // namespace scn::test
