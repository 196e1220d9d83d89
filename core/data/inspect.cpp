#include "core/data/inspect.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace scn {

DatasetSummary inspect_dataset(const Dataset& d) {
  check_dataset(d);
  DatasetSummary s;
  s.source = d.source;
  s.count = d.size();
  s.channels = d.channels();
  s.height = d.height();
  s.width = d.width();
  s.classes = d.classes;
  s.class_names = d.class_names;
  s.histogram = class_histogram(d);
  s.stats = channel_stats(d);
  return s;
}

std::string format_summary(const DatasetSummary& s) {
  std::string out;
  char line[256];
  out += "source:  " + s.source + "\n";
  std::snprintf(line, sizeof line, "images:  %lld of %d×%d×%d (u8)\n", static_cast<long long>(s.count), s.channels,
                s.height, s.width);
  out += line;
  out += "classes: " + std::to_string(s.classes) + "\n";
  size_t name_width = 4;
  for (const std::string& name : s.class_names) name_width = std::max(name_width, name.size());
  for (int c = 0; c < s.classes; ++c) {
    const double share = s.count ? 100.0 * static_cast<double>(s.histogram[c]) / static_cast<double>(s.count) : 0;
    std::snprintf(line, sizeof line, "  %3d  %-*s %8lld  %5.1f%%\n", c, static_cast<int>(name_width),
                  s.class_names[c].c_str(), static_cast<long long>(s.histogram[c]), share);
    out += line;
  }
  for (const auto& [label, values] : {std::pair{"mean:   ", &s.stats.mean}, std::pair{"std:    ", &s.stats.std}}) {
    out += label;
    for (double v : *values) {
      std::snprintf(line, sizeof line, " %.4f", v);
      out += line;
    }
    out += "  (per channel, pixels scaled to [0, 1])\n";
  }
  return out;
}

nlohmann::json summary_json(const DatasetSummary& s) {
  return nlohmann::json{{"source", s.source},
                        {"count", s.count},
                        {"shape", {s.channels, s.height, s.width}},
                        {"classes", s.classes},
                        {"class_names", s.class_names},
                        {"histogram", s.histogram},
                        {"mean", s.stats.mean},
                        {"std", s.stats.std}};
}

}  // namespace scn
