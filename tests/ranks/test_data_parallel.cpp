// Two ranks train the model one rank trains: with the global batch split across them (B/2 each, and an odd
// batch that splits unevenly), the parameters after an epoch of several steps equal a single process's to float
// tolerance, on a net without batch norm and on one with batch_norm.sync; every rank holds the same parameters
// (--check-ranks every step); and a checkpoint moves between 2 ranks and 1 in both directions, continuing
// the same loss curve.
//
// The comparisons cover one epoch at a time. Training a sparse-coding net is not a continuous map of its
// starting point everywhere: a perturbation of 1e-7, in the right direction, of a parameter can switch a
// discrete event (a code's support, a pooling winner) a few steps later and move the weights by 1e-3. The
// order of float sums differs between 1 and 2 ranks (as between 1 and 2 threads), so over long runs the two
// can part that way; over an epoch here they agree to about 1e-6.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "models/data_parallel.h"
#include "models/net.h"
#include "models/trainer.h"
#include "ranks.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;
const char* kData = "/usr/share/datasets/fashion-mnist";

// A small sparse-coding net; `middle` is inserted after the first pool (a batch norm, or nothing).
std::string config_text(const std::string& middle, int64_t batch) {
  return R"(model:
  input: [1, 28, 28]
  classes: 10
  layers:
    - {type: sparse_code, out: 6, kernel: 3, iters: 1, step: auto}
    - {type: pool, kernel: 2}
)" + middle + R"(
    - {type: sparse_code, out: 8, kernel: 3, stride: 2, iters: 1}
    - {type: linear, out: 10}
data: {format: fashion_mnist, dir: /usr/share/datasets/fashion-mnist, limit: 300, test_limit: 64,
       augment: {crop_pad: 1, flip: true}}
optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 5.0e-4}
schedule: {type: constant}
train: {epochs: 1, batch: )" + std::to_string(batch) + R"(, device: cpu, threads: 1, recalibrate_batch_norm: 0}
eval: {batch: 15}
seed: 5
)";
}

RunConfig config(const std::string& middle, int64_t batch, const std::vector<std::string>& overrides = {}) {
  RunConfig c = RunConfig::parse(ConfigNode::load_string(config_text(middle, batch), "ranks.yaml", overrides));
  c.source = "ranks.yaml";
  return c;
}

// A folder name every rank agrees on (rank 0's pid), removed at the end.
struct SharedDir {
  fs::path path;
  explicit SharedDir(const std::string& name) {
    int64_t pid = ::getpid();
    g_ranks->broadcast_host(std::as_writable_bytes(std::span(&pid, 1)), 0, "test folder name");
    path = fs::temp_directory_path() / ("scn_ranks_" + name + "_" + std::to_string(pid));
    if (g_ranks->is_root()) fs::remove_all(path);
    barrier();
  }
  ~SharedDir() {
    barrier();
    if (g_ranks->is_root()) fs::remove_all(path);
  }
  // A run folder of this rank's own (single-process runs every rank makes).
  std::string own(const std::string& run) const {
    return (path / (run + "_rank" + std::to_string(g_ranks->rank()))).string();
  }
  std::string shared(const std::string& run) const { return (path / run).string(); }
  static void barrier() { any_rank(*g_ranks, false, "barrier"); }
};

TrainSummary run(const RunConfig& c, const std::string& dir, Communicator* ranks, const std::string& resume = "") {
  TrainOptions o;
  o.out_dir = dir;
  o.resume = resume;
  o.quiet = true;
  o.ranks = ranks;
  o.check_ranks_every = ranks ? 1 : 0;
  TrainSummary s = train(c, o);
  if (ranks) SharedDir::barrier();  // rank 0 has written its checkpoint before anyone reads it
  return s;
}

// The largest difference between two checkpoints' tensors, relative to the largest value.
double max_relative_difference(const std::string& a, const std::string& b, std::string* where) {
  const SafetensorsFile fa = read_safetensors(a), fb = read_safetensors(b);
  const std::map<std::string, Tensor> tb(fb.tensors.begin(), fb.tensors.end());
  double worst = 0;
  EXPECT_EQ(fa.tensors.size(), tb.size());
  for (const auto& [name, ta] : fa.tensors) {
    const auto it = tb.find(name);
    EXPECT_NE(it, tb.end()) << name;
    if (it == tb.end()) continue;
    const std::vector<double> va = ta.to_vector(), vb = it->second.to_vector();
    double scale = 1e-3, diff = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      scale = std::max(scale, std::abs(vb[i]));
      diff = std::max(diff, std::abs(va[i] - vb[i]));
    }
    if (diff / scale > worst) {
      worst = diff / scale;
      *where = name;
    }
  }
  return worst;
}

std::vector<nlohmann::json> metrics(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "metrics.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<double> train_losses(const std::string& dir) {
  std::vector<double> out;
  for (const nlohmann::json& row : metrics(dir)) out.push_back(row["train_loss"]);
  return out;
}

void expect_same_model(const std::string& a, const std::string& b, double tolerance) {
  std::string where;
  const double d = max_relative_difference(fs::path(a) / "last.safetensors", fs::path(b) / "last.safetensors", &where);
  EXPECT_LT(d, tolerance) << a << " against " << b << ": worst tensor " << where;
  const std::vector<double> la = train_losses(a), lb = train_losses(b);
  ASSERT_EQ(la.size(), lb.size());
  ASSERT_FALSE(la.empty());
  for (size_t e = 0; e < la.size(); ++e) EXPECT_NEAR(la[e], lb[e], 1e-5 * lb[e]) << "epoch " << e + 1;
  // The evaluation the ranks share (64 test images in batches of 15: rank 0 takes 3, rank 1 takes 2) gives
  // the single process's numbers: loss, accuracy, the codes' sparsity.
  const nlohmann::json ea = metrics(a).back(), eb = metrics(b).back();
  EXPECT_NEAR(ea["val_loss"].get<double>(), eb["val_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(ea["val_acc"].get<double>(), eb["val_acc"].get<double>(), 1.0 / 64 + 1e-9);  // one near-tie at most
  ASSERT_TRUE(eb["sparsity"].is_object() && !eb["sparsity"].empty());
  for (const auto& [node, fraction] : eb["sparsity"].items())
    EXPECT_NEAR(ea["sparsity"][node].get<double>(), fraction.get<double>(), 1e-4) << node;
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_ranks) GTEST_SKIP() << "needs several ranks: mpirun -np 2 scn_rank_tests";
    if (!fs::exists(fs::path(kData) / "train-images-idx3-ubyte.gz") &&
        !fs::exists(fs::path(kData) / "train-images-idx3-ubyte"))
      GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)";
  }
};

void expect_ranks_match_one_process(const std::string& middle, int64_t batch, const std::string& name) {
  SharedDir dir(name);
  const RunConfig c = config(middle, batch);
  run(c, dir.shared("ranks"), g_ranks);
  run(c, dir.own("alone"), nullptr);
  // Every rank compares rank 0's checkpoint of the multi-rank run with its own single-process run.
  expect_same_model(dir.shared("ranks"), dir.own("alone"), 1e-4);
  // A run that did nothing would also agree: the steps moved the parameters far more than the tolerance.
  const SafetensorsFile f = read_safetensors(dir.own("alone") + "/last.safetensors");
  double moved = 0;
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("optimizer", 0) == 0)
      for (double v : t.to_vector()) moved = std::max(moved, std::abs(v));
  EXPECT_GT(moved, 1e-2) << "the optimizer's velocity is about zero: nothing was trained";
}

TEST_F(DataParallel, RanksTrainTheModelOneProcessTrains) {
  expect_ranks_match_one_process("", 32, "plain");
}

TEST_F(DataParallel, AnOddBatchSplitsUnevenlyAndStillAgrees) {
  // 37 images: 19 on rank 0, 18 on rank 1 (the losses weighted by their shares); 300 = 8·37 + 4, and the
  // last 4 split 2 and 2.
  expect_ranks_match_one_process("", 37, "odd");
}

TEST_F(DataParallel, SynchronisedBatchNormTrainsTheModelOneProcessTrains) {
  expect_ranks_match_one_process("    - {type: batch_norm, sync: true}", 32, "sync_bn");
}

TEST_F(DataParallel, PerRankBatchNormIsNotTheSingleProcessModel) {
  // Without sync each rank normalises with its half-batch's statistics: a different model (the comparison
  // above would fail), and the ranks still hold equal parameters (--check-ranks).
  SharedDir dir("local_bn");
  const RunConfig c = config("    - {type: batch_norm, affine: true}", 32, {"train.epochs=1"});
  run(c, dir.shared("ranks"), g_ranks);
  run(c, dir.own("alone"), nullptr);
  std::string where;
  const double d = max_relative_difference(fs::path(dir.shared("ranks")) / "last.safetensors",
                                           fs::path(dir.own("alone")) / "last.safetensors", &where);
  EXPECT_GT(d, 1e-3);
}

TEST_F(DataParallel, ACheckpointMovesBetweenTwoRanksAndOne) {
  // An epoch on 2 ranks and one alone give the same checkpoint; each then continues for an epoch on 1 rank and
  // on 2, and the continuations agree whatever the number of ranks, checkpoint and loss.
  SharedDir dir("resume");
  const RunConfig first = config("    - {type: batch_norm, sync: true}", 32, {"data.limit=160"});
  const RunConfig second = config("    - {type: batch_norm, sync: true}", 32, {"data.limit=160", "train.epochs=2"});
  run(first, dir.shared("first_on_ranks"), g_ranks);
  run(first, dir.own("first_alone"), nullptr);
  expect_same_model(dir.shared("first_on_ranks"), dir.own("first_alone"), 1e-4);
  // A 2-rank checkpoint continues on 1 rank as on 2.
  const std::string of_ranks = dir.shared("first_on_ranks") + "/last.safetensors";
  run(second, dir.shared("ranks_then_ranks"), g_ranks, of_ranks);
  run(second, dir.own("ranks_then_alone"), nullptr, of_ranks);
  expect_same_model(dir.shared("ranks_then_ranks"), dir.own("ranks_then_alone"), 1e-4);
  // A single process's checkpoint (each rank made its own, bit for bit the same) continues on 2 ranks as on 1.
  const std::string of_one = dir.own("first_alone") + "/last.safetensors";
  run(second, dir.shared("alone_then_ranks"), g_ranks, of_one);
  run(second, dir.own("alone_then_alone"), nullptr, of_one);
  expect_same_model(dir.shared("alone_then_ranks"), dir.own("alone_then_alone"), 1e-4);
  EXPECT_EQ(train_losses(dir.shared("alone_then_ranks")).size(), 1u) << "a resumed run logs the epochs it trained";
}

TEST_F(DataParallel, ResumeStartsAtTheSameBatchWhateverTheStepsPerEpoch) {
  // 162 images at batch 32: one process trains 6 steps an epoch (the last batch holds 2 images), 2 ranks 5
  // (2 images cannot give each rank two). A checkpoint records where in its epoch it stands, so an epoch's end
  // resumes at the next epoch's first batch on either count: 5 + 6 and 6 + 5 steps, none skipped or repeated.
  SharedDir dir("epoch_steps");
  const RunConfig first = config("", 32, {"data.limit=162"});
  const RunConfig second = config("", 32, {"data.limit=162", "train.epochs=2"});
  EXPECT_EQ(run(first, dir.shared("on_ranks"), g_ranks).steps_done, 5);
  EXPECT_EQ(run(first, dir.own("alone"), nullptr).steps_done, 6);
  EXPECT_EQ(run(second, dir.own("ranks_then_alone"), nullptr, dir.shared("on_ranks") + "/last.safetensors").steps_done,
            11);
  EXPECT_EQ(run(second, dir.shared("alone_then_ranks"), g_ranks, dir.own("alone") + "/last.safetensors").steps_done,
            11);
}

TEST(CheckRanks, NamesTheParameterOneRankChangedByOneUlp) {
  // The check every test above runs (--check-ranks every step) must see the smallest difference: rank 1
  // moves one weight of the second dictionary by one ulp, and every rank stops, rank 1 naming that weight.
  if (!g_ranks) GTEST_SKIP() << "needs several ranks: mpirun -np 2 scn_rank_tests";
  const RunConfig c = config("", 32);
  auto net = Net::build(c.model);
  net->initialize(Device::cpu(), 11);
  EXPECT_NO_THROW(check_ranks_agree(*net, *g_ranks, 1)) << "the same seed gives every rank the same parameters";
  const ParamArena& arena = net->params();
  int target = -1;
  for (int i = 0, dictionaries = 0; i < arena.count() && target < 0; ++i)
    if (arena.spec(i).kind == "weights" && arena.spec(i).shape.rank() == 4 && ++dictionaries == 2) target = i;
  ASSERT_GE(target, 0) << "the net has two dictionaries";
  const std::string name = arena.spec(target).name;
  if (g_ranks->rank() == 1) {
    const Tensor w = arena.value(target);
    float& v = w.data<float>()[w.numel() / 2];
    v = std::nextafter(v, std::numeric_limits<float>::infinity());
  }
  try {
    check_ranks_agree(*net, *g_ranks, 3);
    ADD_FAILURE() << "rank " << g_ranks->rank() << ": a one-ulp difference in " << name << " went unseen";
  } catch (const Error& e) {
    const std::string message = e.what();
    if (g_ranks->rank() == 1) {
      EXPECT_NE(message.find("after step 3 rank 1's " + name + " differs from rank 0's"), std::string::npos)
          << message;
    } else {
      EXPECT_NE(message.find("another rank's parameters differ"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace scn::test
