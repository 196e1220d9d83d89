// A layer outside a net (layers/standalone_layer.h): what PyTorch's compiled ops (python/ops) and the layer
// harness build on. Its names, its resolved node and its errors; forward and backward are the layer's own and
// are tested with it (test_layer_conformance.cpp runs every case through a StandaloneLayer).
#include <gtest/gtest.h>

#include "core/error.h"
#include "layers/standalone_layer.h"

namespace scn {
namespace {

TEST(StandaloneLayer, NamesItsParametersWithoutTheNode) {
  StandaloneLayer l("{type: sparse_code, out: 4, iters: 2, step: auto}", {Shape{3, 7, 5}}, DType::f64, Device::cpu());
  ASSERT_EQ(l.arena().count(), 4);
  EXPECT_EQ(l.param_name(0), "weight");
  EXPECT_EQ(l.param_name(3), "power_vector");
  EXPECT_EQ(l.arena().spec(3).shape, (Shape{1, 4, 7, 5}));
  EXPECT_EQ(l.output_shape(), (Shape{4, 7, 5}));
  EXPECT_EQ(l.arena().values().dtype(), DType::f64);
}

TEST(StandaloneLayer, ResolvesEveryDefault) {
  StandaloneLayer l("{type: sparse_code, out: 4, pursuit: patch}", {Shape{3, 7, 5}}, DType::f32, Device::cpu());
  const std::string yaml = l.resolved_yaml();
  for (const char* key : {"type: sparse_code", "iters: 49", "step: auto", "form: lasso", "type: scn"})
    EXPECT_NE(yaml.find(key), std::string::npos) << key << " not in " << yaml;
}

TEST(StandaloneLayer, ErrorsNameTheSourceAndTheKey) {
  try {
    StandaloneLayer l("{type: sparse_code, out: 4, iters: two}", {Shape{3, 7, 5}}, DType::f32, Device::cpu(), "torch");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("torch:1: layer.iters"), std::string::npos) << e.what();
  }
  try {
    StandaloneLayer l("{type: add, inputs: [a, b]}", {Shape{3, 7, 5}}, DType::f32, Device::cpu(), "torch");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("takes at least 2 input(s), given 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scn
