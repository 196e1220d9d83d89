#include "models/divergence.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace scn {

DivergenceGuard::DivergenceGuard(double max_loss_factor, int classes)
    : factor_(max_loss_factor), floor_(std::log(std::max(classes, 2))) {}

std::optional<std::string> DivergenceGuard::check(double loss, double grad_max_abs) {
  char buf[160];
  if (!std::isfinite(loss)) {
    std::snprintf(buf, sizeof buf, "the loss is %g", loss);
    return std::string(buf);
  }
  if (!std::isfinite(grad_max_abs)) return std::string("the parameters or their gradients hold NaN or Inf");
  if (reference_ == 0) reference_ = std::max(loss, floor_);
  if (factor_ > 0 && loss > factor_ * reference_) {
    std::snprintf(buf, sizeof buf, "the loss %.4g is above %g x its first value %.4g (train.max_loss_factor)", loss,
                  factor_, reference_);
    return std::string(buf);
  }
  return std::nullopt;
}

}  // namespace scn
