#pragma once
// Mini-batches of an in-memory data set on the training device. The uint8 images and labels are copied to
// the device once; each epoch's order is a Philox shuffle keyed by (seed, epoch), uploaded once per epoch
// with the labels in that order, so a batch is two views and one augmentation launch: no per-step copies,
// and the same images in the same order on CPU and GPU and after a resume.
#include <vector>

#include "core/context.h"
#include "core/data/dataset.h"
#include "kernels/augment.h"

namespace scn {

class BatchSource {
 public:
  // mean, std: per channel, for (pixel/255 − mean)/std. shuffle: a new order every epoch (training).
  BatchSource(const Dataset& data, Device device, const std::vector<double>& mean, const std::vector<double>& std,
              AugmentParams augment, uint64_t seed, bool shuffle);

  // The same images (shared on the device, not uploaded again) without augmentation, shuffled from `seed`:
  // the training images as evaluation sees them.
  BatchSource unaugmented(uint64_t seed) const;

  int64_t size() const { return size_; }
  const Dataset& dataset() const { return data_; }
  // Number of batches of `batch` images in an epoch (the last may be smaller).
  int64_t batches(int64_t batch) const { return (size_ + batch - 1) / batch; }
  // Fixes the order of `epoch` (0-based).
  void start_epoch(int64_t epoch);
  // Batch `index` of the current epoch: x (B, C, H, W) f32 normalised and augmented, y (B) i32 (a view).
  // Returns B. x is reallocated only when B changes.
  int64_t batch(Context& ctx, int64_t index, int64_t batch_size, Tensor& x, Tensor& y);
  // Images [begin, begin + count) of the current epoch's order, as `batch` gives them (a rank's share of a
  // global batch: each image is augmented as in a single process, its key being its place in the epoch).
  int64_t range(Context& ctx, int64_t begin, int64_t count, Tensor& x, Tensor& y);

 private:
  Dataset data_;
  int64_t size_ = 0;
  Device device_;
  Tensor images_, mean_, std_;       // on the device
  Tensor order_, ordered_labels_;    // i32 (N) for the current epoch, on the device
  AugmentParams augment_;
  uint64_t seed_;
  bool shuffle_;
  int64_t epoch_ = -1;
};

// The shuffle of `n` items for (seed, epoch): a permutation depending on nothing else.
std::vector<int32_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace scn
