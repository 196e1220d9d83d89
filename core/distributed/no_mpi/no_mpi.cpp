// Built without MPI (SCN_MPI=OFF, or no MPI found): a single process, or NCCL with the file bootstrap.
#include "core/distributed/communicator.h"
#include "core/error.h"

namespace scn {

bool built_with_mpi() { return false; }

std::unique_ptr<Communicator> connect_mpi(double) {
  SCN_FAIL("this scn was built without MPI: configure with SCN_MPI=ON after installing libopenmpi-dev");
}

}  // namespace scn
