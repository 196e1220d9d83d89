#pragma once
// Progress of long work. On a terminal: one line rewritten in place (epoch, step/steps, loss, accuracy,
// images/s, ETA), at most ~4 times a second. Otherwise (a log file, CI): one line per epoch, no
// carriage returns.
#include <chrono>
#include <cstdio>
#include <string>

namespace scn {

class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out = stdout, bool force_terminal = false);
  bool interactive() const { return interactive_; }
  // True when an update would be printed now (reading the numbers for it may cost a synchronisation).
  bool due() const;
  // Called every step; prints only when due (terminal) or never (not a terminal).
  void update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double accuracy,
              double images_per_s, double eta_seconds);
  // Ends the in-place line (if any) and prints a permanent one.
  void line(const std::string& text);

 private:
  std::FILE* out_;
  bool interactive_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// "1:05:03", "4:07", "12s".
std::string format_duration(double seconds);

}  // namespace scn
