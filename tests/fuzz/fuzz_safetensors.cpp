// libFuzzer harness: the input is a whole file for read_safetensors (checkpoints are untrusted input: a
// download, a truncated copy). Every malformed file must be refused with scn::Error; anything else escaping,
// a crash or a sanitizer report is a finding.
#include <cstdint>

#include "core/error.h"
#include "core/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const scn_fuzz::Scratch file(".safetensors");  // read_safetensors takes a path
  scn_fuzz::write_file(file.path, data, size);
  try {
    const scn::SafetensorsFile f = scn::read_safetensors(file.path);
    // What it accepted must be what it promised: defined tensors whose bytes fit in the file's data.
    uint64_t bytes = 0;
    for (const auto& [name, t] : f.tensors) {
      if (!t.defined()) scn_fuzz::broken("an accepted tensor is undefined");
      bytes += t.bytes();
    }
    if (bytes + 8 > size) scn_fuzz::broken("accepted tensors hold more bytes than the file");
  } catch (const scn::Error& e) {
    scn_fuzz::refused(e);  // expected
  }
  return 0;
}
