#include <memory>

#include "core/context.h"
#include "core/error.h"

namespace scn {

struct CudaResources {};

CudaResources* make_cuda_resources(int) { SCN_FAIL("scn was built without CUDA"); }
void destroy_cuda_resources(CudaResources* resources) { delete resources; }

}  // namespace scn
