#pragma once
// A bootstrap for schedulers without MPI (`--ranks env --rendezvous DIR`): rank 0 writes a small blob (the
// ncclUniqueId) atomically into a folder every rank reaches; the others wait for it to appear. The folder
// must not hold an earlier run's blob: rank 0 refuses to start over one (a stale id would hang the others).
#include <string>
#include <vector>

namespace scn {

// rank 0: writes `blob` as <dir>/scn-rendezvous-<name> and returns it; other ranks: waits up to
// timeout_seconds for that file and returns its bytes.
std::vector<char> file_rendezvous(const std::string& dir, const std::string& name, int rank,
                                  const std::vector<char>& blob, double timeout_seconds);

}  // namespace scn
