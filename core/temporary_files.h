#pragma once
// Temporary files that a write has under way (atomic writes, `scn data convert`'s staged batches), known to
// the signal handlers, so that Ctrl-C, SIGTERM or a second interrupt of training removes them instead of
// leaving "<file>.tmp.<pid>.<n>" behind. The registry is fixed-size and lock-free: a signal handler may read
// it at any moment.
#include <string>

namespace scn {

// Registers `path` for the length of its life (a scope that writes it); the handler removes what is
// registered. A path too long for the registry (over 4 KiB) or a full registry (64 at once) is not
// registered: the stale-temporary clean-up of a later run (models/preflight.h) still finds it.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& path);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  // The file is in place (renamed) or already removed: nothing to clean up any more.
  void release();

 private:
  int slot_ = -1;
};

// Async-signal-safe: removes every registered temporary file and, when `say`, writes one line per file to
// stderr ("scn: removed the unfinished temporary file X"). Returns how many it removed.
int remove_temporary_files(bool say);

// Holds the handler of install_signal_cleanup back for its scope (a SIGINT or SIGTERM that comes meanwhile is
// acted on when it ends): a few renames that must happen together, which an interrupt would leave half done.
// A flag rather than a signal mask, which would cover one thread while the signal may land on any.
class DeferSignals {
 public:
  DeferSignals();
  ~DeferSignals();
  DeferSignals(const DeferSignals&) = delete;
  DeferSignals& operator=(const DeferSignals&) = delete;
};

// SIGINT and SIGTERM: remove the registered temporary files, say what was removed and exit with 128 + the
// signal (the commands other than train, whose handler finishes its step first); a SIGINT that was ignored
// when scn started stays ignored. Also ignores SIGXFSZ, so
// that a write past a file-size limit fails with EFBIG and its message ("File too large") instead of
// killing the process without one.
void install_signal_cleanup();

}  // namespace scn
