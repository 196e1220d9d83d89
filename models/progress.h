#pragma once
// Progress of long work: epoch, step/steps, loss, accuracy, images/s, ETA. On a terminal: one line rewritten
// in place, at most ~4 times a second. Otherwise (a log file, a batch system, `| cat`, a task of mpirun or
// srun, TERM=dumb): a permanent line every `interval_seconds` (the first after a third of it), so a long
// epoch is never silent and no carriage return or escape sequence reaches a log.
#include <chrono>
#include <cstdio>
#include <string>

namespace scn {

class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out = stdout, bool force_terminal = false, double interval_seconds = 30);
  bool interactive() const { return interactive_; }
  // True when an update would be printed now (reading the numbers for it may cost a synchronisation).
  bool due() const;
  // Called every step; prints only when due.
  void update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double accuracy,
              double images_per_s, double eta_seconds);
  // Ends the in-place line (if any) and prints a permanent one.
  void line(const std::string& text);

 private:
  std::FILE* out_;
  bool interactive_;
  bool dirty_ = false;
  std::chrono::steady_clock::duration interval_;  // between lines when not a terminal
  std::chrono::steady_clock::time_point last_{};
};

// "1:05:03", "4:07", "12s".
std::string format_duration(double seconds);

}  // namespace scn
