// End to end on real data: a tiny sparse-coding net trains on 2,000 Fashion-MNIST images and clearly beats
// chance; resume continues the same run bit for bit; SIGINT saves and stops; divergence stops with a message
// and keeps the last good checkpoint; evaluation of the checkpoint agrees with training's.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "models/batch_source.h"
#include "models/checkpoint.h"
#include "models/data_setup.h"
#include "models/evaluator.h"
#include "models/run_folder_lock.h"
#include "models/run_identity.h"
#include "models/trainer.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;
const char* kData = "/usr/share/datasets/fashion-mnist";

const char* kConfig = R"(model:
  input: [1, 28, 28]
  classes: 10
  layers:
    - {type: sparse_code, out: 8, kernel: 3, iters: 1, step: auto}
    - {type: pool, kernel: 2}
    - {type: batch_norm}
    - {type: sparse_code, out: 16, kernel: 3, iters: 1, step: auto}
    - {type: pool, kernel: 2}
    - {type: linear, out: 10}
data: {format: fashion_mnist, dir: /usr/share/datasets/fashion-mnist, limit: 2000, test_limit: 500,
       augment: {crop_pad: 1, flip: true}}
optimizer: {type: sgd, lr: 0.02, momentum: 0.9, weight_decay: 5.0e-4}
schedule: {type: cosine}
train: {epochs: 2, batch: 32, device: cpu}
seed: 3
)";

struct RunDir {
  fs::path path;
  explicit RunDir(const std::string& name)
      : path(fs::temp_directory_path() / ("scn_train_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~RunDir() { fs::remove_all(path); }
  std::string str() const { return path.string(); }
  std::string file(const std::string& f) const { return (path / f).string(); }
};

RunConfig config(const std::vector<std::string>& overrides = {}) {
  RunConfig c = RunConfig::parse(ConfigNode::load_string(kConfig, "tiny.yaml", overrides));
  c.source = "tiny.yaml";
  return c;
}

TrainSummary run(const RunConfig& c, const RunDir& dir, const std::string& resume = "") {
  TrainOptions o;
  o.out_dir = dir.str();
  o.resume = resume;
  o.quiet = true;
  return train(c, o);
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The metrics line without its timing fields, which differ between runs.
std::string without_timing(std::string line) {
  for (const char* key : {"\"images_per_s\":", "\"seconds\":"}) {
    const auto at = line.find(key);
    if (at == std::string::npos) continue;
    const auto end = line.find_first_of(",}", at);
    line.erase(at, end - at + (line[end] == ',' ? 1 : 0));
  }
  return line;
}

class Training : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(std::string(kData) + "/train-images-idx3-ubyte.gz"))
      GTEST_SKIP() << "Fashion-MNIST is not installed in " << kData << " (Debian package dataset-fashion-mnist)";
    clear_interrupt();
  }
};

TEST_F(Training, TinyNetClearlyBeatsChanceAndEvaluationAgrees) {
  RunDir dir("beats_chance");
  TrainSummary s = run(config(), dir);
  EXPECT_EQ(s.epochs_done, 2);
  EXPECT_GT(s.last_val_acc, 0.6) << "chance is 0.10";
  ASSERT_TRUE(fs::exists(dir.file("last.safetensors")));
  ASSERT_TRUE(fs::exists(dir.file("config.yaml")));
  EXPECT_EQ(lines(dir.file("metrics.jsonl")).size(), 2u);
  // The run's images/s is the epochs' (training time only, not evaluation): between their slowest and fastest.
  double slowest = 1e300, fastest = 0;
  for (const std::string& l : lines(dir.file("metrics.jsonl"))) {
    const double rate = nlohmann::json::parse(l)["images_per_s"].get<double>();
    slowest = std::min(slowest, rate), fastest = std::max(fastest, rate);
  }
  EXPECT_GE(s.images_per_s, 0.999 * slowest);
  EXPECT_LE(s.images_per_s, 1.001 * fastest);
  // train.log_sparsity (on by default): each sparse-coding layer's non-zero fraction and coherence.
  const nlohmann::json last = nlohmann::json::parse(lines(dir.file("metrics.jsonl")).back());
  for (const char* node : {"l0", "l3"}) {
    ASSERT_TRUE(last["sparsity"].contains(node)) << last.dump();
    EXPECT_GT(last["sparsity"][node].get<double>(), 0.01);
    EXPECT_LT(last["sparsity"][node].get<double>(), 0.99);
    EXPECT_GT(last["coherence"][node].get<double>(), 0.05);
    EXPECT_LE(last["coherence"][node].get<double>(), 1.0 + 1e-6);
  }
  // The checkpoint, evaluated on its own, gives the accuracy training reported.
  RunConfig c = config();
  auto net = Net::build(c.model);
  net->initialize(Device::cpu(), 99);
  CheckpointInfo info = load_checkpoint(dir.file("last.safetensors"), *net);
  EXPECT_EQ(info.epoch, 2);
  BatchSource source(load_split(c, "test"), Device::cpu(), info.mean, info.std, AugmentParams{}, 0, false);
  EvalResult r = evaluate(Context::get(Device::cpu()), *net, source, 256);
  EXPECT_DOUBLE_EQ(r.top1, s.last_val_acc);
}

TEST_F(Training, ResumeContinuesTheSameRunBitForBit) {
  RunDir whole("whole"), part("part");
  // A schedule that does not depend on the total number of epochs, so a one-epoch run is the first half of
  // the two-epoch one.
  const std::string schedule = "schedule={type: step, step_size: 1, gamma: 0.5}";
  run(config({schedule}), whole);
  run(config({schedule, "train.epochs=1"}), part);
  run(config({schedule}), part, part.file("last.safetensors"));
  auto a = read_safetensors(whole.file("last.safetensors")), b = read_safetensors(part.file("last.safetensors"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i)
    EXPECT_EQ(a.tensors[i].second.to_vector(), b.tensors[i].second.to_vector()) << a.tensors[i].first;
  // The resumed run's best checkpoint is the best of both halves.
  EXPECT_DOUBLE_EQ(read_checkpoint_info(part.file("best.safetensors")).val_accuracy,
                   read_checkpoint_info(whole.file("best.safetensors")).val_accuracy);
  auto la = lines(whole.file("metrics.jsonl")), lb = lines(part.file("metrics.jsonl"));
  ASSERT_EQ(la.size(), 2u);
  ASSERT_EQ(lb.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(without_timing(la[i]), without_timing(lb[i]));
}

// A resumed run whose evaluations do not beat the best of its first part still reports that best (it used
// to report "best -100.00%").
TEST_F(Training, AResumedRunReportsTheBestItHad) {
  RunDir dir("resumed_best");
  const TrainSummary first = run(config({"train.epochs=1"}), dir);
  ASSERT_GT(first.best_val_acc, 0.1);
  // The first part's best is made unbeatable (99.9 %), so that the second part's evaluation is certainly no
  // new best. (A tiny learning rate does not make the evaluations tie: the power iteration of `step: auto`
  // keeps converging with the weights fixed, η moves, and one image of 500 may flip.)
  {
    auto net = Net::build(config().model);
    net->initialize(Device::cpu(), 0);
    CheckpointInfo info = load_checkpoint(dir.file("best.safetensors"), *net);
    info.val_accuracy = 0.999;
    save_checkpoint(dir.file("best.safetensors"), *net, info);
  }
  const TrainSummary resumed = run(config({"optimizer.lr=1.0e-12"}), dir, dir.file("last.safetensors"));
  EXPECT_EQ(resumed.epochs_done, 2);
  EXPECT_LT(resumed.last_val_acc, 0.999);
  EXPECT_DOUBLE_EQ(resumed.best_val_acc, 0.999);
  EXPECT_EQ(resumed.best_checkpoint, dir.file("best.safetensors"));
  // steps.jsonl (train.log_every = 50 by default; 63 steps per epoch here): one line per 50 steps and one at
  // each epoch's end, kept across the resume.
  const auto steps = lines(dir.file("steps.jsonl"));
  ASSERT_EQ(steps.size(), 4u);
  const nlohmann::json row = nlohmann::json::parse(steps[2]);
  EXPECT_EQ(row["step"], 100);
  EXPECT_EQ(row["epoch"], 2);
  for (const char* key : {"loss", "epoch_loss", "epoch_acc", "lr", "images_per_s"}) EXPECT_TRUE(row.contains(key)) << key;
  const nlohmann::json end = nlohmann::json::parse(steps[3]);
  EXPECT_EQ(end["step"], 126);
  EXPECT_EQ(end["epoch_step"], 63);
}

// A run shorter than train.log_every still logs its steps (steps.jsonl stayed empty under 50 steps, which
// looked broken): a line at each epoch's end.
TEST_F(Training, AShortRunStillLogsItsSteps) {
  RunDir dir("short_steps");
  run(config({"train.epochs=2", "data.limit=200"}), dir);  // 7 steps per epoch
  const auto steps = lines(dir.file("steps.jsonl"));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(steps[0])["step"], 7);
  EXPECT_EQ(nlohmann::json::parse(steps[1])["step"], 14);
}

// The run folder is the run's for its whole life: a second process is refused before it writes anything.
TEST_F(Training, AFolderInUseIsRefusedAtOnce) {
  RunDir dir("in_use");
  RunFolderLock held(dir.str());
  try {
    run(config({"train.epochs=1", "data.limit=200"}), dir);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.str() + " is in use by another scn train"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("config.yaml")));
  EXPECT_FALSE(fs::exists(dir.file("metrics.jsonl")));
}

// Every checkpoint and config.yaml carry the run's id; resuming another run's checkpoint into a folder is
// refused unless forced, and forced, nothing of the folder's earlier run survives.
TEST_F(Training, ResumingAnotherRunsCheckpointIntoAFolderIsRefused) {
  RunDir a("run_a"), b("run_b");
  run(config({"train.epochs=1", "data.limit=200"}), a);
  run(config({"train.epochs=1", "data.limit=200", "seed=4"}), b);
  const std::string id_a = folder_run_id(a.str()), id_b = folder_run_id(b.str());
  ASSERT_EQ(id_a.size(), 16u);
  ASSERT_NE(id_a, id_b);
  EXPECT_EQ(read_checkpoint_info(a.file("last.safetensors")).run_id, id_a);
  EXPECT_EQ(read_checkpoint_info(a.file("best.safetensors")).run_id, id_a);
  const auto metrics = lines(a.file("metrics.jsonl"));
  const std::string step_before = read_safetensors(a.file("last.safetensors")).metadata.at("step");
  try {
    run(config({"train.epochs=2", "data.limit=200", "seed=4"}), a, b.file("last.safetensors"));
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds run " + id_a), std::string::npos) << e.what();
  }
  EXPECT_EQ(lines(a.file("metrics.jsonl")), metrics);
  EXPECT_EQ(folder_run_id(a.str()), id_a);
  EXPECT_EQ(read_checkpoint_info(a.file("best.safetensors")).run_id, id_a);
  EXPECT_EQ(read_safetensors(a.file("last.safetensors")).metadata.at("step"), step_before);
  // Its own folder continues it, and the run keeps its id.
  run(config({"train.epochs=2", "data.limit=200", "seed=4"}), b, b.file("last.safetensors"));
  EXPECT_EQ(folder_run_id(b.str()), id_b);
  EXPECT_EQ(read_checkpoint_info(b.file("last.safetensors")).run_id, id_b);
  // Forced into A: A's files are gone, and what is there is run B's.
  TrainOptions o;
  o.out_dir = a.str();
  o.resume = b.file("last.safetensors");
  o.quiet = true;
  o.force = true;
  train(config({"train.epochs=3", "data.limit=200", "seed=4"}), o);
  EXPECT_EQ(folder_run_id(a.str()), id_b);
  EXPECT_EQ(read_checkpoint_info(a.file("last.safetensors")).run_id, id_b);
  EXPECT_EQ(lines(a.file("metrics.jsonl")).size(), 1u);
  if (fs::exists(a.file("best.safetensors"))) {
    EXPECT_EQ(read_checkpoint_info(a.file("best.safetensors")).run_id, id_b);
  }
}

TEST_F(Training, InterruptFinishesTheStepSavesAndResumes) {
  install_interrupt_handler();
  std::raise(SIGINT);  // the real handler: only asks to stop
  ASSERT_TRUE(interrupt_requested());
  RunDir dir("interrupt"), whole("whole_for_interrupt");
  TrainSummary s = run(config(), dir);
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.steps_done, 1);
  CheckpointInfo info = read_checkpoint_info(dir.file("last.safetensors"));
  EXPECT_EQ(info.step, 1);
  EXPECT_EQ(info.epoch, 0);
  clear_interrupt();
  TrainSummary resumed = run(config(), dir, dir.file("last.safetensors"));
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_EQ(resumed.epochs_done, 2);
  run(config(), whole);
  auto a = read_safetensors(whole.file("last.safetensors")), b = read_safetensors(dir.file("last.safetensors"));
  for (size_t i = 0; i < a.tensors.size(); ++i)
    EXPECT_EQ(a.tensors[i].second.to_vector(), b.tensors[i].second.to_vector()) << a.tensors[i].first;
}

TEST_F(Training, DivergenceStopsWithAMessageAndKeepsTheLastGoodCheckpoint) {
  RunDir dir("diverge");
  run(config({"train.epochs=1"}), dir);
  const auto good = read_safetensors(dir.file("last.safetensors")).tensors[0].second.to_vector();
  try {
    run(config({"optimizer.lr=1.0e+12"}), dir, dir.file("last.safetensors"));
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("training diverged at epoch 2"), std::string::npos) << what;
    EXPECT_NE(what.find("last good checkpoint is " + dir.file("last.safetensors") + " (epoch 1)"), std::string::npos)
        << what;
  }
  EXPECT_EQ(read_safetensors(dir.file("last.safetensors")).tensors[0].second.to_vector(), good);
}

TEST_F(Training, AFreshRunNeverReplacesAnEarlierOneUnlessForced) {
  RunDir dir("no_overwrite");
  run(config({"train.epochs=1", "data.limit=200"}), dir);
  const std::string before = read_safetensors(dir.file("last.safetensors")).metadata.at("step");
  const auto metrics = lines(dir.file("metrics.jsonl"));
  try {
    run(config({"train.epochs=1", "data.limit=300"}), dir);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir.str() + " already holds a run (last.safetensors, best.safetensors, metrics.jsonl)"),
              std::string::npos) << what;
    EXPECT_NE(what.find("--resume " + dir.file("last.safetensors")), std::string::npos) << what;
  }
  EXPECT_EQ(read_safetensors(dir.file("last.safetensors")).metadata.at("step"), before);
  EXPECT_EQ(lines(dir.file("metrics.jsonl")), metrics);
  // Forced, the earlier run's files are replaced, none kept stale.
  TrainOptions o;
  o.out_dir = dir.str();
  o.quiet = true;
  o.force = true;
  train(config({"train.epochs=1", "data.limit=300"}), o);
  EXPECT_NE(read_safetensors(dir.file("last.safetensors")).metadata.at("step"), before);
  EXPECT_EQ(lines(dir.file("metrics.jsonl")).size(), 1u);
}

TEST_F(Training, ARefusedResumeLeavesTheRunFolderAsItWas) {
  RunDir dir("refused_resume");
  run(config({"train.epochs=1", "data.limit=200"}), dir);
  std::ifstream in(dir.file("config.yaml"));
  const std::string config_before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Another net cannot continue this checkpoint.
  EXPECT_THROW(run(config({"model.layers[0].out=9"}), dir, dir.file("last.safetensors")), Error);
  std::ifstream again(dir.file("config.yaml"));
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), config_before);
}

TEST_F(Training, ALossThatExplodesButStaysFiniteStopsTheRun) {
  RunDir dir("explode");
  // Any factor ≤ 1 is refused; 1.0001 × the first loss is crossed by the first noisy step above it, which
  // shows the rule is wired into every checked step (the rule itself: tests/models/test_divergence.cpp).
  try {
    run(config({"train.max_loss_factor=1.0001", "optimizer.lr=0.5"}), dir);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("training diverged at epoch 1"), std::string::npos) << what;
    EXPECT_NE(what.find("x its first value"), std::string::npos) << what;
    EXPECT_NE(what.find("No checkpoint was written yet"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir.file("last.safetensors")));
}

TEST_F(Training, LongEpochsAlsoSaveMidEpochAndResumeFromThere) {
  RunDir dir("mid_epoch");
  // A checkpoint after every step (checkpoint_minutes ≈ 0), and a run stopped mid-epoch by the divergence
  // rule: the last checkpoint is a mid-epoch one, and the run continues from it.
  try {
    run(config({"train.checkpoint_minutes=1.0e-9", "train.max_loss_factor=1.0001", "optimizer.lr=0.5"}), dir);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("The last good checkpoint is " + dir.file("last.safetensors") + " (epoch 0)"),
              std::string::npos) << e.what();
  }
  const CheckpointInfo info = read_checkpoint_info(dir.file("last.safetensors"));
  EXPECT_EQ(info.epoch, 0);
  EXPECT_GE(info.step, 1);
  TrainSummary s = run(config({"train.epochs=1"}), dir, dir.file("last.safetensors"));
  EXPECT_EQ(s.epochs_done, 1);
  EXPECT_EQ(s.steps_done, (2000 + 31) / 32);  // the last batch is partial
}

}  // namespace
}  // namespace scn::test
