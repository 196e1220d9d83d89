#include "models/predict.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/data/image.h"

namespace scn {

Tensor image_input(const std::string& path, const Shape& input, const std::vector<double>& mean,
                   const std::vector<double>& std) {
  const int64_t C = input[0], H = input[1], W = input[2];
  SCN_CHECK(C == 1 || C == 3, path, ": the net reads ", C, "-channel images; predict handles grey (1) or RGB (3)");
  const RgbImage image = resize_image(decode_image(path), static_cast<int>(W), static_cast<int>(H));
  std::vector<double> x(static_cast<size_t>(C * H * W));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t i = 0; i < W; ++i) {
      const uint8_t* p = &image.pixels[static_cast<size_t>((y * W + i) * 3)];
      for (int64_t c = 0; c < C; ++c) {
        // Grey as PIL's convert("L"): round(0.299 R + 0.587 G + 0.114 B).
        const double v = C == 3 ? p[c] : std::round(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
        const double m = mean.empty() ? 0.0 : mean[static_cast<size_t>(c) % mean.size()];
        const double s = std.empty() ? 1.0 : std[static_cast<size_t>(c) % std.size()];
        x[static_cast<size_t>((c * H + y) * W + i)] = (v / 255.0 - m) / s;
      }
    }
  return Tensor::from_vector(x, {1, C, H, W});
}

std::vector<ImagePrediction> predict_images(Context& ctx, Net& net, const std::vector<std::string>& paths,
                                            const std::vector<double>& mean, const std::vector<double>& std,
                                            const std::vector<std::string>& class_names, int k, int64_t batch) {
  const Shape& in = net.input_shape();
  const int classes = net.classes();
  k = std::clamp(k, 1, classes);
  std::vector<ImagePrediction> out;
  for (size_t first = 0; first < paths.size(); first += static_cast<size_t>(batch)) {
    const size_t n = std::min(paths.size() - first, static_cast<size_t>(batch));
    Tensor x = Tensor::empty({static_cast<int64_t>(n), in[0], in[1], in[2]});
    for (size_t j = 0; j < n; ++j)
      x.slice(static_cast<int64_t>(j), static_cast<int64_t>(j) + 1).copy_from(image_input(paths[first + j], in, mean, std));
    const std::vector<double> logits = net.forward(ctx, x.to(net.device()), Mode::eval).to_vector();
    for (size_t j = 0; j < n; ++j) {
      const double* z = &logits[j * static_cast<size_t>(classes)];
      const double top = *std::max_element(z, z + classes);
      std::vector<double> p(static_cast<size_t>(classes));
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += p[static_cast<size_t>(c)] = std::exp(z[c] - top);
      std::vector<int> order(static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
      ImagePrediction r{paths[first + j], {}};
      for (int t = 0; t < k; ++t) {
        const int c = order[static_cast<size_t>(t)];
        r.top.push_back({c, static_cast<size_t>(c) < class_names.size() ? class_names[static_cast<size_t>(c)] : "class " + std::to_string(c),
                         std::isfinite(sum) ? p[static_cast<size_t>(c)] / sum : NAN});
      }
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace scn
