#include "output_file.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace scn::cli {

void check_output_file(const std::string& out, bool force, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(out, ec)) {
    const fs::path dir = fs::path(out).parent_path();
    SCN_CHECK(dir.empty() || fs::is_directory(dir, ec), out, ": cannot write here: the folder ", dir.string(),
              " does not exist");
    return;
  }
  check_regular_file_target(out);  // a folder, /dev/full, a FIFO: never, --force or not
  for (const std::string& in : inputs)
    SCN_CHECK(in.empty() || !fs::equivalent(out, in, ec), out, ": is also an input of this command; writing it would destroy it");
  SCN_CHECK(force, out, ": exists; pass --force to replace it");
}

}  // namespace scn::cli
