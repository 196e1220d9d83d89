#pragma once
// All trainable (and tracked) parameters of a net in one buffer of values and one of gradients, handed to
// layers as named views. The optimizer step, the projections, zeroing gradients and a checkpoint are then
// one call or one walk each.
#include <limits>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace scn {

struct ParamSpec {
  std::string name;            // "<node>.<param>"
  Shape shape;
  float lr_mult = 1.0f;        // multiplies the schedule's learning rate
  float decay_mult = 1.0f;     // multiplies the optimizer's weight decay
  bool trainable = true;       // false: tracked state (running statistics); the optimizer skips it
  // What the parameter is, for counts and summaries: "weights" (dictionaries, conv and linear weights and
  // biases), "thresholds", "steps", "norm" (batch-norm affine), "statistics" (running mean and variance),
  // "state" (other buffers of a run, such as power-iteration vectors).
  std::string kind = "weights";
  // Projection after each step: values clamped to [clamp_min, clamp_max] (e.g. θ ≥ 0).
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
  bool projected() const { return clamp_min > -std::numeric_limits<float>::infinity() ||
                                  clamp_max < std::numeric_limits<float>::infinity(); }
};

class ParamArena {
 public:
  // Registers a parameter; returns its index. Only before allocate().
  int add(const ParamSpec& spec);
  // Allocates the values and gradient buffers on `device` (gradients zeroed). Offsets are aligned to 16
  // elements so that every view starts on a 64-byte boundary (vector loads).
  void allocate(Device device, DType dtype = DType::f32);
  bool allocated() const { return values_.defined(); }

  int count() const { return static_cast<int>(specs_.size()); }
  const ParamSpec& spec(int i) const { return specs_.at(i); }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  int64_t offset(int i) const { return offsets_.at(i); }
  // Index of the parameter with this name, or -1.
  int find(const std::string& name) const;

  Tensor value(int i) const;
  Tensor grad(int i) const;
  // The whole buffers (padding between parameters included, always zero).
  const Tensor& values() const { return values_; }
  const Tensor& grads() const { return grads_; }
  void zero_grads() { grads_.zero_(); }
  // Elements of trainable parameters, without padding.
  int64_t trainable_numel() const;
  // Moves both buffers to `device`, keeping values and gradients.
  void to(Device device);

 private:
  std::vector<ParamSpec> specs_;
  std::vector<int64_t> offsets_;
  int64_t total_ = 0;
  Tensor values_, grads_;
};

}  // namespace scn
