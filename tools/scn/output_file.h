#pragma once
// The rule for every file a command writes: never replace one of the command's own inputs (exporting a
// checkpoint onto itself destroys it), and never replace an existing file unless the user passed --force.
#include <string>
#include <vector>

namespace scn::cli {

void check_output_file(const std::string& out, bool force, const std::vector<std::string>& inputs);

}  // namespace scn::cli
