#pragma once
// YAML text of a node as scn writes it (config.yaml of a run, the config inside a checkpoint): numbers in
// their shortest form that reads back to the same double — `lr: 0.1`, not yaml-cpp's 17-digit
// `lr: 0.10000000000000001`.
#include <yaml-cpp/yaml.h>

#include <string>

namespace scn {

std::string yaml_text(const YAML::Node& node);

// The first place two YAML trees differ, as "<path>: <a> against <b>" ("" when equal). Paths read like
// overrides (model.layers[3].iters); numbers compare by value (0.1 equals 0.10000000000000001).
std::string first_yaml_difference(const YAML::Node& a, const YAML::Node& b, const std::string& path);

// "0.1" for 0.10000000000000001; the text itself when it is not a number or is already shortest.
std::string shortest_number_text(const std::string& scalar);

}  // namespace scn
