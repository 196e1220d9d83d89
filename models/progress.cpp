#include "models/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

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

namespace {
// A terminal the user watches: not one an MPI or Slurm launcher gives its tasks (Open MPI hands each rank a
// pseudo-terminal even when mpirun's output goes to a file, where "\r\033[K" would land), and not TERM=dumb.
bool user_terminal(std::FILE* out) {
  if (!isatty(fileno(out))) return false;
  const char* term = std::getenv("TERM");
  if (term && std::string(term) == "dumb") return false;
  for (const char* launcher : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (std::getenv(launcher)) return false;
  return true;
}
}  // namespace

ProgressLine::ProgressLine(std::FILE* out, bool force_terminal, double interval_seconds)
    : out_(out), interactive_(force_terminal || user_terminal(out)),
      interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(std::max(interval_seconds, 0.0)))),
      // Off a terminal the first line comes after a third of the interval: a run piped into a log shows it is
      // alive within seconds, then settles to one line per interval.
      last_(std::chrono::steady_clock::now() - (interactive_ ? std::chrono::steady_clock::duration{} : 2 * interval_ / 3)) {}

void ProgressLine::update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double accuracy,
                          double images_per_s, double eta_seconds) {
  if (!due() && !(interactive_ && step == steps)) return;
  last_ = std::chrono::steady_clock::now();
  std::fprintf(out_, "%sepoch %lld/%lld  step %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s%s",
               interactive_ ? "\r\033[K" : "", static_cast<long long>(epoch), static_cast<long long>(epochs),
               static_cast<long long>(step), static_cast<long long>(steps), loss, 100.0 * accuracy, images_per_s,
               format_duration(eta_seconds).c_str(), interactive_ ? "" : "\n");
  std::fflush(out_);
  dirty_ = interactive_;
}

bool ProgressLine::due() const {
  const auto since = std::chrono::steady_clock::now() - last_;
  if (interactive_) return !dirty_ || since >= std::chrono::milliseconds(250);
  return since >= interval_;
}

void ProgressLine::line(const std::string& text) {
  if (dirty_) std::fprintf(out_, "\r\033[K");
  dirty_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace scn
