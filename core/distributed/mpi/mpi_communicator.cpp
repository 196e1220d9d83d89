// The CPU transport: MPI (Debian's Open MPI). The gradient arena is all-reduced in place with MPI_Allreduce;
// averages are sums scaled by 1/size afterwards (MPI has no average). MPI is initialised here, once per
// process, and finalised when the communicator goes.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "core/distributed/communicator.h"
#include "core/distributed/watchdog.h"
#include "core/error.h"

namespace scn {

namespace {

MPI_Op mpi_op(Reduce op) { return op == Reduce::max ? MPI_MAX : MPI_SUM; }

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      // Only the main thread calls MPI (OpenMP workers and the watchdog never do).
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      owns_mpi_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
    const LaunchInfo launch = detect_launch();
    // srun without an MPI plugin starts every task as an MPI singleton: each would train alone on all data.
    SCN_CHECK(launch.launcher != "slurm" || launch.size == size_, "Slurm started ", launch.size,
              " tasks but MPI sees ", size_, ": launch with srun --mpi=pmix (or mpirun)");
    watchdog_ = std::make_unique<Watchdog>(timeout_seconds, rank_);
  }
  ~MpiCommunicator() override {
    watchdog_.reset();
    if (owns_mpi_) MPI_Finalize();
  }
  std::string backend() const override { return "mpi"; }

  void all_reduce(Context&, const Tensor& t, Reduce op, const char* what) override {
    SCN_CHECK(t.device().is_cpu(), "the MPI transport all-reduces CPU tensors; ", what, " is on ", t.device().str(),
              " (GPU runs use NCCL)");
    SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, what, ": all-reduce of ", dtype_name(t.dtype()));
    SCN_CHECK(t.numel() < (int64_t(1) << 31), what, ": ", t.numel(), " elements are more than one MPI call takes");
    const int n = static_cast<int>(t.numel());
    {
      Watchdog::Scope scope(*watchdog_, what);
      if (t.dtype() == DType::f32) {
        MPI_Allreduce(MPI_IN_PLACE, t.data<float>(), n, MPI_FLOAT, mpi_op(op), MPI_COMM_WORLD);
      } else {
        MPI_Allreduce(MPI_IN_PLACE, t.data<double>(), n, MPI_DOUBLE, mpi_op(op), MPI_COMM_WORLD);
      }
    }
    if (op != Reduce::average) return;
    if (t.dtype() == DType::f32) {
      float* p = t.data<float>();
      const float inv = 1.0f / static_cast<float>(size_);
#pragma omp parallel for simd schedule(static)
      for (int i = 0; i < n; ++i) p[i] *= inv;
    } else {
      double* p = t.data<double>();
      const double inv = 1.0 / size_;
      for (int i = 0; i < n; ++i) p[i] *= inv;
    }
  }

  void all_reduce_host(std::span<double> values, Reduce op, const char* what) override {
    {
      Watchdog::Scope scope(*watchdog_, what);
      MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, mpi_op(op),
                    MPI_COMM_WORLD);
    }
    if (op == Reduce::average)
      for (double& v : values) v /= size_;
  }

  void broadcast_host(std::span<std::byte> bytes, int root, const char* what) override {
    Watchdog::Scope scope(*watchdog_, what);
    MPI_Bcast(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, root, MPI_COMM_WORLD);
  }

  [[noreturn]] void abort(int exit_code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  bool owns_mpi_ = false;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace

bool built_with_mpi() { return true; }

std::unique_ptr<Communicator> connect_mpi(double timeout_seconds) {
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace scn
