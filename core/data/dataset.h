#pragma once
// An image-classification data set held in host memory, as the files store it: u8 pixels in NCHW and i32
// labels. Conversion to float, normalisation and augmentation happen later, a batch at a time, on the
// device. The helpers here select, split and measure a data set; none of them depends on the device or on
// the thread count.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace scn {

struct Dataset {
  Tensor images;  // u8 (N, C, H, W) on the CPU
  Tensor labels;  // i32 (N), each in [0, classes)
  int classes = 0;
  std::vector<std::string> class_names;  // `classes` names
  std::string source;                    // where it came from, for messages and `scn data inspect`

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int channels() const { return static_cast<int>(images.size(1)); }
  int height() const { return static_cast<int>(images.size(2)); }
  int width() const { return static_cast<int>(images.size(3)); }
};

// Throws unless images/labels have the documented dtypes and shapes, every label is in [0, classes) and
// there are `classes` names. Readers call it on what they return.
void check_dataset(const Dataset& d);

// The records at `indices` (any order, repeats allowed), copied. Other fields are kept.
Dataset subset(const Dataset& d, const std::vector<int64_t>& indices);

// The first min(limit, N) records (`data.limit`), sharing storage with `d`. limit >= 0.
Dataset prefix(const Dataset& d, int64_t limit);

// Records per class: element c counts the labels equal to c.
std::vector<int64_t> class_histogram(const Dataset& d);

// Per-channel mean and (population) standard deviation of the pixels scaled to [0, 1], over all images and
// positions: what `normalize: auto` subtracts and divides by. Exact integer sums, so the result does not
// depend on the thread count.
struct ChannelStats {
  std::vector<double> mean;  // C
  std::vector<double> std;   // C
};
ChannelStats channel_stats(const Dataset& d);

// A stratified hold-out: marks `holdout` of the records (mask[i] = 1), spread over the classes in proportion
// to their sizes (largest-remainder rounding, ties to the lower class), and within a class picks the records
// with the smallest Philox keys of (seed, RngPurpose::split, i). A pure function of (labels, holdout, seed).
std::vector<uint8_t> stratified_holdout(const std::vector<int32_t>& labels, int classes, int64_t holdout,
                                        uint64_t seed);

// `val_split: N`: `val` holds N records chosen by stratified_holdout, `train` the rest; both keep the
// original order. 0 <= N <= size.
struct TrainValSplit {
  Dataset train;
  Dataset val;
};
TrainValSplit split_train_val(const Dataset& d, int64_t val_count, uint64_t seed);

}  // namespace scn
