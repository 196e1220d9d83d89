// scn profile: see profile/ (added with the profiling work).
#include "commands.h"

namespace scn::cli {

void add_profile(CLI::App&, Action&) {}

}  // namespace scn::cli
