#pragma once
#include "core/distributed/communicator.h"

namespace scn::test {
// The ranks of this test run (nullptr under one process: the tests skip).
extern Communicator* g_ranks;
}  // namespace scn::test
