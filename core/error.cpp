#include "core/error.h"

#include <cstring>

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
