// write_file_atomically: the target is replaced whole or not at all, and no temporary file survives.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/temporary_files.h"
#include "data_files.h"

namespace scn {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  AtomicFile() {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("scn_test_atomic_file_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~AtomicFile() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(AtomicFile, WritesAndReplacesAFile) {
  const std::string path = file("out.txt");
  write_string_atomically(path, "old");
  EXPECT_EQ(contents(path), "old");
  write_file_atomically(path, [](std::ostream& out) { out << "new " << 42 << '\0' << "binary"; });
  EXPECT_EQ(contents(path), std::string("new 42\0binary", 13));
  EXPECT_EQ(names(), std::vector<std::string>{"out.txt"});
}

TEST_F(AtomicFile, ThrowingCallbackLeavesTheTargetUnchanged) {
  const std::string path = file("out.txt");
  write_string_atomically(path, "old contents");
  const auto throw_midway = [](std::ostream& out) {
    out << std::string(1 << 20, 'x');  // more than a stream buffer: part of it reaches the temporary file
    throw std::runtime_error("boom");
  };
  try {
    write_file_atomically(path, throw_midway);
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("boom"), std::string::npos) << message;
  }
  EXPECT_EQ(contents(path), "old contents");
  EXPECT_EQ(names(), std::vector<std::string>{"out.txt"}) << "a temporary file was left behind";

  // Without an old file there is still nothing afterwards, and foreign exceptions pass through unchanged.
  const std::string fresh = file("fresh.txt");
  EXPECT_THROW(write_file_atomically(fresh, [](std::ostream&) { throw 7; }), int);
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_EQ(names(), std::vector<std::string>{"out.txt"});
}

TEST_F(AtomicFile, IoFailuresNameThePathAndTheCause) {
  const std::string path = file("no/such/dir/out.txt");
  try {
    write_string_atomically(path, "x");
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
  // Renaming onto a directory fails after the data is written: the temporary file must go too.
  fs::create_directory(file("taken"));
  fs::create_directory(file("taken/child"));
  EXPECT_THROW(write_string_atomically(file("taken"), "x"), Error);
  EXPECT_EQ(names(), std::vector<std::string>{"taken"});
}

// A write the device refuses part-way (a file-size limit here, the same path as a full disk) names the cause
// the system gave, leaves the old file, and removes the temporary one.
TEST_F(AtomicFile, ADeviceThatRefusesTheWriteNamesTheCause) {
  const std::string path = file("big.bin");
  write_string_atomically(path, "old");
  std::string message;
  {
    testing::FileSizeLimit limit(1 << 20);
    try {
      write_string_atomically(path, std::string(3 << 20, 'x'));
    } catch (const Error& e) {
      message = e.what();
    }
  }
  EXPECT_NE(message.find("cannot write '" + path + "' (a write error; the file is left as it was): File too large"),
            std::string::npos) << message;
  std::ifstream in(path);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "old");
  EXPECT_EQ(names(), std::vector<std::string>{"big.bin"});
}

// Nothing but a regular file is ever replaced, --force or not: `scn export CK --to /dev/full --force` (as root)
// renamed a regular file over the device node. A folder, a device and a FIFO are refused, named, untouched.
// The targets are made in the test's own folder, never the system's: with the check broken, a test aimed at
// /dev/null replaced it with a regular file (as root).
TEST_F(AtomicFile, ATargetThatIsNotARegularFileIsRefused) {
  ASSERT_EQ(::mkfifo(file("pipe").c_str(), 0644), 0);
  fs::create_directory(file("folder"));
  std::vector<std::pair<std::string, std::string>> targets{{file("pipe"), "a FIFO (named pipe)"}, {file("folder"), "a folder"}};
  // A character device of our own (the null device's numbers), where this process may make one (root).
  const bool device = ::mknod(file("null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0;
  if (device) targets.emplace_back(file("null"), "a character device");
  for (const auto& [target, what] : targets) {
    try {
      write_string_atomically(target, "x");
      ADD_FAILURE() << "expected a refusal for " << target;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(target + ": exists and is " + what), std::string::npos) << e.what();
    }
  }
  struct stat st {};
  ASSERT_EQ(::stat(file("pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  if (device) {
    ASSERT_EQ(::stat(file("null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    fs::remove(file("null"));
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"folder", "pipe"})) << "a temporary file was left behind";
  // A link to a regular file is replaced by the new file, as before (the link's target is not a device).
  write_string_atomically(file("real"), "old");
  fs::create_symlink(file("real"), file("link"));
  write_string_atomically(file("link"), "new");
  EXPECT_EQ(contents(file("link")), "new");
}

// SIGINT or SIGTERM during a write removes the temporary file and says so (the process used to die leaving
// a 13 MB "*.tmp.*" behind); the old file stays.
TEST_F(AtomicFile, ASignalDuringAWriteRemovesTheTemporaryFile) {
  const std::string path = file("out.txt");
  write_string_atomically(path, "old");
  EXPECT_EXIT(
      {
        install_signal_cleanup();
        write_file_atomically(path, [](std::ostream& out) {
          out << std::string(3 << 20, 'x');
          std::raise(SIGTERM);
        });
      },
      ::testing::ExitedWithCode(143), "removed the unfinished temporary file .*out.txt.tmp.*terminated \\(SIGTERM\\)");
  EXPECT_EQ(contents(path), "old");
  EXPECT_EQ(names(), std::vector<std::string>{"out.txt"}) << "a temporary file was left behind";
}

// Past `ulimit -f` a write fails with "File too large" and a message: scn ignores SIGXFSZ, which used to kill
// it (exit 153) without a word, leaving the temporary file.
TEST_F(AtomicFile, AFileSizeLimitFailsTheWriteWithAMessage) {
  const std::string path = file("big.bin");
  EXPECT_EXIT(
      {
        install_signal_cleanup();
        struct rlimit limit {};
        getrlimit(RLIMIT_FSIZE, &limit);
        limit.rlim_cur = 1 << 20;
        setrlimit(RLIMIT_FSIZE, &limit);
        try {
          write_string_atomically(path, std::string(3 << 20, 'x'));
        } catch (const Error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(3);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(3), "File too large; the unfinished temporary file was removed");
  EXPECT_TRUE(names().empty()) << "a temporary file was left behind";
}

}  // namespace
}  // namespace scn
