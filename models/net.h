#pragma once
// A Net: named nodes built from the `model:` section, each a layer reading the previous node or the nodes in
// its `inputs:`, with every parameter in one arena. Shapes are inferred at build time; activations and
// gradients live in buffers reused from step to step (reallocated only when the batch size changes).
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "layers/layer.h"

namespace scn {

struct NetNode {
  std::string name;               // `name:` or l<index>
  std::string type;
  std::unique_ptr<Layer> layer;
  std::vector<int> inputs;        // node indices; -1 is the net's input
  Shape shape;                    // output shape without the batch dimension
  int consumers = 0;              // nodes reading this one (gradients add up when > 1)
  std::unique_ptr<LayerState> state;
  Tensor output, grad;            // (N, shape...) buffers, reused across steps
  std::vector<Tensor> edge_grads; // per input read from a node with several consumers: its part of the sum
};

// Parameter counts by kind (ParamSpec::kind).
struct ParamCounts {
  int64_t weights = 0, thresholds = 0, steps = 0, norm = 0;
  int64_t statistics = 0;  // buffers: batch-norm running statistics, power-iteration vectors
  int64_t trainable = 0;
};

// What training a net needs in memory, at the least (estimates, in bytes, as doubles so that no absurd
// config overflows them).
struct TrainingMemory {
  double parameter_bytes = 0;   // values, gradients, optimizer moments
  double activation_bytes = 0;  // outputs, their gradients and what layers keep for backward, for the batch
  int largest_node = -1;
  double largest_node_bytes = 0;
  double total() const { return parameter_bytes + activation_bytes; }
};

// Called around every layer's forward and backward (profiling, tracing); none by default.
struct NetObserver {
  virtual ~NetObserver() = default;
  virtual void before(int node, bool backward) = 0;
  virtual void after(int node, bool backward) = 0;
};

class Net {
 public:
  // Builds the net of a `model:` section (input, classes, layers). Errors name the file, line and node.
  static std::unique_ptr<Net> build(const ConfigNode& model);

  // Allocates the parameters on `device` and initialises them from `seed`.
  void initialize(Device device, uint64_t seed);
  Device device() const { return arena_.values().device(); }

  // x: (N, C, H, W) on the net's device → logits (N, classes), valid until the next forward.
  const Tensor& forward(Context& ctx, const Tensor& x, Mode mode);
  // Adds ∂L/∂params into the arena's gradients given ∂L/∂logits (after a train-mode forward).
  void backward(Context& ctx, const Tensor& grad_logits);

  // The layers' parameter penalties (`regularizer:`), read on the host; their gradients come with backward.
  double regularizer_value(Context& ctx) const;

  // Drops what the layers keep between calls (saved tensors, calibration counts); parameters stay.
  void reset_states();

  ParamArena& params() { return arena_; }
  const ParamArena& params() const { return arena_; }
  ParamCounts param_counts() const;
  const std::vector<NetNode>& nodes() const { return nodes_; }
  const Shape& input_shape() const { return input_; }
  int classes() const { return classes_; }
  int64_t flops() const;                 // one forward, one image
  Shapes input_shapes(int node) const;   // the shapes a node reads (without the batch dimension)
  void set_observer(NetObserver* observer) { observer_ = observer; }
  std::string summary() const;           // the table: node, type, output, parameters, FLOPs, details
  TrainingMemory training_memory(int64_t batch) const;
  YAML::Node to_yaml() const;            // the resolved model section (round trip)

 private:
  Net() = default;
  const Tensor& input_of(int node, int k, const Tensor& x) const;
  Shape input_;
  int classes_ = 0;
  std::vector<NetNode> nodes_;
  ParamArena arena_;
  Tensor input_seen_;    // the last forward's input (backward reads it)
  NetObserver* observer_ = nullptr;
};

// "173,882"
std::string with_thousands(int64_t n);

}  // namespace scn
