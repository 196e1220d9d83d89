// libFuzzer harness: the CIFAR-10, CIFAR-100 and MNIST/IDX readers on a folder of files made from the input.
//
// Framing (tests/fuzz/make_corpus.py writes seeds in it):
//   byte 0: bits 0-1 the format (0 CIFAR-10, 1 CIFAR-100, 2 and 3 IDX); bit 2: files get a ".gz" name (the
//           readers find "name.gz" when "name" is absent; gzip is told by its magic, not the name);
//           bit 3: CIFAR-100 coarse labels / IDX as Fashion-MNIST
//   byte 1: the CIFAR image size (0 is refused by the reader; small sizes make records small)
//   then up to three files, each a 32-bit little-endian length and that many bytes (the last one is cut
//   to what is left); a file the input does not reach is absent:
//     CIFAR-10:  data_batch_1.bin, test_batch.bin, batches.meta.txt
//     CIFAR-100: train.bin, fine_label_names.txt, coarse_label_names.txt
//     IDX:       train-images-idx3-ubyte, train-labels-idx1-ubyte
// Malformed data sets must be refused with scn::Error; anything else escaping is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/data/cifar.h"
#include "core/data/idx.h"
#include "core/error.h"
#include "fuzz_util.h"

namespace fs = std::filesystem;

namespace {

// The same invariants every reader promises (check_dataset already refuses some of this, which would turn a
// broken promise into an scn::Error; so check it here too).
void check(const scn::Dataset& d) {
  if (!d.images.defined() || !d.labels.defined()) scn_fuzz::broken("a data set without images or labels");
  if (d.images.rank() != 4 || d.labels.rank() != 1 || d.images.size(0) != d.labels.size(0) || d.images.size(0) < 1)
    scn_fuzz::broken("images (N, C, H, W) and labels (N) do not match");
  if (d.classes < 1 || static_cast<size_t>(d.classes) != d.class_names.size())
    scn_fuzz::broken("the class count does not match the class names");
  const int32_t* y = d.labels.data<int32_t>();
  for (int64_t i = 0; i < d.labels.size(0); ++i)
    if (y[i] < 0 || y[i] >= d.classes) scn_fuzz::broken("a label outside [0, classes)");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A smaller budget than the default 4 GiB per data file (unless the environment sets one), as in
  // fuzz_gzip: small inputs reach the refusal of an oversized file, none inflates to hundreds of megabytes.
  setenv("SCN_MAX_DATA_FILE_BYTES", "16777216", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const scn_fuzz::Scratch dir("_data");
  // Start from an empty folder: a file left over from the previous input would change this one's meaning.
  std::error_code ec;
  fs::remove_all(dir.path, ec);
  fs::create_directories(dir.path);
  if (size < 2) return 0;
  const int format = data[0] & 3;
  const bool gz_names = data[0] & 4, flag = data[0] & 8;
  const int image_size = data[1];

  static const std::vector<std::string> names[3] = {
      {"data_batch_1.bin", "test_batch.bin", "batches.meta.txt"},
      {"train.bin", "fine_label_names.txt", "coarse_label_names.txt"},
      {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}};
  const std::vector<std::string>& files = names[format < 2 ? format : 2];
  size_t at = 2;
  for (const std::string& name : files) {
    if (size - at < 4) break;
    const uint32_t length = data[at] | data[at + 1] << 8 | data[at + 2] << 16 | uint32_t{data[at + 3]} << 24;
    at += 4;
    const size_t n = std::min<size_t>(length, size - at);
    scn_fuzz::write_file((fs::path(dir.path) / (gz_names ? name + ".gz" : name)).string(), data + at, n);
    at += n;
  }

  // Each read on its own: a refused training split must not keep the test split from being read.
  auto attempt = [](auto read) {
    try {
      check(read());
    } catch (const scn::Error& e) {
      scn_fuzz::refused(e);  // expected
    }
  };
  if (format == 0) {
    attempt([&] { return scn::read_cifar10(dir.path, "train", image_size); });
    attempt([&] { return scn::read_cifar10(dir.path, "test", image_size); });
  } else if (format == 1) {
    const scn::Cifar100Label label = flag ? scn::Cifar100Label::coarse : scn::Cifar100Label::fine;
    attempt([&] { return scn::read_cifar100(dir.path, "train", label, image_size); });
  } else {
    attempt([&] { return scn::read_mnist(dir.path, "train", flag); });
  }
  return 0;
}
