// Kernel benchmarks: every memory-bound kernel of a training step, timed on large tensors and reported as
// GB/s against the measured copy bandwidth of the same device.
//   scn_bench                      CPU twins through Google Benchmark (any --benchmark_* flag works)
//   scn_bench --gpu [--mib N]      CUDA kernels timed with CUDA events: warm-up, L2 flushed between runs,
//                                  median of 20; each kernel is first validated against its CPU twin on a
//                                  fresh random input of odd size.
// Variants: v1 is the only variant of each kernel today (grid-stride, 16-byte vector access where aligned,
// scalar tail; reductions in two deterministic passes). tools/bench/README.md holds the predictions.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/philox.h"
#include "core/timer.h"
#include "kernels/augment.h"
#include "kernels/batch_norm.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/ista_update.h"
#include "kernels/optimizer.h"
#include "kernels/random_fill.h"
#include "kernels/soft_threshold.h"

namespace scn::bench {

// One kernel on an (N, C, H, W) problem of about `elements` floats: what it moves, and how to run it.
struct Kernel {
  std::string name;
  double bytes_per_element;  // the fewest bytes it must move per element: each input read, each output written
  // Builds the inputs on `ctx`'s device from `seed` and returns the launch.
  std::function<std::function<void()>(Context& ctx, int64_t elements, uint64_t seed, std::vector<Tensor>& keep)> make;
};

Shape nchw(int64_t elements) {
  // Channel planes of 32×32, 64 channels; the batch fills the rest.
  return Shape{std::max<int64_t>(1, elements / (64 * 1024)), 64, 32, 32};
}

Tensor random(Context& ctx, const Shape& s, uint64_t seed, int stream, float lo = -1, float hi = 1) {
  Tensor t = Tensor::empty(s, DType::f32, ctx.device());
  fill_uniform(ctx, t, lo, hi, RngKey{seed, RngPurpose::test, static_cast<uint64_t>(stream) << 40});
  return t;
}

std::vector<Kernel> kernels() {
  std::vector<Kernel> k;
  k.push_back({"copy", 8, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 Tensor a = random(ctx, {n}, seed, 0), b = Tensor::empty({n}, DType::f32, ctx.device());
                 keep = {a, b};
                 return std::function<void()>([a, b] { b.copy_from(a); });
               }});
  k.push_back({"soft_threshold_forward", 8, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor x = random(ctx, s, seed, 0), y = Tensor::empty(s, DType::f32, ctx.device());
                 Tensor th = random(ctx, {s[1]}, seed, 1, 0, 0.5);
                 keep = {x, y, th};
                 return std::function<void()>([&ctx, x, y, th] { soft_threshold_forward(ctx, y, x, th, ThresholdMode::nonneg); });
               }});
  k.push_back({"soft_threshold_backward", 12, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor x = random(ctx, s, seed, 0), g = random(ctx, s, seed, 2), dx = Tensor::empty(s, DType::f32, ctx.device());
                 Tensor th = random(ctx, {s[1]}, seed, 1, 0, 0.5), dth = Tensor::empty({s[1]}, DType::f32, ctx.device());
                 keep = {x, g, dx, th, dth};
                 return std::function<void()>(
                     [&ctx, x, g, dx, th, dth] { soft_threshold_backward(ctx, dx, dth, g, x, th, ThresholdMode::nonneg, false); });
               }});
  k.push_back({"ista_update_forward", 16, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor z = random(ctx, s, seed, 0), b = random(ctx, s, seed, 1), G = random(ctx, s, seed, 2);
                 Tensor y = Tensor::empty(s, DType::f32, ctx.device()), th = random(ctx, {s[1]}, seed, 3, 0, 0.5);
                 Tensor eta = random(ctx, {1}, seed, 4, 0.2f, 0.5f);
                 keep = {z, b, G, y, th, eta};
                 return std::function<void()>(
                     [&ctx, z, b, G, y, th, eta] { ista_update_forward(ctx, y, z, b, G, eta, th, ThresholdMode::nonneg); });
               }});
  k.push_back({"ista_update_backward", 20, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor z = random(ctx, s, seed, 0), b = random(ctx, s, seed, 1), G = random(ctx, s, seed, 2);
                 Tensor g = random(ctx, s, seed, 5), gp = Tensor::empty(s, DType::f32, ctx.device());
                 Tensor th = random(ctx, {s[1]}, seed, 3, 0, 0.5), eta = random(ctx, {1}, seed, 4, 0.2f, 0.5f);
                 Tensor dth = Tensor::empty({s[1]}, DType::f32, ctx.device()), de = Tensor::empty({1}, DType::f32, ctx.device());
                 keep = {z, b, G, g, gp, th, eta, dth, de};
                 return std::function<void()>([&ctx, z, b, G, g, gp, th, eta, dth, de] {
                   ista_update_backward(ctx, gp, dth, de, g, z, b, G, eta, th, ThresholdMode::nonneg, false);
                 });
               }});
  k.push_back({"fista_extrapolate_forward", 12, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor a = random(ctx, s, seed, 0), b = random(ctx, s, seed, 1), z = Tensor::empty(s, DType::f32, ctx.device());
                 keep = {a, b, z};
                 return std::function<void()>([&ctx, a, b, z] { fista_extrapolate_forward(ctx, z, a, b, 0.3f); });
               }});
  k.push_back({"batch_norm_forward_training", 8, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor x = random(ctx, s, seed, 0), y = Tensor::empty(s, DType::f32, ctx.device());
                 Tensor m = Tensor::empty({s[1]}, DType::f32, ctx.device()), is = Tensor::empty({s[1]}, DType::f32, ctx.device());
                 keep = {x, y, m, is};
                 return std::function<void()>([&ctx, x, y, m, is] {
                   batch_norm_forward_training(ctx, y, m, is, Tensor(), Tensor(), x, Tensor(), Tensor(), 0.1, 1e-5);
                 });
               }});
  k.push_back({"batch_norm_backward", 12, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 const Shape s = nchw(n);
                 Tensor x = random(ctx, s, seed, 0), g = random(ctx, s, seed, 1), dx = Tensor::empty(s, DType::f32, ctx.device());
                 Tensor m = random(ctx, {s[1]}, seed, 2), is = random(ctx, {s[1]}, seed, 3, 0.5f, 2.0f);
                 keep = {x, g, dx, m, is};
                 return std::function<void()>([&ctx, x, g, dx, m, is] {
                   batch_norm_backward(ctx, dx, Tensor(), Tensor(), g, x, m, is, Tensor(), false);
                 });
               }});
  k.push_back({"sgd_step", 20, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 // values, velocity, gradients: read w, v, g; write w, v.
                 auto arena = std::make_shared<ParamArena>();
                 arena->add({"w", Shape{n}});
                 arena->allocate(ctx.device());
                 arena->values().copy_from(random(ctx, {arena->values().numel()}, seed, 0));
                 arena->grads().copy_from(random(ctx, {arena->grads().numel()}, seed, 1));
                 auto table = std::make_shared<ParamTable>(make_param_table(*arena));
                 Tensor v = Tensor::zeros(arena->values().shape(), DType::f32, ctx.device());
                 keep = {arena->values(), arena->grads(), v};
                 return std::function<void()>([&ctx, arena, table, v] {
                   sgd_step(ctx, *table, arena->values(), v, arena->grads(), SgdOptions{0.01f, 0.9f, 5e-4f, false, Tensor()});
                 });
               }});
  k.push_back({"augment_batch", 5, [](Context& ctx, int64_t n, uint64_t seed, std::vector<Tensor>& keep) {
                 // uint8 images in, float out: 1 + 4 bytes per output element (the index list is negligible).
                 const int64_t b = std::max<int64_t>(1, n / (3 * 32 * 32));
                 Tensor images = Tensor::empty({b, 3, 32, 32}, DType::u8, ctx.device());
                 std::vector<double> px(static_cast<size_t>(images.numel()));
                 for (size_t i = 0; i < px.size(); ++i) px[i] = philox_bits(RngKey{seed, RngPurpose::test, 0}, i) & 255;
                 images.copy_from(Tensor::from_vector(px, images.shape(), DType::u8).to(ctx.device()));
                 std::vector<double> order(static_cast<size_t>(b));
                 for (int64_t i = 0; i < b; ++i) order[i] = static_cast<double>((i * 7919) % b);
                 Tensor idx = Tensor::from_vector(order, {b}, DType::i32).to(ctx.device());
                 Tensor mean = Tensor::from_vector({0.5, 0.5, 0.5}, {3}).to(ctx.device());
                 Tensor sd = Tensor::from_vector({0.25, 0.25, 0.25}, {3}).to(ctx.device());
                 Tensor out = Tensor::empty({b, 3, 32, 32}, DType::f32, ctx.device());
                 keep = {images, idx, mean, sd, out};
                 return std::function<void()>([&ctx, out, images, idx, mean, sd] {
                   augment_batch(ctx, out, images, idx, mean, sd, AugmentParams{4, true}, RngKey{1, RngPurpose::augment, 0});
                 });
               }});
  return k;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs `k` on the GPU and the CPU on the same fresh odd-sized input and compares every output tensor.
bool validate_on_gpu(const Kernel& k, uint64_t seed) {
  const int64_t odd = 3 * 64 * 1024 + 7 * 1024;  // not a power of two
  Context& cpu = Context::get(Device::cpu());
  Context& gpu = Context::get(Device::cuda(0));
  std::vector<Tensor> a, b;
  auto run_cpu = k.make(cpu, odd, seed, a);
  auto run_gpu = k.make(gpu, odd, seed, b);
  run_cpu();
  run_gpu();
  gpu.synchronize();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype() != DType::f32) continue;
    std::vector<double> x = a[i].to_vector(), y = b[i].to_vector();
    for (size_t j = 0; j < x.size(); ++j)
      if (!(std::abs(x[j] - y[j]) <= 1e-4 + 1e-3 * std::abs(x[j]))) {
        std::printf("  %s: output %zu element %zu: cpu %.7g gpu %.7g\n", k.name.c_str(), i, j, x[j], y[j]);
        return false;
      }
  }
  return true;
}

int run_gpu(int64_t mib) {
  if (cuda_device_count() == 0) {
    std::printf("scn_bench --gpu: no CUDA device on this machine\n");
    return 1;
  }
  Context& ctx = Context::get(Device::cuda(0));
  const int64_t elements = mib * (int64_t(1) << 20) / 4;
  Tensor flush = Tensor::empty({int64_t(256) << 20 >> 2}, DType::f32, ctx.device());  // larger than L2
  double copy_gbps = 0;
  std::printf("%-28s %6s %10s %9s %8s %7s\n", "kernel", "valid", "MB moved", "ms", "GB/s", "%copy");
  for (const Kernel& k : kernels()) {
    const bool ok = k.name == "copy" || validate_on_gpu(k, 99);
    std::vector<Tensor> keep;
    auto launch = k.make(ctx, elements, 7, keep);
    DeviceTimer timer(ctx, 64);
    std::vector<double> ms;
    launch();  // warm-up
    for (int i = 0; i < 20; ++i) {
      fill_uniform(ctx, flush, 0, 1, RngKey{5, RngPurpose::test, static_cast<uint64_t>(i)});  // evict L2
      const int s = timer.mark();
      launch();
      ms.push_back(timer.elapsed_ms(s, timer.mark()));
      if (timer.used() > 60) timer.reset();
    }
    const double t = median(ms), bytes = k.bytes_per_element * static_cast<double>(elements);
    const double gbps = bytes / (t * 1e-3) / 1e9;
    if (k.name == "copy") copy_gbps = gbps;
    std::printf("%-28s %6s %10.1f %9.3f %8.1f %6.1f%%\n", k.name.c_str(), ok ? "yes" : "NO", bytes / 1e6, t, gbps,
                copy_gbps > 0 ? 100 * gbps / copy_gbps : 0);
    if (!ok) return 1;
  }
  return 0;
}

void register_cpu_benchmarks() {
  static std::vector<Kernel> all = kernels();
  for (const Kernel& k : all) {
    benchmark::RegisterBenchmark(("cpu/" + k.name).c_str(), [&k](benchmark::State& state) {
      Context& ctx = Context::get(Device::cpu());
      const int64_t elements = int64_t(16) << 20;  // 64 MiB of floats: far beyond the caches
      std::vector<Tensor> keep;
      auto launch = k.make(ctx, elements, 7, keep);
      for (auto _ : state) launch();
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k.bytes_per_element * elements));
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace scn::bench

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--gpu") == 0) {
      int64_t mib = 256;
      if (i + 2 < argc && std::strcmp(argv[i + 1], "--mib") == 0) mib = std::atoll(argv[i + 2]);
      return scn::bench::run_gpu(mib);
    }
  }
  scn::bench::register_cpu_benchmarks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
