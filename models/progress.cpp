#include "models/progress.h"

#include <unistd.h>

#include <cmath>

namespace scn {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

ProgressLine::ProgressLine(std::FILE* out, bool force_terminal)
    : out_(out), interactive_(force_terminal || isatty(fileno(out))) {}

void ProgressLine::update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double accuracy,
                          double images_per_s, double eta_seconds) {
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (dirty_ && step != steps && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  std::fprintf(out_, "\r\033[Kepoch %lld/%lld  step %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s",
               static_cast<long long>(epoch), static_cast<long long>(epochs), static_cast<long long>(step),
               static_cast<long long>(steps), loss, 100.0 * accuracy, images_per_s, format_duration(eta_seconds).c_str());
  std::fflush(out_);
  dirty_ = true;
}

bool ProgressLine::due() const {
  return interactive_ && (!dirty_ || std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(250));
}

void ProgressLine::line(const std::string& text) {
  if (dirty_) std::fprintf(out_, "\r\033[K");
  dirty_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace scn
