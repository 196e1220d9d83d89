// CUDA services for a build without CUDA: there are no devices, and asking for one is an error.
#include "core/cuda_runtime.h"
#include "core/error.h"

namespace scn {

bool built_with_cuda() { return false; }
int cuda_device_count() { return 0; }
DeviceInfo cuda_device_info(int) { SCN_FAIL("scn was built without CUDA"); }

namespace cuda_rt {
int device_count() { return 0; }
std::string versions() { return "built without CUDA"; }
DeviceInfo device_info(int) { SCN_FAIL("scn was built without CUDA"); }
void* allocate(size_t, int) { SCN_FAIL("scn was built without CUDA: no CUDA memory"); }
void release(void*, int) noexcept {}
void copy(void*, Device, const void*, Device, size_t) { SCN_FAIL("scn was built without CUDA: no CUDA copies"); }
void zero(void*, int, size_t) { SCN_FAIL("scn was built without CUDA"); }
void synchronize(int) {}
}  // namespace cuda_rt

}  // namespace scn

namespace scn::cuda_rt {
void* event_create(int) { SCN_FAIL("scn was built without CUDA: no CUDA events"); }
void event_record(void*, int) { SCN_FAIL("scn was built without CUDA"); }
float event_elapsed_ms(void*, void*) { SCN_FAIL("scn was built without CUDA"); }
void event_destroy(void*) noexcept {}
}  // namespace scn::cuda_rt

namespace scn::cuda_rt {
void graph_begin_capture(int) { SCN_FAIL("scn was built without CUDA: no CUDA graphs"); }
void* graph_end_capture(int) { SCN_FAIL("scn was built without CUDA"); }
void graph_launch(void*, int) { SCN_FAIL("scn was built without CUDA"); }
void graph_destroy(void*) noexcept {}
}  // namespace scn::cuda_rt
