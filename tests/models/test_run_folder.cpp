// A run folder belongs to one run: the lock a live `scn train` holds refuses a second process at once and
// never outlives its holder; `--resume` continues only the checkpoint's own run in a folder.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "models/run_folder_lock.h"
#include "models/run_identity.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

struct Folder {
  fs::path path;
  explicit Folder(const std::string& name)
      : path(fs::temp_directory_path() / ("scn_run_folder_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~Folder() { fs::remove_all(path); }
  std::string str() const { return path.string(); }
  std::string file(const std::string& f) const { return (path / f).string(); }
  void write(const std::string& f, const std::string& text) const {
    fs::create_directories(fs::path(file(f)).parent_path());
    std::ofstream(file(f)) << text;
  }
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an scn::Error";
  return "";
}

// Two `scn train --out runs/x` started a second apart both ran to the end, interleaving metrics.jsonl.
TEST(RunFolderLock, ASecondHolderIsRefusedNamingTheFirst) {
  Folder dir("second");
  RunFolderLock first(dir.str());
  EXPECT_TRUE(fs::is_directory(dir.path));
  const std::string message = message_of([&] { RunFolderLock second(dir.str()); });
  EXPECT_NE(message.find(dir.str() + " is in use by another scn train (process " + std::to_string(::getpid()) + ")"),
            std::string::npos) << message;
  EXPECT_NE(message.find("choose another folder with --out"), std::string::npos) << message;
}

TEST(RunFolderLock, TheLockOfADeadProcessNeverBlocks) {
  Folder dir("dead");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunFolderLock held(dir.str());
    ::kill(::getpid(), SIGKILL);  // as kill -9 or a crash: no destructor runs
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(fs::exists(dir.file(kRunFolderLockName)));
  EXPECT_NO_THROW(RunFolderLock again(dir.str()));
  // Released at the end of its scope: the next run takes it.
  { RunFolderLock one(dir.str()); }
  EXPECT_NO_THROW(RunFolderLock two(dir.str()));
}

// `--out /etc/passwd` read "filesystem error: cannot create directories".
TEST(RunFolderLock, APathThatIsNotAFolderIsRefused) {
  Folder dir("file");
  dir.write("plain", "x");
  const std::string message = message_of([&] { RunFolderLock l(dir.file("plain")); });
  EXPECT_NE(message.find(dir.file("plain") + ": exists and is not a folder"), std::string::npos) << message;
}

// A folder holding run A (config.yaml records it) and a checkpoint of run B lying elsewhere.
struct TwoRuns {
  Folder folder{"runs_a"}, other{"runs_b"};
  TwoRuns() {
    folder.write("config.yaml", "seed: 1\nrun_id: aaaa\n");
    for (const char* f : {"last.safetensors", "best.safetensors", "steps.jsonl"}) folder.write(f, "A");
    folder.write("metrics.jsonl", "{\"epoch\": 1}\n");
    other.write("last.safetensors", "B");
  }
};

// `train OTHER.yaml --out runs/qs --resume runs/other/last.safetensors` replaced runs/qs's checkpoint and
// config, appended a foreign epoch to its metrics and kept its best.safetensors.
TEST(RunIdentity, AnotherRunsCheckpointIsRefusedWithoutForce) {
  TwoRuns r;
  const std::string message =
      message_of([&] { claim_folder_for_resume(r.folder.str(), r.other.file("last.safetensors"), "bbbb", false); });
  for (const std::string& part : {r.folder.str() + " holds run aaaa (its config.yaml), and " +
                                     r.other.file("last.safetensors") + " is from run bbbb",
                                 "--out " + r.other.str(), "--force to replace the run in " + r.folder.str()})
    EXPECT_NE(message.find(part), std::string::npos) << message << "\nmissing: " << part;
  for (const char* f : {"last.safetensors", "best.safetensors", "metrics.jsonl", "steps.jsonl"})
    EXPECT_TRUE(fs::exists(r.folder.file(f))) << f;
  // Forced: nothing of run A survives to be mixed with run B.
  EXPECT_EQ(claim_folder_for_resume(r.folder.str(), r.other.file("last.safetensors"), "bbbb", true), "bbbb");
  for (const char* f : {"last.safetensors", "best.safetensors", "metrics.jsonl", "steps.jsonl"})
    EXPECT_FALSE(fs::exists(r.folder.file(f))) << f;
}

TEST(RunIdentity, TheSameRunContinuesWhereverItsCheckpointLies) {
  TwoRuns r;
  EXPECT_EQ(claim_folder_for_resume(r.folder.str(), r.other.file("last.safetensors"), "aaaa", false), "aaaa");
  EXPECT_EQ(claim_folder_for_resume(r.folder.str(), r.folder.file("last.safetensors"), "aaaa", false), "aaaa");
  EXPECT_TRUE(fs::exists(r.folder.file("best.safetensors")));
  // A folder without a run takes any checkpoint.
  Folder empty("empty");
  EXPECT_EQ(claim_folder_for_resume(empty.str(), r.other.file("last.safetensors"), "bbbb", false), "bbbb");
  EXPECT_EQ(folder_run_id(r.folder.str()), "aaaa");
  EXPECT_EQ(folder_run_id(empty.str()), "");
}

// Checkpoints written before runs had ids resume into their own folder (the one they lie in), and nowhere
// else that holds a run: nothing else tells the runs apart.
TEST(RunIdentity, ACheckpointWithoutAnIdResumesInItsOwnFolderOnly) {
  TwoRuns r;
  EXPECT_EQ(claim_folder_for_resume(r.folder.str(), r.folder.file("last.safetensors"), "", false), "aaaa");
  const std::string message =
      message_of([&] { claim_folder_for_resume(r.folder.str(), r.other.file("last.safetensors"), "", false); });
  EXPECT_NE(message.find("records no run id (it was written before scn recorded one) and does not lie in"),
            std::string::npos) << message;
  // A folder of an older run (no run_id in config.yaml): its own checkpoints continue it, with a new id.
  r.folder.write("config.yaml", "seed: 1\n");
  const std::string id = claim_folder_for_resume(r.folder.str(), r.folder.file("last.safetensors"), "", false);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_NE(id, new_run_id());
  EXPECT_THROW(claim_folder_for_resume(r.folder.str(), r.other.file("last.safetensors"), "bbbb", false), Error);
}

}  // namespace
}  // namespace scn::test
