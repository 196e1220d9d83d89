#include "core/input_limits.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace scn {

namespace {

uint64_t from_env(const char* name, uint64_t fallback) { return parse_limit_variable(name, std::getenv(name), fallback); }

const char* env_name(InputKind kind) {
  switch (kind) {
    case InputKind::data_file: return "SCN_MAX_DATA_FILE_BYTES";
    case InputKind::image: return "SCN_MAX_IMAGE_PIXELS";
    case InputKind::config: return "SCN_MAX_CONFIG_BYTES";
  }
  return "";
}

}  // namespace

uint64_t parse_limit_variable(const char* name, const char* text, uint64_t fallback) {
  if (!text || !*text) return fallback;
  const std::string v = text;
  // Digits only: strtoull alone takes "-1" as 2^64 − 1 and "lots" as 0.
  const bool digits = v.size() <= 19 && v.find_first_not_of("0123456789") == std::string::npos;
  const unsigned long long n = digits ? std::strtoull(v.c_str(), nullptr, 10) : 0;
  SCN_CHECK(digits && n > 0 && n <= (uint64_t{1} << 62), name, "=", shorten(v),
            ": expected a positive whole number (at most 2^62); unset it for the default (",
            fallback, ")");
  return n;
}

InputLimits& input_limits() {
  static InputLimits limits{from_env(env_name(InputKind::data_file), uint64_t{4} << 30),
                                  from_env(env_name(InputKind::image), uint64_t{64} << 20),
                                  from_env(env_name(InputKind::config), uint64_t{1} << 20)};
  return limits;
}

uint64_t input_limit(InputKind kind) {
  const InputLimits& l = input_limits();
  switch (kind) {
    case InputKind::data_file: return l.data_file_bytes;
    case InputKind::image: return l.image_pixels;
    case InputKind::config: return l.config_bytes;
  }
  return 0;
}

namespace {
std::string shown_size(uint64_t size, InputKind kind) {
  return kind == InputKind::image ? std::to_string(size) + " pixels" : format_bytes(static_cast<double>(size));
}
std::string raise_hint(InputKind kind) {
  return std::string(" (raise it with ") + env_name(kind) + "=N if the file is genuine)";
}
}  // namespace

void check_input_size(const std::string& file, const std::string& what, uint64_t size, InputKind kind) {
  const uint64_t limit = input_limit(kind);
  if (size <= limit) return;
  SCN_FAIL(file, ": ", what, " is ", shown_size(size, kind), ", more than the limit of ", shown_size(limit, kind),
           raise_hint(kind));
}

void fail_input_size(const std::string& file, const std::string& what, InputKind kind) {
  SCN_FAIL(file, ": ", what, " exceeds the limit of ", shown_size(input_limit(kind), kind), raise_hint(kind));
}

}  // namespace scn
