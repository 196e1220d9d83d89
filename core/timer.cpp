#include "core/timer.h"

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace scn {

DeviceTimer::DeviceTimer(Context& ctx, int capacity) : ctx_(ctx) {
  if (ctx.device().is_cuda()) {
    for (int i = 0; i < capacity; ++i) events_.push_back(cuda_rt::event_create(ctx.device().index));
  } else {
    times_.resize(static_cast<size_t>(capacity));
  }
}

DeviceTimer::~DeviceTimer() {
  for (void* e : events_) cuda_rt::event_destroy(e);
}

int DeviceTimer::mark() {
  const int capacity = static_cast<int>(ctx_.device().is_cuda() ? events_.size() : times_.size());
  SCN_CHECK(used_ < capacity, "DeviceTimer: all ", capacity, " marks used");
  if (ctx_.device().is_cuda()) {
    cuda_rt::event_record(events_[used_], ctx_.device().index);
  } else {
    times_[used_] = std::chrono::steady_clock::now();
  }
  return used_++;
}

double DeviceTimer::elapsed_ms(int from, int to) const {
  SCN_CHECK(from >= 0 && to < used_ && from <= to, "DeviceTimer: bad marks ", from, " and ", to);
  if (ctx_.device().is_cuda()) return cuda_rt::event_elapsed_ms(events_[from], events_[to]);
  return std::chrono::duration<double, std::milli>(times_[to] - times_[from]).count();
}

}  // namespace scn
