// scn data convert --from folder ROOT --to cifar10 OUT_DIR [--size 32] [--test-fraction F] [--limit-per-class N]
// scn data inspect PATH [--format F] [--split train|test] [--json]
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "option_checks.h"
#include "core/data/cifar.h"
#include "core/data/gzip_file.h"
#include "core/data/image_folder.h"
#include "core/data/inspect.h"
#include "core/data/load.h"

namespace scn::cli {

namespace {

struct ConvertArgs {
  std::string from = "folder", root, to = "cifar10", out;
  int size = 32;
  double test_fraction = 0;
  int64_t limit_per_class = -1;
  uint64_t seed = 0;
  bool force = false;
};

struct InspectArgs {
  std::string path, format, split = "train";
  bool json = false;
};

// The format of a data folder, from the files it holds.
std::string detect_format(const std::string& dir) {
  if (find_data_file(dir, "data_batch_1.bin") || find_data_file(dir, "test_batch.bin")) return "cifar10";
  if (find_data_file(dir, "train.bin") || find_data_file(dir, "test.bin")) return "cifar100";
  if (find_data_file(dir, "train-images-idx3-ubyte") || find_data_file(dir, "t10k-images-idx3-ubyte"))
    return "fashion_mnist";
  SCN_FAIL(dir, ": no CIFAR-10 (data_batch_1.bin), CIFAR-100 (train.bin) or IDX (train-images-idx3-ubyte) files here; "
                "name the format with --format");
}

int run_convert(const ConvertArgs& a) {
  // Converting takes minutes: refuse before it, not after, to replace an earlier data set.
  for (const char* name : {"data_batch_1.bin", "test_batch.bin", "batches.meta.txt", kDataLayoutFile}) {
    if (find_data_file(a.out, name))
      SCN_CHECK(a.force, a.out, ": already holds a data set (", name, "); pass --force to replace it");
  }
  ImageFolderSummary s = convert_image_folder(a.root, a.out, a.size, a.test_fraction, a.seed, a.limit_per_class);
  std::printf("converted %lld training and %lld test images of %zu classes from %s into %s\n",
              static_cast<long long>(s.train_count), static_cast<long long>(s.test_count), s.class_names.size(),
              a.root.c_str(), a.out.c_str());
  for (const std::string& f : s.files) std::printf("  %s\n", f.c_str());
  if (s.test_count == 0)
    std::printf("no test_batch.bin (--test-fraction 0): train on it with a held-out split, e.g. data.val_split=%lld "
                "(or convert again with --test-fraction 0.1)\n",
                static_cast<long long>(std::max<int64_t>(1, s.train_count / 10)));
  return 0;
}

int run_inspect(const InspectArgs& a) {
  const std::string format = a.format.empty() ? detect_format(a.path) : a.format;
  Dataset d = load_dataset(format, a.path, a.split);
  DatasetSummary s = inspect_dataset(d);
  if (a.json) {
    std::printf("%s\n", summary_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s (%s, %s split)\n%s", a.path.c_str(), format.c_str(), a.split.c_str(), format_summary(s).c_str());
  }
  return 0;
}

}  // namespace

void add_data(CLI::App& app, Action& run) {
  CLI::App* data = app.add_subcommand("data", "Convert and inspect data sets");
  data->require_subcommand(1);

  auto c = std::make_shared<ConvertArgs>();
  CLI::App* convert = data->add_subcommand("convert", "Convert image folders (root/<class>/*.jpg|png) to CIFAR-10 files");
  convert->add_option("--from", c->from, "Source kind")->check(CLI::IsMember({"folder"}))->capture_default_str();
  convert->add_option("root", c->root, "Folder with one sub-folder per class")->required()->check(CLI::ExistingDirectory);
  convert->add_option("--to", c->to, "Target layout")->check(CLI::IsMember({"cifar10"}))->capture_default_str();
  convert->add_option("out", c->out, "Output folder")->required();
  convert->add_option("--size", c->size, "Image side after resizing")->check(whole_number(1, 4096))->capture_default_str();
  convert->add_option("--test-fraction", c->test_fraction,
                      "Fraction held out as test_batch.bin (stratified); 0 writes none, and the configs then need "
                      "data.val_split=N to evaluate")
      ->check(finite_number(0.0, 0.99, false))
      ->capture_default_str();
  convert->add_option("--limit-per-class", c->limit_per_class, "Convert at most N images per class (default: all)")
      ->check(whole_number(1, kMaxCount, "POSITIVE"));
  convert->add_option("--seed", c->seed, "Seed of the shuffle and the test split")->check(whole_number(0, kMaxSeed, "NONNEGATIVE"))->capture_default_str();
  convert->add_flag("--force", c->force, "Replace the data set already in the output folder");
  convert->callback([c, &run] { run = [c] { return run_convert(*c); }; });

  auto i = std::make_shared<InspectArgs>();
  CLI::App* inspect = data->add_subcommand("inspect", "Count, shape, class histogram and channel statistics");
  inspect->add_option("path", i->path, "Data folder")->required()->check(CLI::ExistingDirectory);
  inspect->add_option("--format", i->format, "cifar10, cifar100, fashion_mnist or mnist (default: detected)")
      ->check(CLI::IsMember(dataset_formats()));
  inspect->add_option("--split", i->split, "train or test")->check(CLI::IsMember({"train", "test"}));
  inspect->add_flag("--json", i->json, "Print JSON");
  inspect->callback([i, &run] { run = [i] { return run_inspect(*i); }; });
}

}  // namespace scn::cli
