#include "core/data/cifar.h"

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/data/class_names.h"
#include "core/data/gzip_file.h"

namespace scn {

namespace {

// The fixed-size record of one CIFAR format: label bytes (each with its bound), then the pixel planes.
struct RecordFormat {
  const char* name;                      // "CIFAR-10"
  std::vector<const char*> label_names;  // one per label byte, for messages ("label", "coarse label")
  std::vector<int> label_bounds;         // label byte k must be < label_bounds[k]
  int label_used;                        // which label byte becomes Dataset::labels
  int image_size;
  int64_t pixel_bytes() const { return 3 * int64_t{image_size} * image_size; }
  int64_t record_bytes() const { return static_cast<int64_t>(label_bounds.size()) + pixel_bytes(); }
};

struct FileBytes {
  std::string path;
  std::vector<uint8_t> bytes;
};

// Checks one file against the record format; returns its record count.
int64_t check_records(const FileBytes& file, const RecordFormat& format) {
  const int64_t size = static_cast<int64_t>(file.bytes.size());
  const int64_t record = format.record_bytes();
  const char* decompressed = is_gzip_file(file.path) ? " (decompressed)" : "";
  SCN_CHECK(size > 0, file.path, ": empty file, expected at least one ", record, "-byte ", format.name, " record");
  SCN_CHECK(size % record == 0, file.path, ": size ", size, decompressed, " is not a multiple of the ", record,
            "-byte ", format.name, " record of ", format.image_size, "x", format.image_size,
            " images (a folder scn data convert wrote records its image size in ", kDataLayoutFile, ")");
  const int64_t count = size / record;
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* r = file.bytes.data() + i * record;
    for (size_t k = 0; k < format.label_bounds.size(); ++k)
      SCN_CHECK(r[k] < format.label_bounds[k], file.path, ": record ", i, " has ", format.label_names[k], " ",
                int{r[k]}, ", expected < ", format.label_bounds[k]);
  }
  return count;
}

// Reads and checks the files, then gathers their records into one data set.
Dataset read_records(const std::vector<std::string>& paths, const RecordFormat& format) {
  SCN_CHECK(format.image_size >= 1 && format.image_size <= 4096, format.name, ": image_size must be in [1, 4096], got ",
            format.image_size);
  std::vector<FileBytes> files;
  int64_t total = 0;
  for (const std::string& path : paths) {
    files.push_back({path, read_data_file(path)});
    total += check_records(files.back(), format);
  }
  const int s = format.image_size;
  Dataset d;
  d.images = Tensor::empty({total, 3, s, s}, DType::u8);
  d.labels = Tensor::empty({total}, DType::i32);
  uint8_t* x = d.images.data<uint8_t>();
  int32_t* y = d.labels.data<int32_t>();
  const int64_t record = format.record_bytes(), pixels = format.pixel_bytes();
  const int64_t offset = static_cast<int64_t>(format.label_bounds.size());
  int64_t n = 0;
  for (FileBytes& file : files) {
    const int64_t count = static_cast<int64_t>(file.bytes.size()) / record;
    for (int64_t i = 0; i < count; ++i, ++n) {
      const uint8_t* r = file.bytes.data() + i * record;
      y[n] = r[format.label_used];
      std::memcpy(x + n * pixels, r + offset, static_cast<size_t>(pixels));
    }
    file.bytes = {};  // release as we go: the whole training set is 150 MB
  }
  return d;
}

void check_split(const std::string& split, const char* format) {
  SCN_CHECK(split == "train" || split == "test", format, ": split must be train or test, got '", split, "'");
}

std::vector<std::string> names_or_default(const std::string& dir, const std::string& file, size_t expected,
                                          std::vector<std::string> fallback) {
  std::optional<std::string> path = find_data_file(dir, file);
  if (!path) return fallback;
  std::vector<std::string> names = read_class_names(*path);
  SCN_CHECK(names.size() == expected, *path, ": ", names.size(), " class names, expected ", expected);
  return names;
}

// The image side to read: the one asked for, checked against what the folder records, or the recorded one,
// or the release's 32.
int resolve_image_size(const std::string& dir, int asked) {
  SCN_CHECK(asked >= 0 && asked <= 4096, "image_size must be in [1, 4096] (0: from the folder), got ", asked);
  const int recorded = recorded_image_size(dir);
  if (asked == 0) return recorded ? recorded : 32;
  SCN_CHECK(!recorded || recorded == asked, (std::filesystem::path(dir) / kDataLayoutFile).string(), ": the images are ",
            recorded, "x", recorded, ", not ", asked, "x", asked);
  return asked;
}

}  // namespace

int recorded_image_size(const std::string& dir) {
  const std::optional<std::string> path = find_data_file(dir, kDataLayoutFile);
  if (!path) return 0;
  const std::vector<uint8_t> bytes = read_data_file(*path);
  const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  SCN_CHECK(j.is_object() && j.contains("image_size") && j["image_size"].is_number_integer(), *path,
            ": expected a JSON object with an integer \"image_size\" (written by scn data convert)");
  const int64_t size = j["image_size"].get<int64_t>();
  SCN_CHECK(size >= 1 && size <= 4096, *path, ": image_size ", size, " is not in [1, 4096]");
  return static_cast<int>(size);
}

Dataset read_cifar10(const std::string& dir, const std::string& split, int image_size) {
  check_split(split, "CIFAR-10");
  image_size = resolve_image_size(dir, image_size);
  std::vector<std::string> paths;
  if (split == "test") {
    // A folder converted with --test-fraction 0 has no test split: say how to train on it anyway.
    if (!find_data_file(dir, "test_batch.bin") && find_data_file(dir, "data_batch_1.bin"))
      SCN_FAIL((std::filesystem::path(dir) / "test_batch.bin").string(),
               ": no such file (nor .gz). This folder has training batches but no test split: hold out validation "
               "images with data.val_split=N (e.g. data.val_split=5000), or convert again with --test-fraction 0.1");
    paths.push_back(require_data_file(dir, "test_batch.bin"));
  } else {
    paths.push_back(require_data_file(dir, "data_batch_1.bin"));
    bool gap = false;
    for (int k = 2; k <= 5; ++k) {
      const std::string name = "data_batch_" + std::to_string(k) + ".bin";
      std::optional<std::string> path = find_data_file(dir, name);
      if (!path) {
        gap = true;
        continue;
      }
      SCN_CHECK(!gap, *path, ": present, but data_batch_", k - 1, ".bin (or an earlier batch) is missing");
      paths.push_back(*path);
    }
  }
  std::vector<std::string> names = cifar10_class_names();
  if (std::optional<std::string> meta = find_data_file(dir, "batches.meta.txt")) {
    names = read_class_names(*meta);
    SCN_CHECK(!names.empty() && names.size() <= 256, *meta, ": ", names.size(),
              " class names, expected 1 to 256 (one per line)");
  }
  const int classes = static_cast<int>(names.size());
  Dataset d = read_records(paths, {"CIFAR-10", {"label"}, {classes}, 0, image_size});
  d.classes = classes;
  d.class_names = std::move(names);
  d.source = "cifar10 " + split + " (" + dir + ")";
  check_dataset(d);
  return d;
}

Dataset read_cifar100(const std::string& dir, const std::string& split, Cifar100Label label, int image_size) {
  check_split(split, "CIFAR-100");
  image_size = resolve_image_size(dir, image_size);
  const std::string path = require_data_file(dir, split + ".bin");
  const bool fine = label == Cifar100Label::fine;
  Dataset d = read_records({path}, {"CIFAR-100", {"coarse label", "fine label"}, {20, 100}, fine ? 1 : 0, image_size});
  d.class_names = fine ? names_or_default(dir, "fine_label_names.txt", 100, cifar100_fine_class_names())
                       : names_or_default(dir, "coarse_label_names.txt", 20, cifar100_coarse_class_names());
  d.classes = fine ? 100 : 20;
  d.source = std::string("cifar100 ") + split + " " + (fine ? "fine" : "coarse") + " (" + dir + ")";
  check_dataset(d);
  return d;
}

}  // namespace scn
