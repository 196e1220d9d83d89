// libFuzzer harness: a run config as the command line gets it. The input is YAML text, then optionally NUL
// bytes separating command-line overrides: "<yaml>\0train.epochs=2\0model.layers[0].out=8". The config is
// loaded with the overrides, parsed, its net built (shapes, parameter specs, FLOPs; Net::build allocates no
// parameter memory, that is initialize(), so a 65536-channel layer costs nothing here) and summarised as
// `scn info` does (tools/scn/cmd_info.cpp).
// Config errors must be scn::Error (ConfigError is one); anything else escaping is a finding.
//
// Also checked: the documented round trip. The resolved config (RunConfig::to_yaml of the net's to_yaml)
// must load and build again into a net with the same summary, and resolve to the same text.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "core/error.h"
#include "fuzz_util.h"
#include "models/net.h"
#include "models/preflight.h"
#include "models/run_config.h"

namespace {

// Loads, parses and builds; returns the resolved config's YAML text and the summary.
std::pair<std::string, std::string> build(const std::string& text, const std::vector<std::string>& overrides) {
  const scn::ConfigNode root = scn::ConfigNode::load_string(text, "fuzz.yaml", overrides);
  const scn::RunConfig config = scn::RunConfig::parse(root);
  const std::unique_ptr<scn::Net> net = scn::Net::build(config.model);
  // What `scn info` prints: the summary table and the training-memory estimate.
  std::string summary = net->summary() + scn::training_memory_line(*net, config.train.batch);
  YAML::Emitter out;
  out << config.to_yaml(net->to_yaml());
  return {out.c_str(), std::move(summary)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (size_t begin = 0;;) {
    const size_t end = input.find('\0', begin);
    parts.push_back(input.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  const std::string text = parts[0];
  // A few overrides are all a command line has; more would only make inputs slower.
  std::vector<std::string> overrides(parts.begin() + 1, parts.begin() + std::min<size_t>(parts.size(), 5));

  std::pair<std::string, std::string> first;
  try {
    first = build(text, overrides);
  } catch (const scn::Error& e) {
    scn_fuzz::refused(e);  // expected
    return 0;
  }
  std::pair<std::string, std::string> second;
  try {
    second = build(first.first, {});
  } catch (const scn::Error& e) {
    std::fprintf(stderr, "resolved config:\n%s\nerror: %s\n", first.first.c_str(), e.what());
    scn_fuzz::broken("the resolved config of an accepted config is refused");
  }
  if (second != first) {
    std::fprintf(stderr, "first:\n%s\n%s\nsecond:\n%s\n%s\n", first.first.c_str(), first.second.c_str(),
                 second.first.c_str(), second.second.c_str());
    scn_fuzz::broken("the resolved config does not resolve to itself (or builds a different net)");
  }
  return 0;
}
