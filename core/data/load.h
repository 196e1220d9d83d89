#pragma once
// One entry point for every data-set format (the `data:` section of a config names format, dir and split).
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace scn {

struct LoadOptions {
  std::string label = "fine";  // cifar100 only: fine (100 classes) or coarse (20)
  int image_size = 0;          // cifar10/cifar100: side s of the s×s images (0: as the folder records, else 32)
  int64_t limit = -1;          // keep only the first `limit` records (`data.limit`); -1 keeps all
};

// format: cifar10 | cifar100 | fashion_mnist | mnist; split: train | test. See core/data/cifar.h and
// core/data/idx.h for the files each format reads and the checks they make.
Dataset load_dataset(const std::string& format, const std::string& dir, const std::string& split,
                     const LoadOptions& options = {});

// The format names load_dataset accepts.
std::vector<std::string> dataset_formats();

}  // namespace scn
