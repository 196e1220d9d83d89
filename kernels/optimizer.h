#pragma once
// Optimizer steps and the clamp projection over a whole ParamArena, one call each (docs/design.md).
// A ParamTable, built once from the arena (and copied once to its GPU), says which elements belong to
// which parameter with what multipliers; per-step scalars (learning rate, momentum, …) come from the host.
// The state buffers (SGD velocity, Adam moments) are shaped like the arena's values and start at zero;
// the caller owns them. Padding between parameters is never touched. CPU: f32 and f64; CUDA: f32.
#include <cstdint>
#include <vector>

#include "core/context.h"
#include "core/param_arena.h"
#include "core/tensor.h"

namespace scn {

// One parameter of the arena.
struct ParamSegment {
  int64_t offset = 0;  // first element in the arena
  int64_t count = 0;   // elements (no padding)
  float lr_mult = 1.f;
  float decay_mult = 1.f;
  float clamp_min = 0.f;  // projection bounds (±inf when unbounded)
  float clamp_max = 0.f;
  int32_t trainable = 1;
  int32_t projected = 0;
};

// Up to kParamTileElements consecutive elements of one segment: one CUDA block or one OpenMP iteration,
// so that big and small parameters spread evenly over the device.
struct ParamTile {
  int64_t begin = 0;  // arena elements [begin, end)
  int64_t end = 0;
  int32_t segment = 0;
  int32_t unused = 0;
};
constexpr int64_t kParamTileElements = 2048;

struct ParamTable {
  Device device;
  DType dtype = DType::f32;
  int64_t total = 0;                   // elements of the arena's buffers, padding included
  std::vector<ParamSegment> segments;  // one per parameter, in arena order
  std::vector<ParamTile> step_tiles;   // tiles of the trainable parameters
  std::vector<ParamTile> clamp_tiles;  // tiles of the projected parameters
  // On a CUDA device: byte copies of the three vectors above (u8 tensors), made once by make_param_table.
  Tensor device_segments, device_step_tiles, device_clamp_tiles;
};

// The table of an allocated arena, on the arena's current device. Build it again after arena.to(device).
ParamTable make_param_table(const ParamArena& arena);

// PyTorch's SGD (no dampening), per element of every trainable parameter, with lr = lr·lr_mult and
// wd = weight_decay·decay_mult of its segment:
//   g' = g + wd·w;  v = momentum·v + g';  update = nesterov ? g' + momentum·v : v;  w −= lr·update
// With momentum = 0 there is no state (update = g') and velocity may be undefined.
struct SgdOptions {
  float lr = 0.f;
  float momentum = 0.f;
  float weight_decay = 0.f;
  bool nesterov = false;  // needs momentum > 0
  // Optional (1) tensor on the values' device multiplying lr: a step captured in a CUDA graph reads the
  // schedule's rate from it instead of a value frozen into the graph.
  Tensor lr_scale;
};

// values, velocity: (total), updated in place; grads: (total)
void sgd_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& velocity, const Tensor& grads,
              const SgdOptions& options);

// PyTorch's Adam / AdamW (no amsgrad), per element of every trainable parameter, lr and wd as for SGD:
//   Adam:  g' = g + wd·w            AdamW: g' = g, and first w ← w·(1 − lr·wd)  (decoupled decay)
//   m = β₁·m + (1 − β₁)·g';  v = β₂·v + (1 − β₂)·g'²
//   w −= lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)        with t = step ≥ 1, counted by the caller
struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
  bool decoupled = false;  // AdamW
  int64_t step = 1;        // this step's number, 1 for the first
};

// values, m, v: (total), updated in place; grads: (total)
void adam_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& m, const Tensor& v,
               const Tensor& grads, const AdamOptions& options);

// Clamps every parameter whose ParamSpec has bounds to [clamp_min, clamp_max] (NaN stays NaN).
// values: (total)
void project_params(Context& ctx, const ParamTable& table, const Tensor& values);

namespace cuda {
void sgd_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& velocity, const Tensor& grads,
              const SgdOptions& options);
void adam_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& m, const Tensor& v,
               const Tensor& grads, const AdamOptions& options);
void project_params(Context& ctx, const ParamTable& table, const Tensor& values);
}  // namespace cuda

}  // namespace scn
