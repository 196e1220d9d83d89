#include "core/distributed/communicator.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace scn {

namespace {

// An environment variable as a non-negative integer, or -1 when unset.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  SCN_CHECK(end && *end == '\0' && n >= 0 && n < (1 << 24), "the environment variable ", name, "=", v,
            " is not a rank or a count");
  return static_cast<int>(n);
}

// The first launcher whose variables are all set: {rank, size, local rank} names.
struct LauncherVars {
  const char* launcher;
  const char *rank, *size, *local;
};
constexpr LauncherVars kLaunchers[] = {
    {"mpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},  // Open MPI's mpirun
    {"mpi", "PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK"},                                  // PMIx (srun --mpi=pmix)
    {"mpi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},                                    // MPICH's Hydra
    {"scn", "SCN_RANK", "SCN_WORLD_SIZE", "SCN_LOCAL_RANK"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
};

}  // namespace

LaunchInfo detect_launch() {
  for (const LauncherVars& l : kLaunchers) {
    const int rank = env_int(l.rank), size = env_int(l.size);
    if (rank < 0 || size < 0) continue;
    SCN_CHECK(size >= 1 && rank < size, l.rank, "=", rank, " is not a rank of ", l.size, "=", size);
    const int local = env_int(l.local);
    return LaunchInfo{rank, size, local < 0 ? rank : local, l.launcher};
  }
  return LaunchInfo{};
}

Device rank_device(const std::string& requested, int local_rank) {
  Device d = parse_device(requested);
  const bool explicit_index = requested.find(':') != std::string::npos;
  if (d.is_cuda() && !explicit_index) d.index = local_rank % std::max(1, cuda_device_count());
  return d;
}

std::unique_ptr<Communicator> connect_ranks(const RanksOptions& o, Device device) {
  SCN_CHECK(o.mode == "auto" || o.mode == "mpi" || o.mode == "env" || o.mode == "off", "--ranks ", o.mode,
            ": expected auto, mpi, env or off");
  if (o.mode == "off") return nullptr;
  const LaunchInfo launch = detect_launch();
  if (o.mode == "env") {
    SCN_CHECK(launch.launcher == "scn" || launch.launcher == "slurm", "--ranks env: set SCN_RANK and SCN_WORLD_SIZE ",
              "(or run under Slurm's srun) for every process");
    SCN_CHECK(device.is_cuda(), "--ranks env connects GPUs through NCCL; a CPU run needs MPI (mpirun -np N scn train)");
    SCN_CHECK(!o.rendezvous.empty(), "--ranks env needs --rendezvous DIR, a folder every rank can reach");
    if (launch.size == 1) return nullptr;
    return connect_nccl(nullptr, launch, device, o.rendezvous, o.timeout_seconds);
  }
  const bool use_mpi = o.mode == "mpi" || launch.launcher == "mpi";
  if (!use_mpi) {
    SCN_CHECK(launch.size == 1, "this process is task ", launch.rank, " of ", launch.size, " (", launch.launcher,
              " variables) but no MPI launcher started it: use srun --mpi=pmix, mpirun, or --ranks env with NCCL");
    return nullptr;
  }
  SCN_CHECK(built_with_mpi(), "this scn was built without MPI (SCN_MPI=OFF, or libopenmpi-dev missing when it was ",
            "configured): it cannot train on ", launch.size, " ranks; run tools/setup.sh and rebuild");
  std::unique_ptr<Communicator> mpi = connect_mpi(o.timeout_seconds);
  if (mpi->size() == 1) return nullptr;
  if (device.is_cuda()) return connect_nccl(std::move(mpi), launch, device, "", o.timeout_seconds);
  return mpi;
}

bool any_rank(Communicator& comm, bool flag, const char* what) {
  double v = flag ? 1.0 : 0.0;
  comm.all_reduce_host(std::span<double>(&v, 1), Reduce::max, what);
  return v > 0;
}

double sum_over_ranks(Communicator& comm, double value, const char* what) {
  comm.all_reduce_host(std::span<double>(&value, 1), Reduce::sum, what);
  return value;
}

}  // namespace scn
