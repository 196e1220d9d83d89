#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace scn {

namespace {

std::atomic<uint64_t> temp_counter{0};

std::string errno_text(int err) { return err ? std::strerror(err) : "unknown I/O error"; }

void remove_quietly(const std::string& file) {
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
}

// fsync through a fresh descriptor: fsync flushes the file (the inode), whichever descriptor names it.
// Returns 0 or the errno of the failing call.
int fsync_file(const std::string& file, int flags) {
  const int fd = ::open(file.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  SCN_CHECK(!path.empty(), "write_file_atomically: empty path");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
  // Removes the temporary file and throws; `err` is the errno captured right after the failing call.
  auto fail = [&](const std::string& what, int err) {
    remove_quietly(tmp);
    SCN_FAIL("write_file_atomically: ", what, " while writing '", path, "' (left unchanged): ", errno_text(err));
  };

  {
    std::ofstream out;
    errno = 0;
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot create the temporary file '" + tmp + "'", errno);
    try {
      write(out);
    } catch (const std::exception& e) {
      out.close();
      remove_quietly(tmp);
      SCN_FAIL("write_file_atomically: writing '", path, "' failed (left unchanged): ", e.what());
    } catch (...) {
      out.close();
      remove_quietly(tmp);
      throw;
    }
    errno = 0;
    out.flush();
    if (!out) fail("a write error", errno);
    errno = 0;
    out.close();
    if (out.fail()) fail("a write error on close", errno);
  }
  if (int err = fsync_file(tmp, O_RDONLY)) fail("fsync failed", err);
  errno = 0;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename '" + tmp + "'", errno);

  // Make the rename itself durable. Best effort: the new file is already in place, and some file systems
  // refuse fsync on a directory, which must not turn a completed write into an error.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  fsync_file(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);
}

void write_string_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(contents.data(), contents.size()); });
}

}  // namespace scn
