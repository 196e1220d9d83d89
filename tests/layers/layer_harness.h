#pragma once
// The layer conformance harness: every registered layer type has at least one LayerCase (a YAML node and
// input shapes); tests/layers/test_layer_conformance.cpp runs each through a gradient check in f64 on the
// CPU (inputs and every parameter) and a CUDA-vs-CPU comparison (skipped without a GPU). A registered type
// without a case fails `EveryLayerTypeHasACase`.
//
// Kink rule: layers with thresholds or max pooling are not smooth everywhere, and random inputs cannot all
// be kept away from kinks deep inside a layer. An element whose central differences with steps h and h/2
// disagree beyond the tolerance has a kink within h; it is skipped, and at most 5% of the checked elements
// of any tensor may be skipped.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/param_arena.h"
#include "layers/layer.h"
#include "layers/standalone_layer.h"

namespace scn::test {

struct LayerCase {
  std::string name;            // gtest name
  std::string yaml;            // the layer's node, e.g. "{type: sparse_code, out: 5, iters: 2}"
  std::vector<Shape> inputs;   // per input, without the batch dimension
  int64_t batch = 2;
};

// gtest prints a case by its name.
inline void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

const std::vector<LayerCase>& all_layer_cases();

// A layer built from a case, with its parameters in an arena of `dtype` on `device`, filled with random
// values drawn from `seed` (thresholds and steps in sensible ranges, variances positive).
struct BuiltLayer {
  explicit BuiltLayer(const LayerCase& c, DType dtype)
      : standalone(c.yaml, c.inputs, dtype, Device::cpu(), c.name), layer(&standalone.layer()),
        arena(standalone.arena()), input_shapes(standalone.input_shapes()), output_shape(standalone.output_shape()) {}
  StandaloneLayer standalone;
  Layer* layer;
  ParamArena& arena;
  const std::vector<Shape>& input_shapes;
  const Shape& output_shape;
};
std::unique_ptr<BuiltLayer> build_layer(const LayerCase& c, DType dtype, Device device, uint64_t seed);

}  // namespace scn::test
