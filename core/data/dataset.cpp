#include "core/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace scn {

void check_dataset(const Dataset& d) {
  SCN_CHECK(d.images.defined() && d.labels.defined(), d.source, ": data set without images or labels");
  SCN_CHECK(d.images.rank() == 4 && d.images.dtype() == DType::u8 && !d.images.is_cuda(), d.source,
            ": images must be u8 (N, C, H, W) on the CPU, got ", d.images.str());
  SCN_CHECK(d.labels.rank() == 1 && d.labels.dtype() == DType::i32 && !d.labels.is_cuda(), d.source,
            ": labels must be i32 (N) on the CPU, got ", d.labels.str());
  SCN_CHECK(d.images.size(0) == d.labels.size(0), d.source, ": ", d.images.size(0), " images but ", d.labels.size(0),
            " labels");
  SCN_CHECK(d.classes >= 1, d.source, ": ", d.classes, " classes, expected at least 1");
  SCN_CHECK(static_cast<int>(d.class_names.size()) == d.classes, d.source, ": ", d.class_names.size(),
            " class names, expected ", d.classes);
  const int32_t* y = d.labels.data<int32_t>();
  for (int64_t i = 0; i < d.size(); ++i)
    SCN_CHECK(y[i] >= 0 && y[i] < d.classes, d.source, ": record ", i, " has label ", y[i], ", expected < ", d.classes);
}

Dataset subset(const Dataset& d, const std::vector<int64_t>& indices) {
  const int64_t n = static_cast<int64_t>(indices.size());
  Dataset out = d;
  Shape shape = d.images.shape();
  shape[0] = n;
  out.images = Tensor::empty(shape, DType::u8);
  out.labels = Tensor::empty({n}, DType::i32);
  const int64_t row = d.size() ? d.images.numel() / d.size() : 0;
  const uint8_t* src = d.images.data<uint8_t>();
  uint8_t* dst = out.images.data<uint8_t>();
  const int32_t* y = d.labels.data<int32_t>();
  int32_t* out_y = out.labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = indices[i];
    SCN_CHECK(k >= 0 && k < d.size(), "subset: index ", k, " out of range for ", d.size(), " records of ", d.source);
    std::memcpy(dst + i * row, src + k * row, static_cast<size_t>(row));
    out_y[i] = y[k];
  }
  return out;
}

Dataset prefix(const Dataset& d, int64_t limit) {
  SCN_CHECK(limit >= 0, "limit must be >= 0, got ", limit);
  if (limit >= d.size()) return d;
  Dataset out = d;
  out.images = d.images.slice(0, limit);
  out.labels = d.labels.slice(0, limit);
  return out;
}

std::vector<int64_t> class_histogram(const Dataset& d) {
  std::vector<int64_t> counts(static_cast<size_t>(d.classes), 0);
  const int32_t* y = d.labels.data<int32_t>();
  for (int64_t i = 0; i < d.size(); ++i) {
    SCN_CHECK(y[i] >= 0 && y[i] < d.classes, d.source, ": record ", i, " has label ", y[i], ", expected < ", d.classes);
    ++counts[static_cast<size_t>(y[i])];
  }
  return counts;
}

ChannelStats channel_stats(const Dataset& d) {
  const int64_t n = d.size();
  const int c_count = d.images.defined() ? d.channels() : 0;
  const int64_t plane = d.images.defined() ? int64_t{d.height()} * d.width() : 0;
  ChannelStats stats;
  stats.mean.assign(static_cast<size_t>(c_count), 0.0);
  stats.std.assign(static_cast<size_t>(c_count), 0.0);
  if (n == 0 || plane == 0) return stats;
  const uint8_t* x = d.images.data<uint8_t>();
  for (int c = 0; c < c_count; ++c) {
    // Integer sums are exact (Σx² < 2^64 for up to ~10^9 images of 32×32), hence independent of the order
    // in which threads add them.
    uint64_t s1 = 0, s2 = 0;
#pragma omp parallel for reduction(+ : s1, s2) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* p = x + (i * c_count + c) * plane;
      uint64_t a = 0, b = 0;
      for (int64_t j = 0; j < plane; ++j) {
        a += p[j];
        b += uint64_t{p[j]} * p[j];
      }
      s1 += a;
      s2 += b;
    }
    const double count = static_cast<double>(n) * static_cast<double>(plane);
    const double mean = static_cast<double>(s1) / count;  // in [0, 255]
    const double var = std::max(0.0, static_cast<double>(s2) / count - mean * mean);
    stats.mean[static_cast<size_t>(c)] = mean / 255.0;
    stats.std[static_cast<size_t>(c)] = std::sqrt(var) / 255.0;
  }
  return stats;
}

}  // namespace scn
