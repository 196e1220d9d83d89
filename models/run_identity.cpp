#include "models/run_identity.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "core/config/config_node.h"
#include "core/error.h"
#include "models/preflight.h"

namespace scn {

namespace fs = std::filesystem;

std::string new_run_id() {
  std::random_device source;  // /dev/urandom
  const uint64_t id = (static_cast<uint64_t>(source()) << 32) ^ source();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

std::string folder_run_id(const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.yaml";
  std::error_code ec;
  if (!fs::is_regular_file(config, ec)) return "";
  try {
    const YAML::Node id = ConfigNode::load_file(config.string()).yaml()["run_id"];
    return id.IsDefined() && id.IsScalar() ? id.Scalar() : "";
  } catch (const std::exception&) {
    return "";  // an unreadable config.yaml records no id
  }
}

namespace {

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a.empty() ? "." : a, b.empty() ? "." : b, ec);
}

}  // namespace

std::string claim_folder_for_resume(const std::string& dir, const std::string& checkpoint,
                                    const std::string& checkpoint_run, bool force) {
  const std::string folder_run = folder_run_id(dir);
  const bool own = same_path(fs::path(checkpoint).parent_path(), dir);
  const std::string continuing = !checkpoint_run.empty() ? checkpoint_run
                                 : own && !folder_run.empty() ? folder_run
                                                              : new_run_id();
  const std::vector<std::string> found = earlier_run_files(dir);
  if (found.empty()) return continuing;  // nothing of another run to mix with
  const bool both_known = !checkpoint_run.empty() && !folder_run.empty();
  if (both_known ? checkpoint_run == folder_run : own) return continuing;

  std::string list;
  for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
  if (!force) {
    const std::string ck_folder = fs::path(checkpoint).parent_path().string();
    const std::string why =
        both_known ? dir + " holds run " + folder_run + " (its config.yaml), and " + checkpoint + " is from run " +
                         checkpoint_run
        : checkpoint_run.empty()
            ? dir + " holds a run (" + list + "), and " + checkpoint +
                  " records no run id (it was written before scn recorded one) and does not lie in " + dir
            : dir + " holds a run (" + list + ") whose config.yaml records no run id, and " + checkpoint +
                  " (run " + checkpoint_run + ") does not lie in " + dir;
    SCN_FAIL(why, ": resuming there would mix two runs' checkpoints and metrics. Resume into the checkpoint's own "
             "folder (--out ", ck_folder.empty() ? "." : ck_folder, "), choose a new folder with --out, or pass "
             "--force to replace the run in ", dir);
  }
  std::error_code ec;
  for (const char* name : {"last.safetensors", "best.safetensors", "metrics.jsonl", "steps.jsonl"}) {
    const fs::path p = fs::path(dir) / name;
    if (same_path(p, checkpoint) || !fs::exists(p, ec)) continue;
    fs::remove(p, ec);
    SCN_CHECK(!ec, p.string(), ": cannot remove the other run's file (", ec.message(), ")");
  }
  return continuing;
}

}  // namespace scn
