#pragma once
// The rule for every file a command writes: never replace one of the command's own inputs (exporting a
// checkpoint onto itself destroys it), never replace an existing file unless the user passed --force, and never
// write over anything that is not a regular file (core/atomic_file.h), --force or not.
#include <string>
#include <vector>

namespace scn::cli {

void check_output_file(const std::string& out, bool force, const std::vector<std::string>& inputs);

}  // namespace scn::cli
