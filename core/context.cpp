#include "core/context.h"

#include <map>

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace scn {

// Creates the CUDA resources of a context; defined by the CUDA backend (or its absence).
CudaResources* make_cuda_resources(int device);
void destroy_cuda_resources(CudaResources* resources);

struct ContextFactory {
  static Context* make(Device device) { return new Context(device); }
};

Context& Context::get(Device device) {
  static std::mutex mutex;
  // Contexts are never destroyed: tearing down streams and library handles during static destruction,
  // after the CUDA runtime may already be gone, crashes more programs than it helps.
  static auto* contexts = new std::map<std::pair<int, int>, Context*>();
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_pair(static_cast<int>(device.type), device.index);
  auto it = contexts->find(key);
  if (it != contexts->end()) return *it->second;
  if (device.is_cuda()) {
    const int n = cuda_rt::device_count();
    SCN_CHECK(device.index >= 0 && device.index < n, "no CUDA device ", device.index, " (", n, " usable)");
  }
  Context* ctx = ContextFactory::make(device);
  contexts->emplace(key, ctx);
  return *ctx;
}

Context::Context(Device device) : device_(device) {
  if (device.is_cuda()) cuda_ = make_cuda_resources(device.index);
}

Context::~Context() { destroy_cuda_resources(cuda_); }

CudaResources& Context::cuda() {
  SCN_CHECK(cuda_, "context of ", device_.str(), " has no CUDA resources");
  return *cuda_;
}

void* Context::workspace(size_t bytes) {
  if (!workspace_ || workspace_->bytes() < bytes) {
    // Grow by half again so that a slowly rising need does not reallocate every call.
    size_t want = std::max(bytes, workspace_ ? workspace_->bytes() * 3 / 2 : size_t(0));
    workspace_.reset();
    workspace_ = Storage::allocate(want, device_);
    stats_.workspace_grows++;
  }
  return workspace_->data();
}

void Context::synchronize() {
  if (device_.is_cuda()) cuda_rt::synchronize(device_.index);
}

}  // namespace scn
