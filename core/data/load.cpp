#include "core/data/load.h"

#include "core/data/cifar.h"
#include "core/data/idx.h"

namespace scn {

std::vector<std::string> dataset_formats() { return {"cifar10", "cifar100", "fashion_mnist", "mnist"}; }

Dataset load_dataset(const std::string& format, const std::string& dir, const std::string& split,
                     const LoadOptions& options) {
  SCN_CHECK(options.limit >= -1, "data.limit must be >= 0 (or -1 for all), got ", options.limit);
  Dataset d;
  if (format == "cifar10") {
    d = read_cifar10(dir, split, options.image_size);
  } else if (format == "cifar100") {
    SCN_CHECK(options.label == "fine" || options.label == "coarse", "cifar100: label must be fine or coarse, got '",
              options.label, "'");
    d = read_cifar100(dir, split, options.label == "fine" ? Cifar100Label::fine : Cifar100Label::coarse,
                      options.image_size);
  } else if (format == "fashion_mnist" || format == "mnist") {
    d = read_mnist(dir, split, format == "fashion_mnist");
  } else {
    SCN_FAIL("unknown data format '", format, "', expected one of cifar10, cifar100, fashion_mnist, mnist");
  }
  return options.limit >= 0 ? prefix(d, options.limit) : d;
}

}  // namespace scn
