#include "models/run_folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace scn {

namespace fs = std::filesystem;

RunFolderLock::RunFolderLock(const std::string& dir) {
  std::error_code ec;
  SCN_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), dir,
            ": exists and is not a folder; the run folder (--out) must be a folder or a new path");
  fs::create_directories(dir, ec);
  SCN_CHECK(!ec, dir, ": cannot create the run folder (", ec.message(), ")");
  const std::string path = (fs::path(dir) / kRunFolderLockName).string();
  // O_NOFOLLOW and O_NONBLOCK: a link or a FIFO planted under the name is refused, not followed or waited on.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  SCN_CHECK(fd_ >= 0, dir, ": cannot write in the run folder (", std::strerror(errno), ", creating ", path, ")");
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    SCN_FAIL(path, ": is not a regular file; remove it (scn keeps its run folder's lock there)");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    // The holder wrote its process id into the file.
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    SCN_CHECK(err != EWOULDBLOCK, dir, " is in use by another scn train (",
              pid.empty() ? std::string("a running process") : "process " + pid,
              "): two runs in one folder would mix their metrics and checkpoints. Wait for it to end, or "
              "choose another folder with --out");
    SCN_FAIL(dir, ": cannot lock the run folder (", std::strerror(err), ")");
  }
  const std::string mine = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, mine.data(), mine.size(), 0);
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace scn
