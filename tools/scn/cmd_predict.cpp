// scn predict CHECKPOINT IMAGE|FOLDER... [--top K] [--json] [--device D]
// Classes of image files (JPEG/PNG, any size) with a trained checkpoint or an `scn export` file; its config,
// normalisation and class names come from the file (models/predict.h). A folder stands for the JPEG and PNG
// files directly in it, sorted by name.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "checkpoint_run.h"
#include "commands.h"
#include "option_checks.h"
#include "core/data/class_names.h"
#include "models/predict.h"

namespace scn::cli {

namespace {

// The checkpoint's class names; for an older checkpoint, the standard names of its data format when the
// class count matches (a converted image folder may have named its classes otherwise: then indices).
std::vector<std::string> class_names_of(const CheckpointRun& r) {
  if (!r.info.class_names.empty()) return r.info.class_names;
  const std::string& f = r.config.data.format;
  std::vector<std::string> names = f == "cifar10"         ? cifar10_class_names()
                                   : f == "fashion_mnist" ? fashion_mnist_class_names()
                                   : f == "mnist"         ? digit_class_names()
                                   : f == "cifar100"      ? (r.config.data.label == "coarse" ? cifar100_coarse_class_names()
                                                                                             : cifar100_fine_class_names())
                                                          : std::vector<std::string>{};
  return static_cast<int>(names.size()) == r.net->classes() ? names : std::vector<std::string>{};
}

// The image files the arguments name: a file as given, a folder as its .jpg/.jpeg/.png files (any case; not
// hidden ones, not sub-folders), sorted. A folder without images is an error.
std::vector<std::string> image_files(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& a : args) {
    std::error_code ec;
    if (!fs::is_directory(a, ec)) {
      out.push_back(a);
      continue;
    }
    std::vector<std::string> found;
    for (const fs::directory_entry& e : fs::directory_iterator(a, ec)) {
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (e.path().filename().string().starts_with(".") || !e.is_regular_file(ec)) continue;
      if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") found.push_back(e.path().string());
    }
    SCN_CHECK(!ec, a, ": cannot list the folder (", ec.message(), ")");
    SCN_CHECK(!found.empty(), a, ": no .jpg, .jpeg or .png files in this folder");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// Text from files (paths, class names) as a terminal may show it: control characters as \xNN.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

void add_predict(CLI::App& app, Action& run) {
  struct Args {
    std::string checkpoint, device = "auto";
    std::vector<std::string> images;
    int top = 5;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("predict", "Classify image files (JPEG/PNG) with a checkpoint or an export");
  sub->add_option("checkpoint", a->checkpoint, "Checkpoint or scn export file (.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("images", a->images,
                  "Image files (JPEG or PNG, any size: resized as data convert does), or folders of them")
      ->required()
      ->check(CLI::ExistingPath);
  sub->add_option("--top", a->top, "Classes to show per image")->check(whole_number(1, 1000))->capture_default_str();
  sub->add_flag("--json", a->json, "Print JSON: [{image, top: [{class, name, probability}]}]");
  sub->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->callback([a, &run] {
    run = [a] {
      const std::vector<std::string> images = image_files(a->images);
      CheckpointRun r = load_checkpoint_run("", {}, a->checkpoint, a->device);
      const std::vector<ImagePrediction> p = predict_images(Context::get(r.device), *r.net, images, r.mean, r.std,
                                                            class_names_of(r), a->top);
      if (a->json) {
        nlohmann::json out = nlohmann::json::array();
        for (const ImagePrediction& q : p) {
          nlohmann::json top = nlohmann::json::array();
          for (const ClassScore& s : q.top) top.push_back({{"class", s.index}, {"name", s.name}, {"probability", s.probability}});
          out.push_back({{"image", q.path}, {"top", top}});
        }
        std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
      }
      for (const ImagePrediction& q : p) {
        std::printf("%s:", printable(q.path).c_str());
        for (const ClassScore& s : q.top) std::printf("  %s %.1f%%", printable(s.name).c_str(), 100 * s.probability);
        std::printf("\n");
      }
      return 0;
    };
  });
}

}  // namespace scn::cli
