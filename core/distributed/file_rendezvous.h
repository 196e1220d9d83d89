#pragma once
// A bootstrap for schedulers without MPI (`--ranks env --rendezvous DIR`): rank 0 writes a small blob (the
// ncclUniqueId) atomically into a folder every rank reaches; the others wait for it to appear. Once every rank
// has joined, rank 0 removes it, so the folder serves the next run too. A blob left by a run that died before
// that is refused: rank 0 will not start over one (a stale id would hang the others).
#include <string>
#include <vector>

namespace scn {

// rank 0: writes `blob` as <dir>/scn-rendezvous-<name> and returns it; other ranks: waits up to
// timeout_seconds for that file and returns its bytes.
std::vector<char> file_rendezvous(const std::string& dir, const std::string& name, int rank,
                                  const std::vector<char>& blob, double timeout_seconds);

// rank 0, once every rank has read the blob (after the collective it bootstrapped has joined them all):
// removes it. Other ranks: nothing.
void finish_file_rendezvous(const std::string& dir, const std::string& name, int rank);

}  // namespace scn
