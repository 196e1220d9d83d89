#include "core/distributed/watchdog.h"

#include <cstdio>
#include <cstdlib>

namespace scn {

Watchdog::Watchdog(double timeout_seconds, int rank, std::function<void()> on_timeout)
    : timeout_(timeout_seconds), rank_(rank), on_timeout_(std::move(on_timeout)) {
  if (timeout_ > 0) thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Watchdog::Scope::Scope(Watchdog& dog, const char* what) : dog_(dog) {
  std::lock_guard<std::mutex> lock(dog_.mutex_);
  dog_.what_ = what;
  dog_.since_ = std::chrono::steady_clock::now();
}

Watchdog::Scope::~Scope() {
  std::lock_guard<std::mutex> lock(dog_.mutex_);
  dog_.what_ = nullptr;
}

void Watchdog::watch() {
  const auto limit = std::chrono::duration<double>(timeout_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(200));
    if (stop_ || what_ == nullptr) continue;
    const auto waited = std::chrono::steady_clock::now() - since_;
    if (waited < limit) continue;
    std::fprintf(stderr,
                 "scn: rank %d waited %.0f s in the %s for the other ranks: one of them died or hangs. Stopping "
                 "this rank (the collective timeout is --collective-timeout %.0f s).\n",
                 rank_, std::chrono::duration<double>(waited).count(), what_, timeout_);
    std::fflush(stderr);
    if (on_timeout_) on_timeout_();
    std::_Exit(1);
  }
}

}  // namespace scn
