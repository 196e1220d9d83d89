#pragma once
// What `scn data inspect` shows about a loaded data set: count, image shape, class histogram and the
// per-channel statistics that `normalize: auto` would use.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace scn {

struct DatasetSummary {
  std::string source;
  int64_t count = 0;
  int channels = 0, height = 0, width = 0;
  int classes = 0;
  std::vector<std::string> class_names;
  std::vector<int64_t> histogram;  // records per class
  ChannelStats stats;              // of the pixels scaled to [0, 1]
};

DatasetSummary inspect_dataset(const Dataset& d);

// A readable multi-line report: shape, one line per class (label, name, count, share), mean and std.
std::string format_summary(const DatasetSummary& s);

// The same as JSON: {"source", "count", "shape": [C, H, W], "classes", "class_names", "histogram",
// "mean", "std"}.
nlohmann::json summary_json(const DatasetSummary& s);

}  // namespace scn
