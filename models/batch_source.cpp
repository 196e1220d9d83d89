#include "models/batch_source.h"

#include <algorithm>
#include <numeric>

#include "core/philox.h"

namespace scn {

std::vector<int32_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  // Sort by a random 64-bit key per item: a uniform permutation that needs no sequential RNG state.
  const RngKey key{seed, RngPurpose::shuffle, static_cast<uint64_t>(epoch) << 32};
  std::vector<std::pair<uint64_t, int32_t>> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const Philox4 r = philox4x32_10(key.seed, static_cast<uint32_t>(key.purpose), key.offset + static_cast<uint64_t>(i));
    keyed[i] = {(static_cast<uint64_t>(r.v[0]) << 32) | r.v[1], static_cast<int32_t>(i)};
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = keyed[i].second;
  return order;
}

BatchSource::BatchSource(const Dataset& data, Device device, const std::vector<double>& mean,
                         const std::vector<double>& std, AugmentParams augment, uint64_t seed, bool shuffle)
    : data_(data), size_(data.size()), device_(device), augment_(augment), seed_(seed), shuffle_(shuffle) {
  SCN_CHECK(size_ > 0, "no images in ", data.source);
  SCN_CHECK(static_cast<int>(mean.size()) == data.channels() && static_cast<int>(std.size()) == data.channels(),
            "normalisation needs ", data.channels(), " mean and std values, got ", mean.size(), " and ", std.size());
  images_ = data.images.to(device);
  mean_ = Tensor::from_vector(mean, {static_cast<int64_t>(mean.size())}).to(device);
  std_ = Tensor::from_vector(std, {static_cast<int64_t>(std.size())}).to(device);
}

BatchSource BatchSource::unaugmented(uint64_t seed) const {
  BatchSource s = *this;  // tensors are shared handles: the device copy of the images is reused
  s.augment_ = AugmentParams{};
  s.seed_ = seed;
  s.shuffle_ = true;
  s.epoch_ = -1;
  s.order_ = s.ordered_labels_ = Tensor();
  return s;
}

void BatchSource::start_epoch(int64_t epoch) {
  if (epoch == epoch_ && order_.defined()) return;
  std::vector<int32_t> order;
  if (shuffle_) {
    order = epoch_order(size_, seed_, epoch);
  } else {
    order.resize(static_cast<size_t>(size_));
    std::iota(order.begin(), order.end(), 0);
  }
  const int32_t* labels = data_.labels.data<int32_t>();
  std::vector<double> o(order.begin(), order.end()), l(order.size());
  for (size_t i = 0; i < order.size(); ++i) l[i] = labels[order[i]];
  order_ = Tensor::from_vector(o, {size_}, DType::i32).to(device_);
  ordered_labels_ = Tensor::from_vector(l, {size_}, DType::i32).to(device_);
  epoch_ = epoch;
}

int64_t BatchSource::batch(Context& ctx, int64_t index, int64_t batch_size, Tensor& x, Tensor& y) {
  SCN_CHECK(index * batch_size < size_, "batch ", index, " is past the end of the epoch");
  return range(ctx, index * batch_size, std::min(batch_size, size_ - index * batch_size), x, y);
}

int64_t BatchSource::range(Context& ctx, int64_t begin, int64_t count, Tensor& x, Tensor& y) {
  SCN_CHECK(epoch_ >= 0, "BatchSource::batch before start_epoch");
  const int64_t end = std::min(size_, begin + count);
  SCN_CHECK(begin >= 0 && begin < end, "images ", begin, "..", begin + count, " are not in the epoch of ", size_);
  const int64_t b = end - begin;
  const Shape shape{b, static_cast<int64_t>(data_.channels()), static_cast<int64_t>(data_.height()),
                    static_cast<int64_t>(data_.width())};
  if (!x.defined() || x.shape() != shape || x.device() != device_) x = Tensor::empty(shape, DType::f32, device_);
  // The key makes a sample's augmentation depend only on (seed, epoch, position in the epoch).
  const RngKey key = augment_key(seed_, epoch_, size_, begin);
  augment_batch(ctx, x, images_, order_.slice(begin, end), mean_, std_, augment_, key);
  y = ordered_labels_.slice(begin, end);
  return b;
}

}  // namespace scn
