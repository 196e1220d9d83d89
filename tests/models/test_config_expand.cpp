// Short configs (configs/README.md, "Short configs"): `[*]` in command-line overrides, `model.defaults` and
// `repeat:` blocks; what they expand to, the errors they give, and that the shipped short configs build the
// same nets as the flat lists they replaced.
#include <gtest/gtest.h>

#include <filesystem>

#include "models/net.h"
#include "models/run_config.h"

namespace scn::test {
namespace {

// Builds the net of `text` with `overrides`.
std::unique_ptr<Net> net_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  RunConfig rc = RunConfig::parse(ConfigNode::load_string(text, "short.yaml", overrides));
  return Net::build(rc.model);
}

// The resolved model section as YAML text (what the run folder's config.yaml holds under `model:`).
std::string resolved_model(const std::string& text, const std::vector<std::string>& overrides = {}) {
  YAML::Emitter out;
  out << net_of(text, overrides)->to_yaml();
  return out.c_str();
}

// The error message of parsing and building `text` ("" when it is fine).
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    net_of(text, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// One key of one node of the resolved net, as text ("" when the node does not have it).
std::string key_of(const Net& net, size_t node, const std::string& key) {
  const YAML::Node layer = net.to_yaml()["layers"][node];
  if (!layer[key]) return "";
  YAML::Emitter e;
  e << YAML::Flow << layer[key];
  return e.c_str();
}

const char* kPlain = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 6, iters: 2, algorithm: fista}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 6, iters: 2}
    - {type: sparse_code, out: 6, iters: 1, algorithm: fista}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";

// ---- [*] in overrides ----------------------------------------------------------------------------------

TEST(ConfigWildcard, SetsTheKeyInEveryElementThatHasIt) {
  auto net = net_of(kPlain, {"model.layers[*].algorithm=ista"});
  EXPECT_EQ(key_of(*net, 1, "algorithm"), "ista");
  EXPECT_EQ(key_of(*net, 3, "algorithm"), "fista");  // sets no algorithm of its own: left alone
  EXPECT_EQ(key_of(*net, 4, "algorithm"), "ista");
  EXPECT_EQ(key_of(*net, 0, "algorithm"), "");  // batch norms are not given the key
  EXPECT_EQ(key_of(*net, 6, "algorithm"), "");
  auto iters = net_of(kPlain, {"model.layers[*].iters=4"});
  for (size_t i : {1, 3, 4}) EXPECT_EQ(key_of(*iters, i, "iters"), "4") << i;
}

TEST(ConfigWildcard, EachElementGetsItsOwnCopyOfTheValue) {
  // A later override into one element's value must not change the others'.
  std::string text = kPlain;
  text.replace(text.find("iters: 2}"), 9, "iters: 2, threshold: {init: 0.1}}");
  text.replace(text.find("iters: 1, algorithm: fista}"), 27, "iters: 1, threshold: {init: 0.1}}");
  auto net =
      net_of(text, {"model.layers[*].threshold={init: 0.5, shared: true}", "model.layers[3].threshold.init=0.75"});
  EXPECT_EQ(key_of(*net, 3, "threshold"), "{form: absolute, init: 0.75, learn: true, shared: true}");
  EXPECT_EQ(key_of(*net, 4, "threshold"), "{form: absolute, init: 0.5, learn: true, shared: true}");
  EXPECT_EQ(key_of(*net, 1, "threshold"), "{form: absolute, init: 0, learn: true, shared: false}");  // sets none: left alone
}

TEST(ConfigWildcard, AMatchOfNothingIsAnError) {
  EXPECT_EQ(error_of(kPlain, {"model.layers[*].mode=two_sided"}),
            "command line: override 'model.layers[*].mode=two_sided': [*] matched no list element that has key 'mode'");
  EXPECT_EQ(error_of(kPlain, {"model.layers[*].step.init=2"}),
            "command line: override 'model.layers[*].step.init=2': [*] matched no list element that has 'step.init'");
  EXPECT_EQ(error_of(kPlain, {"model.classes[*].x=2"}),
            "command line: override 'model.classes[*].x=2': [*] needs a list at that path");
}

TEST(ConfigWildcard, ErrorsNameTheOverrideAndTheElement) {
  EXPECT_EQ(error_of(kPlain, {"model.layers[*].iters=two"}),
            "command line (model.layers[*].iters=two): model.layers[1].iters: expected a non-negative integer up to "
            "10000, got \"two\"");
}

TEST(ConfigWildcard, WildcardsNest) {
  const std::string text = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - {type: batch_norm}
    - repeat: 2
      layers: [{type: sparse_code, out: 6, iters: 1}, {type: batch_norm}]
    - repeat: 1
      layers: [{type: sparse_code, out: 6, iters: 1}, {type: relu}]
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";
  auto net = net_of(text, {"model.layers[*].layers[*].iters=3"});
  for (size_t i : {1, 3, 5}) EXPECT_EQ(key_of(*net, i, "iters"), "3") << i;
  EXPECT_EQ(error_of(text, {"model.layers[*].layers[*].algorithm=ista"}),
            "command line: override 'model.layers[*].layers[*].algorithm=ista': [*] matched no list element that has "
            "'layers[*].algorithm'");
}

// ---- model.defaults --------------------------------------------------------------------------------------

const char* kDefaults = R"(model:
  input: [3, 8, 8]
  classes: 4
  defaults:
    sparse_code: {kernel: 1, iters: 3, algorithm: ista, step: {init: 0.5, learn: false}}
    batch_norm: {affine: false}
  layers:
    - {type: batch_norm}
    - {type: sparse_code, out: 6}
    - {type: batch_norm, affine: true}
    - {type: sparse_code, out: 6, iters: 1, step: {init: 2.0}}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";

TEST(ConfigDefaults, FillEveryLayerOfTheirTypeAndTheLayersOwnKeysWin) {
  auto net = net_of(kDefaults);
  EXPECT_EQ(key_of(*net, 0, "affine"), "false");
  EXPECT_EQ(key_of(*net, 2, "affine"), "true");
  EXPECT_EQ(key_of(*net, 1, "kernel"), "1");
  EXPECT_EQ(key_of(*net, 1, "iters"), "3");
  EXPECT_EQ(key_of(*net, 1, "algorithm"), "ista");
  EXPECT_EQ(key_of(*net, 3, "kernel"), "1");
  EXPECT_EQ(key_of(*net, 3, "iters"), "1");
  EXPECT_EQ(key_of(*net, 1, "step"), "{init: 0.5, learn: false}");
  // A map the layer sets replaces the default's map whole: `learn` is the layer type's default, not the
  // defaults entry's.
  EXPECT_EQ(key_of(*net, 3, "step"), "{init: 2, learn: true}");
}

TEST(ConfigDefaults, OneOverrideSweepsEveryLayerThatDoesNotSetTheKey) {
  auto net = net_of(kDefaults, {"model.defaults.sparse_code.iters=5"});
  EXPECT_EQ(key_of(*net, 1, "iters"), "5");
  EXPECT_EQ(key_of(*net, 3, "iters"), "1");
  // A config without defaults gets them from the command line.
  auto plain = net_of(kPlain, {"model.defaults.sparse_code.mode=two_sided"});
  for (size_t i : {1, 3, 4}) EXPECT_EQ(key_of(*plain, i, "mode"), "two_sided") << i;
  EXPECT_EQ(error_of(kDefaults, {"model.defaults.sparse_code.iters=two"}),
            "command line (model.defaults.sparse_code.iters=two): model.defaults.sparse_code.iters: expected a "
            "non-negative integer up to 10000, got \"two\"");
}

TEST(ConfigDefaults, ATypeNoLayerHasIsAnError) {
  std::string text = kDefaults;
  text.replace(text.find("    batch_norm: {affine"), 14, "    batch_nrom");
  EXPECT_EQ(error_of(text), "short.yaml:6: model.defaults.batch_nrom: no layer has type 'batch_nrom'");
  EXPECT_EQ(error_of(kPlain, {"model.defaults.conv.bias=false"}),
            "command line (model.defaults.conv.bias=false): model.defaults.conv: no layer has type 'conv'");
}

TEST(ConfigDefaults, ABadKeyOrValueNamesTheDefaultsLine) {
  std::string text = kDefaults;
  text.replace(text.find("kernel: 1"), 9, "kernal: 1");
  const std::string e = error_of(text);
  EXPECT_EQ(e.rfind("short.yaml:5: model.defaults.sparse_code.kernal: unknown key 'kernal' (allowed here: ", 0), 0u)
      << e;
  text = kDefaults;
  text.replace(text.find("iters: 3"), 8, "iters: -3");
  EXPECT_EQ(error_of(text),
            "short.yaml:5: model.defaults.sparse_code.iters: expected a non-negative integer up to 10000, got \"-3\"");
  text = kDefaults;
  text.replace(text.find("{affine: false}"), 15, "{affine: maybe}");
  EXPECT_EQ(error_of(text), "short.yaml:6: model.defaults.batch_norm.affine: expected true or false, got \"maybe\"");
}

TEST(ConfigDefaults, MalformedDefaultsAreErrors) {
  EXPECT_EQ(error_of(kPlain, {"model.defaults=3"}),
            "command line (model.defaults=3): model.defaults: expected a map from layer type to a map of keys, e.g. "
            "{sparse_code: {iters: 2}}");
  EXPECT_EQ(error_of(kPlain, {"model.defaults.sparse_code=4"}),
            "command line (model.defaults.sparse_code=4): model.defaults.sparse_code: expected a map of the keys every "
            "'sparse_code' layer gets unless it sets them");
  EXPECT_EQ(error_of(kPlain, {"model.defaults.sparse_code.name=x"}),
            "command line (model.defaults.sparse_code.name=x): model.defaults.sparse_code.name: 'name' has no default: "
            "every layer sets its own");
  std::string text = kDefaults;
  text.replace(text.find("iters: 3"), 8, "iters: 3, iters: 4");
  EXPECT_EQ(error_of(text), "short.yaml:5: model.defaults.sparse_code.iters: key 'iters' appears twice");
}

// ---- repeat ----------------------------------------------------------------------------------------------

const char* kRepeat = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - {type: batch_norm}
    - repeat: 3
      layers:
        - {type: sparse_code, out: 6, iters: 1}
        - {type: batch_norm}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";

std::string types_of(const Net& net) {
  std::string s;
  for (const auto& n : net.nodes()) s += (s.empty() ? "" : " ") + n.type;
  return s;
}

std::string names_of(const Net& net) {
  std::string s;
  for (const auto& n : net.nodes()) s += (s.empty() ? "" : " ") + n.name;
  return s;
}

TEST(ConfigRepeat, ExpandsIntoNCopiesInPlace) {
  auto net = net_of(kRepeat);
  EXPECT_EQ(types_of(*net),
            "batch_norm sparse_code batch_norm sparse_code batch_norm sparse_code batch_norm global_avg_pool linear");
  EXPECT_EQ(names_of(*net), "l0 l1 l2 l3 l4 l5 l6 l7 l8");  // default names count the expanded list
  EXPECT_EQ(net_of(kRepeat, {"model.layers[1].repeat=1"})->nodes().size(), 5u);  // indices name the written list
}

TEST(ConfigRepeat, TheCountIsAPositiveBoundedInteger) {
  const std::string text = kRepeat;
  const auto at = text.find("repeat: 3");
  for (const std::string bad : {"0", "-1", "two", "2.5", "10001"}) {
    std::string t = text;
    t.replace(at, 9, "repeat: " + bad);
    EXPECT_EQ(error_of(t),
              "short.yaml:6: model.layers[1].repeat: expected a positive integer up to 10000, got \"" + bad + "\"");
  }
  std::string t = text;
  t.replace(at, 9, "repeat:");
  EXPECT_EQ(error_of(t),
            "short.yaml:6: model.layers[1]: repeat: no count given (expected a positive integer up to 10000)");
}

TEST(ConfigRepeat, TheBlockIsStrict) {
  std::string text = kRepeat;
  text.replace(text.find("repeat: 3"), 9, "repeat: 3\n      type: relu");
  const std::string e = error_of(text);
  EXPECT_EQ(e.rfind("short.yaml:7: model.layers[1].type: unknown key 'type' (allowed here: repeat, layers)", 0), 0u)
      << e;
  EXPECT_EQ(error_of(kRepeat, {"model.layers[1].layers=[]"}),
            "command line (model.layers[1].layers=[]): model.layers[1].layers: expected a non-empty list of layers");
  EXPECT_EQ(error_of(kPlain, {"model.layers[1]={repeat: 2}"}),
            "command line (model.layers[1]={repeat: 2}): model.layers[1]: missing key 'layers'");
}

TEST(ConfigRepeat, ErrorsInsideABlockNameTheWrittenLineAndPath) {
  std::string text = kRepeat;
  text.replace(text.find("iters: 1"), 8, "iters: one");
  EXPECT_EQ(error_of(text),
            "short.yaml:8: model.layers[1].layers[0].iters: expected a non-negative integer up to 10000, got \"one\"");
  EXPECT_EQ(error_of(kRepeat, {"model.layers[1].layers[0].out=0"}),
            "command line (model.layers[1].layers[0].out=0): model.layers[1].layers[0].out: expected a positive "
            "integer up to 65536, got \"0\"");
}

TEST(ConfigRepeat, BlocksNest) {
  const std::string text = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - repeat: 2
      layers:
        - {type: batch_norm}
        - repeat: 3
          layers: [{type: relu}]
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";
  EXPECT_EQ(types_of(*net_of(text)), "batch_norm relu relu relu batch_norm relu relu relu global_avg_pool linear");
}

TEST(ConfigRepeat, TheExpandedNetIsBounded) {
  const std::string text = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - repeat: 10000
      layers:
        - repeat: 10000
          layers: [{type: relu}]
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";
  EXPECT_EQ(error_of(text),
            "short.yaml:5: model.layers[0]: repeat: 10000 copies of 10000 layers would make the net "
            "longer than 100000 layers");
}

const char* kResidual = R"(model:
  input: [4, 8, 8]
  classes: 4
  layers:
    - {type: sparse_code, out: 4, name: stem}
    - repeat: 2
      layers:
        - {type: sparse_code, out: 4, name: a}
        - {type: sparse_code, out: 4, name: b}
        - {type: add, inputs: [a, b, stem], name: sum}
    - {type: add, inputs: [sum_1, sum_2]}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";

TEST(ConfigRepeat, NamesAndReferencesInsideABlockGetTheCopyIndex) {
  auto net = net_of(kResidual);
  EXPECT_EQ(names_of(*net), "stem a_1 b_1 sum_1 a_2 b_2 sum_2 l7 l8 l9");
  // References to names of the block follow the copy; `stem` is outside the block and stays.
  EXPECT_EQ(key_of(*net, 3, "inputs"), "[a_1, b_1, stem]");
  EXPECT_EQ(key_of(*net, 6, "inputs"), "[a_2, b_2, stem]");
  EXPECT_EQ(key_of(*net, 7, "inputs"), "[sum_1, sum_2]");
  // An unknown reference inside a block is reported where it was written.
  std::string text = kResidual;
  text.replace(text.find("[a, b, stem]"), 12, "[a, c, stem]");
  EXPECT_EQ(error_of(text), "short.yaml:10: model.layers[1].layers[2].inputs[1]: no earlier node named 'c'");
}

TEST(ConfigRepeat, NestedBlocksAppendTheInnerIndexFirst) {
  const std::string text = R"(model:
  input: [4, 8, 8]
  classes: 4
  layers:
    - repeat: 2
      layers:
        - {type: relu, name: x}
        - repeat: 2
          layers:
            - {type: sparse_code, out: 4, name: y}
            - {type: add, inputs: [x, y], name: s}
        - {type: add, inputs: [y_1, s_2], name: z}
    - {type: add, inputs: [z_1, z_2]}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
)";
  auto net = net_of(text);
  EXPECT_EQ(names_of(*net), "x_1 y_1_1 s_1_1 y_2_1 s_2_1 z_1 x_2 y_1_2 s_1_2 y_2_2 s_2_2 z_2 l12 l13 l14");
  EXPECT_EQ(key_of(*net, 4, "inputs"), "[x_1, y_2_1]");
  EXPECT_EQ(key_of(*net, 5, "inputs"), "[y_1_1, s_2_1]");
  EXPECT_EQ(key_of(*net, 10, "inputs"), "[x_2, y_2_2]");
  EXPECT_EQ(key_of(*net, 12, "inputs"), "[z_1, z_2]");
}

// ---- the resolved config ---------------------------------------------------------------------------------

TEST(ConfigExpand, TheResolvedConfigIsTheFlatList) {
  std::string text = kDefaults;
  text.insert(text.find("    - {type: global_avg_pool}"), "    - repeat: 2\n      layers: [{type: batch_norm}]\n");
  RunConfig rc = RunConfig::parse(ConfigNode::load_string(text, "short.yaml"));
  auto net = Net::build(rc.model);
  YAML::Emitter resolved;
  resolved << rc.to_yaml(net->to_yaml());
  const std::string flat = resolved.c_str();
  EXPECT_EQ(flat.find("defaults"), std::string::npos) << flat;
  EXPECT_EQ(flat.find("repeat"), std::string::npos) << flat;
  // Read back (as `scn eval` reads a checkpoint's config), it is the same net, and it resolves to itself.
  RunConfig again = RunConfig::parse(ConfigNode::load_string(flat, "resolved"));
  auto net2 = Net::build(again.model);
  EXPECT_EQ(net2->nodes().size(), 8u);
  EXPECT_EQ(net2->summary(), net->summary());
  YAML::Emitter second;
  second << again.to_yaml(net2->to_yaml());
  EXPECT_EQ(std::string(second.c_str()), flat);
}

// ---- the shipped short configs ---------------------------------------------------------------------------

std::string read_config(const std::string& rel) {
  RunConfig rc = RunConfig::load(std::string(SCN_SOURCE_DIR) + "/configs/" + rel);
  YAML::Emitter out;
  out << Net::build(rc.model)->to_yaml();
  return out.c_str();
}

// configs/cifar10/cscn4.yaml as it was written before short configs, layer for layer.
const char* kFlatScn4 = R"(model:
  input: [3, 32, 32]
  classes: 10
  layers:
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 16, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 64, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 16, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 64, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 16, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 64, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 32, kernel: 3, stride: 2, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 128, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 32, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 128, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 64, kernel: 3, stride: 2, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 256, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 64, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 256, kernel: 3, iters: 2, algorithm: fista, step: auto}
    - {type: batch_norm, affine: false}
    - {type: global_avg_pool}
    - {type: linear, out: 10}
)";

TEST(ShortConfigs, Cscn4IsTheFlatListItReplaced) {
  RunConfig rc = RunConfig::load(std::string(SCN_SOURCE_DIR) + "/configs/cifar10/cscn4.yaml");
  auto short_net = Net::build(rc.model);
  auto flat_net = net_of(kFlatScn4);
  EXPECT_EQ(short_net->summary(), flat_net->summary());
  EXPECT_EQ(read_config("cifar10/cscn4.yaml"), resolved_model(kFlatScn4));
}

// The SCN layout written out flat: a non-affine batch norm before every 3×3 sparse-coding layer of `atoms`
// (a negative count: stride 2), then batch norm, global average pooling and the classifier.
std::string flat_scn(const std::string& input, int classes, const std::vector<int>& atoms, const std::string& extra) {
  std::string s = "model:\n  input: " + input + "\n  classes: " + std::to_string(classes) + "\n  layers:\n";
  for (int a : atoms)
    s += "    - {type: batch_norm, affine: false}\n    - {type: sparse_code, out: " + std::to_string(a < 0 ? -a : a) +
         ", kernel: 3" + (a < 0 ? ", stride: 2" : "") + extra + "}\n";
  return s + "    - {type: batch_norm, affine: false}\n    - {type: global_avg_pool}\n    - {type: linear, out: " +
         std::to_string(classes) + "}\n";
}

TEST(ShortConfigs, EveryScnLayoutIsTheFlatListItReplaced) {
  const std::vector<int> scn1{16, 16, 16, 16, 16, 16, -32, 32, 32, 32, -64, 64, 64, 64};
  const std::vector<int> scn2{16, 32, 16, 32, 16, 32, -32, 64, 32, 64, -64, 128, 64, 128};
  const std::vector<int> scn4{16, 64, 16, 64, 16, 64, -32, 128, 32, 128, -64, 256, 64, 256};
  const std::string k2 = ", iters: 2, algorithm: fista, step: auto";
  const struct {
    const char* file;
    std::string flat;
  } cases[] = {
      {"cifar10/cscn1.yaml", flat_scn("[3, 32, 32]", 10, scn1, k2)},
      {"cifar10/cscn2.yaml", flat_scn("[3, 32, 32]", 10, scn2, k2)},
      {"cifar10/cscn4.yaml", flat_scn("[3, 32, 32]", 10, scn4, k2)},
      {"cifar100/cscn1.yaml", flat_scn("[3, 32, 32]", 100, scn1, k2)},
      {"cifar100/cscn2.yaml", flat_scn("[3, 32, 32]", 100, scn2, k2)},
      {"cifar100/cscn4.yaml", flat_scn("[3, 32, 32]", 100, scn4, k2)},
      {"cifar10/cnn1.yaml", flat_scn("[3, 32, 32]", 10, scn1, ", iters: 0")},
      {"fashion_mnist/scn1.yaml", flat_scn("[1, 28, 28]", 10, scn1, k2)},
  };
  // The generator is the flat file it stands for.
  EXPECT_EQ(resolved_model(cases[2].flat), resolved_model(kFlatScn4));
  for (const auto& c : cases) EXPECT_EQ(read_config(c.file), resolved_model(c.flat)) << c.file;
}

TEST(ShortConfigs, QuickstartIsTheFlatListItReplaced) {
  const char* flat = R"(model:
  input: [1, 28, 28]
  classes: 10
  layers:
    - {type: sparse_code, out: 32, kernel: 3, iters: 1, step: auto}
    - {type: pool, mode: max, kernel: 2}
    - {type: batch_norm}
    - {type: sparse_code, out: 64, kernel: 3, iters: 1, step: auto}
    - {type: pool, mode: max, kernel: 2}
    - {type: batch_norm}
    - {type: sparse_code, out: 128, kernel: 3, iters: 1, step: auto}
    - {type: pool, mode: max, kernel: 2}
    - {type: linear, out: 10}
)";
  EXPECT_EQ(read_config("quickstart.yaml"), resolved_model(flat));
}

}  // namespace
}  // namespace scn::test
