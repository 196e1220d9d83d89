#include "models/schedule.h"

#include <cmath>

namespace scn {

LrSchedule::LrSchedule(const ScheduleConfig& config, double base_lr, int64_t epochs)
    : c_(config), base_(base_lr), epochs_(epochs) {}

double LrSchedule::at(int64_t epoch, int64_t step, int64_t steps_per_epoch) const {
  const double progress = static_cast<double>(epoch) + static_cast<double>(step) / std::max<int64_t>(steps_per_epoch, 1);
  double lr = base_;
  if (c_.type == "step") {
    lr = base_ * std::pow(c_.gamma, static_cast<double>(epoch / c_.step_size));
  } else if (c_.type == "multistep") {
    int passed = 0;
    for (int64_t m : c_.milestones) passed += epoch >= m;
    lr = base_ * std::pow(c_.gamma, passed);
  } else if (c_.type == "cosine") {
    const double t = std::min(1.0, progress / static_cast<double>(std::max<int64_t>(epochs_, 1)));
    lr = c_.min_lr + (base_ - c_.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (c_.warmup_epochs > 0 && progress < c_.warmup_epochs) lr *= progress / c_.warmup_epochs;
  return lr;
}

}  // namespace scn
