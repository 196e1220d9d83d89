#pragma once
// Batch assembly with augmentation: picks images of the in-memory u8 data set by index, crops them at a
// random offset of a zero-padded copy, flips them horizontally at random, and normalises per channel into
// f32. What torchvision's RandomCrop(size=(H, W), padding=p) → RandomHorizontalFlip() → ToTensor() →
// Normalize(mean, std) does one image at a time, here for a whole batch on the batch's device.
//
// Maths, for output sample b with image i = indices[b], channel c, row y, column x:
//   xs = flip_b ? W − 1 − x : x                       (crop first, then flip the cropped window)
//   sy = y + dy_b − p,  sx = xs + dx_b − p            (window offset (dy, dx) ∈ [0, 2p]² of the padded image)
//   pixel = images[i, c, sy, sx] inside the image, else 0 (zero padding in PIXEL space)
//   out[b, c, y, x] = (pixel / 255 − mean[c]) / std[c]
// so a padded pixel becomes −mean[c]/std[c]. Evaluated in this order in the output's dtype (a division, a
// subtraction, a division: nothing to fuse), the CPU and GPU results are bit-identical.
//
// Randomness (Philox4x32-10, core/philox.h). Sample b of the batch draws the four words
//   r = philox4x32_10(key.seed, key.purpose, key.offset + b)
// and uses them as
//   dx     = (r.v[0] · (2p + 1)) >> 32     column offset of the window, uniform in [0, 2p]
//   dy     = (r.v[1] · (2p + 1)) >> 32     row offset of the window, uniform in [0, 2p]
//   flip_b = params.flip && (r.v[2] >> 31) probability 1/2
// (products in 64 bits: the high word of a 32-bit uniform times the range, so each offset has probability
// within 2^-32 of 1/(2p + 1)).
// r.v[3] is unused. The words are independent: turning flip on or off never changes the crop offsets.
//
// Keying rule. The caller keys a batch by where its first sample sits in the epoch:
//   key = augment_key(seed, epoch, epoch_size, position)
//       = {seed, RngPurpose::augment, epoch · epoch_size + position}
// Sample b then uses counter epoch · epoch_size + position + b: its own (epoch, position-in-epoch) pair,
// which every sample of every epoch has exactly once. So a sample's augmentation depends only on
// (seed, epoch, its position in the epoch) — not on the device, the thread count, the batch size or which
// other samples share its batch — and every sample of every epoch draws fresh numbers.
#include <cstdint>

#include "core/context.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/tensor.h"

namespace scn {

struct AugmentParams {
  int crop_pad = 0;   // p ≥ 0: zero padding on each side before the random H×W crop; 0: no crop
  bool flip = false;  // random horizontal flip with probability 1/2
};
// crop_pad 0 and flip false: no augmentation (evaluation); the key is then unused.

// The key of a batch whose first sample is at `position` (0-based) of epoch `epoch`, an epoch being
// `epoch_size` samples. See the keying rule above.
inline RngKey augment_key(uint64_t seed, int64_t epoch, int64_t epoch_size, int64_t position) {
  SCN_CHECK(epoch >= 0 && epoch_size >= 0 && position >= 0, "augment_key: epoch ", epoch, ", epoch_size ", epoch_size,
            " and position ", position, " must be non-negative");
  return RngKey{seed, RngPurpose::augment,
                static_cast<uint64_t>(epoch) * static_cast<uint64_t>(epoch_size) + static_cast<uint64_t>(position)};
}

// The random choices of one sample: window offset (dy, dx) in the padded image, and the flip.
struct AugmentDraw {
  int dy = 0;
  int dx = 0;
  bool flip = false;
};

// Sample b's draw under `key` (see "Randomness" above); shared by the CPU and CUDA code.
SCN_HD AugmentDraw augment_draw(const RngKey& key, int64_t b, const AugmentParams& params) {
  AugmentDraw d;
  if (params.crop_pad <= 0 && !params.flip) return d;
  const Philox4 r = philox4x32_10(key.seed, static_cast<uint32_t>(key.purpose), key.offset + static_cast<uint64_t>(b));
  const uint64_t range = 2 * static_cast<uint64_t>(params.crop_pad > 0 ? params.crop_pad : 0) + 1;
  d.dx = static_cast<int>((static_cast<uint64_t>(r.v[0]) * range) >> 32);
  d.dy = static_cast<int>((static_cast<uint64_t>(r.v[1]) * range) >> 32);
  d.flip = params.flip && (r.v[2] >> 31) != 0;
  return d;
}

// out[b] = normalise(flip(crop(pad(images[indices[b]])))), as described above.
// out: f32 (B, C, H, W) (f64 also on the CPU); images: u8 (N, C, H, W), the whole data set, on out's device;
// indices: i32 (B), each in [0, N) (checked on the CPU; on a GPU an out-of-range index fills its sample with
// NaN instead of reading outside `images`); mean, std: (C) in out's dtype, std > 0 (checked on the CPU);
// key: see the keying rule.
void augment_batch(Context& ctx, const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean,
                   const Tensor& std, const AugmentParams& params, const RngKey& key);

namespace cuda {
void augment_batch(Context& ctx, const Tensor& out, const Tensor& images, const Tensor& indices, const Tensor& mean,
                   const Tensor& std, const AugmentParams& params, const RngKey& key);
}  // namespace cuda

}  // namespace scn
