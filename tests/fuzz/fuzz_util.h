#pragma once
// Shared by the libFuzzer harnesses: per-process scratch files (the readers take paths, and libFuzzer may
// run several processes side by side with -jobs/-fork, so every name carries the pid).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace scn_fuzz {

// $TMPDIR (or /tmp)/scn_fuzz_<pid><suffix>; `suffix` tells the harnesses' files apart.
inline std::string scratch_path(const std::string& suffix) {
  return (std::filesystem::temp_directory_path() / ("scn_fuzz_" + std::to_string(getpid()) + suffix)).string();
}

// A scratch file or folder that is removed when the process exits normally (libFuzzer's -max_total_time
// ends with exit()); after a crash it stays in the temp folder, which does no harm.
struct Scratch {
  std::string path;
  explicit Scratch(const std::string& suffix) : path(scratch_path(suffix)) {}
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Writes the bytes to `path` (replacing it); a failure is the harness's own problem, so it aborts loudly
// rather than letting every input look like a refused file.
inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

// An expected refusal. SCN_FUZZ_VERBOSE=1 prints it, to see why a seed or a corpus file is refused:
//   SCN_FUZZ_VERBOSE=1 build-fuzz/tests/fuzz/fuzz_config build-fuzz/corpus/fuzz_config/seed-*
inline void refused(const scn::Error& e) {
  static const bool verbose = std::getenv("SCN_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
}

// A harness's invariant failed: print why and abort, which libFuzzer records as a crash.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace scn_fuzz
