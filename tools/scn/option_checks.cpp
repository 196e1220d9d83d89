#include "option_checks.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace scn::cli {

namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

CLI::Validator whole_number(int64_t lo, int64_t hi, const std::string& name) {
  const std::string range = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        const long long v = digits ? std::strtoll(text.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE || v < lo || v > hi) return "got " + text + ", expected " + range;
        return "";
      },
      name.empty() ? "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]" : name);
}

CLI::Validator finite_number(double lo, double hi, bool lo_open, const std::string& name) {
  const std::string range = std::string("a number ") + (lo_open ? "above " : "from ") + number_text(lo) +
                            (lo_open ? " and at most " : " to ") + number_text(hi);
  return CLI::Validator(
      [lo, hi, lo_open, range](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = text.empty() ? NAN : std::strtod(text.c_str(), &end);
        const bool ok = !text.empty() && end && *end == '\0' && errno != ERANGE && std::isfinite(v) &&
                        (lo_open ? v > lo : v >= lo) && v <= hi;
        return ok ? "" : "got " + text + ", expected " + range;
      },
      name.empty() ? "FLOAT in [" + number_text(lo) + " - " + number_text(hi) + "]" : name);
}

}  // namespace scn::cli
