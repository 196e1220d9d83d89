// The mutual coherence of every dictionary of a net, through the FFT (what `scn analyze` and
// train.log_sparsity use) against the direct sum over shifts, channels and pixels: time and agreement per layer.
//   scn_coherence_bench [CONFIG] [--device cpu|cuda]     (default configs/cifar10/scn4.yaml, cpu)
// Per layer: atoms × atom size, the FFT path's time (the op on the device, then the summary on the host), the
// direct sum's time (double, one thread), the ratio, and |μ_fft − μ_direct|.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "analysis/coherence.h"
#include "core/error.h"
#include "models/run_config.h"
#include "models/net.h"

namespace {

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) try {
  std::string config = SCN_SOURCE_DIR "/configs/cifar10/scn4.yaml", device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) device = argv[++i];
    else if (a.rfind("--", 0) != 0) config = a;
    else throw scn::Error("usage: scn_coherence_bench [CONFIG] [--device cpu|cuda]");
  }
  const scn::RunConfig run = scn::RunConfig::load(config, {});
  auto net = scn::Net::build(run.model);
  const scn::Device dev = scn::parse_device(device);
  net->initialize(dev, run.seed);
  scn::Context& ctx = scn::Context::get(dev);
  std::printf("%s on %s: mutual coherence per dictionary, FFT against the direct sum\n", config.c_str(),
              dev.str().c_str());
  std::printf("%-6s %12s %7s %10s %10s %8s %10s\n", "node", "atoms x n", "stride", "fft ms", "direct ms", "ratio",
              "|diff|");
  double fft_total = 0, direct_total = 0, worst = 0;
  for (const scn::NetNode& node : net->nodes()) {
    const auto info = node.layer->dictionary_info();
    if (!info) continue;
    const scn::Tensor w = net->params().value(info->weight);
    scn::Coherence fft, direct;
    dictionary_coherence(ctx, w, info->stride);  // warm-up: plans, allocations
    const double t_fft = seconds_of([&] { fft = dictionary_coherence(ctx, w, info->stride); });
    const double t_direct = seconds_of([&] {
      direct = summarize_coherence(scn::atom_correlations_direct(w, info->stride), w.shape(), info->stride);
    });
    const double diff = std::abs(fft.mutual - direct.mutual);
    fft_total += t_fft, direct_total += t_direct, worst = std::max(worst, diff);
    std::printf("%-6s %5lld x %-5lld %7d %10.2f %10.2f %7.1fx %10.2e\n", node.name.c_str(),
                static_cast<long long>(fft.atoms), static_cast<long long>(fft.atom_size), info->stride, 1e3 * t_fft,
                1e3 * t_direct, t_direct / t_fft, diff);
  }
  std::printf("total: FFT %.1f ms, direct %.1f ms (%.1fx); largest |mu difference| %.2e\n", 1e3 * fft_total,
              1e3 * direct_total, direct_total / fft_total, worst);
  return worst < 1e-4 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "scn_coherence_bench: %s\n", e.what());
  return 1;
}
