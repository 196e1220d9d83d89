// The pieces of data-parallel training that one process can test: where a launcher says this process
// stands, how a global batch is split, the file bootstrap, the collective watchdog, a synchronised batch norm
// over ranks that hold the same batch (a stand-in communicator), and NCCL on one GPU (skipped without one).
// The 2-rank runs themselves are tests/ranks (mpirun -np 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <thread>

#include "core/config/config_node.h"
#include "core/distributed/communicator.h"
#include "core/distributed/file_rendezvous.h"
#include "core/distributed/watchdog.h"
#include "kernels/op_case.h"
#include "models/data_parallel.h"
#include "models/net.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

// Sets environment variables for one test and restores them after it.
struct ScopedEnv {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& name, const char* value) {
    const char* old = std::getenv(name.c_str());
    saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      ::setenv(name.c_str(), value, 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }
};

void clear_launchers(ScopedEnv& env) {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMIX_SIZE", "PMI_RANK",
                        "PMI_SIZE", "SCN_RANK", "SCN_WORLD_SIZE", "SCN_LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS",
                        "SLURM_LOCALID"})
    env.set(v, nullptr);
}

TEST(Launch, ReadsTheLaunchersVariables) {
  ScopedEnv env;
  clear_launchers(env);
  EXPECT_EQ(detect_launch().size, 1);
  EXPECT_EQ(detect_launch().launcher, "");
  env.set("SLURM_PROCID", "2");
  env.set("SLURM_NTASKS", "4");
  env.set("SLURM_LOCALID", "0");
  LaunchInfo l = detect_launch();
  EXPECT_EQ(l.launcher, "slurm");
  EXPECT_EQ(l.rank, 2);
  EXPECT_EQ(l.size, 4);
  EXPECT_EQ(l.local_rank, 0);
  // An MPI launcher's variables come first (srun --mpi=pmix sets both).
  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_SIZE", "3");
  l = detect_launch();
  EXPECT_EQ(l.launcher, "mpi");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.size, 3);
  EXPECT_EQ(l.local_rank, 1);  // no local rank variable: the rank
  env.set("OMPI_COMM_WORLD_RANK", "3");
  expect_error_mention([] { detect_launch(); }, "OMPI_COMM_WORLD_RANK=3 is not a rank of OMPI_COMM_WORLD_SIZE=3");
  env.set("OMPI_COMM_WORLD_RANK", "one");
  expect_error_mention([] { detect_launch(); }, "OMPI_COMM_WORLD_RANK=one is not a rank or a count");
}

TEST(Launch, AloneUnlessALauncherSaysOtherwise) {
  ScopedEnv env;
  clear_launchers(env);
  EXPECT_EQ(connect_ranks(RanksOptions{}, Device::cpu()), nullptr);
  RanksOptions off;
  off.mode = "off";
  env.set("SLURM_PROCID", "0");
  env.set("SLURM_NTASKS", "2");
  EXPECT_EQ(connect_ranks(off, Device::cpu()), nullptr);
  // srun without an MPI plugin: refused, not a silent single-process run on every task.
  expect_error_mention([] { connect_ranks(RanksOptions{}, Device::cpu()); }, "no MPI launcher started it");
  RanksOptions env_mode;
  env_mode.mode = "env";
  env_mode.rendezvous = fs::temp_directory_path().string();
  expect_error_mention([&] { connect_ranks(env_mode, Device::cpu()); }, "a CPU run needs MPI");
  RanksOptions bad;
  bad.mode = "many";
  expect_error_mention([&] { connect_ranks(bad, Device::cpu()); }, "--ranks many: expected auto, mpi, env or off");
}

TEST(BatchShare, RanksSplitTheGlobalBatchIntoItsExactUnion) {
  for (int ranks : {1, 2, 3, 7}) {
    for (int64_t batch : {7, 32, 33, 100}) {
      if (batch < ranks) continue;
      int64_t next = 1000;  // the batch starts at image 1000 of the epoch
      double scales = 0;
      for (int r = 0; r < ranks; ++r) {
        const BatchShare s = batch_share(1000, batch, r, ranks);
        EXPECT_EQ(s.begin, next) << ranks << " ranks, batch " << batch << ", rank " << r;
        EXPECT_GE(s.count, batch / ranks);
        EXPECT_LE(s.count, batch / ranks + 1);
        next += s.count;
        scales += s.loss_scale;
      }
      EXPECT_EQ(next, 1000 + batch);
      // The scaled losses average to the global mean loss: Σ loss_scale = R.
      EXPECT_NEAR(scales, ranks, 1e-12);
    }
  }
  EXPECT_EQ(batch_share(0, 32, 1, 2).loss_scale, 1.0);
  expect_error_mention([] { batch_share(0, 3, 0, 4); }, "cannot give each of 4 ranks one");
}

TEST(BatchShare, ALastBatchTooSmallForEveryRankIsDropped) {
  // One process: the last batch is dropped only when it holds one image (as before ranks existed).
  EXPECT_EQ(steps_per_epoch(100, 32, 1), 4);
  EXPECT_EQ(steps_per_epoch(97, 32, 1), 3);
  EXPECT_EQ(steps_per_epoch(98, 32, 1), 4);
  EXPECT_EQ(steps_per_epoch(20, 32, 1), 1);
  // Two ranks: it must give each two images.
  EXPECT_EQ(steps_per_epoch(99, 32, 2), 3);
  EXPECT_EQ(steps_per_epoch(100, 32, 2), 4);
}

TEST(FileRendezvous, RankZerosBlobReachesTheOthersAndOnlyAStaleOneIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("scn_rendezvous_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<char> blob = {'i', 'd', '\0', '\x7f'};
  std::vector<char> got;
  std::thread other([&] { got = file_rendezvous(dir.string(), "test", 1, std::vector<char>(4), 10); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // rank 1 waits for the file
  EXPECT_EQ(file_rendezvous(dir.string(), "test", 0, blob, 10), blob);
  other.join();
  EXPECT_EQ(got, blob);
  // Until the run's ranks have joined, a second rank 0 finds the blob and refuses it (a stale id would hang
  // its ranks); once finished, the folder serves the next run.
  expect_error_mention([&] { file_rendezvous(dir.string(), "test", 0, blob, 10); }, "is left from an earlier run");
  finish_file_rendezvous(dir.string(), "test", 1);
  EXPECT_TRUE(fs::exists(dir / "scn-rendezvous-test")) << "only rank 0 removes the blob";
  finish_file_rendezvous(dir.string(), "test", 0);
  EXPECT_EQ(file_rendezvous(dir.string(), "test", 0, blob, 10), blob) << "the next run starts in the same folder";
  expect_error_mention([&] { file_rendezvous(dir.string(), "absent", 1, blob, 0.3); },
                       "waited 0 s for " + (dir / "scn-rendezvous-absent").string());
  fs::remove_all(dir);
}

TEST(Watchdog, ACollectiveThatWaitsTooLongStopsTheProcessWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Watchdog dog(0.3, 1);
        Watchdog::Scope scope(dog, "all-reduce of the gradients");
        std::this_thread::sleep_for(std::chrono::seconds(20));
      },
      ::testing::ExitedWithCode(1), "rank 1 waited 0 s in the all-reduce of the gradients for the other ranks");
  // A collective that finishes in time is left alone.
  Watchdog dog(0.3, 0);
  for (int i = 0; i < 3; ++i) {
    Watchdog::Scope scope(dog, "quick");
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

// R ranks that hold the same batch: every sum over them is R times this process's.
class IdenticalRanks final : public Communicator {
 public:
  explicit IdenticalRanks(int ranks) { size_ = ranks; }
  std::string backend() const override { return "identical ranks (test)"; }
  void all_reduce(Context&, const Tensor& t, Reduce op, const char*) override {
    ++calls;
    if (op != Reduce::sum) return;
    std::vector<double> v = t.to_vector();
    for (double& x : v) x *= size_;
    t.copy_from(Tensor::from_vector(v, t.shape(), t.dtype()));
  }
  void all_reduce_host(std::span<double> values, Reduce op, const char*) override {
    if (op == Reduce::sum)
      for (double& v : values) v *= size_;
  }
  void broadcast_host(std::span<std::byte>, int, const char*) override {}
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
  int calls = 0;
};

TEST(SyncBatchNorm, OverRanksThatHoldTheSameBatchItIsThePlainBatchNorm) {
  // conv → batch_norm(sync) → linear: the batch norm's output and its dx (through the conv's gradients)
  // match the plain layer; the sync path really ran (two all-reduces a step); the running variance uses the
  // count over the ranks, M·R, in its unbiased correction.
  const char* kNet = R"(model:
  input: [2, 5, 5]
  classes: 3
  layers:
    - {type: conv, out: 4, kernel: 3}
    - {type: batch_norm, sync: true}
    - {type: linear, out: 3}
)";
  Context& ctx = Context::get(Device::cpu());
  const Tensor x = random_uniform({3, 2, 5, 5}, DType::f32, 11, 0, -1.0, 2.0);
  const Tensor dlogits = random_uniform({3, 3}, DType::f32, 11, 1);
  std::vector<double> logits[2], grads[2], running_var[2];
  double count = 0;  // M: values per channel in this process's batch
  IdenticalRanks ranks(2);
  for (int sync = 0; sync < 2; ++sync) {
    auto net = Net::build(ConfigNode::load_string(kNet, "net.yaml")["model"]);
    net->initialize(Device::cpu(), 3);
    ctx.ranks = sync ? &ranks : nullptr;
    net->params().zero_grads();
    logits[sync] = net->forward(ctx, x, Mode::train).to_vector();
    net->backward(ctx, dlogits);
    ctx.ranks = nullptr;
    grads[sync] = net->params().grads().to_vector();
    running_var[sync] = net->params().value(net->params().find("l1.running_var")).to_vector();
    count = static_cast<double>(x.size(0) * net->nodes()[1].shape.numel() / net->nodes()[1].shape[0]);
  }
  EXPECT_EQ(ranks.calls, 2);
  ASSERT_EQ(logits[0].size(), logits[1].size());
  for (size_t i = 0; i < logits[0].size(); ++i) EXPECT_NEAR(logits[1][i], logits[0][i], 1e-5) << i;
  double moved = 0;
  for (size_t i = 0; i < grads[0].size(); ++i) {
    EXPECT_NEAR(grads[1][i], grads[0][i], 1e-5 * (1 + std::abs(grads[0][i]))) << i;
    moved = std::max(moved, std::abs(grads[0][i]));
  }
  EXPECT_GT(moved, 1e-3);
  // running_var = 0.9 + 0.1·σ²·M/(M − 1) alone, and with 2M values over the two ranks.
  for (size_t c = 0; c < running_var[0].size(); ++c) {
    const double var = (running_var[0][c] - 0.9) / 0.1 * (count - 1) / count;
    EXPECT_NEAR(running_var[1][c], 0.9 + 0.1 * var * 2 * count / (2 * count - 1), 1e-5) << c;
    EXPECT_GT(std::abs(running_var[1][c] - running_var[0][c]), 1e-6) << c;  // the counts differ visibly
  }
}

TEST(Nccl, OneRankOnOneGpuReducesToItself) {
  if (!built_with_nccl()) GTEST_SKIP() << "built without NCCL";
  if (cuda_device_count() < 1) GTEST_SKIP() << "no GPU";
  const fs::path dir = fs::temp_directory_path() / ("scn_nccl_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::unique_ptr<Communicator> comm = connect_nccl(nullptr, LaunchInfo{0, 1, 0, "scn"}, Device::cuda(0),
                                                    dir.string(), 60);
  Context& gpu = Context::get(Device::cuda(0));
  const Tensor host = random_uniform({1000, 3}, DType::f32, 4, 0);
  for (Reduce op : {Reduce::sum, Reduce::average, Reduce::max}) {
    Tensor t = host.to(Device::cuda(0));
    comm->all_reduce(gpu, t, op, "test all-reduce");
    gpu.synchronize();
    EXPECT_EQ(t.to_vector(), host.to_vector());
  }
  // Without an MPI host the host collectives travel through NCCL: as many values as CIFAR-100's evaluation
  // totals (4 + 100²), then a few again (the staging buffer is reused), and a broadcast of odd size.
  for (size_t n : {size_t{10004}, size_t{3}}) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = 1.5 - static_cast<double>(i % 7);
    const std::vector<double> expected = v;
    comm->all_reduce_host(std::span<double>(v), Reduce::sum, "test all-reduce of host values");
    EXPECT_EQ(v, expected);
  }
  std::vector<std::byte> bytes(37);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(i * 5 + 1);
  const std::vector<std::byte> sent = bytes;
  comm->broadcast_host(std::span<std::byte>(bytes), 0, "test broadcast");
  EXPECT_EQ(bytes, sent);
  comm.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace scn::test
