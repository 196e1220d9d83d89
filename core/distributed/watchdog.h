#pragma once
// Timeouts for collectives. MPI and NCCL wait forever for a rank that hangs (stopped, deadlocked, lost on
// a network without a failure detector); the trainer must not. Every collective runs inside a Watchdog::Scope;
// a background thread stops the process with a message naming the collective, the rank and the wait once a
// scope outlives the timeout. Launchers then end the remaining ranks (mpirun does when one exits non-zero).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace scn {

class Watchdog {
 public:
  // on_timeout runs before the process exits (NCCL aborts its communicator there); it may be empty.
  Watchdog(double timeout_seconds, int rank, std::function<void()> on_timeout = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  class Scope {
   public:
    Scope(Watchdog& dog, const char* what);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Watchdog& dog_;
  };
  double timeout_seconds() const { return timeout_; }

 private:
  void watch();
  double timeout_;
  int rank_;
  std::function<void()> on_timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const char* what_ = nullptr;  // the collective in progress, or nullptr
  std::chrono::steady_clock::time_point since_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace scn
