#include "core/data/image_folder.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/data/cifar.h"
#include "core/data/class_names.h"
#include "core/data/dataset.h"
#include "core/data/image.h"
#include "core/philox.h"
#include "core/temporary_files.h"

namespace scn {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kRecordsPerBatch = 10000;
constexpr int kMaxBatches = 5;

bool is_hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  SCN_CHECK(!ec, dir.string(), ": cannot list the folder (", ec.message(), ")");
  for (const fs::directory_entry& e : it) {
    if (is_hidden(e.path())) continue;
    // Images in a class folder's sub-folders would be left out without a word: refuse them instead.
    SCN_CHECK(directories || !e.is_directory(), e.path().string(), ": a folder inside the class folder ", dir.string(),
              "; only the images directly in each class folder are converted: move them up, or remove or hide "
              "(.name) the folder");
    if (directories ? e.is_directory() : (e.is_regular_file() && is_image_name(e.path()))) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Shuffles by sorting on 64-bit Philox keys of (seed, RngPurpose::data, index).
void shuffle_indices(std::vector<int64_t>& indices, uint64_t seed) {
  const auto key = [seed](int64_t i) {
    const Philox4 r = philox4x32_10(seed, static_cast<uint32_t>(RngPurpose::data), static_cast<uint64_t>(i));
    return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
  };
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  for (int64_t i : indices) keyed.emplace_back(key(i), i);
  std::sort(keyed.begin(), keyed.end());
  for (size_t k = 0; k < keyed.size(); ++k) indices[k] = keyed[k].second;
}

// Writes `bytes` to `path` + ".tmp", registered with the signal handlers (`registered`) so that Ctrl-C or
// SIGTERM removes it, and removed again when the write fails (a full disk leaves nothing behind); returns
// that temporary path.
fs::path write_temporary(const fs::path& path, const std::vector<uint8_t>& bytes,
                         std::vector<std::unique_ptr<TemporaryFile>>& registered) {
  const fs::path tmp = path.string() + ".tmp";
  check_regular_file_target(path.string());
  check_regular_file_target(tmp.string());
  registered.push_back(std::make_unique<TemporaryFile>(tmp.string()));
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  SCN_CHECK(out, tmp.string(), ": cannot create the file (", std::strerror(errno), ")");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    const int err = errno;
    std::error_code ec;
    fs::remove(tmp, ec);
    SCN_FAIL(path.string(), ": cannot write ", bytes.size(), " bytes (", err == ENOSPC ? "no space left on the device"
             : err ? std::strerror(err) : "write error", "); its temporary file was removed and ", path.parent_path().string(),
             " is left as it was");
  }
  return tmp;
}

// The records of `order` (indices into files/labels) as CIFAR-10 bytes; images are decoded in parallel and
// the first failure in record order is rethrown.
std::vector<uint8_t> encode_records(const std::vector<int64_t>& order, const std::vector<fs::path>& files,
                                    const std::vector<int32_t>& labels, int size) {
  const int64_t plane = int64_t{size} * size, record = 1 + 3 * plane, n = static_cast<int64_t>(order.size());
  std::vector<uint8_t> bytes(static_cast<size_t>(n * record));
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    try {
      const int64_t k = order[i];
      const RgbImage image = resize_image(decode_image(files[k].string()), size, size);
      uint8_t* r = bytes.data() + i * record;
      r[0] = static_cast<uint8_t>(labels[k]);
      for (int64_t p = 0; p < plane; ++p)
        for (int c = 0; c < 3; ++c) r[1 + c * plane + p] = image.pixels[3 * p + c];
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(e);  // already names the file and the code location
  return bytes;
}

}  // namespace

ImageFolderSummary convert_image_folder(const std::string& root, const std::string& out_dir, int size,
                                        double test_fraction, uint64_t seed, int64_t limit_per_class) {
  SCN_CHECK(size >= 1 && size <= 4096, "convert_image_folder: size must be in [1, 4096], got ", size);
  SCN_CHECK(test_fraction >= 0 && test_fraction < 1, "convert_image_folder: test_fraction must be in [0, 1), got ",
            test_fraction);
  std::error_code ec;
  SCN_CHECK(fs::is_directory(root, ec), root, ": not a directory (expected root/<class>/*.jpg|png)");
  // The output inside the input tree would become a class folder of the next conversion.
  {
    std::error_code in_ec, out_ec;
    const fs::path in = fs::weakly_canonical(root, in_ec), out = fs::weakly_canonical(out_dir, out_ec);
    if (!in_ec && !out_ec && !in.empty())
      SCN_CHECK(std::mismatch(in.begin(), in.end(), out.begin(), out.end()).first != in.end(), out_dir,
                ": is inside the folder being converted (", root, "); write the data set somewhere else");
  }
  ImageFolderSummary summary;
  std::vector<fs::path> files;
  std::vector<int32_t> labels;
  const std::vector<fs::path> class_dirs = sorted_entries(root, true);
  SCN_CHECK(!class_dirs.empty(), root, ": no class folders (expected root/<class>/*.jpg|png)");
  SCN_CHECK(class_dirs.size() <= 256, root, ": ", class_dirs.size(), " class folders, at most 256 fit a label byte");
  for (const fs::path& dir : class_dirs) {
    const std::string name = class_name_utf8(dir.filename().string());
    SCN_CHECK(std::none_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }) &&
                  name.front() != ' ' && name.back() != ' ',
              dir.string(),
              ": a class name with control characters (line breaks, tabs, escapes) or surrounding spaces cannot be "
              "stored in batches.meta.txt nor shown safely");
    std::vector<fs::path> images = sorted_entries(dir, false);
    SCN_CHECK(!images.empty(), dir.string(), ": no .jpg, .jpeg or .png files in this class folder");
    if (limit_per_class >= 0 && static_cast<int64_t>(images.size()) > limit_per_class) images.resize(limit_per_class);
    for (const fs::path& p : images) {
      files.push_back(p);
      labels.push_back(static_cast<int32_t>(summary.class_names.size()));
    }
    summary.class_names.push_back(name);
  }
  const int classes = static_cast<int>(summary.class_names.size());
  const int64_t n = static_cast<int64_t>(files.size());
  const int64_t holdout = std::llround(test_fraction * static_cast<double>(n));
  const std::vector<uint8_t> is_test = stratified_holdout(labels, classes, holdout, seed);
  std::vector<int64_t> train, test;
  summary.train_per_class.assign(classes, 0);
  summary.test_per_class.assign(classes, 0);
  for (int64_t i = 0; i < n; ++i) {
    (is_test[i] ? test : train).push_back(i);
    ++(is_test[i] ? summary.test_per_class : summary.train_per_class)[labels[i]];
  }
  summary.train_count = static_cast<int64_t>(train.size());
  summary.test_count = static_cast<int64_t>(test.size());
  SCN_CHECK(summary.train_count >= 1, root, ": no training images left after holding out ", holdout, " for test");
  SCN_CHECK(summary.train_count <= kRecordsPerBatch * kMaxBatches, root, ": ", summary.train_count,
            " training images, the CIFAR-10 layout holds at most ", kRecordsPerBatch * kMaxBatches,
            " (use limit_per_class or a larger test_fraction)");
  shuffle_indices(train, seed);
  shuffle_indices(test, seed);

  fs::create_directories(out_dir, ec);
  SCN_CHECK(!ec, out_dir, ": cannot create the folder (", ec.message(), ")");
  // Everything is written under temporary names first, so a corrupt image leaves out_dir as it was.
  std::vector<fs::path> targets, staged;
  std::vector<std::unique_ptr<TemporaryFile>> registered;
  const auto stage = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    targets.push_back(fs::path(out_dir) / name);
    staged.push_back(write_temporary(targets.back(), bytes, registered));
  };
  try {
    for (int64_t begin = 0, batch = 1; begin < summary.train_count; begin += kRecordsPerBatch, ++batch) {
      const int64_t end = std::min(begin + kRecordsPerBatch, summary.train_count);
      const std::vector<int64_t> part(train.begin() + begin, train.begin() + end);
      stage("data_batch_" + std::to_string(batch) + ".bin", encode_records(part, files, labels, size));
    }
    if (!test.empty()) stage("test_batch.bin", encode_records(test, files, labels, size));
    std::string meta;
    for (const std::string& name : summary.class_names) meta += name + "\n";
    stage("batches.meta.txt", std::vector<uint8_t>(meta.begin(), meta.end()));
    // The image size, so that every reader (train, data inspect) reads records of the right length.
    const std::string layout = nlohmann::json{{"kind", "scn-data"}, {"layout", "cifar10"}, {"image_size", size}}.dump() + "\n";
    stage(kDataLayoutFile, std::vector<uint8_t>(layout.begin(), layout.end()));
  } catch (...) {
    for (const fs::path& tmp : staged) fs::remove(tmp, ec);
    throw;
  }
  // From here the earlier data set is replaced: an interrupt waits until every file is in place.
  DeferSignals whole;
  registered.clear();
  for (const char* stale : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                            "data_batch_5.bin", "test_batch.bin", "batches.meta.txt", kDataLayoutFile}) {
    for (const fs::path& old : {fs::path(out_dir) / stale, fs::path(out_dir) / (std::string(stale) + ".gz")}) {
      fs::remove(old, ec);
      SCN_CHECK(!ec, old.string(), ": cannot remove the earlier output (", ec.message(), ")");
    }
  }
  for (size_t k = 0; k < staged.size(); ++k) {
    fs::rename(staged[k], targets[k], ec);
    SCN_CHECK(!ec, targets[k].string(), ": cannot rename the temporary file into place (", ec.message(), ")");
    summary.files.push_back(targets[k].string());
  }
  return summary;
}

}  // namespace scn
