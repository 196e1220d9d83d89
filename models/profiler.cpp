#include "models/profiler.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/philox.h"
#include "core/timer.h"
#include "kernels/conv2d.h"
#include "kernels/random_fill.h"
#include "kernels/softmax_cross_entropy.h"
#include "models/net.h"
#include "models/optimizer.h"

namespace scn {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Per-layer times are means, not medians: the rows of a step then add up to the mean step exactly, but for
// the short gaps between them (zeroing gradients, the marks themselves).
double average(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace

// Bandwidth: a device-to-device copy, counting bytes read plus bytes written.
double measure_copy_gbps(Context& ctx) {
  const int64_t n = ctx.device().is_cuda() ? (int64_t(256) << 20) / 4 : (int64_t(64) << 20) / 4;
  Tensor a = Tensor::empty({n}, DType::f32, ctx.device()), b = Tensor::empty({n}, DType::f32, ctx.device());
  fill_uniform(ctx, a, 0, 1, RngKey{1, RngPurpose::test, 0});
  DeviceTimer t(ctx, 16);
  std::vector<double> ms;
  b.copy_from(a);  // warm-up
  for (int i = 0; i < 5; ++i) {
    const int s = t.mark();
    b.copy_from(a);
    ms.push_back(t.elapsed_ms(s, t.mark()));
  }
  return 2.0 * static_cast<double>(a.bytes()) / (median(ms) * 1e-3) / 1e9;
}

// Arithmetic: a large 1×1 convolution, which is a GEMM, through the same library as the layers.
double measure_gemm_gflops(Context& ctx) {
  const bool gpu = ctx.device().is_cuda();
  const int64_t n = gpu ? 8 : 1, c = gpu ? 1024 : 512, hw = 64;
  Tensor x = Tensor::empty({n, c, hw, hw}, DType::f32, ctx.device()), y = Tensor::empty({n, c, hw, hw}, DType::f32, ctx.device());
  Tensor w = Tensor::empty({c, c, 1, 1}, DType::f32, ctx.device());
  fill_uniform(ctx, x, -1, 1, RngKey{2, RngPurpose::test, 0});
  fill_uniform(ctx, w, -1, 1, RngKey{3, RngPurpose::test, 0});
  conv2d_forward(ctx, y, x, w, ConvParams{1, 0});  // warm-up and plan
  DeviceTimer t(ctx, 16);
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const int s = t.mark();
    conv2d_forward(ctx, y, x, w, ConvParams{1, 0});
    ms.push_back(t.elapsed_ms(s, t.mark()));
  }
  const double flops = 2.0 * static_cast<double>(n * hw * hw) * static_cast<double>(c * c);
  return flops / (median(ms) * 1e-3) / 1e9;
}

namespace {

// Marks the timer before and after every layer.
struct LayerMarks : NetObserver {
  DeviceTimer& timer;
  std::vector<std::pair<int, int>> fwd, bwd;  // per node: (before, after) marks of the current step
  LayerMarks(DeviceTimer& t, size_t nodes) : timer(t), fwd(nodes), bwd(nodes) {}
  void before(int node, bool backward) override { (backward ? bwd : fwd)[node].first = timer.mark(); }
  void after(int node, bool backward) override { (backward ? bwd : fwd)[node].second = timer.mark(); }
};

}  // namespace

ProfileReport profile(const RunConfig& config, const ProfileOptions& o) {
  const Device device = parse_device(o.device);
  Context& ctx = Context::get(device);
  ctx.allow_tf32 = o.tf32;
  ctx.fused_pursuit = !o.reference_pursuit;
  ProfileReport r;
  r.config = config.source;
  r.device = device.is_cuda() ? cuda_device_info(device.index).name : "cpu";
  r.batch = o.batch > 0 ? o.batch : config.train.batch;
  r.peak_gbps = measure_copy_gbps(ctx);
  r.peak_gflops = measure_gemm_gflops(ctx);

  auto net = Net::build(config.model);
  net->initialize(device, config.seed);
  const Shape& in = net->input_shape();
  Tensor x = Tensor::empty({r.batch, in[0], in[1], in[2]}, DType::f32, device);
  fill_normal(ctx, x, 0, 1, RngKey{config.seed, RngPurpose::test, 7});
  std::vector<double> labels(static_cast<size_t>(r.batch));
  for (int64_t i = 0; i < r.batch; ++i) labels[i] = philox_bits(RngKey{config.seed, RngPurpose::test, 9}, i) % net->classes();
  Tensor y = Tensor::from_vector(labels, {r.batch}, DType::i32).to(device);
  Tensor loss = Tensor::empty({r.batch}, DType::f32, device), mean = Tensor::empty({1}, DType::f32, device);
  Tensor dlogits = Tensor::empty({r.batch, net->classes()}, DType::f32, device);
  Optimizer opt(config.optimizer, net->params());

  const size_t nodes = net->nodes().size();
  DeviceTimer timer(ctx, static_cast<int>(4 * nodes + 16));
  LayerMarks marks(timer, nodes);
  std::vector<std::vector<double>> fwd(nodes), bwd(nodes);
  std::vector<double> loss_ms, opt_ms, step_ms;
  for (int s = 0; s < o.warmup + o.steps; ++s) {
    const bool timed = s >= o.warmup;
    net->set_observer(timed ? &marks : nullptr);
    timer.reset();
    const int begin = timer.mark();
    net->params().zero_grads();
    const Tensor& logits = net->forward(ctx, x, Mode::train);
    const int loss_begin = timer.mark();
    softmax_cross_entropy_forward(ctx, loss, mean, dlogits, logits, y, 0.0);
    const int loss_end = timer.mark();
    net->backward(ctx, dlogits);
    const int opt_begin = timer.mark();
    opt.step(ctx, 1e-4);  // a small rate keeps the random problem from drifting
    const int end = timer.mark();
    if (!timed) {
      ctx.synchronize();
      continue;
    }
    step_ms.push_back(timer.elapsed_ms(begin, end));
    loss_ms.push_back(timer.elapsed_ms(loss_begin, loss_end));
    opt_ms.push_back(timer.elapsed_ms(opt_begin, end));
    for (size_t i = 0; i < nodes; ++i) {
      fwd[i].push_back(timer.elapsed_ms(marks.fwd[i].first, marks.fwd[i].second));
      bwd[i].push_back(timer.elapsed_ms(marks.bwd[i].first, marks.bwd[i].second));
    }
  }
  net->set_observer(nullptr);
  const double b = static_cast<double>(r.batch);
  for (size_t i = 0; i < nodes; ++i) {
    const NetNode& n = net->nodes()[i];
    ProfileRow row{n.name, n.type, n.layer->describe(), average(fwd[i]), average(bwd[i])};
    row.flops = b * static_cast<double>(n.layer->flops() + n.layer->backward_flops()) +
                static_cast<double>(n.layer->step_flops());
    row.forward_flops = b * static_cast<double>(n.layer->flops());
    // Backward reads what forward read and writes as much again: about twice forward's traffic.
    row.bytes = 3.0 * b * static_cast<double>(n.layer->forward_bytes(net->input_shapes(static_cast<int>(i)), n.shape));
    r.rows.push_back(row);
  }
  const double params = static_cast<double>(net->params().values().numel());
  r.rows.push_back({"loss", "softmax_xent", "", average(loss_ms), 0, 5.0 * b * net->classes(), 12.0 * b * net->classes()});
  r.rows.push_back({"optimizer", config.optimizer.type, "", average(opt_ms), 0, 4.0 * params, 4.0 * 4 * params});
  for (const ProfileRow& row : r.rows) r.rows_ms += row.forward_ms + row.backward_ms;
  r.step_ms = average(step_ms);
  r.train_images_per_s = b / (r.step_ms * 1e-3);

  // Inference: forward only, evaluation mode.
  std::vector<double> infer_ms;
  for (int s = 0; s < o.warmup + o.steps; ++s) {
    timer.reset();
    const int begin = timer.mark();
    net->forward(ctx, x, Mode::eval);
    const int end = timer.mark();
    if (s >= o.warmup) infer_ms.push_back(timer.elapsed_ms(begin, end));
  }
  r.infer_images_per_s = b / (median(infer_ms) * 1e-3);
  return r;
}

std::string format_profile(const ProfileReport& r) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "profile of %s on %s, batch %lld\npeaks measured: copy %.1f GB/s, GEMM %.1f GFLOP/s\n",
                r.config.c_str(), r.device.c_str(), static_cast<long long>(r.batch), r.peak_gbps, r.peak_gflops);
  out += buf;
  std::snprintf(buf, sizeof buf, "%-10s %-15s %9s %9s %6s %9s %9s %9s %8s %6s %6s  %s\n", "node", "type", "fwd ms",
                "bwd ms", "share", "GFLOP", "MB", "GFLOP/s", "GB/s", "%FLOP", "%BW", "details");
  out += buf;
  for (const ProfileRow& row : r.rows) {
    const double ms = row.forward_ms + row.backward_ms;
    const double gflops = ms > 0 ? row.flops / (ms * 1e-3) / 1e9 : 0, gbps = ms > 0 ? row.bytes / (ms * 1e-3) / 1e9 : 0;
    std::snprintf(buf, sizeof buf, "%-10s %-15s %9.3f %9.3f %5.1f%% %9.3f %9.2f %9.1f %8.1f %5.1f%% %5.1f%%  %s\n",
                  row.node.c_str(), row.type.c_str(), row.forward_ms, row.backward_ms,
                  r.step_ms > 0 ? 100 * ms / r.step_ms : 0, row.flops / 1e9, row.bytes / 1e6, gflops, gbps,
                  r.peak_gflops > 0 ? 100 * gflops / r.peak_gflops : 0, r.peak_gbps > 0 ? 100 * gbps / r.peak_gbps : 0,
                  row.details.c_str());
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "step %.3f ms (rows sum to %.3f ms, %.1f%%)\ntraining %.1f images/s, inference %.1f images/s\n",
                r.step_ms, r.rows_ms, r.step_ms > 0 ? 100 * r.rows_ms / r.step_ms : 0, r.train_images_per_s,
                r.infer_images_per_s);
  out += buf;
  return out;
}

nlohmann::json profile_json(const ProfileReport& r) {
  nlohmann::json j;
  j["config"] = r.config;
  j["device"] = r.device;
  j["batch"] = r.batch;
  j["peak_gbps"] = r.peak_gbps;
  j["peak_gflops"] = r.peak_gflops;
  j["step_ms"] = r.step_ms;
  j["rows_ms"] = r.rows_ms;
  j["train_images_per_s"] = r.train_images_per_s;
  j["infer_images_per_s"] = r.infer_images_per_s;
  for (const ProfileRow& row : r.rows)
    j["rows"].push_back({{"node", row.node}, {"type", row.type}, {"details", row.details}, {"forward_ms", row.forward_ms},
                         {"backward_ms", row.backward_ms}, {"flops", row.flops}, {"forward_flops", row.forward_flops},
                         {"bytes", row.bytes}});
  return j;
}

}  // namespace scn
