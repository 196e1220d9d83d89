#include "core/error.h"

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
