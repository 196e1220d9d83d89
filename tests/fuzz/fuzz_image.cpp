// libFuzzer harness: decode_image_bytes on the input (JPEG or PNG by its magic bytes), then, when it
// decodes, resize_image to 32×32 as the image-folder converter does. Corrupt, truncated, unknown and
// oversized files must be refused with scn::Error; anything else escaping is a finding.
//
// PNG chunks carry CRCs that libpng checks first, so almost every mutation of a PNG would stop there; the
// harness rewrites each whole chunk's CRC before decoding, so mutations reach the header checks and the
// decoder. A PNG artifact in build-fuzz/findings/ may so carry stale CRCs, and outside the harness be refused
// at the CRC check; SCN_FUZZ_VERBOSE=1 writes the fixed bytes to a scratch file and prints its path: that
// file reproduces without the harness (`scn data convert`, a test).
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/data/image.h"
#include "core/error.h"
#include "fuzz_util.h"

namespace {

uint32_t big_endian(const uint8_t* p) { return uint32_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Rewrites the CRC of every chunk that lies wholly inside the data (length, type, body, CRC).
void fix_png_crcs(std::vector<uint8_t>& png) {
  for (size_t at = 8; png.size() - at >= 12;) {
    const uint64_t length = big_endian(&png[at]);
    if (length > png.size() - at - 12) break;
    const uint32_t crc = static_cast<uint32_t>(crc32(0, &png[at + 4], static_cast<uInt>(length + 4)));
    for (int k = 0; k < 4; ++k) png[at + 8 + length + k] = static_cast<uint8_t>(crc >> (24 - 8 * k));
    at += 12 + length;
  }
}

// resize_image refuses an inconsistent image with scn::Error, which would hide a decoder that returned
// one; so the harness checks the decoder's result itself.
void check(const scn::RgbImage& image, int width, int height) {
  if (width && (image.width != width || image.height != height)) scn_fuzz::broken("the image has the wrong size");
  if (image.width < 1 || image.height < 1) scn_fuzz::broken("a decoded image is empty");
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
    scn_fuzz::broken("the pixel buffer does not hold width × height × 3 bytes");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A smaller pixel budget than the default 64 M (unless the environment sets one): the refusal is the same
  // code, reached by smaller headers, and accepted images decode in milliseconds rather than seconds.
  setenv("SCN_MAX_IMAGE_PIXELS", "4194304", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) {
    fix_png_crcs(bytes);
    static const bool keep = std::getenv("SCN_FUZZ_VERBOSE") != nullptr;
    if (keep) {
      const std::string path = scn_fuzz::scratch_path("_fixed.png");
      scn_fuzz::write_file(path, bytes.data(), bytes.size());
      std::fprintf(stderr, "PNG with fixed CRCs: %s\n", path.c_str());
    }
  }
  scn::RgbImage image;
  try {
    image = scn::decode_image_bytes(bytes.data(), bytes.size(), "fuzz");
  } catch (const scn::Error& e) {
    scn_fuzz::refused(e);  // expected
    return 0;
  }
  check(image, 0, 0);
  check(scn::resize_image(image, 32, 32), 32, 32);  // a valid image must resize: no scn::Error caught here
  return 0;
}
