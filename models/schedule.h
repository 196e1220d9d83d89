#pragma once
// Learning-rate schedules (constant, step, multistep, cosine) with linear warmup, as a pure function of
// training progress so that a resumed run follows exactly the same curve.
#include "models/run_config.h"

namespace scn {

class LrSchedule {
 public:
  LrSchedule(const ScheduleConfig& config, double base_lr, int64_t epochs);
  // The learning rate at `epoch` (0-based) after `step` of `steps_per_epoch` steps of it.
  double at(int64_t epoch, int64_t step, int64_t steps_per_epoch) const;

 private:
  ScheduleConfig c_;
  double base_;
  int64_t epochs_;
};

}  // namespace scn
