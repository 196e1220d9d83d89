#include "layers/pursuit_params.h"

#include "kernels/elementwise.h"

namespace scn {

ParamSpec threshold_spec(const std::string& name, int64_t channels, bool learn, bool nonnegative) {
  ParamSpec th{name, Shape{channels}};
  th.kind = "thresholds";
  th.decay_mult = 0.0f;
  th.trainable = learn;
  if (nonnegative) th.clamp_min = 0.0f;
  return th;
}

ParamSpec step_spec(const std::string& name, bool learn, bool nonnegative) {
  ParamSpec step{name, Shape{1}};
  step.kind = "steps";
  step.decay_mult = 0.0f;
  step.trainable = learn;
  if (nonnegative) step.clamp_min = 0.0f;
  return step;
}

void set_scalar(Context& ctx, const Tensor& t, double value) {
  if (t.dtype() == DType::f64 && t.device().is_cpu()) {
    t.data<double>()[0] = value;
  } else {
    fill(ctx, t, static_cast<float>(value));
  }
}

}  // namespace scn
