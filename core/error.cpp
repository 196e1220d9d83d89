#include "core/error.h"

#include <cstdio>
#include <cstring>

namespace scn {

std::string without_location(const std::string& message) {
  const auto open = message.rfind(" (");
  if (open == std::string::npos || message.back() != ')') return message;
  const std::string inside = message.substr(open + 2, message.size() - open - 3);
  const auto colon = inside.rfind(':');
  const bool location = colon != std::string::npos && inside.find(".c") != std::string::npos &&
                        inside.find(' ') == std::string::npos && colon + 1 < inside.size();
  return location ? message.substr(0, open) : message;
}

std::string shorten(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return text.substr(0, cut) + "... (" + std::to_string(text.size()) + " characters)";
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace scn

namespace scn::detail {

[[noreturn]] void throw_error(const char* file, int line, const std::string& what) {
  // Keep only the path from the project root so messages stay short and stable across checkouts.
  const char* shown = file;
  for (const char* root : {"/core/", "/kernels/", "/layers/", "/models/", "/tools/", "/tests/"}) {
    if (const char* p = std::strstr(file, root)) {
      shown = p + 1;
      break;
    }
  }
  std::string message = what;
  message.append(" (").append(shown).append(":").append(std::to_string(line)).append(")");
  throw Error(message);
}

}  // namespace scn::detail
