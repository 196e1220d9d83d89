#pragma once
// Counters of what a computation launches: ops (every kernel entry point, and every stream-ordered zero or
// copy of a tensor), values read back on the host, host values written into tensors, and the FLOPs of the
// dense ops (convolutions, matrix products, the fused patch pursuit). On a GPU each op is a launch and each
// host read a synchronisation; counting them on the CPU lets tests hold a training step to the structure a
// GPU needs without a GPU (tests/models/test_step_budget.cpp), and lets a layer's FLOP count be checked
// against the work its ops actually did (tests/layers/test_flop_counts.cpp).
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace scn {

struct OpStats {
  std::atomic<int64_t> ops{0};          // op entry points, zero_() and copy_from() of tensors
  std::atomic<int64_t> host_reads{0};   // to_vector() / item(), to(Device::cpu()): a synchronisation on a GPU
  std::atomic<int64_t> host_writes{0};  // Tensor::from_vector: host values that a GPU step would upload
  std::atomic<double> flops{0};         // multiply-adds ×2 reported by the dense ops
};
OpStats& op_stats();

// Called by every op (the dispatch line, core/dispatch.h): counts it, and by name while an OpRecorder lives.
void count_op(const char* name);
// Dense ops report the multiply-adds ×2 they perform (shape-determined work only).
void count_flops(double flops);

// While alive, also counts ops by name (tests and diagnostics: which ops a step runs). One at a time.
class OpRecorder {
 public:
  OpRecorder();
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;
  std::map<std::string, int64_t> by_name() const;
  // "name ×count, …" sorted by count, for failure messages.
  std::string summary() const;
};

// The counters' values at one moment, and the difference of two moments.
struct OpCounts {
  int64_t ops = 0, host_reads = 0, host_writes = 0;
  double flops = 0;
  static OpCounts now();
  OpCounts operator-(const OpCounts& earlier) const;
};

}  // namespace scn
