#pragma once
// Profiles a config's net on random data: per layer forward and backward time, share of the step, FLOPs and
// bytes moved, achieved FLOP/s and GB/s against the device's measured peaks (a large copy for bandwidth, a
// large 1×1 convolution — a GEMM — for FLOP/s), and training and inference images/s.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/context.h"
#include "models/run_config.h"

namespace scn {

struct ProfileOptions {
  std::string device = "auto";
  int64_t batch = 0;   // 0: the config's train.batch
  int steps = 10;
  int warmup = 3;
  bool tf32 = false;   // let cuDNN use TF32 tensor cores for fp32 convolutions
  bool reference_pursuit = false;  // the patch pursuit unfused (Context::fused_pursuit = false)
};

struct ProfileRow {
  std::string node, type, details;
  double forward_ms = 0, backward_ms = 0;   // per step, mean over the timed steps
  double flops = 0, bytes = 0;              // per step, forward + backward
  double forward_flops = 0;                 // per step, forward (batch-dependent work)
};

struct ProfileReport {
  std::string config, device;
  int64_t batch = 0;
  double peak_gbps = 0, peak_gflops = 0;    // measured at start
  std::vector<ProfileRow> rows;             // layers, then "loss" and "optimizer"
  double step_ms = 0;                       // measured training step (mean over the timed steps)
  double rows_ms = 0;                       // the rows' sum
  double train_images_per_s = 0, infer_images_per_s = 0;
};

ProfileReport profile(const RunConfig& config, const ProfileOptions& options);
// The device's measured peaks (what a profile compares against): a large copy in GB/s (read + write), and a
// large 1×1 convolution (a GEMM, through the layers' own library) in GFLOP/s.
double measure_copy_gbps(Context& ctx);
double measure_gemm_gflops(Context& ctx);
std::string format_profile(const ProfileReport& report);
nlohmann::json profile_json(const ProfileReport& report);

}  // namespace scn
