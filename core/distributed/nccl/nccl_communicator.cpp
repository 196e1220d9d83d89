// The GPU transport: NCCL, one rank per GPU, as llm.c's llmc/zero.cuh does it. The ncclUniqueId travels
// through MPI (mpirun, srun --mpi=pmix) or a shared file (--ranks env); ncclCommInitRank joins the ranks.
// Collectives run on a stream of their own: an event recorded on the compute stream orders the all-reduce
// after the backward pass, and one recorded after it orders the optimizer step after the all-reduce, so the
// host never waits for the network and the compute stream never waits for more than it needs.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/cuda/check.h"
#include "core/cuda/resources.h"
#include "core/distributed/communicator.h"
#include "core/distributed/file_rendezvous.h"
#include "core/distributed/watchdog.h"
#include "core/error.h"

#define SCN_NCCL_CHECK(expr)                                                                         \
  do {                                                                                               \
    const ncclResult_t scn_nccl_result = (expr);                                                     \
    SCN_CHECK(scn_nccl_result == ncclSuccess, #expr, " failed: ", ncclGetErrorString(scn_nccl_result), \
              " (", ncclGetLastError(nullptr), ")");                                                 \
  } while (0)

namespace scn {

namespace {

ncclDataType_t nccl_type(const Tensor& t, const char* what) {
  if (t.dtype() == DType::f32) return ncclFloat32;
  SCN_CHECK(t.dtype() == DType::f64, what, ": all-reduce of ", dtype_name(t.dtype()));
  return ncclFloat64;
}

ncclRedOp_t nccl_op(Reduce op) { return op == Reduce::average ? ncclAvg : op == Reduce::max ? ncclMax : ncclSum; }

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> host, const LaunchInfo& launch, Device device,
                   const std::string& rendezvous, double timeout_seconds)
      : host_(std::move(host)), device_(device) {
    rank_ = host_ ? host_->rank() : launch.rank;
    size_ = host_ ? host_->size() : launch.size;
    local_rank_ = host_ ? host_->local_rank() : launch.local_rank;
    SCN_CUDA_CHECK(cudaSetDevice(device_.index));
    watchdog_ = std::make_unique<Watchdog>(timeout_seconds, rank_, [this] {
      if (comm_) ncclCommAbort(comm_);
    });
    ncclUniqueId id;
    if (rank_ == 0) SCN_NCCL_CHECK(ncclGetUniqueId(&id));
    if (host_) {
      host_->broadcast_host(std::as_writable_bytes(std::span(&id, 1)), 0, "broadcast of the NCCL id");
    } else {
      std::vector<char> blob(sizeof id);
      std::memcpy(blob.data(), &id, sizeof id);
      blob = file_rendezvous(rendezvous, "nccl-id", rank_, blob, timeout_seconds);
      std::memcpy(&id, blob.data(), sizeof id);
    }
    {
      Watchdog::Scope scope(*watchdog_, "NCCL initialisation (ncclCommInitRank)");
      SCN_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
    }
    // ncclCommInitRank returns once every rank has joined, so every rank has read the id.
    if (!host_) finish_file_rendezvous(rendezvous, "nccl-id", rank_);
    SCN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    SCN_CUDA_CHECK(cudaEventCreateWithFlags(&inputs_ready_, cudaEventDisableTiming));
    SCN_CUDA_CHECK(cudaEventCreateWithFlags(&reduced_, cudaEventDisableTiming));
  }
  ~NcclCommunicator() override {
    watchdog_.reset();
    if (comm_) ncclCommDestroy(comm_);
    if (staging_) cudaFree(staging_);
    if (reduced_) cudaEventDestroy(reduced_);
    if (inputs_ready_) cudaEventDestroy(inputs_ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  std::string backend() const override {
    return std::string("nccl (") + (host_ ? "mpi" : "file") + " bootstrap)";
  }

  void all_reduce(Context& ctx, const Tensor& t, Reduce op, const char* what) override {
    SCN_CHECK(t.device() == device_, what, " is on ", t.device().str(), ", this rank's NCCL device is ",
              device_.str());
    const ncclDataType_t type = nccl_type(t, what);
    cudaStream_t compute = stream_of(ctx);
    SCN_CUDA_CHECK(cudaEventRecord(inputs_ready_, compute));
    SCN_CUDA_CHECK(cudaStreamWaitEvent(stream_, inputs_ready_, 0));
    {
      Watchdog::Scope scope(*watchdog_, what);  // enqueueing; the wait itself shows at the next synchronisation
      SCN_NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()), type, nccl_op(op), comm_,
                                   stream_));
    }
    SCN_CUDA_CHECK(cudaEventRecord(reduced_, stream_));
    SCN_CUDA_CHECK(cudaStreamWaitEvent(compute, reduced_, 0));
  }

  void synchronize(Context& ctx, const char* what) override {
    Watchdog::Scope scope(*watchdog_, what);
    ctx.synchronize();
  }

  void all_reduce_host(std::span<double> values, Reduce op, const char* what) override {
    if (host_) return host_->all_reduce_host(values, op, what);
    Watchdog::Scope scope(*watchdog_, what);
    void* buffer = staging(std::as_bytes(values));
    SCN_NCCL_CHECK(ncclAllReduce(buffer, buffer, values.size(), ncclFloat64, nccl_op(op), comm_, stream_));
    unstage(std::as_writable_bytes(values));
  }

  void broadcast_host(std::span<std::byte> bytes, int root, const char* what) override {
    if (host_) return host_->broadcast_host(bytes, root, what);
    Watchdog::Scope scope(*watchdog_, what);
    void* buffer = staging(bytes);
    SCN_NCCL_CHECK(ncclBroadcast(buffer, buffer, bytes.size(), ncclUint8, root, comm_, stream_));
    unstage(bytes);
  }

  [[noreturn]] void abort(int exit_code) override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    if (host_) host_->abort(exit_code);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(exit_code);
  }

 private:
  // Host collectives without an MPI host (--ranks env) go through NCCL, so their values travel through a device
  // buffer. It grows to the largest request (an evaluation's totals: 4 + classes² values) and is then reused.
  void* staging(std::span<const std::byte> host) {
    if (host.size() > staging_bytes_) {
      if (staging_) SCN_CUDA_CHECK(cudaFree(staging_));
      staging_ = nullptr;
      staging_bytes_ = 0;
      SCN_CUDA_CHECK(cudaMalloc(&staging_, host.size()));
      staging_bytes_ = host.size();
    }
    SCN_CUDA_CHECK(cudaMemcpyAsync(staging_, host.data(), host.size(), cudaMemcpyHostToDevice, stream_));
    return staging_;
  }
  void unstage(std::span<std::byte> host) {
    SCN_CUDA_CHECK(cudaMemcpyAsync(host.data(), staging_, host.size(), cudaMemcpyDeviceToHost, stream_));
    SCN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  std::unique_ptr<Communicator> host_;
  Device device_;
  std::unique_ptr<Watchdog> watchdog_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t inputs_ready_ = nullptr, reduced_ = nullptr;
  void* staging_ = nullptr;
  size_t staging_bytes_ = 0;
};

}  // namespace

bool built_with_nccl() { return true; }

std::unique_ptr<Communicator> connect_nccl(std::unique_ptr<Communicator> host, const LaunchInfo& launch,
                                           Device device, const std::string& rendezvous, double timeout_seconds) {
  return std::make_unique<NcclCommunicator>(std::move(host), launch, device, rendezvous, timeout_seconds);
}

}  // namespace scn
