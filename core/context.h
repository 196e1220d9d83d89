#pragma once
// Per-device execution state: stream and library handles (CUDA), thread count (CPU), one growable
// workspace, and typed caches that ops keep their primitives and plans in.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>

#include "core/device.h"
#include "core/memory.h"

namespace scn {

struct CudaResources;  // core/cuda/resources.h: stream, cuDNN and cuBLAS handles
class Communicator;    // core/distributed/communicator.h: the other ranks of a data-parallel run

// Counters that tests and profiles read: a plan or primitive built inside a steady-state step is a bug.
struct ContextStats {
  int64_t plans_built = 0;        // oneDNN primitives, cuDNN algorithm searches, cuFFT plans
  int64_t workspace_grows = 0;
};

class Context {
 public:
  // One context per device, created on first use and kept for the life of the process.
  static Context& get(Device device);

  Device device() const { return device_; }
  // Scratch memory of at least `bytes`, valid until the next call. Grows, never shrinks; on a GPU the old
  // buffer is released in stream order, so work already queued on it stays valid.
  void* workspace(size_t bytes);
  size_t workspace_bytes() const { return workspace_ ? workspace_->bytes() : 0; }
  // Waits for all work queued on this context.
  void synchronize();
  // CUDA state; only code under kernels/cuda and core/cuda uses it.
  CudaResources& cuda();

  // A per-context object of type State, default-constructed on first use (primitive and plan caches).
  template <class State>
  State& state() {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = states_[std::type_index(typeid(State))];
    if (!slot) slot = std::shared_ptr<void>(new State(), [](void* p) { delete static_cast<State*>(p); });
    return *static_cast<State*>(slot.get());
  }

  ContextStats& stats() { return stats_; }
  // Deterministic algorithms only (cuDNN); set from train.deterministic.
  bool deterministic = false;
  // Let cuDNN run fp32 convolutions through TF32 tensor cores (Ampere and later); off: true fp32.
  bool allow_tf32 = false;
  // The patch pursuit's forward as one fused op (kernels/patch_pursuit.h), or as the composition of
  // layers/pursuit.h (a 1×1 convolution by AᵀA, the ISTA update and the FISTA extrapolation per step) that the
  // fused op is tested against: false selects that reference for tests and benchmarks (scn profile --reference-pursuit).
  bool fused_pursuit = true;
  // The ranks this process trains with (null: alone); layers that reduce over the whole batch across
  // processes use it (batch_norm.sync). Set by the trainer for the length of a run.
  Communicator* ranks = nullptr;

  ~Context();

 private:
  explicit Context(Device device);
  Device device_;
  std::shared_ptr<Storage> workspace_;
  CudaResources* cuda_ = nullptr;  // owned; made and destroyed by the CUDA backend
  std::mutex mutex_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> states_;
  ContextStats stats_;
  friend struct ContextFactory;
};

}  // namespace scn
