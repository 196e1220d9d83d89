// The data-parallel all-reduce measured: the time of one all-reduce of a gradient arena (f32, in place,
// averaged, as the trainer does every step) across the ranks this program was started on, for a sweep of sizes
// and for the arenas of the configs given, in GB/s.
//   mpirun -np 2 scn_ranks_bench [CONFIG ...] [--device cpu|cuda] [--repeat N]
// algbw = bytes / time; busbw = algbw · 2(R − 1)/R (the bytes each rank sends and receives in a ring
// all-reduce; nccl-tests' convention), so a CPU run over MPI and a GPU run over NCCL read the same way.
// Rank 0 prints; tools/bench/ranks_scaling.sh puts these next to the training throughput of 1 and 2 ranks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/distributed/communicator.h"
#include "core/error.h"
#include "models/net.h"
#include "models/run_config.h"

namespace {

// Median seconds of one all-reduce of `floats` f32 values (after warm-up).
double all_reduce_seconds(scn::Communicator& comm, scn::Context& ctx, int64_t floats, int repeat) {
  scn::Tensor t = scn::Tensor::zeros({floats}, scn::DType::f32, ctx.device());
  std::vector<double> times;
  for (int i = 0; i < repeat + 3; ++i) {
    scn::any_rank(comm, false, "bench barrier");
    const auto start = std::chrono::steady_clock::now();
    comm.all_reduce(ctx, t, scn::Reduce::average, "bench all-reduce");
    ctx.synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i >= 3) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  double t_med = times[times.size() / 2];
  // The slowest rank's time is the collective's.
  comm.all_reduce_host(std::span<double>(&t_med, 1), scn::Reduce::max, "bench time");
  return t_med;
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> configs;
  std::string device = "cpu";
  int repeat = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) {
      device = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::stoi(argv[++i]));
    } else if (a.rfind("--", 0) != 0) {
      configs.push_back(a);
    } else {
      throw scn::Error("usage: mpirun -np N scn_ranks_bench [CONFIG ...] [--device cpu|cuda] [--repeat N]");
    }
  }
  const scn::LaunchInfo launch = scn::detect_launch();
  scn::RanksOptions options;
  options.mode = "mpi";
  const scn::Device dev = scn::rank_device(device, launch.local_rank);
  std::unique_ptr<scn::Communicator> comm = scn::connect_ranks(options, dev);
  if (!comm) throw scn::Error("scn_ranks_bench needs several ranks: mpirun -np 2 scn_ranks_bench");
  scn::Context& ctx = scn::Context::get(dev);
  const int r = comm->size();
  std::vector<std::pair<std::string, int64_t>> sizes;
  for (int64_t n : {int64_t(1) << 12, int64_t(1) << 16, int64_t(1) << 20, int64_t(1) << 22, int64_t(1) << 24})
    sizes.emplace_back("sweep", n);
  for (const std::string& c : configs) {
    auto net = scn::Net::build(scn::RunConfig::load(c, {}).model);
    net->initialize(scn::Device::cpu(), 1);
    sizes.emplace_back(c, net->params().grads().numel());
  }
  if (comm->is_root())
    std::printf("all-reduce (average, f32, in place) over %d ranks, %s on %s; median of %d\n%-44s %12s %12s %10s %10s\n",
                r, comm->backend().c_str(), dev.str().c_str(), repeat, "arena", "bytes", "time", "algbw", "busbw");
  for (const auto& [name, floats] : sizes) {
    const double s = all_reduce_seconds(*comm, ctx, floats, repeat);
    const double bytes = 4.0 * static_cast<double>(floats);
    const double algbw = bytes / s / 1e9, busbw = algbw * 2.0 * (r - 1) / r;
    if (comm->is_root())
      std::printf("%-44s %12.0f %9.3f ms %6.2f GB/s %6.2f GB/s\n", name.c_str(), bytes, 1e3 * s, algbw, busbw);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "scn_ranks_bench: %s\n", e.what());
  return 1;
}
