#pragma once
// The processes of one data-parallel run ("ranks") and the few collectives training needs. The transports are
// existing engines: MPI between CPU processes (core/distributed/mpi), NCCL between GPUs (core/cuda/nccl_*),
// bootstrapped through MPI or through a shared file (file_rendezvous.h). A run alone has no communicator at
// all (nullptr): nothing here is on the single-process path.
//
// Every collective is entered by every rank in the same order, and each watches its time: a rank that died or
// hangs makes the others stop with a message naming the collective (watchdog.h), never wait forever.
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "core/context.h"
#include "core/tensor.h"

namespace scn {

enum class Reduce { sum, average, max };

class Communicator {
 public:
  virtual ~Communicator() = default;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // This process's rank among those on its machine (which GPU it drives).
  int local_rank() const { return local_rank_; }
  bool is_root() const { return rank_ == 0; }
  // "mpi", "nccl (mpi bootstrap)", "nccl (file bootstrap)": for messages and logs.
  virtual std::string backend() const = 0;

  // In place; afterwards every rank holds the same values. t: contiguous f32 or f64 on this rank's training
  // device. On the CPU it returns when done; on a GPU it is queued on the communicator's own stream, after
  // the work already queued on ctx and before the work queued on ctx after it. `what` names it in messages.
  virtual void all_reduce(Context& ctx, const Tensor& t, Reduce op, const char* what) = 0;
  // Small host arrays (flags, counters, losses); returns when every rank has the result.
  virtual void all_reduce_host(std::span<double> values, Reduce op, const char* what) = 0;
  // The root's bytes to every rank.
  virtual void broadcast_host(std::span<std::byte> bytes, int root, const char* what) = 0;
  // Waits for the work queued on ctx, the queued collectives included, under the collective timeout: on a
  // GPU an all-reduce that waits for a dead rank shows here, at the host's next synchronisation.
  virtual void synchronize(Context& ctx, const char* what) {
    (void)what;
    ctx.synchronize();
  }
  // Ends every rank of the run now (after an error on this one, which the others cannot know of).
  [[noreturn]] virtual void abort(int exit_code) = 0;

 protected:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

// How `scn train` finds its ranks (`--ranks`):
//   auto  MPI when an MPI launcher started the process (mpirun, or srun --mpi=pmix), else alone
//   mpi   always through MPI (an error when scn was built without it)
//   env   rank and size from SCN_RANK/SCN_WORLD_SIZE (or Slurm's SLURM_PROCID/SLURM_NTASKS), GPUs only,
//         NCCL bootstrapped through the shared folder `rendezvous` (for schedulers without MPI)
//   off   alone, whatever the environment says
struct RanksOptions {
  std::string mode = "auto";
  std::string rendezvous;         // env: a folder every rank can read and write
  double timeout_seconds = 300;   // a collective that waits longer stops the run (watchdog.h)
};

// What the launcher's environment says of this process (rank 0 of 1 when nothing does).
struct LaunchInfo {
  int rank = 0, size = 1, local_rank = 0;
  std::string launcher;  // "", "mpi" (Open MPI, PMIx or PMI variables), "slurm", "scn" (SCN_RANK)
};
LaunchInfo detect_launch();

// The device this rank trains on: "cuda"/"auto" on a GPU machine becomes cuda:<local rank mod GPUs>
// (one rank per GPU); an explicit cuda:N is kept.
Device rank_device(const std::string& requested, int local_rank);

// Connects the ranks of this run, or returns nullptr when the process runs alone. `device` is the rank's
// training device: a CUDA device communicates through NCCL, the CPU through MPI.
std::unique_ptr<Communicator> connect_ranks(const RanksOptions& options, Device device);

// Built-in transports (defined where their library is; the others say they are missing).
bool built_with_mpi();
bool built_with_nccl();
std::unique_ptr<Communicator> connect_mpi(double timeout_seconds);
// host: the MPI communicator that bootstraps NCCL and carries host collectives, or nullptr (file bootstrap).
std::unique_ptr<Communicator> connect_nccl(std::unique_ptr<Communicator> host, const LaunchInfo& launch,
                                           Device device, const std::string& rendezvous, double timeout_seconds);

// Collectives on scalars, for the trainer (each is one all_reduce_host).
bool any_rank(Communicator& comm, bool flag, const char* what);
double sum_over_ranks(Communicator& comm, double value, const char* what);

}  // namespace scn
