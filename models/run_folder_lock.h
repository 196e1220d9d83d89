#pragma once
// A run folder belongs to one process at a time: `scn train` holds an exclusive flock(2) on
// <folder>/.scn-lock for the whole run. A second run into the same folder is refused at once, naming the
// process that holds it, instead of both writing metrics.jsonl and the checkpoints in turn. The kernel
// releases the lock when its process ends in any way (kill -9, a crash, a lost node), so a stale lock file
// never blocks a later run; only a live holder does. The file stays in the folder (removing it would let two
// processes lock two different files of one name).
#include <string>

namespace scn {

class RunFolderLock {
 public:
  // Creates the folder when needed and takes the lock. Refuses (scn::Error) a folder another live process
  // holds, a path that exists and is not a folder, and a folder this process cannot write, naming it.
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

inline constexpr const char* kRunFolderLockName = ".scn-lock";

}  // namespace scn
