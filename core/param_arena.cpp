#include "core/param_arena.h"

namespace scn {

namespace {
constexpr int64_t kAlign = 16;  // elements: 64 bytes of f32
}

int ParamArena::add(const ParamSpec& spec) {
  SCN_CHECK(!allocated(), "parameter '", spec.name, "' added after the arena was allocated");
  SCN_CHECK(find(spec.name) < 0, "parameter '", spec.name, "' registered twice");
  specs_.push_back(spec);
  offsets_.push_back(total_);
  total_ += (spec.shape.numel() + kAlign - 1) / kAlign * kAlign;
  return count() - 1;
}

void ParamArena::allocate(Device device, DType dtype) {
  SCN_CHECK(!allocated(), "parameter arena allocated twice");
  values_ = Tensor::zeros({total_}, dtype, device);
  grads_ = Tensor::zeros({total_}, dtype, device);
}

int ParamArena::find(const std::string& name) const {
  for (int i = 0; i < count(); ++i)
    if (specs_[i].name == name) return i;
  return -1;
}

Tensor ParamArena::value(int i) const {
  SCN_CHECK(allocated(), "parameter arena used before allocate()");
  return values_.slice(offsets_.at(i), offsets_.at(i) + specs_.at(i).shape.numel()).view(specs_.at(i).shape);
}

Tensor ParamArena::grad(int i) const {
  SCN_CHECK(allocated(), "parameter arena used before allocate()");
  return grads_.slice(offsets_.at(i), offsets_.at(i) + specs_.at(i).shape.numel()).view(specs_.at(i).shape);
}

int64_t ParamArena::trainable_numel() const {
  int64_t n = 0;
  for (const auto& s : specs_)
    if (s.trainable) n += s.shape.numel();
  return n;
}

void ParamArena::to(Device device) {
  if (!allocated() || values_.device() == device) return;
  values_ = values_.to(device);
  grads_ = grads_.to(device);
}

}  // namespace scn
