// libFuzzer harness: read_data_file on a file holding the input, which it reads as gzip when the input
// starts with 1f 8b and as plain bytes otherwise. Truncated or corrupt gzip must be refused with scn::Error.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/data/gzip_file.h"
#include "core/error.h"
#include "core/input_limits.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A smaller budget than the default 4 GiB (unless the environment sets one): a few kilobytes of gzip then
  // reach the refusal of an oversized stream, and no input inflates to hundreds of megabytes.
  setenv("SCN_MAX_DATA_FILE_BYTES", "16777216", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const scn_fuzz::Scratch file(".bin");  // read_data_file takes a path
  scn_fuzz::write_file(file.path, data, size);
  try {
    const std::vector<uint8_t> bytes = scn::read_data_file(file.path);
    const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (gzip != scn::is_gzip_file(file.path)) scn_fuzz::broken("is_gzip_file disagrees with the magic bytes");
    if (bytes.size() > scn::input_limit(scn::InputKind::data_file)) scn_fuzz::broken("accepted past the size budget");
    // A plain file comes back as it is.
    if (!gzip && (bytes.size() != size || !std::equal(bytes.begin(), bytes.end(), data)))
      scn_fuzz::broken("a plain file did not come back unchanged");
  } catch (const scn::Error& e) {
    scn_fuzz::refused(e);  // expected
  }
  return 0;
}
