#include "core/config/yaml_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace scn {

namespace {

// Rewrites, in place, every scalar of a copy of the tree whose text is a longer-than-needed double.
void shorten_numbers(YAML::Node node) {
  if (node.IsScalar()) {
    const std::string text = node.Scalar();
    const std::string shorter = shortest_number_text(text);
    if (shorter != text) node = shorter;
    return;
  }
  if (node.IsSequence()) {
    for (YAML::Node child : node) shorten_numbers(child);
  } else if (node.IsMap()) {
    for (auto kv : node) shorten_numbers(kv.second);
  }
}

}  // namespace

std::string shortest_number_text(const std::string& scalar) {
  // Only what yaml-cpp writes for a double: digits with a '.' or an exponent (integers and words stay).
  if (scalar.empty() || scalar.find_first_of(".eE") == std::string::npos ||
      scalar.find_first_not_of("0123456789.eE+-") != std::string::npos)
    return scalar;
  char* end = nullptr;
  const double v = std::strtod(scalar.c_str(), &end);
  if (end != scalar.c_str() + scalar.size() || !std::isfinite(v)) return scalar;
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  if (r.ec != std::errc()) return scalar;
  std::string shortest(buf, r.ptr);
  // Keep it a float when read back: "1" would become an integer, and YAML 1.1 readers (PyYAML) take "1e-05"
  // for a string: the mantissa always has its '.'.
  const size_t e = shortest.find_first_of("eE");
  const std::string mantissa = shortest.substr(0, e);
  if (mantissa.find('.') == std::string::npos && mantissa.find_first_of("n") == std::string::npos)
    shortest.insert(e == std::string::npos ? shortest.size() : e, ".0");
  return shortest.size() < scalar.size() ? shortest : scalar;
}

std::string first_yaml_difference(const YAML::Node& a, const YAML::Node& b, const std::string& path) {
  auto shown = [](const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return std::string("(absent)");
    if (n.IsScalar()) return shortest_number_text(n.Scalar());
    YAML::Emitter out;
    out << YAML::Flow << n;
    return std::string(out.c_str());
  };
  const bool a_absent = !a.IsDefined() || a.IsNull(), b_absent = !b.IsDefined() || b.IsNull();
  if (a_absent || b_absent || a.Type() != b.Type())
    return a_absent && b_absent ? "" : path + ": " + shown(a) + " against " + shown(b);
  if (a.IsScalar())
    return shortest_number_text(a.Scalar()) == shortest_number_text(b.Scalar()) ? ""
                                                                                   : path + ": " + shown(a) + " against " + shown(b);
  if (a.IsSequence()) {
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const std::string d = first_yaml_difference(i < a.size() ? a[i] : YAML::Node(), i < b.size() ? b[i] : YAML::Node(),
                                                  path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  for (auto kv : a) {
    const std::string key = kv.first.Scalar();
    const std::string d = first_yaml_difference(kv.second, b[key], path.empty() ? key : path + "." + key);
    if (!d.empty()) return d;
  }
  for (auto kv : b) {
    const std::string key = kv.first.Scalar();
    if (!a[key]) return (path.empty() ? key : path + "." + key) + ": (absent) against " + shown(kv.second);
  }
  return "";
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Node copy = YAML::Clone(node);
  shorten_numbers(copy);
  YAML::Emitter out;
  out << copy;
  return std::string(out.c_str()) + "\n";
}

}  // namespace scn
