#include "models/rank_agreement.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "core/config/yaml_text.h"

namespace scn {

namespace {

// FNV-1a over bytes.
uint64_t fnv1a(const void* data, size_t bytes, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string hex(uint64_t h) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

constexpr int64_t kHashedRecords = 64;

YAML::Node split_fingerprint(const Dataset& d) {
  YAML::Node n;
  n["images"] = d.size();
  if (d.size() == 0) return n;
  n["shape"].push_back(d.channels());
  n["shape"].push_back(d.height());
  n["shape"].push_back(d.width());
  n["classes"] = d.classes;
  const int64_t first = std::min(d.size(), kHashedRecords);
  const size_t record = static_cast<size_t>(d.channels()) * d.height() * d.width();
  uint64_t h = fnv1a(d.images.data<uint8_t>(), record * static_cast<size_t>(first));
  h = fnv1a(d.labels.data<int32_t>(), sizeof(int32_t) * static_cast<size_t>(first), h);
  n["first_records_hash"] = hex(h);
  return n;
}

// rank `from`'s text to every rank: its length first (known size), then its bytes.
std::string broadcast_text(Communicator& comm, const std::string& mine, int from, const char* what) {
  int64_t length = static_cast<int64_t>(mine.size());
  comm.broadcast_host(std::as_writable_bytes(std::span(&length, 1)), from, what);
  std::string text = comm.rank() == from ? mine : std::string(static_cast<size_t>(length), '\0');
  comm.broadcast_host(std::as_writable_bytes(std::span(text.data(), text.size())), from, what);
  return text;
}

uint64_t tensor_hash(const Tensor& t, uint64_t h) {
  const Tensor host = t.to(Device::cpu());
  return fnv1a(host.raw(), static_cast<size_t>(host.numel()) * dtype_size(host.dtype()), h);
}

}  // namespace

YAML::Node start_fingerprint(const RunConfig& config, const YAML::Node& model, const RunData& data,
                             const Net& net, const Optimizer& optimizer, const CheckpointInfo& resumed,
                             const std::string& version) {
  YAML::Node f;
  f["scn"] = version.empty() ? std::string("unknown") : version;
  YAML::Node c = config.to_yaml(model);
  c["data"].remove("dir");
  c.remove("output");
  f["config"] = c;
  f["data"]["train"] = split_fingerprint(data.train);
  f["data"][data.val_name] = split_fingerprint(data.val);
  f["data"]["normalize_mean"] = data.mean;
  f["data"]["normalize_std"] = data.std;
  uint64_t h = tensor_hash(net.params().values(), 1469598103934665603ull);
  std::vector<std::pair<std::string, Tensor>> state;
  std::map<std::string, std::string> state_metadata;
  optimizer.append_state(state, state_metadata);
  for (const auto& [name, t] : state) h = tensor_hash(t, fnv1a(name.data(), name.size(), h));
  for (const auto& [key, value] : state_metadata) h = fnv1a(value.data(), value.size(), fnv1a(key.data(), key.size(), h));
  f["state"] = hex(h);
  if (!resumed.config.empty() || resumed.step > 0) {
    f["resume"]["epoch"] = resumed.epoch;
    f["resume"]["step"] = resumed.step;
    f["resume"]["epoch_step"] = resumed.epoch_step;
  }
  return f;
}

void check_ranks_start_alike(Communicator& comm, const YAML::Node& fingerprint) {
  const std::string mine = yaml_text(fingerprint);
  const std::string root = broadcast_text(comm, mine, 0, "broadcast of rank 0's start-up fingerprint");
  std::string difference;
  if (root != mine) {
    difference = first_yaml_difference(fingerprint, YAML::Load(root), "");
    if (difference.empty()) difference = "(the fingerprints differ in form)";
  }
  // The first rank that differs: the maximum of size − rank over the ranks that do.
  double flag = difference.empty() ? 0.0 : static_cast<double>(comm.size() - comm.rank());
  comm.all_reduce_host(std::span<double>(&flag, 1), Reduce::max, "check that the ranks start alike");
  if (flag == 0) return;
  const int first = comm.size() - static_cast<int>(flag);
  const std::string what = broadcast_text(comm, difference, first, "broadcast of the first difference between ranks");
  // "config.model.layers[0].kernel: 5 against 3" → the key, then each rank's value.
  const size_t colon = what.find(": ");
  const size_t against = what.rfind(" against ");
  std::string message = "the ranks do not run the same training: rank " + std::to_string(first) + " differs from rank 0";
  if (colon != std::string::npos && against != std::string::npos && against > colon)
    message += " at " + what.substr(0, colon) + " (" + what.substr(colon + 2, against - colon - 2) + " on rank " +
               std::to_string(first) + ", " + what.substr(against + 9) + " on rank 0)";
  else
    message += ": " + what;
  throw RanksDisagree(message + ". Start every rank with the same config, overrides, data, checkpoint and scn build");
}

}  // namespace scn
