// Predictions on image files: the input is the image resized and normalised as in training (a uniform
// colour stays exactly that colour; grey nets read luma), and the top classes are the softmax's, sorted.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "core/image_files.h"
#include "models/predict.h"

namespace scn {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("scn_predict_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& f) const { return (path / f).string(); }
};

std::string uniform_png(const TempDir& dir, const std::string& name, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < w * h; ++i) pixels.insert(pixels.end(), {r, g, b});
  testing::write_png(dir.file(name), w, h, 3, pixels);
  return dir.file(name);
}

TEST(Predict, TheInputIsTheImageResizedAndNormalisedAsInTraining) {
  TempDir dir;
  const std::string path = uniform_png(dir, "orange.png", 37, 23, 250, 120, 10);
  const Tensor rgb = image_input(path, Shape{3, 8, 9}, {0.5, 0.4, 0.3}, {0.2, 0.25, 0.5});
  ASSERT_EQ(rgb.shape(), Shape({1, 3, 8, 9}));
  const std::vector<double> v = rgb.to_vector();
  const double expected[3] = {(250 / 255.0 - 0.5) / 0.2, (120 / 255.0 - 0.4) / 0.25, (10 / 255.0 - 0.3) / 0.5};
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i / 72], 1e-6) << i;
  // A grey net reads luma: round(0.299 R + 0.587 G + 0.114 B) = 146.
  const Tensor grey = image_input(path, Shape{1, 5, 5}, {0.0}, {1.0});
  for (double x : grey.to_vector()) EXPECT_NEAR(x, 146 / 255.0, 1e-6);
  EXPECT_THROW(image_input(dir.file("missing.png"), Shape{3, 8, 8}, {}, {}), Error);
}

TEST(Predict, TopClassesAreTheSoftmaxsSorted) {
  TempDir dir;
  auto net = Net::build(ConfigNode::load_string(R"(model:
  input: [3, 6, 6]
  classes: 4
  layers:
    - {type: conv, out: 3, kernel: 3}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)", "predict.yaml")["model"]);
  net->initialize(Device::cpu(), 5);
  const std::vector<std::string> paths = {uniform_png(dir, "a.png", 12, 12, 200, 30, 40),
                                          uniform_png(dir, "b.png", 5, 9, 10, 220, 90)};
  Context& ctx = Context::get(Device::cpu());
  const auto p = predict_images(ctx, *net, paths, {0.5}, {0.25}, {"w", "x", "y", "z"}, 4, 1);
  ASSERT_EQ(p.size(), 2u);
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p[i].top.size(), 4u);
    double sum = 0;
    for (size_t t = 0; t < 4; ++t) {
      sum += p[i].top[t].probability;
      if (t > 0) {
        EXPECT_GE(p[i].top[t - 1].probability, p[i].top[t].probability);
      }
      EXPECT_EQ(p[i].top[t].name, std::string(1, "wxyz"[p[i].top[t].index]));
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    const std::vector<double> z = net->forward(ctx, image_input(paths[i], Shape{3, 6, 6}, {0.5}, {0.25}), Mode::eval).to_vector();
    EXPECT_EQ(p[i].top[0].index, static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin()));
  }
}

}  // namespace
}  // namespace scn
