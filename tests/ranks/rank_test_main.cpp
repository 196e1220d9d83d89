// The data-parallel tests run as one gtest program per rank: `mpirun -np 2 scn_rank_tests` (ctest does).
// main connects the ranks once (MPI is initialised once per process); every test is entered by every rank
// in the same order and every rank checks its own results, so a failure on any rank fails the run.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/distributed/communicator.h"
#include "ranks.h"

namespace scn::test {
Communicator* g_ranks = nullptr;
}  // namespace scn::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  scn::RanksOptions options;
  options.mode = "mpi";
  options.timeout_seconds = 120;
  std::unique_ptr<scn::Communicator> ranks;
  try {
    ranks = scn::connect_ranks(options, scn::Device::cpu());
  } catch (const scn::Error& e) {
    std::fprintf(stderr, "scn_rank_tests: %s\n", e.what());
    return 1;
  }
  scn::test::g_ranks = ranks.get();
  if (ranks && !ranks->is_root()) {
    // One rank reports; the others print only their failures.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  if (!ranks) return failed;
  const bool any_failed = scn::any_rank(*ranks, failed != 0, "the test results");
  if (any_failed && !failed) std::fprintf(stderr, "rank %d: passed, but another rank failed\n", ranks->rank());
  return any_failed ? 1 : 0;
}
