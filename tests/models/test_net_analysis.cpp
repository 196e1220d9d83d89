// The analysis of a net's sparse model (models/net_analysis.h) against direct counts on the same images:
// which layers it finds and where it reads their codes, the non-zero fractions (also those training logs),
// and the pursuit diagnostics: more iterations of the same pursuit lower the lasso objective and the last
// step's change.
#include <gtest/gtest.h>

#include "core/philox.h"
#include "models/batch_source.h"
#include "models/net_analysis.h"

namespace scn {
namespace {

const char* kModel = R"(model:
  input: [2, 11, 9]
  classes: 3
  layers:
    - {type: sparse_code, out: 6, kernel: 3, iters: ITERS, step: auto, threshold: {init: 0.05}}
    - {type: conv, out: 5, kernel: 3, stride: 2}
    - {type: relu}
    - {type: sparse_code, out: 4, kernel: 3, pursuit: patch, iters: 5}
    - {type: global_avg_pool}
    - {type: linear, out: 3}
)";

std::unique_ptr<Net> build(int iters) {
  std::string yaml = kModel;
  yaml.replace(yaml.find("ITERS"), 5, std::to_string(iters));
  auto net = Net::build(ConfigNode::load_string(yaml, "analysis.yaml")["model"]);
  net->initialize(Device::cpu(), 11);
  return net;
}

Dataset random_images(int64_t n) {
  std::vector<double> pixels(static_cast<size_t>(n * 2 * 11 * 9)), labels(static_cast<size_t>(n));
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = std::floor(256 * philox_uniform(RngKey{5, RngPurpose::init, 0}, i));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<double>(i % 3);
  Dataset d;
  d.images = Tensor::from_vector(pixels, {n, 2, 11, 9}, DType::u8);
  d.labels = Tensor::from_vector(labels, {n}, DType::i32);
  d.classes = 3;
  d.class_names = {"a", "b", "c"};
  return d;
}

TEST(NetAnalysis, FindsTheDictionariesAndCountsTheirCodes) {
  Context& ctx = Context::get(Device::cpu());
  auto net = build(3);
  const Dataset data = random_images(7);
  BatchSource source(data, Device::cpu(), {0.5, 0.5}, {0.3, 0.3}, AugmentParams{}, 1, false);
  const NetAnalysis a = analyze_net(ctx, *net, source, 7, 7);
  ASSERT_EQ(a.layers.size(), 3u);
  EXPECT_EQ(a.images, 7);
  EXPECT_EQ(a.layers[0].node, "l0");
  EXPECT_EQ(a.layers[1].node, "l1");
  EXPECT_EQ(a.layers[1].code_node, "l2");  // the ReLU after the convolution
  EXPECT_TRUE(a.layers[2].per_patch);
  EXPECT_EQ(a.layers[2].stripe_width, 1);
  EXPECT_EQ(a.layers[0].stripe_width, 5);
  EXPECT_EQ(a.layers[1].stripe_width, 3);  // ⌊2·2/2⌋ + 1 at stride 2
  EXPECT_TRUE(a.layers[0].has_pursuit);
  EXPECT_FALSE(a.layers[1].has_pursuit);
  // The same images once more, counted directly from the nodes' outputs.
  Tensor x, y;
  source.start_epoch(0);
  source.batch(ctx, 0, 7, x, y);
  net->forward(ctx, x, Mode::eval);
  CodeSparsityMeter meter(*net);
  meter.add(ctx, *net);
  const nlohmann::json logged = meter.fractions();
  const int codes[] = {0, 2, 3};
  for (int i = 0; i < 3; ++i) {
    const std::vector<double> v = net->nodes()[static_cast<size_t>(codes[i])].output.to_vector();
    double nonzeros = 0;
    for (double e : v) nonzeros += e != 0;
    const double fraction = nonzeros / static_cast<double>(v.size());
    EXPECT_GT(fraction, 0.02) << i;
    EXPECT_LT(fraction, 0.98) << i;
    EXPECT_DOUBLE_EQ(a.layers[static_cast<size_t>(i)].nonzero_fraction, fraction) << i;
    EXPECT_DOUBLE_EQ(logged[a.layers[static_cast<size_t>(i)].node].get<double>(), fraction) << i;
    int64_t histogram = 0;
    for (int64_t c : a.layers[static_cast<size_t>(i)].magnitude_counts) histogram += c;
    EXPECT_EQ(histogram, static_cast<int64_t>(nonzeros)) << i;
    EXPECT_GT(a.layers[static_cast<size_t>(i)].l0_inf_max, 0) << i;
  }
  const nlohmann::json j = to_json(a);
  EXPECT_EQ(j["kind"], "scn-analysis");
  EXPECT_EQ(j["layers"].size(), 3u);
  EXPECT_TRUE(j["layers"][1]["pursuit"].is_null());
}

TEST(NetAnalysis, MoreIterationsOfTheSamePursuitLowerTheObjective) {
  Context& ctx = Context::get(Device::cpu());
  const Dataset data = random_images(5);
  std::vector<PursuitAnalysis> runs;
  for (int iters : {1, 4, 40}) {
    auto net = build(iters);  // same seed: the same weights
    BatchSource source(data, Device::cpu(), {0.5, 0.5}, {0.3, 0.3}, AugmentParams{}, 1, false);
    runs.push_back(analyze_net(ctx, *net, source, 5, 5).layers[0].pursuit);
  }
  for (size_t k = 1; k < runs.size(); ++k) {
    EXPECT_LT(runs[k].lasso_objective, runs[k - 1].lasso_objective) << k;
    EXPECT_LT(runs[k].relative_change, runs[k - 1].relative_change) << k;
    EXPECT_LT(runs[k].reconstruction_error, runs[k - 1].reconstruction_error) << k;
  }
  EXPECT_LT(runs.back().relative_change, 3e-2);  // K = 1: about 0.4
  EXPECT_GT(runs.back().reconstruction_error, 0.0);
  EXPECT_LT(runs.back().reconstruction_error, 1.0);
}

}  // namespace
}  // namespace scn

namespace scn {
namespace {

// A joint pursuit is several dictionaries in one node: each is analysed on its own ("l0.layer1", …), from the
// code the pursuit made for it; the deepest is the node's output.
TEST(NetAnalysis, FindsEveryDictionaryOfAJointPursuit) {
  Context& ctx = Context::get(Device::cpu());
  const char* yaml = R"(model:
  input: [2, 11, 9]
  classes: 3
  layers:
    - {type: ml_pursuit, algorithm: ml_fista, iters: 2, layers: [{out: 6, kernel: 3}, {out: 5, kernel: 3, stride: 2}]}
    - {type: global_avg_pool}
    - {type: linear, out: 3}
)";
  auto net = Net::build(ConfigNode::load_string(yaml, "joint.yaml")["model"]);
  net->initialize(Device::cpu(), 11);
  const Dataset data = random_images(5);
  BatchSource source(data, Device::cpu(), {0.5, 0.5}, {0.3, 0.3}, AugmentParams{}, 1, false);
  const NetAnalysis a = analyze_net(ctx, *net, source, 5, 5);
  ASSERT_EQ(a.layers.size(), 2u);
  EXPECT_EQ(a.layers[0].node, "l0.layer1");
  EXPECT_EQ(a.layers[1].node, "l0.layer2");
  EXPECT_EQ(a.layers[1].stripe_width, 3);  // ⌊2·2/2⌋ + 1 at stride 2
  const Coherence direct = dictionary_coherence(ctx, net->params().value(net->params().find("l0.layer2.weight")), 2);
  EXPECT_DOUBLE_EQ(a.layers[1].coherence.mutual, direct.mutual);
  // The deepest code is the node's output: count it directly.
  Tensor x, y;
  source.start_epoch(0);
  source.batch(ctx, 0, 5, x, y);
  net->forward(ctx, x, Mode::eval);
  const std::vector<double> v = net->nodes()[0].output.to_vector();
  double nonzeros = 0;
  for (double e : v) nonzeros += e != 0;
  EXPECT_DOUBLE_EQ(a.layers[1].nonzero_fraction, nonzeros / static_cast<double>(v.size()));
  EXPECT_GT(a.layers[0].nonzero_fraction, 0.02);
  EXPECT_LT(a.layers[0].nonzero_fraction, 0.98);
  EXPECT_EQ(a.layers[0].per_channel.size(), 6u);
  CodeSparsityMeter meter(*net);
  meter.add(ctx, *net);
  EXPECT_DOUBLE_EQ(meter.fractions()["l0.layer1"].get<double>(), a.layers[0].nonzero_fraction);
}

}  // namespace
}  // namespace scn
