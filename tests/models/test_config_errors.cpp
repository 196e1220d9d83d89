// Bad configs give the documented messages: file, line, key path and what is wrong (configs/README.md).
#include <gtest/gtest.h>

#include "models/net.h"
#include "models/run_config.h"

namespace scn::test {
namespace {

const char* kGood = R"(model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 6, iters: 2}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
train: {epochs: 2, batch: 8}
)";

// Parses and builds `text`; returns the error message ("" when it is fine).
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    RunConfig rc = RunConfig::parse(ConfigNode::load_string(text, "bad.yaml", overrides));
    Net::build(rc.model);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ConfigErrors, TheGoodConfigIsGood) { EXPECT_EQ(error_of(kGood), ""); }

TEST(ConfigErrors, WrongTypeNamesFileLineAndKeyPath) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2", "iters: two")),
            "bad.yaml:6: model.layers[1].iters: expected a non-negative integer up to 10000, got \"two\"");
}

TEST(ConfigErrors, NegativeIters) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2", "iters: -1")),
            "bad.yaml:6: model.layers[1].iters: expected a non-negative integer up to 10000, got \"-1\"");
}

TEST(ConfigErrors, UnknownKeyInALayer) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2", "iter: 2")).rfind("bad.yaml:6: model.layers[1].iter: unknown key 'iter'", 0), 0u)
      << error_of(replace(kGood, "iters: 2", "iter: 2"));
}

TEST(ConfigErrors, UnknownSection) {
  EXPECT_EQ(error_of(std::string(kGood) + "trian: {epochs: 3}\n").rfind("bad.yaml:10: trian: unknown key 'trian'", 0), 0u);
}

TEST(ConfigErrors, UnknownLayerType) {
  const std::string e = error_of(replace(kGood, "type: global_avg_pool", "type: global_pool"));
  EXPECT_EQ(e.rfind("bad.yaml:7: model.layers[2].type: unknown layer type 'global_pool' (known: ", 0), 0u) << e;
}

TEST(ConfigErrors, MissingModelSection) {
  EXPECT_EQ(error_of("train: {epochs: 2}\n"), "bad.yaml:1: (top): missing key 'model'");
}

TEST(ConfigErrors, MissingRequiredLayerKey) {
  EXPECT_EQ(error_of(replace(kGood, "{type: linear, out: 4}", "{type: linear}")),
            "bad.yaml:8: model.layers[3]: missing key 'out'");
}

TEST(ConfigErrors, ShapeMismatchNamesTheNode) {
  const std::string e = error_of(replace(kGood, "{type: sparse_code, out: 6, iters: 2}",
                                         "{type: sparse_code, out: 6, kernel: 11, pad: 0, iters: 2}"));
  EXPECT_EQ(e.rfind("bad.yaml:6: model.layers[1]: layer 'l1' (sparse_code) does not fit its input [3, 8, 8]", 0), 0u) << e;
}

TEST(ConfigErrors, LastLayerMustMatchTheClasses) {
  EXPECT_EQ(error_of(replace(kGood, "{type: linear, out: 4}", "{type: linear, out: 5}")),
            "bad.yaml:8: model.layers[3]: the last layer must output one value per class ([4]), but outputs [5]");
}

TEST(ConfigErrors, BadEnumValue) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2}", "iters: 2, algorithm: lista}")),
            "bad.yaml:6: model.layers[1].algorithm: expected one of ista, fista, got \"lista\"");
}

TEST(ConfigErrors, WrongTypeOfSection) {
  EXPECT_EQ(error_of(std::string(kGood) + "optimizer: sgd\n"),
            "bad.yaml:10: optimizer: expected a map of keys, got \"sgd\"");
}

TEST(ConfigErrors, BadStep) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2}", "iters: 2, step: fast}")),
            "bad.yaml:6: model.layers[1].step: expected auto or {init: <number>, learn: <bool>}, got \"fast\"");
}

TEST(ConfigErrors, UnknownInputNode) {
  EXPECT_EQ(error_of(replace(kGood, "{type: global_avg_pool}", "{type: global_avg_pool, inputs: [nope]}")),
            "bad.yaml:7: model.layers[2].inputs[0]: no earlier node named 'nope'");
}

TEST(ConfigErrors, InvalidYaml) {
  const std::string e = error_of("model: {input: [3, 8, 8\n");
  EXPECT_EQ(e.rfind("bad.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

// Issue 24, 13: each of these was taken silently or with a message that did not say why.
TEST(ConfigErrors, AnEmptyPartOfAnOverridePathIsRefused) {
  for (const char* o : {"model..classes=3", ".seed=3", "train.=3"})
    EXPECT_NE(error_of(kGood, {o}).find("an empty key in the path"), std::string::npos) << o << ": " << error_of(kGood, {o});
}

TEST(ConfigErrors, ASecondYamlDocumentIsRefused) {
  EXPECT_EQ(error_of(std::string(kGood) + "---\nseed: 3\n"),
            "bad.yaml:11: a second YAML document (after '---'): a config is one document");
  EXPECT_EQ(error_of(std::string(kGood) + "---\n"), "");  // an empty one is nothing
}

TEST(ConfigErrors, ATabInTheIndentationIsNamed) {
  const std::string e = error_of("model:\n\tinput: [3, 8, 8]\n");
  EXPECT_NE(e.find("line 2 is indented with a tab: YAML indents with spaces only"), std::string::npos) << e;
}

TEST(ConfigErrors, CommandLineOverridesAreCheckedAndNamed) {
  EXPECT_EQ(error_of(kGood, {"train.epochs=zero"}),
            "command line (train.epochs=zero): train.epochs: expected a positive integer, got \"zero\"");
  EXPECT_EQ(error_of(kGood, {"model.layers[1].iters=5"}), "");
  EXPECT_EQ(error_of(kGood, {"train.epoch=3"}).rfind("command line (train.epoch=3): train.epoch: unknown key", 0), 0u);
}

TEST(ConfigErrors, RepeatedKey) {
  EXPECT_EQ(error_of(replace(kGood, "iters: 2}", "iters: 2, iters: 3}")),
            "bad.yaml:6: model.layers[1].iters: key 'iters' appears twice");
}

TEST(ConfigErrors, BadOverrideIndex) {
  EXPECT_EQ(error_of(kGood, {"model.layers[one].iters=2"}),
            "command line: override 'model.layers[one].iters=2': bad list index '[one]'");
}

TEST(ConfigErrors, NodeReadByNoOtherNode) {
  EXPECT_EQ(error_of(replace(kGood, "{type: global_avg_pool}", "{type: global_avg_pool, inputs: [l0]}")),
            "bad.yaml:6: model.layers[1]: node 'l1' is read by no later node (only the last node may be unused)");
}

// Integers never narrow: each key has a range, and values past it (or past 64 bits) are refused.
TEST(ConfigErrors, IntegersOutOfRangeAreRefusedNotNarrowed) {
  EXPECT_EQ(error_of(kGood, {"model.layers[1].kernel=4294967299"}),
            "command line (model.layers[1].kernel=4294967299): model.layers[1].kernel: expected a positive integer "
            "up to 64, got \"4294967299\"");
  EXPECT_EQ(error_of(kGood, {"model.layers[1].iters=4294967296"}),
            "command line (model.layers[1].iters=4294967296): model.layers[1].iters: expected a non-negative integer "
            "up to 10000, got \"4294967296\"");
  EXPECT_EQ(error_of(kGood, {"train.epochs=99999999999999999999999"}),
            "command line (train.epochs=99999999999999999999999): train.epochs: expected a positive integer up to "
            "2147483647, got \"99999999999999999999999\"");
  EXPECT_EQ(error_of(kGood, {"model.layers[1].out=100000000000"}),
            "command line (model.layers[1].out=100000000000): model.layers[1].out: expected a positive integer up to "
            "65536, got \"100000000000\"");
  EXPECT_EQ(error_of(kGood, {"train.threads=100000"}),
            "command line (train.threads=100000): train.threads: expected a non-negative integer up to 4096, got "
            "\"100000\"");
  EXPECT_EQ(error_of(kGood, {"seed=9223372036854775807"}), "");  // seeds use all 63 bits
}

TEST(ConfigErrors, HugeOverrideIndexIsAMessage) {
  EXPECT_EQ(error_of(kGood, {"model.layers[99999999999999999999999].iters=2"}),
            "command line: override 'model.layers[99999999999999999999999].iters=2': list index "
            "[99999999999999999999999] is out of range");
}

TEST(ConfigErrors, AKeyThatIsAListIsAMessage) {
  EXPECT_EQ(error_of(std::string(kGood) + "eval: {[1, 2]: 3}\n"),
            "bad.yaml:10: eval: a key must be a plain name, got a list");
}

TEST(ConfigErrors, AnEmptyValueIsNotTheDefault) {
  EXPECT_EQ(error_of(kGood, {"train.epochs="}),
            "command line: override 'train.epochs=': no value after '=' (leave the key out to keep the config's value)");
  EXPECT_EQ(error_of(replace(kGood, "train: {epochs: 2, batch: 8}", "train: {epochs: , batch: 8}")),
            "bad.yaml:9: train.epochs: no value given (leave the key out to use its default)");
}

TEST(ConfigErrors, NegativeMinimumLearningRate) {
  EXPECT_EQ(error_of(kGood, {"schedule.min_lr=-5"}),
            "command line (schedule.min_lr=-5): schedule.min_lr: expected a non-negative number");
}

TEST(ConfigErrors, LongValuesAreCutInMessages) {
  const std::string huge(20'000'000, 'x');
  const std::string e = error_of(kGood, {"train.epochs=" + huge});
  EXPECT_LT(e.size(), 400u);
  EXPECT_NE(e.find("(20000000 characters)"), std::string::npos) << e.substr(0, 400);
}

TEST(ConfigErrors, NodeNamesArePlain) {
  EXPECT_EQ(error_of(replace(kGood, "{type: global_avg_pool}", "{type: global_avg_pool, name: optimizer/m}")),
            "bad.yaml:7: model.layers[2].name: a node name is 1 to 64 letters, digits, '_' or '-', got \"optimizer/m\"");
}

TEST(ConfigErrors, ConfigFilesAreBounded) {
  // /dev/zero never ends; a config larger than the budget is refused after reading the budget, not all of it.
  try {
    RunConfig::load("/dev/zero");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/dev/zero: the config file exceeds the limit of 1.0 MiB", 0), 0u) << e.what();
  }
}

// Each size is bounded, and so is their product: a node's output per image (found by the config fuzzer:
// bounded sizes multiplied into a FLOP count past 64 bits).
TEST(ConfigErrors, AbsurdActivationSizesAreRefusedWhereTheyArise) {
  EXPECT_EQ(error_of(kGood, {"model.input=[65536, 65536, 65536]"}),
            "command line (model.input=[65536, 65536, 65536]): model.input: the input has 281,474,976,710,656 "
            "elements per image, more than the limit of 4,294,967,296");
  EXPECT_EQ(error_of(kGood, {"model.input=[3, 32768, 32768]", "model.layers[1].out=65536"}),
            "bad.yaml:6: model.layers[1]: layer 'l1' (sparse_code) would output [65536, 32768, 32768] per image, more "
            "than 4,294,967,296 elements");
}

TEST(ConfigErrors, MissingFile) {
  try {
    RunConfig::load("/nonexistent/x.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/x.yaml: cannot read the config file");
  }
}

}  // namespace
}  // namespace scn::test
