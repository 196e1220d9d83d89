#include <algorithm>
#include <cmath>

#include "core/data/image.h"
#include "core/error.h"

namespace scn {

namespace {

// out[o] = Σ_k weight[k]·in[index[k]] over the taps of output o.
struct Taps {
  std::vector<int> begin;  // out_len + 1 offsets into index/weight
  std::vector<int> index;
  std::vector<float> weight;
};

// The 1-D resampling weights from in_len to out_len samples.
Taps make_taps(int in_len, int out_len) {
  Taps t;
  const double scale = static_cast<double>(in_len) / out_len;
  for (int o = 0; o < out_len; ++o) {
    t.begin.push_back(static_cast<int>(t.index.size()));
    if (scale > 1.0) {
      // Area: the output sample covers [o·scale, (o+1)·scale) of the input; each input sample j covers
      // [j, j+1) and contributes its overlap / scale.
      const double lo = o * scale, hi = (o + 1) * scale;
      for (int j = static_cast<int>(std::floor(lo)); j < std::min(in_len, static_cast<int>(std::ceil(hi))); ++j) {
        const double overlap = std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j));
        if (overlap <= 0) continue;
        t.index.push_back(j);
        t.weight.push_back(static_cast<float>(overlap / scale));
      }
    } else {
      // Bilinear: output centre o + 0.5 maps to input coordinate (o + 0.5)·scale − 0.5, clamped to the edge.
      const double x = std::clamp((o + 0.5) * scale - 0.5, 0.0, in_len - 1.0);
      const int j0 = static_cast<int>(std::floor(x)), j1 = std::min(j0 + 1, in_len - 1);
      const double f = x - j0;
      t.index.push_back(j0);
      t.weight.push_back(static_cast<float>(1.0 - f));
      if (f > 0) {
        t.index.push_back(j1);
        t.weight.push_back(static_cast<float>(f));
      }
    }
  }
  t.begin.push_back(static_cast<int>(t.index.size()));
  return t;
}

}  // namespace

RgbImage resize_image(const RgbImage& image, int width, int height) {
  SCN_CHECK(width >= 1 && height >= 1, "resize_image: target size ", width, "×", height, " must be positive");
  SCN_CHECK(image.width >= 1 && image.height >= 1 &&
                image.pixels.size() == static_cast<size_t>(image.width) * image.height * 3,
            "resize_image: invalid ", image.width, "×", image.height, " image of ", image.pixels.size(), " bytes");
  if (image.width == width && image.height == height) return image;
  const Taps tx = make_taps(image.width, width), ty = make_taps(image.height, height);
  // Rows first (each input row to `width` samples), then columns.
  std::vector<float> rows(static_cast<size_t>(image.height) * width * 3);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (int k = tx.begin[x]; k < tx.begin[x + 1]; ++k)
          acc += tx.weight[k] * image.pixels[(static_cast<size_t>(y) * image.width + tx.index[k]) * 3 + c];
        rows[(static_cast<size_t>(y) * width + x) * 3 + c] = acc;
      }
  RgbImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (int k = ty.begin[y]; k < ty.begin[y + 1]; ++k)
          acc += ty.weight[k] * rows[(static_cast<size_t>(ty.index[k]) * width + x) * 3 + c];
        out.pixels[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  return out;
}

}  // namespace scn
