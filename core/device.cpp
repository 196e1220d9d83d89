#include "core/device.h"

#include "core/error.h"

namespace scn {

bool cuda_available() { return cuda_device_count() > 0; }

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  if (text.rfind("cuda", 0) == 0) {
    int index = 0;
    if (text.size() > 4) {
      SCN_CHECK(text[4] == ':' && text.size() > 5, "bad device '", text, "': expected cpu, cuda, cuda:N or auto");
      try {
        index = std::stoi(text.substr(5));
      } catch (const std::exception&) {
        SCN_FAIL("bad device '", text, "': expected cpu, cuda, cuda:N or auto");
      }
    }
    SCN_CHECK(built_with_cuda(), "device '", text, "' asked for, but scn was built without CUDA");
    const int n = cuda_device_count();
    SCN_CHECK(index >= 0 && index < n, "device '", text, "' asked for, but ", n, " CUDA device(s) are usable");
    return Device::cuda(index);
  }
  SCN_FAIL("bad device '", text, "': expected cpu, cuda, cuda:N or auto");
}

}  // namespace scn
