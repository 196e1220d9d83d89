// scn predict CHECKPOINT IMAGE... [--top K] [--json] [--device D]
// Classes of image files (JPEG/PNG, any size) with a trained checkpoint; its config, normalisation and class
// names come from the checkpoint (models/predict.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "checkpoint_run.h"
#include "commands.h"
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

}  // namespace

void add_predict(CLI::App& app, Action& run) {
  struct Args {
    std::string checkpoint, device = "auto";
    std::vector<std::string> images;
    int top = 5;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("predict", "Classify image files (JPEG/PNG) with a checkpoint");
  sub->add_option("checkpoint", a->checkpoint, "Checkpoint (.safetensors)")->required()->check(CLI::ExistingFile);
  sub->add_option("images", a->images, "Image files (JPEG or PNG, any size: resized as data convert does)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--top", a->top, "Classes to show per image")->check(CLI::Range(1, 1000))->capture_default_str();
  sub->add_flag("--json", a->json, "Print JSON: [{image, top: [{class, name, probability}]}]");
  sub->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->callback([a, &run] {
    run = [a] {
      CheckpointRun r = load_checkpoint_run("", {}, a->checkpoint, a->device);
      const std::vector<ImagePrediction> p = predict_images(Context::get(r.device), *r.net, a->images, r.mean, r.std,
                                                            class_names_of(r), a->top);
      if (a->json) {
        nlohmann::json out = nlohmann::json::array();
        for (const ImagePrediction& q : p) {
          nlohmann::json top = nlohmann::json::array();
          for (const ClassScore& s : q.top) top.push_back({{"class", s.index}, {"name", s.name}, {"probability", s.probability}});
          out.push_back({{"image", q.path}, {"top", top}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
      }
      for (const ImagePrediction& q : p) {
        std::printf("%s:", q.path.c_str());
        for (const ClassScore& s : q.top) std::printf("  %s %.1f%%", s.name.c_str(), 100 * s.probability);
        std::printf("\n");
      }
      return 0;
    };
  });
}

}  // namespace scn::cli
