#pragma once
// When a training run has diverged: a loss or gradient that is NaN/Inf, or a loss that explodes while staying
// finite (7.9e11 is no longer learning): above `max_loss_factor` × the run's reference loss, which is the
// first loss this process saw, and never less than ln(classes) (the loss of a uniform guess), so a run
// resumed at a low loss is not stopped by a normal fluctuation.
#include <optional>
#include <string>

namespace scn {

class DivergenceGuard {
 public:
  DivergenceGuard(double max_loss_factor, int classes);
  // The reason the run has diverged ("the loss is nan", "the loss 7.9e+11 is above 100 × 2.30 …"), or none.
  std::optional<std::string> check(double loss, double grad_max_abs);
  double reference() const { return reference_; }

 private:
  double factor_;
  double floor_;
  double reference_ = 0;  // 0 until the first finite loss
};

}  // namespace scn
