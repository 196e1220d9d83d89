// The patch pursuit's compute-bound ops at the shapes of a config's sparse-coding layers (SCN's by default):
//   scn_pursuit_bench [CONFIG] [--batch N] [--density D] [--device cpu|cuda] [--repeats N]
// For each distinct layer shape: the fused pursuit (kernels/patch_pursuit.h) and its unfused reference (a 1×1
// convolution by AᵀA, the ISTA update and the FISTA extrapolation per step, as layers/pursuit.h composes them),
// counted as dense work, 2·C²·pixels per step, against the GEMM rate `scn profile` measures on the same device;
// and the implicit backward's active-set solve on the codes the pursuit produced. Codes are made to have about
// D non-zeros (trained SCN-1 layers: 0.2–0.5) by a shared threshold found by bisection; the atoms are random.
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
#include "kernels/ista_update.h"
#include "kernels/linear.h"
#include "kernels/patch_pursuit.h"
#include "kernels/random_fill.h"
#include "kernels/reduce.h"
#include "layers/pursuit.h"
#include "layers/sparse_code.h"
#include "models/net.h"
#include "models/profiler.h"
#include "models/run_config.h"

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

void run_problem(Context& ctx, const Problem& p, double density, int repeats, double gemm) {
  const Device dev = ctx.device();
  const Shape code{p.batch, p.channels, p.height, p.width};
  Tensor atoms = Tensor::empty({p.channels, p.atom}, DType::f32, dev),
         gram = Tensor::empty({p.channels, p.channels}, DType::f32, dev);
  fill_normal(ctx, atoms, 0, 1, RngKey{1, RngPurpose::test, 1});
  linear_forward(ctx, gram, atoms, atoms, Tensor());
  const double lambda_max = [&] {  // η = 1/λ_max(M) by a few power iterations on the host
    const std::vector<double> m = gram.to_vector();
    std::vector<double> v(p.channels, 1.0);
    double rho = 1;
    for (int it = 0; it < 100; ++it) {
      std::vector<double> n(p.channels, 0.0);
      for (int64_t i = 0; i < p.channels; ++i)
        for (int64_t j = 0; j < p.channels; ++j) n[i] += m[i * p.channels + j] * v[j];
      rho = 0;
      for (double e : n) rho += e * e;
      rho = std::sqrt(rho);
      for (int64_t i = 0; i < p.channels; ++i) v[i] = n[i] / rho;
    }
    return rho;
  }();
  Tensor eta = Tensor::from_vector({1.0 / lambda_max}, {1}).to(dev);
  // b = Aᵀy for random patches y: the correlations a layer's convolution gives.
  Tensor patches = Tensor::empty({p.batch * p.height * p.width, p.atom}, DType::f32, dev);
  fill_normal(ctx, patches, 0, 1, RngKey{2, RngPurpose::test, 2});
  Tensor bt = Tensor::empty({p.batch * p.height * p.width, p.channels}, DType::f32, dev);
  linear_forward(ctx, bt, patches, atoms, Tensor());
  // (pixels, C) → (N, C, H, W) on the host: a bench, not a kernel.
  const std::vector<double> bv = bt.to_vector();
  std::vector<double> bn(bv.size());
  const int64_t hw = p.height * p.width;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t q = 0; q < hw; ++q)
      for (int64_t c = 0; c < p.channels; ++c) bn[(n * p.channels + c) * hw + q] = bv[(n * hw + q) * p.channels + c];
  Tensor b = Tensor::from_vector(bn, code).to(dev);
  Tensor gamma = Tensor::empty(code, DType::f32, dev), nnz = Tensor::empty({1}, DType::f32, dev);
  Tensor theta = Tensor::empty({1}, DType::f32, dev);
  // A shared θ (the applied threshold ηλ) that leaves about `density` of the codes non-zero.
  double lo = 0, hi = 0;
  {
    Tensor absmax = Tensor::empty({1}, DType::f32, dev);
    reduce_max_abs(ctx, absmax, b);
    hi = absmax.item() / lambda_max;
  }
  double achieved = 1;
  auto density_at = [&](double t) {
    theta.copy_from(Tensor::from_vector({t}, {1}));
    patch_pursuit_forward(ctx, gamma, Tensor(), b, gram, eta, theta, ThresholdMode::nonneg, p.iters, true);
    const std::vector<double> g = gamma.to_vector();
    int64_t k = 0;
    for (double e : g) k += e != 0;
    return static_cast<double>(k) / static_cast<double>(g.size());
  };
  for (int it = 0; it < 14; ++it) {
    const double mid = (lo + hi) / 2;
    achieved = density_at(mid);
    (achieved > density ? lo : hi) = mid;
  }
  achieved = density_at((lo + hi) / 2);
  const double dense = 2.0 * static_cast<double>(gamma.numel()) * static_cast<double>(p.channels) * p.iters;
  const double fused = best_ms(ctx, repeats, [&] {
    patch_pursuit_forward(ctx, gamma, Tensor(), b, gram, eta, theta, ThresholdMode::nonneg, p.iters, true);
  });
  // The reference: layers/pursuit.h's unrolled composition over the same dictionary (no tape kept).
  Dictionary d;
  d.gram_matrix = gram.view(Shape{p.channels, p.channels, 1, 1});
  d.step = eta;
  d.threshold = theta;
  d.form = GramForm::patch;
  const std::vector<float> beta = fista_momenta(p.iters);
  Tensor codes[3] = {Tensor::empty(code, DType::f32, dev), Tensor::empty(code, DType::f32, dev),
                     Tensor::empty(code, DType::f32, dev)};
  Tensor point = Tensor::empty(code, DType::f32, dev), g = Tensor::empty(code, DType::f32, dev);
  const double reference = best_ms(ctx, std::max(1, repeats / 2), [&] {
    first_code_forward(ctx, d, codes[0], b);
    for (int t = 1; t <= p.iters; ++t) {
      const Tensor& prev = codes[(t - 1) % 3];
      PursuitStep step;
      if (t >= 2 && beta[t] != 0) {
        fista_extrapolate_forward(ctx, point, prev, codes[(t - 2) % 3], beta[t]);
        step.point = point;
      } else {
        step.point = prev;
      }
      step.gram = g;
      pursuit_step_forward(ctx, d, codes[t % 3], b, step);
    }
  });
  Tensor grad = Tensor::empty(code, DType::f32, dev), beta_out = Tensor::empty(code, DType::f32, dev);
  fill_uniform(ctx, grad, -1, 1, RngKey{3, RngPurpose::test, 3});
  const double solve = best_ms(ctx, repeats, [&] { active_set_solve(ctx, beta_out, gram, gamma, grad, 1e-6); });
  const double fused_rate = dense / (fused * 1e-3) / 1e9, reference_rate = dense / (reference * 1e-3) / 1e9;
  std::printf(
      "%4lld×%3lld×%2lld×%-2lld K=%-3d nnz %4.1f%%  fused %8.2f ms %7.1f GFLOP/s %5.1f%%  reference %8.2f ms %7.1f "
      "GFLOP/s %5.1f%%  x%.2f  solve %7.2f ms\n",
      static_cast<long long>(p.batch), static_cast<long long>(p.channels), static_cast<long long>(p.height),
      static_cast<long long>(p.width), p.iters, 100 * achieved, fused, fused_rate, 100 * fused_rate / gemm, reference,
      reference_rate, 100 * reference_rate / gemm, reference / fused, solve);
}

}  // namespace
}  // namespace scn::bench

int main(int argc, char** argv) {
  using namespace scn;
  std::string config = std::string(SCN_SOURCE_DIR) + "/configs/cifar10/scn1.yaml", device = "cpu";
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
    else if (a == "-h" || a == "--help") {
      std::printf("usage: scn_pursuit_bench [CONFIG] [--batch N] [--density D] [--device cpu|cuda] [--repeats N]\n");
      return 0;
    } else
      config = a;
  }
  try {
    const RunConfig rc = RunConfig::load(config, {});
    auto net = Net::build(rc.model);
    Context& ctx = Context::get(parse_device(device));
    const double gemm = measure_gemm_gflops(ctx);
    std::printf(
        "%s on %s, batch %lld: GEMM %.1f GFLOP/s (as scn profile measures it); rates count the dense work 2·C²·pixels "
        "per step\n",
        config.c_str(), device.c_str(), static_cast<long long>(batch), gemm);
    std::set<std::tuple<int64_t, int64_t, int64_t, int64_t, int>> seen;
    for (size_t i = 0; i < net->nodes().size(); ++i) {
      const auto* layer = dynamic_cast<const SparseCodeLayer*>(net->nodes()[i].layer.get());
      if (!layer || layer->config().pursuit != GramForm::patch) continue;
      const Shape& out = net->nodes()[i].shape;
      const Shape in = net->input_shapes(static_cast<int>(i)).at(0);
      const int64_t atom = in[0] * layer->config().kernel * layer->config().kernel;
      if (!seen.insert({out[0], out[1], out[2], atom, layer->config().iters}).second) continue;
      bench::run_problem(ctx, {batch, out[0], out[1], out[2], atom, layer->config().iters}, density, repeats, gemm);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scn_pursuit_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
