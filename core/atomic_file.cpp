#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <vector>

#include "core/error.h"
#include "core/file_kind.h"
#include "core/temporary_files.h"

namespace scn {

namespace {

std::atomic<uint64_t> temp_counter{0};

std::string errno_text(int err) { return err ? std::strerror(err) : "unknown I/O error"; }

// A stream buffer over a file descriptor that remembers the errno of the write that failed: std::ofstream
// loses it (a full disk used to read "unknown I/O error").
class FdWriteBuffer : public std::streambuf {
 public:
  explicit FdWriteBuffer(int fd) : fd_(fd), buffer_(1 << 20) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  int error() const { return error_; }
  uint64_t written() const { return written_; }
  // Writes what is buffered; false (with error() set) when the device refuses.
  bool drain() {
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
      written_ += static_cast<uint64_t>(n);
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return true;
  }

 protected:
  int_type overflow(int_type c) override {
    if (error_ || !drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return !error_ && drain() ? 0 : -1; }

 private:
  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
  uint64_t written_ = 0;
};

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

void check_regular_file_target(const std::string& path) {
  const std::string kind = non_regular_kind(path);
  // Nothing there (or unreachable: the write names the cause) or a regular file: fine.
  SCN_CHECK(kind.empty() || kind == "nothing", path, ": exists and is ", kind,
            "; scn writes only regular files and never replaces anything else, even with --force: choose "
            "another output path");
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                           uint64_t size_hint) {
  SCN_CHECK(!path.empty(), "write_file_atomically: empty path");
  check_regular_file_target(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
  TemporaryFile registered(tmp);  // removed by SIGINT/SIGTERM while it is written
  // Removes the temporary file and throws; `err` is the errno captured right after the failing call.
  bool created = false;
  auto fail = [&](const std::string& what, int err) {
    remove_quietly(tmp);
    std::string cause = errno_text(err);
    if (err == ENOSPC) cause = "no space left on the device" + (size_hint ? " (" + std::to_string(size_hint) + " bytes needed)" : std::string());
    SCN_FAIL("cannot write '", path, "' (", what, "; the file is left as it was): ", cause,
             created ? "; the unfinished temporary file was removed" : "");
  };

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create the temporary file '" + tmp + "'", errno);
  created = true;
  {
    FdWriteBuffer buffer(fd);
    std::ostream out(&buffer);
    try {
      write(out);
    } catch (const std::exception& e) {
      ::close(fd);
      remove_quietly(tmp);
      SCN_FAIL("cannot write '", path, "' (the file is left as it was; the unfinished temporary file was removed): ",
               e.what());
    } catch (...) {
      ::close(fd);
      remove_quietly(tmp);
      throw;
    }
    const bool drained = !buffer.error() && buffer.drain();
    if (!drained || !out) {
      const int err = buffer.error();
      ::close(fd);
      fail(err ? "a write error" : "a stream error", err);
    }
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("fsync failed", err);
  }
  if (::close(fd) != 0) fail("a write error on close", errno);
  errno = 0;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename '" + tmp + "'", errno);
  registered.release();

  // Make the rename itself durable. Best effort: the new file is already in place, and some file systems
  // refuse fsync on a directory, which must not turn a completed write into an error.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  fsync_file(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);
}

void write_string_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(contents.data(), contents.size()); });
}

}  // namespace scn
