// The divergence rule and the memory check that runs before training.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/divergence.h"
#include "models/preflight.h"

namespace scn::test {
namespace {

TEST(Divergence, NonFiniteLossOrGradientsStopTheRun) {
  DivergenceGuard g(100, 10);
  EXPECT_FALSE(g.check(2.3, 1.0));
  EXPECT_EQ(*g.check(NAN, 1.0), "the loss is nan");
  EXPECT_EQ(*g.check(INFINITY, 1.0), "the loss is inf");
  EXPECT_EQ(*g.check(2.0, NAN), "the parameters or their gradients hold NaN or Inf");
}

TEST(Divergence, AFiniteExplosionStopsTheRun) {
  DivergenceGuard g(100, 10);
  EXPECT_FALSE(g.check(2.5, 1.0));  // the reference
  EXPECT_FALSE(g.check(249.0, 1.0));
  const auto reason = g.check(7.9e11, 1.0);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "the loss 7.9e+11 is above 100 x its first value 2.5 (train.max_loss_factor)");
  DivergenceGuard off(0, 10);
  EXPECT_FALSE(off.check(2.5, 1.0));
  EXPECT_FALSE(off.check(7.9e11, 1.0));
}

TEST(Divergence, TheReferenceIsNeverBelowAUniformGuess) {
  // A run resumed at a low loss is measured against ln(classes), not against its own 0.01.
  DivergenceGuard g(100, 10);
  EXPECT_FALSE(g.check(0.01, 1.0));
  EXPECT_NEAR(g.reference(), std::log(10.0), 1e-12);
  EXPECT_FALSE(g.check(200.0, 1.0));
  EXPECT_TRUE(g.check(231.0, 1.0));
}

TEST(Preflight, ANetTooLargeForTheMachineIsRefusedBeforeAllocation) {
  RunConfig c = RunConfig::parse(ConfigNode::load_string(R"(model:
  input: [3, 1024, 1024]
  classes: 10
  layers:
    - {type: sparse_code, out: 1024, iters: 10}
    - {type: global_avg_pool}
    - {type: linear, out: 10}
train: {batch: 128}
)", "huge.yaml"));
  c.source = "huge.yaml";
  auto net = Net::build(c.model);
  try {
    check_training_memory(*net, c, Device::cpu());
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("huge.yaml: the net cannot be trained in this machine's memory: training memory at batch 128: "
                         "about ", 0), 0u) << what;
    EXPECT_NE(what.find("the largest node is l0 (sparse_code, "), std::string::npos) << what;
    EXPECT_NE(what.find("is available. Lower train.batch"), std::string::npos) << what;
  }
  // A small net fits.
  c.model = ConfigNode::load_string("model: {input: [1, 8, 8], classes: 2, layers: [{type: global_avg_pool}, "
                                    "{type: linear, out: 2}]}\n", "small.yaml")["model"];
  EXPECT_NO_THROW(check_training_memory(*Net::build(c.model), c, Device::cpu()));
}

TEST(Preflight, TemporaryFilesOfKilledWritesAreRemoved) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("scn_preflight_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path dead = dir / "last.safetensors.tmp.999999999.0";       // no such process
  const fs::path alive = dir / ("last.safetensors.tmp." + std::to_string(::getpid()) + ".3");  // ours
  const fs::path other = dir / "notes.tmp.txt";
  for (const fs::path& p : {dead, alive, other}) std::ofstream(p) << "x";
  prepare_run_folder(dir.string(), true, false);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace scn::test
