// Every shipped config parses, builds, has its documented parameter count, round-trips, and starts stable.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "kernels/op_case.h"
#include "layers/sparse_code.h"
#include "models/net.h"
#include "models/run_config.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

// The documented counts of dictionaries, weights and biases (configs/README.md).
const std::map<std::string, int64_t>& documented_counts() {
  static const std::map<std::string, int64_t> counts = {
      {"cifar10/cscn1.yaml", 173882},  {"cifar10/cscn2.yaml", 347322},  {"cifar10/cscn4.yaml", 694202},
      {"cifar10/cnn1.yaml", 173882},   {"cifar100/cscn1.yaml", 179732}, {"cifar100/cscn2.yaml", 358932},
      {"cifar100/cscn4.yaml", 717332}, {"fashion_mnist/scn1.yaml", 173594},
      {"quickstart.yaml", 103978},
      // The ML-ISTA paper's models (weights only; with thresholds and steps, table below).
      {"cifar10/cnn.yaml", 4005642},   {"cifar10/ml_ista.yaml", 4005642}, {"cifar10/ml_fista.yaml", 4005642},
      {"cifar10/ml_lista.yaml", 4171018}, {"cifar10/lbp.yaml", 4005642},  {"cifar10/all_free.yaml", 4997898},
      {"mnist/cnn.yaml", 604298},      {"mnist/ml_ista.yaml", 604298},   {"mnist/ml_fista.yaml", 604298},
      {"mnist/ml_lista.yaml", 1203466}, {"mnist/lbp.yaml", 604298},     {"mnist/all_free.yaml", 4199306},
      {"cifar10/scn1.yaml", 173882},   {"cifar10/scn2.yaml", 347322},   {"cifar10/scn4.yaml", 694202},
      {"cifar100/scn1.yaml", 179732},  {"cifar100/scn2.yaml", 358932},  {"cifar100/scn4.yaml", 717332},
  };
  return counts;
}

std::vector<std::string> config_files() {
  std::vector<std::string> files;
  const fs::path root = fs::path(SCN_SOURCE_DIR) / "configs";
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.path().extension() == ".yaml") files.push_back(fs::relative(e.path(), root).string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string path_of(const std::string& rel) { return std::string(SCN_SOURCE_DIR) + "/configs/" + rel; }

TEST(Configs, EveryFileIsDocumentedWithItsParameterCount) {
  for (const std::string& f : config_files())
    EXPECT_TRUE(documented_counts().count(f)) << "configs/" << f << " has no documented parameter count";
}

TEST(Configs, EveryFileParsesBuildsAndHasItsDocumentedCount) {
  for (const std::string& f : config_files()) {
    SCOPED_TRACE(f);
    RunConfig rc = RunConfig::load(path_of(f));
    auto net = Net::build(rc.model);
    auto it = documented_counts().find(f);
    ASSERT_NE(it, documented_counts().end());
    EXPECT_EQ(net->param_counts().weights, it->second);
  }
}

// The trainable parameters of the ML-ISTA paper's models as counted in its code (jsulam/ml-ista): every
// nn.Parameter, the thresholds bᵢ and steps cᵢ included.
TEST(Configs, TheMlIstaModelsHaveTheAnchorsParameterCounts) {
  const std::map<std::string, int64_t> trainable = {
      {"cifar10/cnn.yaml", 4005869},  {"cifar10/ml_ista.yaml", 4005869}, {"cifar10/ml_fista.yaml", 4005869},
      {"cifar10/ml_lista.yaml", 4171242}, {"cifar10/lbp.yaml", 4005869}, {"cifar10/all_free.yaml", 4999466},
      {"mnist/cnn.yaml", 604909},      {"mnist/ml_ista.yaml", 604909},   {"mnist/ml_fista.yaml", 604909},
      {"mnist/ml_lista.yaml", 1204074}, {"mnist/lbp.yaml", 604909},     {"mnist/all_free.yaml", 4203562},
  };
  for (const auto& [file, count] : trainable) {
    SCOPED_TRACE(file);
    auto net = Net::build(RunConfig::load(path_of(file)).model);
    EXPECT_EQ(net->param_counts().trainable, count);
  }
}

TEST(Configs, ResolvedConfigsRoundTrip) {
  for (const std::string& f : config_files()) {
    SCOPED_TRACE(f);
    RunConfig rc = RunConfig::load(path_of(f));
    auto net = Net::build(rc.model);
    YAML::Emitter first;
    first << rc.to_yaml(net->to_yaml());
    RunConfig again = RunConfig::parse(ConfigNode::load_string(first.c_str(), "resolved"));
    auto net2 = Net::build(again.model);
    YAML::Emitter second;
    second << again.to_yaml(net2->to_yaml());
    EXPECT_EQ(std::string(first.c_str()), std::string(second.c_str()));
  }
}

// A config named after SCN is SCN's model (Sun et al. 2017, the published MATLAB code): every sparse-coding layer
// the per-patch non-negative lasso by FISTA with 50 proximal steps from zero (scn's iters counts those after the
// first code γ₀, so 49; tests/layers/test_patch_pursuit.cpp checks the count against SCN's loop), the step
// 1/λ_max(AᵀA), one λ per layer in the lasso form, SCN's initialisation, the implicit backward, 3×3 atoms.
TEST(Configs, TheScnConfigsAreScnsModel) {
  for (const char* f : {"cifar10/scn1.yaml", "cifar10/scn2.yaml", "cifar10/scn4.yaml", "cifar100/scn1.yaml",
                        "cifar100/scn2.yaml", "cifar100/scn4.yaml"}) {
    SCOPED_TRACE(f);
    auto net = Net::build(RunConfig::load(path_of(f)).model);
    int layers = 0;
    for (const NetNode& n : net->nodes()) {
      auto* layer = dynamic_cast<const SparseCodeLayer*>(n.layer.get());
      if (!layer) continue;
      ++layers;
      const SparseCodeConfig& c = layer->config();
      EXPECT_EQ(c.pursuit, GramForm::patch) << n.name;
      EXPECT_EQ(c.iters, 49) << n.name << ": SCN's maxIter = 50 proximal steps, γ₀ the first";
      EXPECT_EQ(c.algorithm, PursuitAlgorithm::fista) << n.name;
      EXPECT_EQ(c.mode, ThresholdMode::nonneg) << n.name;
      EXPECT_TRUE(c.step_auto) << n.name;
      EXPECT_EQ(c.threshold_form, ThresholdForm::lasso) << n.name;
      EXPECT_TRUE(c.threshold_shared) << n.name;
      EXPECT_EQ(c.backward, PursuitBackward::implicit) << n.name;
      EXPECT_EQ(c.kernel, 3) << n.name;
      EXPECT_TRUE(c.tied) << n.name;
    }
    EXPECT_EQ(layers, 14);
  }
}

// The unrolled pursuit is stable only while η·‖D‖² < 2: at each config's initialisation, every sparse-coding
// layer run for K = 20 steps on unit-variance input (what the batch norm before it delivers) stays bounded.
TEST(Configs, SparseCodingLayersStayBoundedForTwentyStepsAtInitialisation) {
  Context& ctx = Context::get(Device::cpu());
  for (const std::string& f : config_files()) {
    SCOPED_TRACE(f);
    RunConfig rc = RunConfig::load(path_of(f));
    auto net = Net::build(rc.model);
    const auto& nodes = net->nodes();
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto* layer = dynamic_cast<const SparseCodeLayer*>(nodes[i].layer.get());
      if (!layer || layer->config().iters == 0) continue;  // no iterations, nothing to diverge (cnn1)
      SparseCodeConfig c = layer->config();
      c.iters = 20;
      SparseCodeLayer deep(c);
      const Shape in = i == 0 ? net->input_shape() : nodes[i - 1].shape;
      const Shape out = deep.output_shape({in});
      ParamArena arena;
      deep.register_params(arena, "probe");
      arena.allocate(Device::cpu());
      deep.init_params(ctx, rc.seed * 1000003ull + i);
      Tensor x = random_uniform({4, in[0], in[1], in[2]}, DType::f32, 7, static_cast<int>(i), -1.7, 1.7);
      Tensor y = Tensor::empty({4, out[0], out[1], out[2]});
      auto state = deep.make_state();
      deep.forward(ctx, {x}, y, Mode::eval, *state);
      double max_abs = 0;
      for (double v : y.to_vector()) {
        ASSERT_TRUE(std::isfinite(v)) << "node " << nodes[i].name;
        max_abs = std::max(max_abs, std::abs(v));
      }
      // The patch pursuit's atoms are not normalised (norm ~1/√(k²·C)): its least-squares codes are legitimately
      // ~k²·C times the input, so only η·λ_max < 2 below says whether it is stable.
      if (c.pursuit != GramForm::patch) {
        EXPECT_LT(max_abs, 100.0) << "node " << nodes[i].name << " grows over 20 steps";
      }
      SparseCodeState probe;
      const double eta = arena.value(arena.find("probe.step")).item();
      EXPECT_LT(eta * deep.estimate_lipschitz(ctx, probe, 100), 2.0) << "node " << nodes[i].name;
    }
  }
}

}  // namespace
}  // namespace scn::test
