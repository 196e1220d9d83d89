#pragma once
// Predictions on image files (JPEG or PNG, any size) with a trained net: each image decoded, resized to the
// net's input as `scn data convert` resizes (area average when shrinking, bilinear when growing), converted to
// the net's channels (grey: ITU-R 601 luma, as PIL's convert("L")), normalised as in training, and the
// softmax's top k classes returned.
#include <string>
#include <vector>

#include "models/net.h"

namespace scn {

struct ClassScore {
  int index = 0;
  std::string name;     // the checkpoint's class name, or "class <index>"
  double probability = 0;
};

struct ImagePrediction {
  std::string path;
  std::vector<ClassScore> top;  // most probable first
};

// The net's input (1, C, H, W) for one image file: pixels as `data convert` makes them, then (p/255 − mean)/std.
Tensor image_input(const std::string& path, const Shape& input, const std::vector<double>& mean,
                   const std::vector<double>& std);

// The top `k` classes of every image, in batches of `batch`, with the net in inference mode.
std::vector<ImagePrediction> predict_images(Context& ctx, Net& net, const std::vector<std::string>& paths,
                                            const std::vector<double>& mean, const std::vector<double>& std,
                                            const std::vector<std::string>& class_names, int k, int64_t batch = 64);

}  // namespace scn
