// The patch pursuit's compute-bound ops at the shapes of a config's sparse-coding layers (SCN's by default):
//   scn_pursuit_bench [CONFIG] [--batch N] [--density D] [--device cpu|cuda] [--repeats N]
//   scn_pursuit_bench --checkpoint CK [key=value ...] [--split val] [--batch N] [--device cpu|cuda]
// For each distinct layer: the fused pursuit (kernels/patch_pursuit.h) and its unfused reference (a 1×1
// convolution by AᵀA, the ISTA update and the FISTA extrapolation per step, as layers/pursuit.h composes them),
// counted as dense work, 2·C²·pixels per step, against the GEMM rate `scn profile` measures on the same device;
// and the implicit backward's active-set solve on the codes the pursuit produced.
// Synthetic (the default): random atoms and correlations, the codes made to have about D non-zeros (trained
// SCN-1 layers: 0.2–0.5) by a shared threshold found by bisection. With --checkpoint: a trained net on one
// batch of real images (the checkpoint's config and data; overrides such as data.dir=… apply), each layer's
// own correlations, Gram matrix, step and threshold, as the net's evaluation forward left them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/philox.h"
#include "core/timer.h"
#include "kernels/active_set_solve.h"
#include "kernels/conv2d.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/gram_power_iteration.h"
#include "kernels/ista_update.h"
#include "kernels/linear.h"
#include "kernels/patch_pursuit.h"
#include "kernels/random_fill.h"
#include "kernels/reduce.h"
#include "layers/pursuit.h"
#include "layers/sparse_code.h"
#include "models/batch_source.h"
#include "models/data_setup.h"
#include "models/net.h"
#include "models/profiler.h"
#include "models/run_config.h"
#include "scn/checkpoint_run.h"

namespace scn::bench {
namespace {

struct Problem {
  int64_t batch, channels, height, width, atom;  // atom: Ci·k·k
  int iters;
};

// The fastest of `repeats` runs: on a shared machine other work only ever adds time.
double best_ms(Context& ctx, int repeats, const std::function<void()>& run) {
  run();  // warm-up
  DeviceTimer t(ctx, 2 * repeats + 2);
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const int s = t.mark();
    run();
    ms.push_back(t.elapsed_ms(s, t.mark()));
  }
  return *std::min_element(ms.begin(), ms.end());
}

// Times the fused op, the reference composition and the solve on one layer's problem and prints a row.
void time_problem(Context& ctx, const std::string& label, const Tensor& b, const Tensor& gram, const Tensor& eta,
                  const Tensor& theta, ThresholdMode mode, int iters, int repeats, double gemm) {
  const Device dev = ctx.device();
  const Shape code = b.shape();
  const int64_t channels = code[1];
  Tensor gamma = Tensor::empty(code, DType::f32, dev);
  patch_pursuit_forward(ctx, gamma, Tensor(), b, gram, eta, theta, mode, iters, true);
  const std::vector<double> g = gamma.to_vector();
  int64_t nonzero = 0;
  for (double e : g) nonzero += e != 0;
  const double density = static_cast<double>(nonzero) / static_cast<double>(g.size());
  const double dense = 2.0 * static_cast<double>(gamma.numel()) * static_cast<double>(channels) * iters;
  const double fused = best_ms(
      ctx, repeats, [&] { patch_pursuit_forward(ctx, gamma, Tensor(), b, gram, eta, theta, mode, iters, true); });
  // The reference: layers/pursuit.h's unrolled composition over the same dictionary (no tape kept).
  Dictionary d;
  d.gram_matrix = gram.view(Shape{channels, channels, 1, 1});
  d.step = eta;
  d.threshold = theta;
  d.mode = mode;
  d.form = GramForm::patch;
  const std::vector<float> beta = fista_momenta(iters);
  Tensor codes[3] = {Tensor::empty(code, DType::f32, dev), Tensor::empty(code, DType::f32, dev),
                     Tensor::empty(code, DType::f32, dev)};
  Tensor point = Tensor::empty(code, DType::f32, dev), product = Tensor::empty(code, DType::f32, dev);
  const double reference = best_ms(ctx, std::max(1, repeats / 2), [&] {
    first_code_forward(ctx, d, codes[0], b);
    for (int t = 1; t <= iters; ++t) {
      const Tensor& prev = codes[(t - 1) % 3];
      PursuitStep step;
      if (t >= 2 && beta[t] != 0) {
        fista_extrapolate_forward(ctx, point, prev, codes[(t - 2) % 3], beta[t]);
        step.point = point;
      } else {
        step.point = prev;
      }
      step.gram = product;
      pursuit_step_forward(ctx, d, codes[t % 3], b, step);
    }
  });
  Tensor grad = Tensor::empty(code, DType::f32, dev), beta_out = Tensor::empty(code, DType::f32, dev);
  fill_uniform(ctx, grad, -1, 1, RngKey{3, RngPurpose::test, 3});
  const double solve = best_ms(ctx, repeats, [&] { active_set_solve(ctx, beta_out, gram, gamma, grad, 1e-6); });
  const double fused_rate = dense / (fused * 1e-3) / 1e9, reference_rate = dense / (reference * 1e-3) / 1e9;
  std::printf(
      "%-28s nnz %4.1f%%  fused %8.2f ms %7.1f GFLOP/s %5.1f%%  reference %8.2f ms %7.1f GFLOP/s %5.1f%%  "
      "x%.2f  solve %7.2f ms\n",
      label.c_str(), 100 * density, fused, fused_rate, 100 * fused_rate / gemm, reference, reference_rate,
      100 * reference_rate / gemm, reference / fused, solve);
}

std::string label_of(const std::string& prefix, const Shape& code, int64_t atom, int iters) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s%lld×%lld×%lld×%lld a%lld K=%d", prefix.c_str(), static_cast<long long>(code[0]),
                static_cast<long long>(code[1]), static_cast<long long>(code[2]), static_cast<long long>(code[3]),
                static_cast<long long>(atom), iters);
  return buf;
}

// Random atoms of `p.atom` entries, b = Aᵀy of random patches, η = 1/λ_max, a shared θ for about `density`.
void run_synthetic(Context& ctx, const Problem& p, double density, int repeats, double gemm) {
  const Device dev = ctx.device();
  const Shape code{p.batch, p.channels, p.height, p.width};
  Tensor atoms = Tensor::empty({p.channels, p.atom}, DType::f32, dev);
  Tensor gram = Tensor::empty({p.channels, p.channels}, DType::f32, dev);
  fill_normal(ctx, atoms, 0, 1, RngKey{1, RngPurpose::test, 1});
  linear_forward(ctx, gram, atoms, atoms, Tensor());
  Tensor vector = Tensor::empty({p.channels}, DType::f32, dev), rho = Tensor::empty({1}, DType::f32, dev);
  Tensor eta = Tensor::empty({1}, DType::f32, dev);
  fill_normal(ctx, vector, 0, 1, RngKey{4, RngPurpose::test, 4});
  gram_power_iteration(ctx, vector, rho, eta, Tensor(), vector, gram, Tensor(), 200);
  const double lambda_max = rho.item();
  // b = Aᵀy for random patches y, (pixels, C) → (N, C, H, W) on the host: a bench, not a kernel.
  Tensor patches = Tensor::empty({p.batch * p.height * p.width, p.atom}, DType::f32, dev);
  fill_normal(ctx, patches, 0, 1, RngKey{2, RngPurpose::test, 2});
  Tensor bt = Tensor::empty({p.batch * p.height * p.width, p.channels}, DType::f32, dev);
  linear_forward(ctx, bt, patches, atoms, Tensor());
  const std::vector<double> bv = bt.to_vector();
  std::vector<double> bn(bv.size());
  const int64_t hw = p.height * p.width;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t q = 0; q < hw; ++q)
      for (int64_t c = 0; c < p.channels; ++c) bn[(n * p.channels + c) * hw + q] = bv[(n * hw + q) * p.channels + c];
  const Tensor b = Tensor::from_vector(bn, code).to(dev);
  Tensor gamma = Tensor::empty(code, DType::f32, dev), theta = Tensor::empty({1}, DType::f32, dev);
  Tensor absmax = Tensor::empty({1}, DType::f32, dev);
  reduce_max_abs(ctx, absmax, b);
  double lo = 0, hi = absmax.item() / lambda_max;
  for (int it = 0; it < 14; ++it) {  // bisection on θ for the density
    const double mid = (lo + hi) / 2;
    theta.copy_from(Tensor::from_vector({mid}, {1}));
    patch_pursuit_forward(ctx, gamma, Tensor(), b, gram, eta, theta, ThresholdMode::nonneg, p.iters, true);
    const std::vector<double> g = gamma.to_vector();
    int64_t k = 0;
    for (double e : g) k += e != 0;
    (static_cast<double>(k) / static_cast<double>(g.size()) > density ? lo : hi) = mid;
  }
  theta.copy_from(Tensor::from_vector({(lo + hi) / 2}, {1}));
  time_problem(ctx, label_of("", code, p.atom, p.iters), b, gram, eta, theta, ThresholdMode::nonneg, p.iters, repeats,
               gemm);
}

// A trained net's layers on one batch of real images.
void run_checkpoint(Context& ctx, Net& net, const Tensor& x, int repeats, double gemm) {
  net.forward(ctx, x, Mode::eval);
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    const NetNode& node = net.nodes()[i];
    const auto* layer = dynamic_cast<const SparseCodeLayer*>(node.layer.get());
    if (!layer || layer->config().pursuit != GramForm::patch || !layer->config().tied) continue;
    const SparseCodeLayer::PursuitView v = layer->last_pursuit(ctx, *node.state);
    const Shape in = net.input_shapes(static_cast<int>(i)).at(0);
    time_problem(ctx,
                 label_of(node.name + " ", v.b.shape(), in[0] * layer->config().kernel * layer->config().kernel,
                          layer->config().iters),
                 v.b, v.dictionary.gram_matrix, v.dictionary.step, v.dictionary.threshold, layer->config().mode,
                 layer->config().iters, repeats, gemm);
  }
}

}  // namespace
}  // namespace scn::bench

int main(int argc, char** argv) {
  using namespace scn;
  std::string config = std::string(SCN_SOURCE_DIR) + "/configs/cifar10/scn1.yaml", device = "cpu", checkpoint;
  std::string split = "val";
  std::vector<std::string> overrides;
  int64_t batch = 64;
  double density = 0.35;
  int repeats = 9;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "scn_pursuit_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--density")
      density = std::stod(next());
    else if (a == "--device")
      device = next();
    else if (a == "--repeats")
      repeats = std::stoi(next());
    else if (a == "--checkpoint")
      checkpoint = next();
    else if (a == "--split")
      split = next();
    else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: scn_pursuit_bench [CONFIG] [--batch N] [--density D] [--device cpu|cuda] [--repeats N]\n"
          "       scn_pursuit_bench --checkpoint CK [key=value ...] [--split val|test|train] [--batch N] ...\n");
      return 0;
    } else if (a.find('=') != std::string::npos)
      overrides.push_back(a);
    else
      config = a;
  }
  try {
    Context& ctx = Context::get(parse_device(device));
    const double gemm = measure_gemm_gflops(ctx);
    if (!checkpoint.empty()) {
      cli::CheckpointRun run = cli::load_checkpoint_run("", overrides, checkpoint, device);
      const Dataset data = load_split(run.config, split);
      BatchSource source(data, run.device, run.mean, run.std, AugmentParams{}, run.config.seed, false);
      source.start_epoch(0);
      Tensor x, y;
      const int64_t n = source.batch(ctx, 0, batch, x, y);
      std::printf(
          "%s on %s, %lld %s images: GEMM %.1f GFLOP/s (as scn profile measures it); rates count the dense "
          "work 2·C²·pixels per step\n",
          checkpoint.c_str(), device.c_str(), static_cast<long long>(n), split.c_str(), gemm);
      bench::run_checkpoint(ctx, *run.net, x, repeats, gemm);
      return 0;
    }
    const RunConfig rc = RunConfig::load(config, overrides);
    auto net = Net::build(rc.model);
    std::printf(
        "%s on %s, batch %lld: GEMM %.1f GFLOP/s (as scn profile measures it); rates count the dense work "
        "2·C²·pixels per step\n",
        config.c_str(), device.c_str(), static_cast<long long>(batch), gemm);
    std::set<std::tuple<int64_t, int64_t, int64_t, int64_t, int>> seen;
    for (size_t i = 0; i < net->nodes().size(); ++i) {
      const auto* layer = dynamic_cast<const SparseCodeLayer*>(net->nodes()[i].layer.get());
      if (!layer || layer->config().pursuit != GramForm::patch) continue;
      const Shape& out = net->nodes()[i].shape;
      const Shape in = net->input_shapes(static_cast<int>(i)).at(0);
      const int64_t atom = in[0] * layer->config().kernel * layer->config().kernel;
      if (!seen.insert({out[0], out[1], out[2], atom, layer->config().iters}).second) continue;
      bench::run_synthetic(ctx, {batch, out[0], out[1], out[2], atom, layer->config().iters}, density, repeats, gemm);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scn_pursuit_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
