#include "models/checkpoint.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include <cmath>

#include "core/safetensors.h"
#include "kernels/reduce.h"

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
  // `scn export` files ("pt", scn_export "1") hold the same weights less the run state: they load for inference.
  auto export_version = file.metadata.find("scn_export");
  const bool is_export = fmt->second == "pt" && export_version != file.metadata.end() && export_version->second == "1";
  SCN_CHECK(fmt->second == kCheckpointFormat || fmt->second == kCheckpointFormatV1 || is_export, path,
            ": checkpoint format '", shorten(fmt->second), "' is not supported (expected ", kCheckpointFormat,
            ", or an scn export: format pt with scn_export 1)");
  CheckpointInfo info;
  info.is_export = is_export;
  auto cfg = file.metadata.find("config");
  if (cfg != file.metadata.end()) info.config = cfg->second;
  info.epoch = parse_count(path, file.metadata, "epoch");
  info.step = parse_count(path, file.metadata, "step");
  if (file.metadata.count("epoch_step")) info.epoch_step = parse_count(path, file.metadata, "epoch_step");
  auto mean = file.metadata.find("normalize_mean"), std = file.metadata.find("normalize_std");
  if (mean != file.metadata.end()) info.mean = parse_numbers(path, "normalize_mean", mean->second);
  if (std != file.metadata.end()) info.std = parse_numbers(path, "normalize_std", std->second);
  SCN_CHECK(info.mean.size() == info.std.size(), path, ": normalize_mean and normalize_std differ in length");
  // Every input is divided by std: a zero, a negative or a non-finite value turns every prediction into noise.
  for (size_t c = 0; c < info.mean.size(); ++c) {
    SCN_CHECK(std::isfinite(info.mean[c]), path, ": metadata 'normalize_mean' value ", c, " is not finite");
    SCN_CHECK(std::isfinite(info.std[c]) && info.std[c] > 0, path, ": metadata 'normalize_std' value ", c, " is ",
              info.std[c], ", expected a positive number");
  }
  auto names = file.metadata.find("class_names");
  if (names != file.metadata.end()) {
    const nlohmann::json j = nlohmann::json::parse(names->second, nullptr, false);
    SCN_CHECK(j.is_array() && std::all_of(j.begin(), j.end(), [](const nlohmann::json& e) { return e.is_string(); }),
              path, ": metadata 'class_names' is not a JSON list of strings");
    for (const auto& e : j) {
      // Names reach terminals and logs: no control characters (an escape sequence would drive the terminal).
      const std::string name = e.get<std::string>();
      for (size_t k = 0; k < name.size(); ++k) {
        const unsigned char c = static_cast<unsigned char>(name[k]);
        const bool c1 = c == 0xC2 && k + 1 < name.size() && static_cast<unsigned char>(name[k + 1]) >= 0x80 &&
                        static_cast<unsigned char>(name[k + 1]) < 0xA0;  // U+0080..U+009F in UTF-8
        SCN_CHECK(c >= 0x20 && c != 0x7F && !c1, path, ": metadata 'class_names': name ", info.class_names.size(),
                  " holds a control character (code ", c1 ? int{static_cast<unsigned char>(name[k + 1])} : int{c},
                  ")");
      }
      info.class_names.push_back(name);
    }
  }
  if (auto id = file.metadata.find("run_id"); id != file.metadata.end()) {
    // Printed in messages and compared with a folder's: letters, digits, '-' and '_' only.
    const std::string& v = id->second;
    SCN_CHECK(!v.empty() && v.size() <= 64 &&
                  v.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") ==
                      std::string::npos,
              path, ": metadata 'run_id' is not a run id: \"", shorten(v), "\"");
    info.run_id = v;
  }
  auto acc = file.metadata.find("val_accuracy");
  if (acc != file.metadata.end()) {
    const std::vector<double> v = parse_numbers(path, "val_accuracy", acc->second);
    SCN_CHECK(v.size() == 1, path, ": metadata 'val_accuracy' must be one number");
    info.val_accuracy = v[0];
  }
  return info;
}

// The number of NaN/Inf values in a host tensor.
int64_t non_finite_count(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  int64_t n = 0;
  for (double x : v) n += !std::isfinite(x);
  return n;
}

void check_finite_in_file(const std::string& path, const std::string& name, const Tensor& t) {
  const int64_t bad = non_finite_count(t);
  SCN_CHECK(bad == 0, path, ": tensor '", shorten(name), "' holds ", bad,
            " NaN or Inf values: the run that wrote it had diverged, so the file is not usable");
}

}  // namespace

void save_checkpoint(const std::string& path, const Net& net, const CheckpointInfo& info, const Optimizer* optimizer) {
  const ParamArena& arena = net.params();
  // One reduction over the whole arena on its device; only when it fails, find the tensor to name.
  Context& ctx = Context::get(arena.values().device());
  Tensor max_abs = Tensor::empty({1}, DType::f32, arena.values().device());
  reduce_max_abs(ctx, max_abs, arena.values());
  if (!std::isfinite(max_abs.item())) {
    for (int i = 0; i < arena.count(); ++i)
      if (int64_t bad = non_finite_count(arena.value(i).to(Device::cpu())))
        SCN_FAIL(path, ": not written: parameter '", arena.spec(i).name, "' holds ", bad, " NaN or Inf values");
    SCN_FAIL(path, ": not written: the parameters hold NaN or Inf values");
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (int i = 0; i < arena.count(); ++i) tensors.emplace_back(arena.spec(i).name, arena.value(i));
  std::map<std::string, std::string> meta{{"format", kCheckpointFormat},
                                          {"config", info.config},
                                          {"epoch", std::to_string(info.epoch)},
                                          {"step", std::to_string(info.step)}};
  if (info.epoch_step >= 0) meta["epoch_step"] = std::to_string(info.epoch_step);
  if (!info.run_id.empty()) meta["run_id"] = info.run_id;
  if (info.val_accuracy >= 0) meta["val_accuracy"] = join_numbers({info.val_accuracy});
  if (!info.mean.empty()) {
    meta["normalize_mean"] = join_numbers(info.mean);
    meta["normalize_std"] = join_numbers(info.std);
  }
  if (!info.class_names.empty()) meta["class_names"] = nlohmann::json(info.class_names).dump();
  if (optimizer) optimizer->append_state(tensors, meta);
  write_safetensors(path, tensors, meta);
}

CheckpointInfo read_checkpoint_info(const std::string& path) { return info_of(path, read_safetensors(path)); }

SafetensorsFile read_checkpoint_file(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  info_of(path, file);
  for (const auto& [name, t] : file.tensors) check_finite_in_file(path, name, t);
  return file;
}

CheckpointInfo load_checkpoint(const std::string& path, Net& net, Optimizer* optimizer) {
  SafetensorsFile file = read_safetensors(path);
  CheckpointInfo info = info_of(path, file);
  SCN_CHECK(!(info.is_export && optimizer), path, " is an scn export (the weights only, without the optimizer ",
            "state or the run's state): training cannot continue from it; resume from the run's last.safetensors");
  ParamArena& arena = net.params();
  // Check everything first: a file that does not fit leaves the net untouched.
  for (int i = 0; i < arena.count(); ++i) {
    const ParamSpec& spec = arena.spec(i);
    const Tensor* t = file.find(spec.name);
    // An export leaves out the power-iteration vectors (kind state): they keep the values the net was
    // initialised with, and inference runs its own iterations from there.
    if (!t && info.is_export && spec.kind == "state") continue;
    SCN_CHECK(t, path, ": tensor '", spec.name, "' of the net is missing from the checkpoint");
    SCN_CHECK(t->dtype() == DType::f32, path, ": tensor '", spec.name, "' is ", dtype_name(t->dtype()), ", expected f32");
    SCN_CHECK(t->shape() == spec.shape, path, ": tensor '", spec.name, "' has shape ", t->shape().str(),
              " but the net expects ", spec.shape.str());
  }
  for (const auto& [name, t] : file.tensors) check_finite_in_file(path, name, t);
  for (const auto& [name, t] : file.tensors)
    SCN_CHECK(arena.find(name) >= 0 || name.rfind(kOptimizerPrefix, 0) == 0, path, ": tensor '", shorten(name),
              "' does not belong to this net");
  if (optimizer) optimizer->load_state(path, file.tensors, file.metadata);
  for (int i = 0; i < arena.count(); ++i)
    if (const Tensor* t = file.find(arena.spec(i).name)) arena.value(i).copy_from(*t);
  return info;
}

}  // namespace scn
