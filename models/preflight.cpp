#include "models/preflight.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/memory.h"

namespace scn {

namespace fs = std::filesystem;

std::vector<std::string> earlier_run_files(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* name : {"last.safetensors", "best.safetensors", "metrics.jsonl"}) {
    const fs::path p = fs::path(dir) / name;
    // An empty metrics file holds nothing to lose (a run killed before its first epoch).
    if (fs::exists(p, ec) && !(std::string(name) == "metrics.jsonl" && fs::file_size(p, ec) == 0)) found.push_back(name);
  }
  return found;
}

namespace {
// "<file>.tmp.<pid>.<n>" (core/atomic_file.h) of a process that no longer exists.
bool stale_temporary(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos) return false;
  const std::string rest = name.substr(at + 5);
  const auto dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || rest.find_first_not_of("0123456789.") != std::string::npos) return false;
  const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dot)));
  return pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}
}  // namespace

void prepare_run_folder(const std::string& dir, bool resuming, bool force) {
  std::error_code ec;
  // Every file of the run is written as a regular file: anything else under one of their names (a FIFO, a
  // device, a folder) is refused, never removed or replaced, --force or not.
  for (const char* name : {"config.yaml", "last.safetensors", "best.safetensors", "metrics.jsonl", "steps.jsonl"})
    check_regular_file_target((fs::path(dir) / name).string());
  if (fs::is_directory(dir, ec))
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file(ec) && stale_temporary(entry.path().filename().string())) fs::remove(entry.path(), ec);
  if (resuming) return;
  const std::vector<std::string> found = earlier_run_files(dir);
  if (found.empty()) return;
  std::string list;
  for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
  if (!force) {
    const std::string last = (fs::path(dir) / "last.safetensors").string();
    SCN_FAIL(dir, " already holds a run (", list, "): continue it with --resume ", last,
             ", choose another folder with --out, or pass --force to start over and replace it");
  }
  for (const std::string& f : found) fs::remove(fs::path(dir) / f);
}

std::string training_memory_line(const Net& net, int64_t batch) {
  const TrainingMemory m = net.training_memory(batch);
  std::string line = "training memory at batch " + std::to_string(batch) + ": about " + format_bytes(m.total()) +
                     " (parameters and optimizer " + format_bytes(m.parameter_bytes) + ", activations " +
                     format_bytes(m.activation_bytes);
  if (m.largest_node >= 0) {
    const NetNode& n = net.nodes()[static_cast<size_t>(m.largest_node)];
    line += "; the largest node is " + n.name + " (" + n.type + ", " + format_bytes(m.largest_node_bytes) + ")";
  }
  return line + ")";
}

void check_training_memory(const Net& net, const RunConfig& config, Device device) {
  if (!device.is_cpu()) return;  // device memory: the CUDA allocator's own error names the request
  const uint64_t available = host_memory_available();
  const TrainingMemory m = net.training_memory(config.train.batch);
  if (available == 0 || m.total() <= static_cast<double>(available)) return;
  SCN_FAIL(config.source, ": the net cannot be trained in this machine's memory: ", training_memory_line(net, config.train.batch),
           ", but only ", format_bytes(static_cast<double>(available)),
           " is available. Lower train.batch or the layers' sizes (scn info shows the need).");
}

}  // namespace scn
