#pragma once
// Image folders (`root/<class>/*.{jpg,jpeg,png}`, any case) converted once into the CIFAR-10 binary layout,
// which read_cifar10 / load_dataset("cifar10", out_dir, …) then read like the official files.
#include <cstdint>
#include <string>
#include <vector>

namespace scn {

struct ImageFolderSummary {
  std::vector<std::string> class_names;  // sorted folder names; label c is class_names[c]
  std::vector<int64_t> train_per_class;
  std::vector<int64_t> test_per_class;
  int64_t train_count = 0;
  int64_t test_count = 0;
  std::vector<std::string> files;  // the files written, in order
};

// Converts `root` into `out_dir` (created if needed):
// - classes: the sub-folders of root sorted by name (hidden ones skipped), at most 256; in each, the image
//   files sorted by name, the first `limit_per_class` of them when it is >= 0; a class without images is an
//   error;
// - pixels: decoded to RGB (core/data/image.h) and resized to size×size when they are not already
//   (area average when shrinking, bilinear when enlarging); records are 1 label byte + R, G, B planes;
// - split: a stratified round(test_fraction·N) of the images (stratified_holdout, keyed by `seed`) go to
//   test_batch.bin, written only when non-empty; the rest to data_batch_1.bin, data_batch_2.bin, … with
//   10000 records per file (the last one shorter), at most five files, so at most 50000 training images.
//   Both sets are shuffled by Philox (seed, RngPurpose::data), so any prefix (`data.limit`) mixes classes;
// - batches.meta.txt: the class names, one per line;
// - scn-data.json: {"kind": "scn-data", "layout": "cifar10", "image_size": size}, from which the readers take
//   the record length (core/data/cifar.h).
// The files are written under temporary names; only when every image has decoded are earlier outputs of
// these names (and their .gz forms) removed and the new files renamed into place, so a corrupt image, which
// throws scn::Error naming it, leaves out_dir as it was.
ImageFolderSummary convert_image_folder(const std::string& root, const std::string& out_dir, int size = 32,
                                        double test_fraction = 0.0, uint64_t seed = 0, int64_t limit_per_class = -1);

}  // namespace scn
