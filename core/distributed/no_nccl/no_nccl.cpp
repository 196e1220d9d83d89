// Built without CUDA or without NCCL: GPUs cannot form ranks.
#include "core/distributed/communicator.h"
#include "core/error.h"

namespace scn {

bool built_with_nccl() { return false; }

std::unique_ptr<Communicator> connect_nccl(std::unique_ptr<Communicator>, const LaunchInfo&, Device device,
                                           const std::string&, double) {
  SCN_FAIL("several ranks on ", device.str(), " need NCCL, and this scn was built without it (CUDA and NCCL must ",
           "be found when it is configured)");
}

}  // namespace scn
