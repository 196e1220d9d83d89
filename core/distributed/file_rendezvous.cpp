#include "core/distributed/file_rendezvous.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"

namespace scn {

namespace {
std::filesystem::path blob_path(const std::string& dir, const std::string& name) {
  return std::filesystem::path(dir) / ("scn-rendezvous-" + name);
}
}  // namespace

std::vector<char> file_rendezvous(const std::string& dir, const std::string& name, int rank,
                                  const std::vector<char>& blob, double timeout_seconds) {
  namespace fs = std::filesystem;
  const fs::path path = blob_path(dir, name);
  if (rank == 0) {
    SCN_CHECK(fs::is_directory(dir), "--rendezvous ", dir, ": not a folder");
    SCN_CHECK(!fs::exists(path), path.string(), " is left from an earlier run: remove it (or use a fresh ",
              "--rendezvous folder) so that no rank reads a stale id");
    write_string_atomically(path.string(), std::string(blob.begin(), blob.end()));
    return blob;
  }
  const auto start = std::chrono::steady_clock::now();
  while (!fs::exists(path)) {
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    SCN_CHECK(waited < timeout_seconds, "rank ", rank, " waited ", static_cast<int>(waited), " s for ", path.string(),
              " from rank 0: is rank 0 running, and does it see the same --rendezvous folder?");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SCN_CHECK(got.size() == blob.size(), path.string(), " holds ", got.size(), " bytes, expected ", blob.size());
  return got;
}

void finish_file_rendezvous(const std::string& dir, const std::string& name, int rank) {
  if (rank != 0) return;
  std::error_code ignored;  // a folder that vanished under the run is no reason to stop it
  std::filesystem::remove(blob_path(dir, name), ignored);
}

}  // namespace scn
