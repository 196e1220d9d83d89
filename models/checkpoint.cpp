#include "models/checkpoint.h"

#include "core/safetensors.h"

namespace scn {

namespace {

int64_t parse_count(const std::string& path, const std::map<std::string, std::string>& meta, const char* key) {
  auto it = meta.find(key);
  if (it == meta.end()) return 0;
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  SCN_FAIL(path, ": metadata '", key, "' is not a non-negative integer: \"", it->second, "\"");
}

std::string join_numbers(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.9g", x);
    s += (s.empty() ? "" : ",") + std::string(buf);
  }
  return s;
}

std::vector<double> parse_numbers(const std::string& path, const std::string& key, const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      out.push_back(std::stod(item, &used));
      SCN_CHECK(used == item.size(), "");
    } catch (const std::exception&) {
      SCN_FAIL(path, ": metadata '", key, "' is not a list of numbers: \"", text, "\"");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

CheckpointInfo info_of(const std::string& path, const SafetensorsFile& file) {
  auto fmt = file.metadata.find("format");
  SCN_CHECK(fmt != file.metadata.end(), path, ": not an scn checkpoint (no 'format' in its metadata)");
  SCN_CHECK(fmt->second == kCheckpointFormat, path, ": checkpoint format '", fmt->second, "' is not supported (expected ",
            kCheckpointFormat, ")");
  CheckpointInfo info;
  auto cfg = file.metadata.find("config");
  if (cfg != file.metadata.end()) info.config = cfg->second;
  info.epoch = parse_count(path, file.metadata, "epoch");
  info.step = parse_count(path, file.metadata, "step");
  auto mean = file.metadata.find("normalize_mean"), std = file.metadata.find("normalize_std");
  if (mean != file.metadata.end()) info.mean = parse_numbers(path, "normalize_mean", mean->second);
  if (std != file.metadata.end()) info.std = parse_numbers(path, "normalize_std", std->second);
  SCN_CHECK(info.mean.size() == info.std.size(), path, ": normalize_mean and normalize_std differ in length");
  auto acc = file.metadata.find("val_accuracy");
  if (acc != file.metadata.end()) {
    const std::vector<double> v = parse_numbers(path, "val_accuracy", acc->second);
    SCN_CHECK(v.size() == 1, path, ": metadata 'val_accuracy' must be one number");
    info.val_accuracy = v[0];
  }
  return info;
}

}  // namespace

void save_checkpoint(const std::string& path, const Net& net, const CheckpointInfo& info) {
  const ParamArena& arena = net.params();
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (int i = 0; i < arena.count(); ++i) tensors.emplace_back(arena.spec(i).name, arena.value(i));
  std::map<std::string, std::string> meta{{"format", kCheckpointFormat},
                                          {"config", info.config},
                                          {"epoch", std::to_string(info.epoch)},
                                          {"step", std::to_string(info.step)}};
  if (info.val_accuracy >= 0) meta["val_accuracy"] = join_numbers({info.val_accuracy});
  if (!info.mean.empty()) {
    meta["normalize_mean"] = join_numbers(info.mean);
    meta["normalize_std"] = join_numbers(info.std);
  }
  write_safetensors(path, tensors, meta);
}

CheckpointInfo read_checkpoint_info(const std::string& path) { return info_of(path, read_safetensors(path)); }

CheckpointInfo load_checkpoint(const std::string& path, Net& net) {
  SafetensorsFile file = read_safetensors(path);
  CheckpointInfo info = info_of(path, file);
  ParamArena& arena = net.params();
  // Check everything first: a file that does not fit leaves the net untouched.
  for (int i = 0; i < arena.count(); ++i) {
    const ParamSpec& spec = arena.spec(i);
    const Tensor* t = file.find(spec.name);
    SCN_CHECK(t, path, ": tensor '", spec.name, "' of the net is missing from the checkpoint");
    SCN_CHECK(t->dtype() == DType::f32, path, ": tensor '", spec.name, "' is ", dtype_name(t->dtype()), ", expected f32");
    SCN_CHECK(t->shape() == spec.shape, path, ": tensor '", spec.name, "' has shape ", t->shape().str(),
              " but the net expects ", spec.shape.str());
  }
  for (const auto& [name, t] : file.tensors)
    SCN_CHECK(arena.find(name) >= 0, path, ": tensor '", name, "' does not belong to this net");
  for (int i = 0; i < arena.count(); ++i) arena.value(i).copy_from(*file.find(arena.spec(i).name));
  return info;
}

}  // namespace scn
