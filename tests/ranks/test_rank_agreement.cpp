// Ranks agree before the first step: a rank whose config, data, checkpoint or scn differ from rank 0's stops
// every rank with a message naming it and the first differing key. Different kernels used to corrupt the heap
// inside MPI_Allreduce, a different data.limit ended in MPI_ERR_TRUNCATE, and another lr or seed trained
// silently diverged replicas.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/safetensors.h"
#include "models/rank_agreement.h"
#include "models/trainer.h"
#include "ranks.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

// What a RanksDisagree said on this rank ("" when nothing was thrown).
std::string disagreement(const std::function<void()>& f) {
  try {
    f();
  } catch (const RanksDisagree& e) {
    return e.what();
  }
  return "";
}

TEST(RankAgreement, RanksThatAgreeStart) {
  if (!g_ranks) GTEST_SKIP() << "needs mpirun -np 2";
  YAML::Node f;
  f["config"]["seed"] = 5;
  f["data"]["train"]["images"] = 300;
  EXPECT_EQ(disagreement([&] { check_ranks_start_alike(*g_ranks, f); }), "");
}

TEST(RankAgreement, TheFirstRankThatDiffersIsNamedWithItsKeyOnEveryRank) {
  if (!g_ranks) GTEST_SKIP() << "needs mpirun -np 2";
  YAML::Node f;
  f["scn"] = "0.1.0";
  f["config"]["model"]["layers"].push_back(YAML::Node());
  f["config"]["model"]["layers"][0]["kernel"] = g_ranks->rank() == 1 ? 5 : 3;
  // Rank 1's fingerprint is also longer: the exchange must not depend on equal sizes.
  if (g_ranks->rank() == 1) f["data"]["extra"] = std::string(5000, 'x');
  const std::string message = disagreement([&] { check_ranks_start_alike(*g_ranks, f); });
  EXPECT_NE(message.find("rank 1 differs from rank 0 at config.model.layers[0].kernel (5 on rank 1, 3 on rank 0)"),
            std::string::npos) << message;
  EXPECT_NE(message.find("Start every rank with the same config"), std::string::npos) << message;
}

const char* kConfig = R"(model:
  input: [1, 28, 28]
  classes: 10
  layers:
    - {type: sparse_code, out: 4, kernel: 3, iters: 1}
    - {type: global_avg_pool}
    - {type: linear, out: 10}
data: {format: fashion_mnist, dir: /usr/share/datasets/fashion-mnist, limit: 200, test_limit: 64}
train: {epochs: 1, batch: 20, device: cpu, threads: 1}
)";

// A folder name every rank agrees on (rank 0's pid) under the temp folder.
fs::path shared_dir(const std::string& name) {
  int64_t pid = ::getpid();
  g_ranks->broadcast_host(std::as_writable_bytes(std::span(&pid, 1)), 0, "test folder name");
  return fs::temp_directory_path() / ("scn_rank_agreement_" + name + "_" + std::to_string(pid));
}

TrainOptions options(const fs::path& dir, Communicator* ranks, const std::string& resume = "") {
  TrainOptions o;
  o.out_dir = dir.string();
  o.quiet = true;
  o.ranks = ranks;
  o.resume = resume;
  return o;
}

bool have_data() { return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); }

// A whole run: ranks started with another seed stop before training, and rank 0 writes no run files.
TEST(RankAgreement, RanksTrainingWithAnotherSeedStopBeforeTheFirstStep) {
  if (!g_ranks) GTEST_SKIP() << "needs mpirun -np 2";
  if (!have_data()) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string seed = "seed=" + std::to_string(g_ranks->rank() == 1 ? 6 : 5);
  RunConfig c = RunConfig::parse(ConfigNode::load_string(kConfig, "agree.yaml", {seed}));
  const fs::path dir = shared_dir("seed");
  TrainOptions o = options(dir, g_ranks);
  const std::string message = disagreement([&] { train(c, o); });
  EXPECT_NE(message.find("rank 1 differs from rank 0 at config.seed (6 on rank 1, 5 on rank 0)"), std::string::npos)
      << message;
  if (g_ranks->is_root()) {
    EXPECT_FALSE(fs::exists(dir / "metrics.jsonl"));
    EXPECT_FALSE(fs::exists(dir / "config.yaml"));
    fs::remove_all(dir);
  }
}

// Ranks resuming copies of one checkpoint (each its own file) start; a copy whose weights differ is named as
// the `state` the first step would start from.
TEST(RankAgreement, RanksResumingDifferentWeightsStop) {
  if (!g_ranks) GTEST_SKIP() << "needs mpirun -np 2";
  if (!have_data()) GTEST_SKIP() << "no Fashion-MNIST";
  const RunConfig c = RunConfig::parse(ConfigNode::load_string(kConfig, "agree.yaml"));
  const RunConfig c2 = RunConfig::parse(ConfigNode::load_string(kConfig, "agree.yaml", {"train.epochs=2"}));
  const fs::path dir = shared_dir("state");
  const fs::path own = dir / ("alone_" + std::to_string(g_ranks->rank()));
  train(c, options(own, nullptr));  // each rank's own run: bit for bit the same weights, another run id
  EXPECT_EQ(disagreement([&] { train(c2, options(dir / "together", g_ranks, (own / "last.safetensors").string())); }),
            "");
  any_rank(*g_ranks, false, "barrier");
  if (g_ranks->rank() == 1) {
    SafetensorsFile f = read_safetensors((own / "last.safetensors").string());
    for (auto& [name, t] : f.tensors)
      if (name == "l2.weight") {
        std::vector<double> v = t.to_vector();
        v[0] += 0.5;
        t = Tensor::from_vector(v, t.shape());
      }
    write_safetensors((own / "last.safetensors").string(), f.tensors, f.metadata);
  }
  const std::string message =
      disagreement([&] { train(c2, options(dir / "apart", g_ranks, (own / "last.safetensors").string())); });
  EXPECT_NE(message.find("rank 1 differs from rank 0 at state"), std::string::npos) << message;
  any_rank(*g_ranks, false, "barrier");
  if (g_ranks->is_root()) fs::remove_all(dir);
}

}  // namespace
}  // namespace scn::test
