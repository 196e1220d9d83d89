// config.yaml as scn writes it: numbers in their shortest exact form, everything else as it was.
#include <gtest/gtest.h>

#include "core/config/yaml_text.h"

namespace scn {
namespace {

TEST(YamlText, DoublesAreWrittenInTheirShortestExactForm) {
  YAML::Node n;
  n["lr"] = 0.1;
  n["decay"] = 5.0e-4;
  n["momentum"] = 0.9;
  n["epochs"] = 200;
  n["one"] = 1.0;
  n["name"] = "scn1";
  n["milestones"].push_back(0.3);
  const std::string text = yaml_text(n);
  EXPECT_NE(text.find("lr: 0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("momentum: 0.9\n"), std::string::npos) << text;
  EXPECT_NE(text.find("epochs: 200\n"), std::string::npos) << text;
  EXPECT_NE(text.find("name: scn1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("0000000"), std::string::npos) << text;
  // Read back: the same values, the same types.
  const YAML::Node back = YAML::Load(text);
  EXPECT_EQ(back["lr"].as<double>(), 0.1);
  EXPECT_EQ(back["decay"].as<double>(), 5.0e-4);
  EXPECT_EQ(back["one"].as<double>(), 1.0);
  EXPECT_EQ(back["milestones"][0].as<double>(), 0.3);
  EXPECT_EQ(back["epochs"].as<int>(), 200);
}

TEST(YamlText, OnlyLongNumbersChange) {
  EXPECT_EQ(shortest_number_text("0.10000000000000001"), "0.1");
  EXPECT_EQ(shortest_number_text("1.0"), "1.0");
  EXPECT_EQ(shortest_number_text("3"), "3");
  EXPECT_EQ(shortest_number_text("auto"), "auto");
  EXPECT_EQ(shortest_number_text("1.2.3"), "1.2.3");
  EXPECT_EQ(shortest_number_text("0.33333333333333331"), "0.3333333333333333");
  // A mantissa keeps its '.': YAML 1.1 readers (PyYAML) read "1e-05" as a string.
  EXPECT_EQ(shortest_number_text("1.0000000000000001e-05"), "1.0e-05");
  EXPECT_EQ(shortest_number_text("5.0000000000000001e-04"), "5.0e-04");
}

TEST(YamlText, TheFirstDifferenceIsNamedLikeAnOverride) {
  const YAML::Node a = YAML::Load("{layers: [{type: conv, out: 4}, {type: sparse_code, iters: 2, lr: 0.1}]}");
  const YAML::Node same = YAML::Load("{layers: [{type: conv, out: 4}, {type: sparse_code, iters: 2, lr: 0.10000000000000001}]}");
  const YAML::Node b = YAML::Load("{layers: [{type: conv, out: 4}, {type: sparse_code, iters: 50, lr: 0.1}]}");
  const YAML::Node c = YAML::Load("{layers: [{type: conv, out: 4}]}");
  const YAML::Node d = YAML::Load("{layers: [{type: conv, out: 4, bias: false}, {type: sparse_code, iters: 2, lr: 0.1}]}");
  EXPECT_EQ(first_yaml_difference(a, same, "model"), "");
  EXPECT_EQ(first_yaml_difference(a, b, "model"), "model.layers[1].iters: 2 against 50");
  EXPECT_EQ(first_yaml_difference(a, c, "model"), "model.layers[1]: {type: sparse_code, iters: 2, lr: 0.1} against (absent)");
  EXPECT_EQ(first_yaml_difference(a, d, "model"), "model.layers[0].bias: (absent) against false");
}

}  // namespace
}  // namespace scn
