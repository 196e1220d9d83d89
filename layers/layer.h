#pragma once
// A Layer is one node type of a net: a shape rule, its parameters (views into the net's arena), forward
// and backward. Forward writes everything backward needs into a LayerState that the caller owns and keeps
// between calls (so repeated steps with the same shapes reuse its tensors: no allocation in steady state),
// and members hold no per-call state: unrolled iterations with shared weights stay correct.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "core/context.h"
#include "core/param_arena.h"
#include "core/tensor.h"

namespace scn {

// What a forward is for. Only normalisation layers tell the last three apart; every other layer treats
// anything but `train` as inference (no dropout, no state updates, nothing kept for backward).
enum class Mode {
  train,                  // a training step: batch statistics, running statistics updated
  eval,                   // inference with the running statistics
  eval_batch_statistics,  // inference normalising with each batch's own statistics (a diagnostic)
  calibrate,              // inference that recomputes the running statistics: a cumulative average over
                          // the batches since the states were reset (Net::reset_states)
};
inline bool is_training(Mode mode) { return mode == Mode::train; }
using Tensors = std::vector<Tensor>;
using Shapes = std::vector<Shape>;

// A layer whose weights are a dictionary of atoms (conv filters, sparse-coding dictionaries): what the
// analysis of the sparse model (analysis/) reads.
struct DictionaryInfo {
  int weight = -1;          // arena index of W: (M atoms, C, k, k)
  int stride = 1, pad = 0;
  bool per_patch = false;   // SCN's patch pursuit: every pixel's code is its own lasso over the k×k patch
  int iters = 0;            // pursuit steps after the first code (0: thresholding, and every conv layer)
  // A block of several dictionaries (ml_pursuit): which one, and its name after the node's ("layer2"); the
  // code it makes is Layer::code_of(state, part) rather than a node's output.
  int part = -1;
  std::string label;
};

struct LayerState {
  virtual ~LayerState() = default;
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string type() const = 0;

  // Output shape for these input shapes (without the batch dimension: [C, H, W] or [F]); throws scn::Error
  // saying what does not fit. Called once at build time; layers remember what they need from it.
  virtual Shape output_shape(const Shapes& inputs) = 0;
  // Adds this layer's parameters as "<node>.<param>" to `arena`.
  virtual void register_params(ParamArena& arena, const std::string& node) { (void)arena, (void)node; }
  // Writes initial parameter values (after the arena is allocated). `seed` is the net's seed for this node.
  virtual void init_params(Context& ctx, uint64_t seed) { (void)ctx, (void)seed; }

  virtual std::unique_ptr<LayerState> make_state() const { return std::make_unique<LayerState>(); }
  // inputs: (N, ...) tensors; output: preallocated (N, output_shape...).
  virtual void forward(Context& ctx, const Tensors& inputs, const Tensor& output, Mode mode, LayerState& state) = 0;
  // Writes (overwrites) grad_inputs (undefined entries are not needed) and ADDS parameter gradients into the
  // arena's gradient buffer.
  virtual void backward(Context& ctx, const Tensors& inputs, const Tensor& output, const Tensor& grad_output,
                        const Tensors& grad_inputs, LayerState& state) = 0;

  // Multiply-adds ×2 of one forward for one image (for summaries and profiles).
  virtual int64_t flops() const { return 0; }
  // The same for backward (input and parameter gradients); most layers cost about twice their forward.
  virtual int64_t backward_flops() const { return 2 * flops(); }
  // Multiply-adds ×2 of one training step (forward and backward) that do not scale with the batch: the patch
  // pursuit's Gram matrix and power iteration, a convolutional pursuit's step. Profiles add it per step.
  virtual int64_t step_flops() const { return 0; }
  // Why a training step through this layer cannot be captured in a CUDA graph (train.cuda_graph), or "" when
  // it can: a layer that reads values on the host, or changes its work from step to step, says so here.
  virtual std::string graph_capture_refusal() const { return ""; }
  // Bytes one forward moves through memory for one image, at the least (each tensor read or written
  // once per pass over it); profiles compare this with the device's bandwidth.
  virtual int64_t forward_bytes(const Shapes& inputs, const Shape& output) const {
    int64_t elements = output.numel();
    for (const Shape& s : inputs) elements += s.numel();
    return 4 * elements;
  }
  // Elements per image that a training forward keeps for backward (and backward's scratch) beyond the
  // output and its gradient, which the net holds: memory estimates before anything is allocated.
  virtual int64_t saved_elements(const Shapes& inputs, const Shape& output) const {
    (void)inputs, (void)output;
    return 0;
  }
  // Short description for the summary table ("K=2 fista nonneg").
  virtual std::string describe() const { return ""; }
  // The layer's resolved config keys (defaults filled in), for the round trip of configs.
  virtual void to_yaml(YAML::Node& node) const { (void)node; }
  // Number of inputs the layer takes (add: any ≥ 2).
  virtual int arity() const { return 1; }
  // Set for layers whose weights are a dictionary (after register_params).
  virtual std::optional<DictionaryInfo> dictionary_info() const { return std::nullopt; }
  // Every dictionary of the layer: dictionary_info()'s, or a block's several.
  virtual std::vector<DictionaryInfo> dictionary_infos() const {
    const std::optional<DictionaryInfo> info = dictionary_info();
    return info ? std::vector<DictionaryInfo>{*info} : std::vector<DictionaryInfo>{};
  }
  // A block's code of dictionary `part` after the last forward with `state` (a view).
  virtual Tensor code_of(const LayerState& state, int part) const { (void)state, (void)part; return Tensor(); }

  // Penalties on the parameters alone (`regularizer:`): adds their gradient into the arena's gradients
  // (once per training step, after backward), and their value, read on the host (logs and checks).
  virtual void add_regularizer_gradient(Context& ctx) { (void)ctx; }
  virtual double regularizer_value(Context& ctx) const { (void)ctx; return 0; }

 protected:
  // Parameter views, looked up each call: the arena may have moved to another device.
  Tensor param(int index) const { return arena_->value(index); }
  Tensor grad(int index) const { return arena_->grad(index); }
  const ParamArena* arena_ = nullptr;
};

// Reallocates `t` only when its shape, dtype or device differs (state tensors reused across steps).
void ensure_tensor(Tensor& t, const Shape& shape, DType dtype, Device device);

}  // namespace scn
